package openapi

import (
	"strconv"
	"strings"

	"github.com/restkit/restkit/artefact"
)

// artefacts documents the artefact repository served at base: its root (directories,
// searches by digest and by properties), every path below it — a directory of up to
// artefact.MaxDepth segments, an artefact in one, and their versions and properties,
// one path template per depth, since a path parameter holds one segment — the
// resumable uploads (tus) at /_uploads, and the cleanup at /_admin/cleanup.
func (b *builder) artefacts(base string, events bool) {
	b.artefactSchemas()
	tag := b.tag("artefacts", "The artefact repository: nested directories of files with immutable versions, SHA-256 checksums and properties.")
	b.artefactRoot(base, tag)
	for n := 1; n <= artefact.MaxDepth+1; n++ {
		b.artefactPath(base, tag, n)
	}
	if events {
		b.artefactEvents(base, tag)
	}
	b.resumableUploads(tag)
	b.cleanup()
}

func artefactName() *Schema {
	return &Schema{Type: Types{"string"}, MinLength: new(1), MaxLength: new(255)}
}

func versionParam() *Parameter {
	return queryParam("version", "One version (default: the latest).", integerSchema(1))
}

func binarySchema() *Schema { return &Schema{Type: Types{"string"}, Format: "binary"} }

// segmentParams are the path parameters of a path of n segments: the directory's
// (dir, dir2, …) and, from two segments on, the last one, id: the artefact, or a
// subdirectory.
func segmentParams(n int, last string) (template string, params []*Parameter) {
	for i := 1; i <= n; i++ {
		name, desc := "dir"+strconv.Itoa(i), "A segment of the directory's path."
		switch {
		case i == 1:
			name, desc = "dir", "The directory (its first segment)."
		case i == n:
			name, desc = "id", last
		}
		template += "/{" + name + "}"
		params = append(params, pathParam(name, desc, artefactName()))
	}
	return template, params
}

// artefactSchemas declares the metadata of a version, of a directory, of an entry of
// a listing, and of a version's properties.
func (b *builder) artefactSchemas() {
	schemas := b.doc.Components.Schemas
	props := &Schema{Type: Types{"object"}, Description: "The version's properties: key/value strings.",
		AdditionalProperties: &Schema{Type: Types{"string"}, MaxLength: new(artefact.MaxPropertyValue)}}
	schemas["Artefact"] = &Schema{Type: Types{"object"}, Description: "The metadata of one version of an artefact.",
		Required: []string{"directory", "id", "version", "size", "sha256", "content_type", "created", "updated"},
		Properties: Properties{
			{"type", &Schema{Type: Types{"string"}, Enum: []any{"file"}, Description: "In directory listings: an artefact."}},
			{"directory", stringSchema()},
			{"id", stringSchema()},
			{"version", integerSchema(1)},
			{"size", integerSchema(0)},
			{"sha256", &Schema{Type: Types{"string"}, Pattern: "^[0-9a-f]{64}$"}},
			{"content_type", stringSchema()},
			{"filename", stringSchema()},
			{"created", dateTimeSchema()},
			{"updated", dateTimeSchema()},
			{"properties", props},
		}}
	schemas["ArtefactDirectory"] = &Schema{Type: Types{"object"}, Description: "A top-level directory of the repository, with the totals of everything below it.",
		Required: []string{"name", "artefacts", "size", "updated"},
		Properties: Properties{
			{"name", stringSchema()},
			{"artefacts", integerSchema(0)},
			{"size", integerSchema(0)},
			{"updated", dateTimeSchema()},
		}}
	schemas["ArtefactSubdirectory"] = &Schema{Type: Types{"object"}, Description: "A subdirectory in a directory listing.",
		Required: []string{"type", "name", "path"},
		Properties: Properties{
			{"type", &Schema{Type: Types{"string"}, Enum: []any{"directory"}}},
			{"name", stringSchema()},
			{"path", stringSchema()},
		}}
	schemas["ArtefactProperties"] = &Schema{Type: Types{"object"}, Description: "The properties of one version.",
		Required:   []string{"directory", "id", "version", "properties"},
		Properties: Properties{{"directory", stringSchema()}, {"id", stringSchema()}, {"version", integerSchema(1)}, {"properties", props}}}
}

// listContent is a list in JSON, XML or CSV.
func listContent(items *Schema) map[string]*MediaType {
	return map[string]*MediaType{
		"application/json": {Schema: arrayOf(items)},
		"application/xml":  {Schema: stringSchema()},
		"text/csv":         {Schema: stringSchema()},
	}
}

func listingEntry() *Schema {
	return &Schema{OneOf: []*Schema{ref("ArtefactSubdirectory"), ref("Artefact")}}
}

// artefactRoot documents the repository's root.
func (b *builder) artefactRoot(base, tag string) {
	root := b.operation("listArtefactDirectories", tag, "List the directories, or find versions by digest or by properties.",
		"Answers the top-level directories with the totals of everything below them; with sha256=HEX, every version whose content has "+
			"that digest; with prop.KEY=VALUE (one or more), every version holding all those properties, paged with limit, cursor and "+
			"the Link header. Only what the caller may read is listed. JSON, XML or CSV, as Accept asks.")
	root.Parameters = []*Parameter{
		queryParam("sha256", "Find the versions with this content (lowercase hex SHA-256).", stringSchema()),
		queryParam("limit", "Page size of a property search.", integerSchema(1)),
		queryParam("cursor", "Opaque cursor from the Link header.", stringSchema()),
	}
	root.Responses["200"] = &Response{Description: "The directories (or the versions found).", Headers: map[string]*Header{"Link": linkHeader()},
		Content: listContent(&Schema{OneOf: []*Schema{ref("ArtefactDirectory"), ref("Artefact")}})}
	b.addErrors(root, false, map[int]string{400: "an unknown parameter, a bad digest or property", 406: "no acceptable representation"})
	b.path(base).Get = root
}

// artefactPath documents the paths of n segments below the root.
func (b *builder) artefactPath(base, tag string, n int) {
	last := "The artefact, or a subdirectory."
	if n == artefact.MaxDepth+1 {
		last = "The artefact."
	}
	template, params := segmentParams(n, last)
	item := b.path(base + template)
	item.Parameters = params
	if n <= artefact.MaxDepth {
		item.Get = b.listDirectory(tag, n)
		item.Delete = b.deleteTarget(tag, n)
	}
	if n == 1 {
		return
	}
	if n == artefact.MaxDepth+1 {
		item.Delete = b.deleteTarget(tag, n)
	}
	item.Get = b.artefactDownload(tag, item.Get)
	item.Post, item.Put = b.artefactUploads(tag)

	versions := b.operation("listArtefactVersions", tag, "List the versions of an artefact.",
		"Answers the metadata of every kept version of the artefact, newest first, with its properties; JSON, XML or CSV.")
	versions.Responses["200"] = &Response{Description: "The versions, newest first.", Content: listContent(ref("Artefact"))}
	b.addErrors(versions, false, map[int]string{400: "a bad name", 404: "no such artefact", 406: "no acceptable representation"})
	v := b.path(base + template + "/versions")
	v.Parameters, v.Get = params, versions

	getProps := b.operation("getArtefactProperties", tag, "Read the properties of a version.",
		"Answers the properties of the latest version, or of version=N.")
	getProps.Parameters = []*Parameter{versionParam()}
	getProps.Responses["200"] = &Response{Description: "The version's properties.", Content: jsonContent(ref("ArtefactProperties"))}
	b.addErrors(getProps, false, map[int]string{400: "a bad name or version", 404: "no such artefact or version"})
	putProps := b.operation("putArtefactProperties", tag, "Replace the properties of a version.",
		"Sets the properties of the latest version, or of version=N, to the JSON object of strings sent (at most 64; keys of 1 to 128 "+
			"letters, digits, . _ -; values of at most 1024 bytes). They are found with GET "+b.docBase()+"?prop.KEY=VALUE.")
	putProps.Parameters = []*Parameter{versionParam()}
	putProps.RequestBody = &RequestBody{Required: true, Content: jsonContent(&Schema{Type: Types{"object"}, AdditionalProperties: stringSchema()})}
	putProps.Responses["200"] = &Response{Description: "The version's properties, as stored.", Content: jsonContent(ref("ArtefactProperties"))}
	codes := bodyErrors()
	delete(codes, 408)
	codes[404] = "no such artefact or version"
	b.addErrors(putProps, false, codes)
	pp := b.path(base + template + "/properties")
	pp.Parameters, pp.Get, pp.Put = params, getProps, putProps
}

// docBase is the repository's path, for descriptions.
func (b *builder) docBase() string { return "/artefacts" }

// listDirectory documents GET of a directory: its subdirectories, then its artefacts.
func (b *builder) listDirectory(tag string, n int) *Operation {
	list := b.operation("listArtefacts", tag, "List a directory.",
		"Answers the directory's subdirectories (by name) and then the latest version of each of its artefacts, paged as one list with "+
			"limit, cursor and the Link header; prefix= keeps the names that start with it, sort orders the artefacts. JSON, XML or CSV.")
	list.Parameters = []*Parameter{
		queryParam("prefix", "Only names starting with it.", stringSchema()),
		queryParam("sort", "name (default), updated or size; - for descending.",
			&Schema{Type: Types{"string"}, Enum: []any{"name", "-name", "updated", "-updated", "size", "-size"}}),
		queryParam("limit", "Page size.", integerSchema(1)),
		queryParam("cursor", "Opaque cursor from the Link header.", stringSchema()),
	}
	list.Responses["200"] = &Response{Description: "The directory's subdirectories and artefacts (latest versions).",
		Headers: map[string]*Header{"Link": linkHeader()}, Content: listContent(listingEntry())}
	b.addErrors(list, false, map[int]string{400: "a bad name or parameter", 404: "no such directory", 406: "no acceptable representation"})
	return list
}

// deleteTarget documents DELETE of a path: the artefact when it is one, else the
// directory with everything below it.
func (b *builder) deleteTarget(tag string, n int) *Operation {
	if n == 1 {
		op := b.operation("deleteArtefactDirectory", tag, "Delete a directory and everything below it.",
			"Deletes every version of every artefact in the directory and below it, in one transaction; content no other version refers to is collected.")
		op.Responses["204"] = &Response{Description: "The directory and everything below it are deleted."}
		b.addErrors(op, false, map[int]string{400: "a bad name", 404: "no such directory"})
		return op
	}
	op := b.operation("deleteArtefact", tag, "Delete an artefact (or one version of it), or a directory and everything below it.",
		"Deletes every version of the artefact, or only version=N; a path that names a directory deletes it with everything below it, "+
			"in one transaction. Content no other version refers to is collected.")
	op.Parameters = []*Parameter{versionParam()}
	op.Responses["204"] = &Response{Description: "Deleted."}
	b.addErrors(op, false, map[int]string{400: "a bad name or version", 404: "no such artefact, version or directory"})
	return op
}

// artefactDownload documents GET of an artefact's content, which on a path that names
// a directory is its listing (list).
func (b *builder) artefactDownload(tag string, list *Operation) *Operation {
	binary := binarySchema
	downloadHeaders := func() map[string]*Header {
		return map[string]*Header{
			"ETag":                header("The SHA-256 of the content, quoted.", stringSchema()),
			"Last-Modified":       lastModifiedHeader(),
			"Accept-Ranges":       header("bytes", stringSchema()),
			"Repr-Digest":         header("sha-256=:BASE64:", stringSchema()),
			"X-Artefact-Version":  header("The version served.", &Schema{Type: Types{"integer"}}),
			"Content-Disposition": header("attachment; filename=…", stringSchema()),
			"Cache-Control":       cacheControlHeader(),
		}
	}
	desc := "Answers the content of the latest version, or of version=N, with its SHA-256 as ETag and Repr-Digest. Range gives 206 with " +
		"the bytes asked for (If-Range keeps it to an unchanged file); If-None-Match and If-Modified-Since give 304."
	download := b.operation("downloadArtefact", tag, "Download an artefact (ranges and conditional requests supported), or list a directory.", desc)
	download.Parameters = []*Parameter{versionParam(),
		headerParam("Range", "bytes=START-END"), headerParam("If-Range", "An ETag or date: the range only if unchanged."),
		ifNoneMatchParam(), ifModifiedSinceParam(), ifMatchParam(), ifUnmodifiedSinceParam()}
	// One media range for both answers: an artefact's content has its own type (which
	// may be JSON), and a directory's listing is JSON, XML or CSV, as on
	// /artefacts/{dir} (its schema is ArtefactSubdirectory and Artefact entries).
	content := map[string]*MediaType{"*/*": {Schema: binary()}}
	codes := map[int]string{400: "a bad name or version", 404: "no such artefact or version",
		412: "If-Match or If-Unmodified-Since does not hold", 416: "the range is outside the file"}
	if list != nil {
		download.Description = desc + " A path that names a directory answers its listing instead (prefix, sort, limit, cursor), " +
			"as GET " + b.docBase() + "/{dir} does: an array of ArtefactSubdirectory and Artefact entries."
		download.Parameters = append(download.Parameters, list.Parameters...)
		codes[406] = "no acceptable representation of a listing"
	}
	download.Responses["200"] = &Response{Description: "The content (or the directory's listing).", Headers: downloadHeaders(), Content: content}
	download.Responses["206"] = &Response{Description: "Partial Content: the requested range.", Headers: downloadHeaders(),
		Content: map[string]*MediaType{"*/*": {Schema: binary()}}}
	download.Responses["304"] = &Response{Description: "Not Modified."}
	b.addErrors(download, false, codes)
	return download
}

// artefactUploads documents POST (create only) and PUT (create or a new version).
func (b *builder) artefactUploads(tag string) (create, put *Operation) {
	binary := binarySchema
	stored := func(desc string) *Response {
		return &Response{Description: desc,
			Headers: map[string]*Header{"Location": locationHeader(), "ETag": etagHeader(),
				"X-Artefact-Version": header("The version stored.", &Schema{Type: Types{"integer"}})},
			Content: jsonContent(ref("Artefact"))}
	}
	upload := func() *RequestBody {
		return &RequestBody{
			Description: "The content: the raw bytes (application/octet-stream), or a form whose first file part is stored (multipart/form-data, " +
				"as curl -F file=@NAME sends). None for a deploy by checksum.",
			Content: map[string]*MediaType{
				"application/octet-stream": {Schema: binary()},
				"multipart/form-data":      {Schema: &Schema{Type: Types{"object"}, Properties: Properties{{"file", binary()}}}},
			}}
	}
	checksums := func() []*Parameter {
		return []*Parameter{
			headerParam("Content-Digest", "sha-256=:BASE64: of the body; a mismatch is a 400 and nothing is stored."),
			headerParam("X-Checksum-Sha256", "Hex SHA-256 of the content; a mismatch is a 400 and nothing is stored."),
			headerParam("X-Checksum-Deploy", "true: deploy by checksum: no body; the version is made of the stored content with "+
				"X-Checksum-Sha256 (404 when no version the caller may read holds it)."),
		}
	}
	uploadCodes := map[int]string{400: "a bad name or path, or a checksum mismatch", 408: "the body arrived too slowly", 413: "the file is larger than the limit",
		404: "deploy by checksum: no content with that digest is known to the caller", 409: "the path is a directory, or lies below an artefact",
		507: "the data disk is too full"}

	create = b.operation("createArtefact", tag, "Upload a new artefact (409 if it exists).",
		"Stores the body as version 1 of a new artefact, creating its directories, and answers its metadata. The content is hashed "+
			"as it streams; a Content-Digest or X-Checksum-Sha256 that does not match is a 400 and nothing is stored.")
	create.Parameters = checksums()
	create.RequestBody = upload()
	create.Responses["201"] = stored("Created: the first version.")
	codes := copyCodes(uploadCodes)
	codes[409] = "the artefact exists, its path is a directory, or it lies below an artefact"
	b.addErrors(create, false, codes)

	put = b.operation("putArtefact", tag, "Upload an artefact: a replace is a new immutable version.",
		"Stores the body as a new artefact (201) or as its next version (200); earlier versions stay readable until retention prunes them. "+
			"If-None-Match: * makes it create-only; If-Match guards a replace. A checksum header that does not match is a 400 and nothing is stored.")
	put.Parameters = append(checksums(), ifMatchParam(), ifNoneMatchParam())
	put.RequestBody = upload()
	put.Responses["201"] = stored("Created: the first version.")
	put.Responses["200"] = stored("Replaced: a new version.")
	codes = copyCodes(uploadCodes)
	codes[412] = "If-Match or If-None-Match: * does not hold"
	b.addErrors(put, false, codes)
	return create, put
}

// tusHeaders are the headers of a tus answer.
func tusHeaders(more ...string) map[string]*Header {
	h := map[string]*Header{"Tus-Resumable": header("1.0.0", stringSchema())}
	for _, name := range more {
		switch name {
		case "Upload-Offset", "Upload-Length", "X-Artefact-Version":
			h[name] = header(strings.ReplaceAll(name, "-", " ")+".", integerSchema(0))
		default:
			h[name] = header(name+".", stringSchema())
		}
	}
	return h
}

// resumableUploads documents /_uploads (tus 1.0: core, creation, termination, checksum).
func (b *builder) resumableUploads(tag string) {
	tus := func() *Parameter {
		p := headerParam("Tus-Resumable", "1.0.0: the protocol version (412 otherwise).")
		p.Required = true
		return p
	}
	create := b.operation("createUpload", tag, "Start a resumable upload (tus creation).",
		"Starts an upload of Upload-Length bytes that becomes a version of the artefact named by the path in Upload-Metadata "+
			"(path <base64 of DIR/ID>; also filename, filetype, sha256). PATCH the bytes to Location; it expires 24 h after its last PATCH.")
	create.Parameters = []*Parameter{tus(), headerParam("Upload-Length", "The length of the whole upload, in bytes."),
		headerParam("Upload-Metadata", "Comma-separated key and base64 value pairs: path (required), filename, filetype, sha256."),
		headerParam("X-Checksum-Sha256", "Hex SHA-256 of the whole content, checked when the upload is complete.")}
	create.Responses["201"] = &Response{Description: "Created: PATCH the bytes to Location.", Headers: tusHeaders("Location", "Upload-Offset", "Upload-Expires")}
	b.addErrors(create, false, map[int]string{400: "no or a bad length, path or metadata", 412: "no Tus-Resumable: 1.0.0", 413: "longer than the limit", 507: "the data disk is too full"})
	b.path(uploadsPath).Post = create

	head := b.operation("getUploadOffset", tag, "Where an upload stands (tus HEAD).", "Answers the upload's offset and length; a complete one names its version.")
	head.Parameters = []*Parameter{tus()}
	head.Responses["200"] = &Response{Description: "The upload's offset.", Headers: tusHeaders("Upload-Offset", "Upload-Length", "Upload-Expires", "Cache-Control")}
	b.addErrors(head, false, map[int]string{403: "another caller's upload", 404: "no such upload, or it expired", 412: "no Tus-Resumable: 1.0.0"})
	patch := b.operation("patchUpload", tag, "Send bytes of an upload (tus PATCH).",
		"Appends the body at Upload-Offset, which must be the upload's offset (409 otherwise). Upload-Checksum (sha1, sha256 or md5) checks the "+
			"body: 460 and nothing kept when it does not match. A PATCH cut off keeps what arrived. The last one stores the version.")
	patch.Parameters = []*Parameter{tus(), headerParam("Upload-Offset", "Where the body starts."),
		headerParam("Upload-Checksum", "ALGORITHM BASE64: the checksum of the body.")}
	patch.RequestBody = &RequestBody{Required: true, Content: map[string]*MediaType{"application/offset+octet-stream": {Schema: binarySchema()}}}
	patch.Responses["204"] = &Response{Description: "Taken: the upload's new offset; on completion its version.",
		Headers: tusHeaders("Upload-Offset", "Upload-Expires", "X-Artefact-Version", "Content-Location")}
	b.addErrors(patch, false, map[int]string{400: "a bad offset or checksum header, or the content does not match its sha256", 403: "another caller's upload",
		404: "no such upload", 409: "the offset is not the upload's, or another PATCH is in progress", 412: "no Tus-Resumable: 1.0.0",
		413: "the body runs over the upload's length", 415: "not application/offset+octet-stream", 460: "the body does not match Upload-Checksum"})
	terminate := b.operation("deleteUpload", tag, "Abandon an upload (tus termination).", "Throws the upload and its bytes away.")
	terminate.Parameters = []*Parameter{tus()}
	terminate.Responses["204"] = &Response{Description: "Deleted.", Headers: tusHeaders()}
	b.addErrors(terminate, false, map[int]string{403: "another caller's upload", 404: "no such upload", 409: "a PATCH of it is in progress", 412: "no Tus-Resumable: 1.0.0"})
	item := b.path(uploadsPath + "/{upload}")
	item.Parameters = []*Parameter{pathParam("upload", "The upload, as Location named it.", stringSchema())}
	item.Head, item.Patch, item.Delete = head, patch, terminate
}

// uploadsPath is where resumable uploads are served.
const uploadsPath = "/_uploads"

// cleanup documents POST /_admin/cleanup.
func (b *builder) cleanup() {
	op := b.operation("runArtefactCleanup", b.tag("admin", "Operations for administrators."), "Run the artefact cleanup policies now.",
		"Runs the cleanup policies (artefacts.cleanup) once, or with dry_run=true only reports what they would delete and the bytes that "+
			"would be freed. Needs an admin role; without auth, loopback clients only.")
	op.Parameters = []*Parameter{queryParam("dry_run", "true: report only.", booleanSchema())}
	op.Responses["200"] = &Response{Description: "The run's report.", Content: jsonContent(&Schema{Type: Types{"object"},
		Required: []string{"dry_run", "skipped", "started", "finished", "versions", "count", "bytes_freed"},
		Properties: Properties{{"dry_run", booleanSchema()}, {"skipped", booleanSchema()}, {"started", dateTimeSchema()},
			{"finished", dateTimeSchema()}, {"versions", arrayOf(ref("Artefact"))}, {"count", integerSchema(0)}, {"bytes_freed", integerSchema(0)}}})}
	b.addErrors(op, false, map[int]string{400: "a bad parameter", 403: "not an administrator"})
	b.path("/_admin/cleanup").Post = op
}
