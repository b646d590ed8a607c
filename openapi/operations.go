package openapi

import (
	"fmt"
	"strings"

	"github.com/restkit/restkit"
)

// The headers responses carry. Each call makes a new Header: the passes that run
// after the operations are built (rate limits) add to a response's headers, so no
// two responses share a map.

func header(desc string, s *Schema) *Header { return &Header{Description: desc, Schema: s} }

func etagHeader() *Header { return header("The entity tag of the representation.", stringSchema()) }

func lastModifiedHeader() *Header {
	return header("When the representation last changed (HTTP date).", stringSchema())
}

func cacheControlHeader() *Header {
	return header("Cache-Control of the representation.", stringSchema())
}

func locationHeader() *Header {
	return header("The URL of the created item.", &Schema{Type: Types{"string"}, Format: "uri-reference"})
}

func linkHeader() *Header {
	return header("RFC 8288 paging links: next, prev, first, last.", stringSchema())
}

// validatorHeaders are the headers of a response that carries one representation.
func validatorHeaders() map[string]*Header {
	return map[string]*Header{"ETag": etagHeader(), "Last-Modified": lastModifiedHeader(), "Cache-Control": cacheControlHeader()}
}

func headerParam(name, desc string) *Parameter {
	return &Parameter{Name: name, In: "header", Description: desc, Schema: stringSchema()}
}

func queryParam(name, desc string, s *Schema) *Parameter {
	return &Parameter{Name: name, In: "query", Description: desc, Schema: s}
}

func pathParam(name, desc string, s *Schema) *Parameter {
	return &Parameter{Name: name, In: "path", Required: true, Description: desc, Schema: s}
}

func ifMatchParam() *Parameter {
	return headerParam("If-Match", "Change only if the current ETag matches (412 otherwise).")
}

func ifNoneMatchParam() *Parameter {
	return headerParam("If-None-Match", "GET: 304 when the ETag matches. Writes: * makes the write create-only (412 if it exists).")
}

func ifModifiedSinceParam() *Parameter {
	return headerParam("If-Modified-Since", "304 when unchanged since this HTTP date.")
}

func ifUnmodifiedSinceParam() *Parameter {
	return headerParam("If-Unmodified-Since", "Change only if unchanged since this HTTP date (412 otherwise).")
}

// fieldsParam is the projection parameter. A response to a request with fields= holds
// only the named fields; the document describes the record without it, so that
// the common read decodes straight into the record's type in a generated client,
// and says here that with it, properties the record requires may be absent.
func fieldsParam(res *restkit.Resource) *Parameter {
	return queryParam("fields", "Comma-separated names of the fields to return (a projection): the "+res.Singular+
		" then holds only those fields, so properties its schema requires may be absent.", stringSchema())
}

// seeOther is the answer to a browser (Accept: text/html): the reference page.
func seeOther() *Response {
	return &Response{Description: "See Other: a browser (Accept: text/html) is sent to the reference page."}
}

func copyCodes(m map[int]string) map[int]string {
	out := make(map[int]string, len(m)+3)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// resourceDoc is what the operations of one resource share while it is documented.
type resourceDoc struct {
	b                             *builder
	api                           *restkit.API
	res                           *restkit.Resource
	name, tag                     string // its schema name and tag
	listPath, itemsPath, itemPath string
	keyParam                      *Parameter
	record                        *Schema // a reference to its schema
	item                          *PathItem
}

// bodyErrors are the failures of a request with a JSON body.
func bodyErrors() map[int]string {
	return map[int]string{400: "the body is malformed or fails validation (errors lists every field)",
		406: "no acceptable representation", 408: "the body arrived too slowly", 413: "the body is larger than the limit", 415: "the body is not JSON"}
}

// recordContent is a record's representations, in the API's style.
func (d *resourceDoc) recordContent() map[string]*MediaType {
	return map[string]*MediaType{"application/json": {Schema: envelope(d.api, d.record)}, "application/xml": {}}
}

// itemOps is the path item of one record, made on first use.
func (d *resourceDoc) itemOps() *PathItem {
	if d.item == nil {
		d.item = d.b.path(d.itemPath)
		d.item.Parameters = []*Parameter{d.keyParam}
	}
	return d.item
}

// resourceTag declares the tag of a resource's operations: its list path.
func (b *builder) resourceTag(api *restkit.API, res *restkit.Resource) string {
	desc := res.Description
	if desc == "" {
		desc = fmt.Sprintf("The %s, keyed by %s.", res.Name, res.Key)
	}
	return b.tag(api.ListPath(res), desc)
}

// resource documents a resource's list, items, their writes, its sub-collections
// and, with history, its revisions.
func (b *builder) resource(api *restkit.API, res *restkit.Resource) {
	key := res.KeyField()
	d := &resourceDoc{b: b, api: api, res: res, name: schemaName(api, res.Singular),
		listPath: api.ListPath(res), itemsPath: api.ItemsPath(res)}
	d.itemPath = d.itemsPath + "/{" + res.Key + "}"
	schemas := b.doc.Components.Schemas
	schemas[d.name] = objectSchema(res.Description, res.Fields, func(f *restkit.Field) bool {
		return f.Required && !(f == key && res.KeySource == restkit.KeyFromURL)
	}, res.Timestamps)
	if len(res.Relations()) > 0 {
		schemas[d.name].Properties = append(schemas[d.name].Properties, Property{"expand", expandSchema(res)})
	}
	schemas[d.name].Deprecated = b.deprecated
	d.record = ref(d.name)
	if !res.Enabled() {
		return // switched off (a capability): its schema stays, for the relations that name it
	}
	d.tag = b.resourceTag(api, res)
	d.keyParam = pathParam(res.Key, "The "+res.Singular+"'s "+res.Key+".", parameterSchema(key))
	if res.Allows(restkit.GET, false) {
		b.path(d.listPath).Get = d.listOp(operationID(api, "list", res.Name), "List "+res.Name+".", "")
	}
	if res.Allows(restkit.POST, false) {
		d.createOps()
	}
	if res.Allows(restkit.GET, true) {
		d.getOp()
	}
	d.writeOps()
	if res.History {
		b.history(api, res, d.name, d.keyParam, d.itemPath, d.tag)
	}
	for _, sc := range res.SubCollections() {
		if sc.Resource.Enabled() {
			b.subCollection(api, res, sc, d.keyParam)
		}
	}
}

// listOp documents a list of the resource's records; within, when not empty, says
// whose records a sub-collection lists.
func (d *resourceDoc) listOp(id, summary, within string) *Operation {
	res := d.res
	op := d.b.operation(id, d.tag, summary,
		within+"Answers a JSON array of "+res.Name+" (or XML, or CSV), a page at a time. limit sets the page size; the Link header "+
			"(RFC 8288) has the next, prev and first pages, and last with count=true. cursor pages by key at any depth, "+
			"page by offset in small sets. sort orders by sortable fields; each filterable field takes field=value and "+
			"field[op]=value, a relation's target's filterable fields relation.field=value, and or=(…) combines conditions. "+
			"An unknown parameter, field, operator or a bad value is a 400 that names it.")
	op.Parameters = listParams(res)
	op.Responses["200"] = &Response{Description: "A page of " + res.Name + ".",
		Headers: map[string]*Header{"Link": linkHeader(), "Cache-Control": cacheControlHeader(),
			"X-Total-Count": header("The number of matching records (with count=true).", integerSchema(0))},
		Content: map[string]*MediaType{"application/json": {Schema: envelope(d.api, arrayOf(d.record))},
			"application/xml": {}, "text/csv": {}}}
	op.Responses["303"] = seeOther()
	codes := map[int]string{400: "an unknown field, operator or bad value in the query", 406: "no acceptable representation"}
	if within != "" {
		codes[404] = "no such record to list the referrers of"
	}
	d.b.addErrors(op, d.api.Envelope, codes)
	return op
}

// createOps documents POST on the list (and on the items' own path when it differs).
func (d *resourceDoc) createOps() {
	b, api, res, name := d.b, d.api, d.res, d.name
	// The body and the answer are one record or an array of them, a union named
	// in the components: generated clients give a named union its own methods
	// (oapi-codegen v2.8 drops the JSON methods of an inline one in a body).
	schemas := b.doc.Components.Schemas
	schemas[name+"Batch"] = &Schema{Type: Types{"array"}, Items: d.record,
		Description: "Several " + res.Name + " created by one request: all of them, or none."}
	schemas[name+"OrBatch"] = &Schema{OneOf: []*Schema{d.record, ref(name + "Batch")},
		Description: "One " + res.Singular + ", or an array of them created together."}
	create := func(id, summary, description string) *Operation {
		op := b.operation(id, d.tag, summary, description)
		body := ref(name + "OrBatch")
		op.RequestBody = &RequestBody{Required: true, Content: jsonContent(body),
			Description: "One " + res.Singular + ", or an array of them to create together."}
		op.Responses["201"] = &Response{Description: "Created: the stored " + res.Singular + " (an array of them for an array body).",
			Headers: map[string]*Header{"Location": locationHeader(), "ETag": etagHeader(), "Last-Modified": lastModifiedHeader()},
			Content: map[string]*MediaType{"application/json": {Schema: envelope(api, body)}, "application/xml": {}}}
		codes := bodyErrors()
		codes[409] = "the key or a unique value is taken"
		if res.KeySource == restkit.KeyGenerated {
			codes[400] += "; a generated key must not be supplied"
		}
		if len(res.Relations()) > 0 {
			codes[400] += "; a relation refers to a record that does not exist"
		}
		b.addErrors(op, api.Envelope, codes)
		return op
	}
	createDesc := "Stores a new " + res.Singular + " and answers 201 with its Location and the stored record. " + keySource(res) +
		" An array body creates several in one transaction: every one of them, or none (the error names the item)."
	b.path(d.listPath).Post = create(operationID(api, "create", res.Singular), "Create a "+res.Singular+" (or several, from an array).", createDesc)
	if d.itemsPath != d.listPath {
		// The items' own path takes POST too (a Flask app posts to /api/resource).
		b.path(d.itemsPath).Post = create(operationID(api, "create", res.Singular+"_at_item_path"),
			"Create a "+res.Singular+" (or several), as POST "+d.listPath+" does.", createDesc)
	}
}

// getOp documents GET of one record.
func (d *resourceDoc) getOp() {
	res := d.res
	op := d.b.operation(operationID(d.api, "get", res.Singular), d.tag, "Read a "+res.Singular+".",
		"Answers the "+res.Singular+" with its ETag and Last-Modified (or as XML). If-None-Match or If-Modified-Since "+
			"that still hold give 304 without a body. fields= returns only the named fields.")
	op.Parameters = []*Parameter{fieldsParam(res), ifNoneMatchParam(), ifModifiedSinceParam()}
	if p := expandParam(res); p != nil {
		op.Parameters = append(op.Parameters, p)
	}
	op.Responses["200"] = &Response{Description: "The " + res.Singular + ".", Headers: validatorHeaders(), Content: d.recordContent()}
	op.Responses["304"] = &Response{Description: "Not Modified: the ETag matches If-None-Match.", Headers: map[string]*Header{"ETag": etagHeader()}}
	op.Responses["303"] = seeOther()
	d.b.addErrors(op, d.api.Envelope, map[int]string{400: "the key or the fields parameter is invalid", 404: "no such " + res.Singular, 406: "no acceptable representation"})
	d.itemOps().Get = op
}

// writeOps documents PUT, PATCH and DELETE of one record, as the resource allows.
func (d *resourceDoc) writeOps() {
	b, api, res, name := d.b, d.api, d.res, d.name
	env := api.Envelope
	writeCodes := func() map[int]string {
		c := bodyErrors()
		c[404] = "no such " + res.Singular
		c[412] = "If-Match or If-None-Match does not hold"
		if res.RequireIfMatch {
			c[428] = "an existing " + res.Singular + " is only changed with If-Match"
		}
		return c
	}
	conditional := func() []*Parameter {
		return []*Parameter{ifMatchParam(), ifNoneMatchParam(), ifUnmodifiedSinceParam()}
	}
	guarded := " If-Match (with the ETag of a GET) makes the write fail with 412 when someone changed the " + res.Singular + " since."
	if res.RequireIfMatch {
		guarded = " An existing " + res.Singular + " is only changed with If-Match, the ETag of a GET (428 without it; 412 when someone changed it since)."
	}
	jsonBody := func(s *Schema, desc string) *RequestBody {
		return &RequestBody{Required: true, Description: desc, Content: map[string]*MediaType{
			"application/json": {Schema: s}, "application/merge-patch+json": {Schema: s}}}
	}
	if res.Allows(restkit.PUT, true) {
		desc := "Replaces the whole " + res.Singular + ": fields not given take their defaults, or null. A key in the body must match the URL."
		if res.PutCreates {
			desc += " An absent " + res.Singular + " is created (201)."
		}
		op := b.operation(operationID(api, "replace", res.Singular), d.tag, "Replace a "+res.Singular+" (full replace).", desc+guarded)
		op.Parameters = conditional()
		op.RequestBody = jsonBody(d.record, "The whole "+res.Singular+".")
		op.Responses["200"] = &Response{Description: "The replaced " + res.Singular + ".", Headers: validatorHeaders(), Content: d.recordContent()}
		if res.PutCreates {
			op.Responses["201"] = &Response{Description: "Created: the " + res.Singular + " did not exist.",
				Headers: map[string]*Header{"Location": locationHeader(), "ETag": etagHeader(), "Last-Modified": lastModifiedHeader()},
				Content: d.recordContent()}
		}
		codes := writeCodes()
		codes[409] = "a unique value is taken"
		codes[400] += "; the key in the body must match the URL"
		b.addErrors(op, env, codes)
		d.itemOps().Put = op
	}
	if res.Allows(restkit.PATCH, true) {
		b.doc.Components.Schemas[name+"Patch"] = objectSchema("A JSON Merge Patch (RFC 7396) of a "+res.Singular+": the fields to change; null unsets a nullable field.",
			res.Fields, func(*restkit.Field) bool { return false }, false)
		op := b.operation(operationID(api, "update", res.Singular), d.tag, "Change some fields of a "+res.Singular+" (JSON Merge Patch).",
			"Applies a JSON Merge Patch (RFC 7396): the fields given change, null clears a nullable field, the others keep their values."+guarded)
		op.Parameters = conditional()
		op.RequestBody = jsonBody(ref(name+"Patch"), "The fields to change.")
		op.Responses["200"] = &Response{Description: "The patched " + res.Singular + ".", Headers: validatorHeaders(), Content: d.recordContent()}
		codes := writeCodes()
		codes[409] = "a unique value is taken"
		b.addErrors(op, env, codes)
		d.itemOps().Patch = op
	}
	if res.Allows(restkit.DELETE, true) {
		d.deleteOp(writeCodes(), conditional(), guarded)
	}
}

// deleteOp documents DELETE of one record, with what its referrers' on_delete do.
func (d *resourceDoc) deleteOp(codes map[int]string, params []*Parameter, guarded string) {
	res := d.res
	desc := "Deletes the " + res.Singular + " (204)."
	if res.History {
		desc += " Its revisions stay readable, ending in a tombstone, until purged."
	}
	for _, ref := range res.Referrers() {
		desc += fmt.Sprintf(" Records of %s whose %s refers to it: %s.", ref.Resource.Name, ref.Field.Name, onDeleteText(ref.Field.OnDelete))
	}
	op := d.b.operation(operationID(d.api, "delete", res.Singular), d.tag, "Delete a "+res.Singular+".", desc+guarded)
	op.Parameters = params
	op.Responses["204"] = &Response{Description: "Deleted."}
	delete(codes, 413)
	delete(codes, 415)
	delete(codes, 406)
	if len(res.Referrers()) > 0 {
		codes[409] = "records refer to it through a restricting relation (the message says how many, and from where)"
	}
	d.b.addErrors(op, d.api.Envelope, codes)
	d.itemOps().Delete = op
}

// onDeleteText says what deleting a target does to a record that refers to it.
func onDeleteText(o restkit.OnDelete) string {
	switch o {
	case restkit.Cascade:
		return "deleted with it (cascade)"
	case restkit.SetNull:
		return "the reference cleared (set_null)"
	}
	return "the delete is refused while any exist (restrict)"
}

// subCollection documents GET of the records that refer to one record of res.
func (b *builder) subCollection(api *restkit.API, res *restkit.Resource, sc restkit.SubCollection, keyParam *Parameter) {
	refAPI, referrer := sc.API, sc.Resource
	d := &resourceDoc{b: b, api: refAPI, res: referrer, name: schemaName(refAPI, referrer.Singular),
		tag: b.resourceTag(refAPI, referrer)}
	d.record = ref(d.name)
	path := api.ItemsPath(res) + "/{" + res.Key + "}/" + sc.Name
	op := d.listOp(operationID(api, "list", res.Singular+"_"+sc.Name), "List the "+referrer.Name+" whose "+sc.Field.Name+" refers to a "+res.Singular+".",
		"The "+referrer.Name+" whose "+sc.Field.Name+" refers to the "+res.Singular+" named in the URL, as a list of "+referrer.Name+" is. ")
	item := b.path(path)
	item.Parameters = []*Parameter{keyParam}
	item.Get = op
}

// keySource says where the key of a record made by POST comes from (a key from the
// URL allows no POST: Schema.Prepare refuses it).
func keySource(res *restkit.Resource) string {
	switch {
	case res.SequentialKeys():
		return "The server numbers the key " + res.Key + ": 1, 2, 3…, never reused; a body that sends one is a 400."
	case res.KeySource == restkit.KeyGenerated:
		return "The server chooses the key " + res.Key + " (a UUIDv7); a body that sends one is a 400."
	}
	return "The body carries the key " + res.Key + "; a key that exists is a 409."
}

// listParams are the paging, sorting, projection and filter parameters of a list.
func listParams(res *restkit.Resource) []*Parameter {
	var sortable []string
	for _, f := range res.Fields {
		if f.Sortable {
			sortable = append(sortable, f.Name)
		}
	}
	limit := &Schema{Type: Types{"integer"}, Minimum: new(1.0), Maximum: new(float64(res.MaxPageSize))}
	ps := []*Parameter{
		queryParam("limit", fmt.Sprintf("Page size (default %d).", res.PageSize), limit),
		queryParam("cursor", "Opaque cursor from a Link header: keyset paging at any depth.", stringSchema()),
		queryParam("page", "1-based page number (offset paging for small sets).", integerSchema(1)),
		queryParam("sort", "Comma-separated sort fields, - for descending; sortable: "+strings.Join(sortable, ", ")+".", stringSchema()),
		fieldsParam(res),
		queryParam("count", "true adds X-Total-Count (and a last link).", booleanSchema()),
	}
	if p := expandParam(res); p != nil {
		ps = append(ps, p)
	}
	ps = append(ps, queryParam("or", "A group of conditions any of which holds: or=(color=red,year[gte]=2020); "+
		"and=(…) groups inside it, up to 4 deep; a value holding a comma or a parenthesis in double quotes; in lists in parentheses. "+
		"Several or parameters must all hold.", stringSchema()))
	reserved := map[string]bool{}
	for _, p := range ps {
		reserved[p.Name] = true
	}
	for _, f := range res.Fields {
		if !f.Filterable {
			continue
		}
		if !f.Type.Scalar() && !(f.Type == restkit.TypeRelation && !f.Many) { // an array, a many relation
			item := parameterSchema(f).Items
			ps = append(ps, queryParam(f.Name+"[contains]", "Filter: "+f.Name+" holds this item.", item),
				queryParam(f.Name+"[null]", "Filter: "+f.Name+" is unset (true) or set (false).", booleanSchema()))
			continue
		}
		// A field named like a list parameter (count, page…) is filtered with
		// name[eq]=v: the plain name=v is that parameter.
		if !reserved[f.Name] {
			ps = append(ps, queryParam(f.Name, "Only "+f.Name+" equal to this.", parameterSchema(f)))
		}
		for _, op := range restkit.Ops {
			var s *Schema
			switch op {
			case restkit.OpEq, restkit.OpNe:
				s = parameterSchema(f)
			case restkit.OpLt, restkit.OpLte, restkit.OpGt, restkit.OpGte:
				if f.Type == restkit.TypeBoolean {
					continue
				}
				s = parameterSchema(f)
			case restkit.OpIn:
				s = &Schema{Type: Types{"string"}, Description: "comma-separated values"}
			case restkit.OpPrefix:
				if !f.Type.Textual() {
					continue
				}
				s = stringSchema()
			case restkit.OpNull:
				s = booleanSchema()
			case restkit.OpContains:
				if !f.Type.Textual() {
					continue
				}
				s = stringSchema()
			default:
				continue
			}
			ps = append(ps, queryParam(f.Name+"["+string(op)+"]", fmt.Sprintf("Filter: %s %s.", f.Name, op), s))
		}
	}
	return ps
}

// expandParam is the expand parameter of a resource with relations: a comma list of
// relation paths (nil without relations).
func expandParam(res *restkit.Resource) *Parameter {
	paths := expandPaths(res, "", 3)
	if len(paths) == 0 {
		return nil
	}
	p := queryParam("expand", "Relations to add to each record under expand, comma-separated; a path (author.publisher) "+
		"expands inside the expanded record, at most 3 deep. A relation to records the caller may not read is a 400.",
		&Schema{Type: Types{"array"}, Items: &Schema{Type: Types{"string"}, Enum: paths}})
	p.Style, p.Explode = "form", new(false)
	return p
}

// history documents a resource's revisions: the list, one revision, and the purge.
func (b *builder) history(api *restkit.API, res *restkit.Resource, name string, keyParam *Parameter, itemPath, tag string) {
	env := api.Envelope
	b.doc.Components.Schemas[name+"Revision"] = &Schema{Type: Types{"object"},
		Description: "One revision of a " + res.Singular + ": its number, when it was written and by whom, and the record as it was then.",
		Required:    []string{"rev", "deleted", "updated", "record"},
		Properties: Properties{
			{"rev", integerSchema(1)},
			{"deleted", booleanSchema()},
			{"updated", dateTimeSchema()},
			{"actor", stringSchema()},
			{"record", ref(name)},
		}}
	if res.Allows(restkit.GET, true) {
		list := b.operation(operationID(api, "list", res.Singular+"_revisions"), tag, "List the revisions of a "+res.Singular+".",
			"Answers the "+res.Singular+"'s revisions, newest first, paged with limit, cursor and the Link header. "+
				"A deleted "+res.Singular+" keeps its revisions, the newest a tombstone (deleted: true).")
		list.Parameters = []*Parameter{
			queryParam("limit", "Page size.", &Schema{Type: Types{"integer"}, Minimum: new(1.0), Maximum: new(float64(res.MaxPageSize))}),
			queryParam("cursor", "Opaque cursor from the Link header.", stringSchema()),
		}
		list.Responses["200"] = &Response{Description: "The revisions, newest first.",
			Headers: map[string]*Header{"Link": linkHeader(), "Cache-Control": cacheControlHeader()},
			Content: map[string]*MediaType{"application/json": {Schema: envelope(api, arrayOf(ref(name+"Revision")))}, "application/xml": {}}}
		list.Responses["303"] = seeOther()
		b.addErrors(list, env, map[int]string{400: "a bad cursor or limit", 404: "no revisions of this " + res.Singular, 406: "no acceptable representation"})
		revs := b.path(itemPath + "/revisions")
		revs.Parameters = []*Parameter{keyParam}
		revs.Get = list

		one := b.operation(operationID(api, "get", res.Singular+"_revision"), tag, "Read one revision of a "+res.Singular+".",
			"Answers the "+res.Singular+" as it was at revision rev, with that revision's ETag; fields= returns only the named fields.")
		one.Parameters = []*Parameter{fieldsParam(res), ifNoneMatchParam()}
		one.Responses["200"] = &Response{Description: "The " + res.Singular + " as it was at that revision.",
			Headers: map[string]*Header{"ETag": etagHeader(), "Last-Modified": lastModifiedHeader(),
				"X-Revision": header("The revision number.", &Schema{Type: Types{"integer"}})},
			Content: map[string]*MediaType{"application/json": {Schema: envelope(api, ref(name))}, "application/xml": {}}}
		one.Responses["304"] = &Response{Description: "Not Modified."}
		one.Responses["303"] = seeOther()
		b.addErrors(one, env, map[int]string{400: "a bad revision number", 404: "no such revision", 406: "no acceptable representation"})
		rev := b.path(itemPath + "/revisions/{rev}")
		rev.Parameters = []*Parameter{keyParam, pathParam("rev", "The revision number.", integerSchema(1))}
		rev.Get = one
	}
	if res.Allows(restkit.DELETE, true) {
		purge := b.operation(operationID(api, "purge", res.Singular+"_revisions"), tag, "Purge the history of a "+res.Singular+".",
			"Deletes every stored revision of the "+res.Singular+"; the "+res.Singular+" itself, if it exists, stays as it is.")
		purge.Responses["204"] = &Response{Description: "The history is purged."}
		b.addErrors(purge, env, map[int]string{400: "the key is invalid", 404: "no revisions of this " + res.Singular})
		revs := b.path(itemPath + "/revisions")
		revs.Parameters = []*Parameter{keyParam}
		revs.Delete = purge
	}
}

// noun documents a noun: GET reads its state, PUT sets it, POST runs its update and
// DELETE resets it.
func (b *builder) noun(api *restkit.API, n *restkit.Noun) {
	name := schemaName(api, n.Name)
	path := api.Base + "/" + n.Name
	schemas := b.doc.Components.Schemas
	schemas[name] = objectSchema(n.Description, n.Fields, func(f *restkit.Field) bool { return f.Required }, false)
	schemas[name].Deprecated = b.deprecated
	env := api.Envelope
	tagDesc := n.Description
	if tagDesc == "" {
		tagDesc = "The " + n.Name + " noun: one state object."
	}
	tag := b.tag(path, tagDesc)
	ok := func(desc string) *Response {
		return &Response{Description: desc, Headers: validatorHeaders(),
			Content: map[string]*MediaType{"application/json": {Schema: envelope(api, ref(name))}, "application/xml": {}}}
	}
	const flat = "A flat JSON object: no arrays, no nested objects."
	writeCodes := map[int]string{400: "the body is malformed or fails validation", 406: "no acceptable representation",
		412: "If-Match does not hold", 408: "the body arrived too slowly", 413: "the body is larger than the limit", 415: "the body is not JSON"}
	item := b.path(path)

	get := b.operation(operationID(api, "get", n.Name), tag, "Read the state of "+n.Name+".",
		"Answers the state, every field present, with its ETag; If-None-Match or If-Modified-Since that still hold give 304.")
	get.Parameters = []*Parameter{ifNoneMatchParam(), ifModifiedSinceParam()}
	get.Responses["200"] = ok("The state.")
	get.Responses["304"] = &Response{Description: "Not Modified."}
	get.Responses["303"] = seeOther()
	b.addErrors(get, env, map[int]string{406: "no acceptable representation"})
	item.Get = get

	set := b.operation(operationID(api, "set", n.Name), tag, "Set the state exactly; fields not given take their defaults.",
		"Replaces the state with the body, a flat JSON object; fields it does not give take their defaults. If-Match makes it fail with 412 when the state changed since a GET.")
	set.Parameters = []*Parameter{ifMatchParam()}
	set.RequestBody = &RequestBody{Required: true, Description: flat, Content: jsonContent(ref(name))}
	set.Responses["200"] = ok("The new state.")
	b.addErrors(set, env, writeCodes)
	item.Put = set

	summary := "Update the state: " + string(n.Update.Op)
	if n.Update.Field != "" {
		summary += " " + n.Update.Field
	}
	var desc string
	switch n.Update.Op {
	case restkit.UpdateToggle:
		desc = "Flips " + n.Update.Field + " and answers the new state; the body may be empty."
	case restkit.UpdateIncrement:
		desc = fmt.Sprintf("Adds %g to %s and answers the new state; the body may be empty.", n.Update.By, n.Update.Field)
	case restkit.UpdateHook:
		desc = "Runs the server's Go hook with the body (a flat JSON object, or none) and answers the new state."
	default:
		desc = "Merges the body's fields into the state (a flat JSON object; the other fields keep their values) and answers the new state."
	}
	update := b.operation(operationID(api, "update", n.Name), tag, summary+".", desc+" If-Match makes it fail with 412 when the state changed since a GET.")
	update.Parameters = []*Parameter{ifMatchParam()}
	if n.Update.Op == restkit.UpdateMerge || n.Update.Op == restkit.UpdateHook {
		schemas[name+"Patch"] = objectSchema("The fields to change.", n.Fields, func(*restkit.Field) bool { return false }, false)
		update.RequestBody = &RequestBody{Required: false, Description: flat, Content: jsonContent(ref(name + "Patch"))}
	}
	update.Responses["200"] = ok("The updated state.")
	codes := copyCodes(writeCodes)
	codes[409] = "the update would leave the state invalid"
	b.addErrors(update, env, codes)
	item.Post = update

	reset := b.operation(operationID(api, "reset", n.Name), tag, "Reset the state to its defaults.",
		"Sets every field to its default and answers that state. If-Match makes it fail with 412 when the state changed since a GET.")
	reset.Parameters = []*Parameter{ifMatchParam()}
	reset.Responses["200"] = ok("The default state.")
	codes = copyCodes(writeCodes)
	delete(codes, 413)
	delete(codes, 415)
	b.addErrors(reset, env, codes)
	item.Delete = reset
}
