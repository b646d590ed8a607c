package openapi

// artefacts documents the artefact repository served at base: its directories, the
// artefacts in them, uploads, downloads (ranges and conditional requests), versions
// and deletes.
func (b *builder) artefacts(base string) {
	b.artefactSchemas()
	tag := b.tag("artefacts", "The artefact repository: directories of files with immutable versions and SHA-256 checksums.")
	b.artefactDirectories(base, tag)
	b.artefactFiles(base, tag)
}

func artefactName() *Schema {
	return &Schema{Type: Types{"string"}, MinLength: new(1), MaxLength: new(255)}
}

func versionParam() *Parameter {
	return queryParam("version", "One version (default: the latest).", integerSchema(1))
}

func binarySchema() *Schema { return &Schema{Type: Types{"string"}, Format: "binary"} }

// artefactSchemas declares the metadata of a version and of a directory.
func (b *builder) artefactSchemas() {
	schemas := b.doc.Components.Schemas
	schemas["Artefact"] = &Schema{Type: Types{"object"}, Description: "The metadata of one version of an artefact.",
		Required: []string{"directory", "id", "version", "size", "sha256", "content_type", "created", "updated"},
		Properties: Properties{
			{"directory", stringSchema()},
			{"id", stringSchema()},
			{"version", integerSchema(1)},
			{"size", integerSchema(0)},
			{"sha256", &Schema{Type: Types{"string"}, Pattern: "^[0-9a-f]{64}$"}},
			{"content_type", stringSchema()},
			{"filename", stringSchema()},
			{"created", dateTimeSchema()},
			{"updated", dateTimeSchema()},
		}}
	schemas["ArtefactDirectory"] = &Schema{Type: Types{"object"}, Description: "A directory of the repository.",
		Required: []string{"name", "artefacts", "size", "updated"},
		Properties: Properties{
			{"name", stringSchema()},
			{"artefacts", integerSchema(0)},
			{"size", integerSchema(0)},
			{"updated", dateTimeSchema()},
		}}
}

// artefactDirectories documents the repository's root and its directories.
func (b *builder) artefactDirectories(base, tag string) {
	root := b.operation("listArtefactDirectories", tag, "List the directories, or find versions by content digest.",
		"Answers the repository's directories with their artefact counts and sizes; with sha256=HEX, every version in any directory whose content has that digest.")
	root.Parameters = []*Parameter{queryParam("sha256", "Find the versions with this content (lowercase hex SHA-256).", stringSchema())}
	root.Responses["200"] = &Response{Description: "The directories (or, with sha256, the versions holding that content).",
		Content: jsonContent(arrayOf(&Schema{OneOf: []*Schema{ref("ArtefactDirectory"), ref("Artefact")}}))}
	b.addErrors(root, false, map[int]string{400: "an unknown parameter or a bad digest"})
	b.path(base).Get = root

	list := b.operation("listArtefacts", tag, "List a directory.",
		"Answers the latest version of each artefact in the directory, paged with limit, cursor and the Link header; prefix= keeps the ids that start with it.")
	list.Parameters = []*Parameter{
		queryParam("prefix", "Only ids starting with it.", stringSchema()),
		queryParam("sort", "name (default), updated or size; - for descending.",
			&Schema{Type: Types{"string"}, Enum: []any{"name", "-name", "updated", "-updated", "size", "-size"}}),
		queryParam("limit", "Page size.", integerSchema(1)),
		queryParam("cursor", "Opaque cursor from the Link header.", stringSchema()),
	}
	list.Responses["200"] = &Response{Description: "The directory's artefacts (latest versions).",
		Headers: map[string]*Header{"Link": linkHeader()}, Content: jsonContent(arrayOf(ref("Artefact")))}
	b.addErrors(list, false, map[int]string{400: "a bad name or parameter", 404: "no such directory"})
	dropDir := b.operation("deleteArtefactDirectory", tag, "Delete a directory and everything in it.",
		"Deletes every version of every artefact in the directory, and the directory; content no other version refers to is collected.")
	dropDir.Responses["204"] = &Response{Description: "The directory and everything in it are deleted."}
	b.addErrors(dropDir, false, map[int]string{400: "a bad name", 404: "no such directory"})
	dir := b.path(base + "/{dir}")
	dir.Parameters = []*Parameter{pathParam("dir", "The directory.", artefactName())}
	dir.Get, dir.Delete = list, dropDir
}

// artefactFiles documents one artefact: download, uploads, delete and versions.
func (b *builder) artefactFiles(base, tag string) {
	dirParam := pathParam("dir", "The directory.", artefactName())
	idParam := pathParam("id", "The artefact.", artefactName())
	artefact := b.path(base + "/{dir}/{id}")
	artefact.Parameters = []*Parameter{dirParam, idParam}
	artefact.Get = b.artefactDownload(tag)
	artefact.Post, artefact.Put = b.artefactUploads(tag)
	remove := b.operation("deleteArtefact", tag, "Delete an artefact, or one version of it.",
		"Deletes every version of the artefact, or only version=N; content no other version refers to is collected.")
	remove.Parameters = []*Parameter{versionParam()}
	remove.Responses["204"] = &Response{Description: "Deleted (the whole artefact, or one version)."}
	b.addErrors(remove, false, map[int]string{400: "a bad name or version", 404: "no such artefact or version"})
	artefact.Delete = remove

	versions := b.operation("listArtefactVersions", tag, "List the versions of an artefact.",
		"Answers the metadata of every kept version of the artefact, newest first.")
	versions.Responses["200"] = &Response{Description: "The versions, newest first.", Content: jsonContent(arrayOf(ref("Artefact")))}
	b.addErrors(versions, false, map[int]string{400: "a bad name", 404: "no such artefact"})
	v := b.path(base + "/{dir}/{id}/versions")
	v.Parameters = []*Parameter{dirParam, idParam}
	v.Get = versions
}

// artefactDownload documents GET of an artefact's content.
func (b *builder) artefactDownload(tag string) *Operation {
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
	download := b.operation("downloadArtefact", tag, "Download an artefact (ranges and conditional requests supported).",
		"Answers the content of the latest version, or of version=N, with its SHA-256 as ETag and Repr-Digest. Range gives 206 with "+
			"the bytes asked for (If-Range keeps it to an unchanged file); If-None-Match and If-Modified-Since give 304.")
	download.Parameters = []*Parameter{versionParam(),
		headerParam("Range", "bytes=START-END"), headerParam("If-Range", "An ETag or date: the range only if unchanged."),
		ifNoneMatchParam(), ifModifiedSinceParam(), ifMatchParam(), ifUnmodifiedSinceParam()}
	download.Responses["200"] = &Response{Description: "The content.", Headers: downloadHeaders(),
		Content: map[string]*MediaType{"*/*": {Schema: binary()}}}
	download.Responses["206"] = &Response{Description: "Partial Content: the requested range.", Headers: downloadHeaders(),
		Content: map[string]*MediaType{"*/*": {Schema: binary()}}}
	download.Responses["304"] = &Response{Description: "Not Modified."}
	b.addErrors(download, false, map[int]string{400: "a bad name or version", 404: "no such artefact or version",
		412: "If-Match or If-Unmodified-Since does not hold", 416: "the range is outside the file"})
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
		return &RequestBody{Required: true,
			Description: "The content: the raw bytes (application/octet-stream), or a form whose first file part is stored (multipart/form-data, as curl -F file=@NAME sends).",
			Content: map[string]*MediaType{
				"application/octet-stream": {Schema: binary()},
				"multipart/form-data":      {Schema: &Schema{Type: Types{"object"}, Properties: Properties{{"file", binary()}}}},
			}}
	}
	checksums := func() []*Parameter {
		return []*Parameter{
			headerParam("Content-Digest", "sha-256=:BASE64: of the body; a mismatch is a 400 and nothing is stored."),
			headerParam("X-Checksum-Sha256", "Hex SHA-256 of the content; a mismatch is a 400 and nothing is stored."),
		}
	}
	uploadCodes := map[int]string{400: "a bad name or a checksum mismatch", 408: "the body arrived too slowly", 413: "the file is larger than the limit",
		507: "the data disk is too full"}

	create = b.operation("createArtefact", tag, "Upload a new artefact (409 if it exists).",
		"Stores the body as version 1 of a new artefact, creating the directory, and answers its metadata. The content is hashed "+
			"as it streams; a Content-Digest or X-Checksum-Sha256 that does not match is a 400 and nothing is stored.")
	create.Parameters = checksums()
	create.RequestBody = upload()
	create.Responses["201"] = stored("Created: the first version.")
	codes := copyCodes(uploadCodes)
	codes[409] = "the artefact exists"
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
