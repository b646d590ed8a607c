package openapi

import (
	"slices"
	"strconv"

	"github.com/restkit/restkit/artefact"

	"github.com/restkit/restkit"
)

// Event streams (DESIGN §12): OAS 3.1 has no vocabulary for a stream's messages,
// so the text/event-stream schema is a string whose description gives the framing,
// and x-restkit-event-data gives the schema of each event's data by event name.

const streamText = "A Server-Sent Events stream (the HTML standard's text/event-stream): each change is " +
	"\"id: <seq>\\nevent: created|updated|deleted\\ndata: <JSON>\\n\\n\", id the change log's sequence number. " +
	"A client that reconnects sends the last id as Last-Event-ID (or ?since=) and resumes with nothing lost or repeated; " +
	"an id older than the log keeps gets one event: reset, data {\"reason\"}, after which it should list again. " +
	"A \": ping\" comment comes every 15 s; it may carry the id read up to. The stream ends when the server drains or reloads: reconnect."

// streamSchema is the text/event-stream schema of events whose data is record
// (deletes: keyOnly).
func streamSchema(record, keyOnly *Schema) *Schema {
	reset := &Schema{Type: Types{"object"}, Required: []string{"reason"}, Properties: Properties{{"reason", stringSchema()}}}
	data := map[string]*Schema{"created": record, "updated": record, "reset": reset}
	if keyOnly != nil {
		data["deleted"] = keyOnly
	}
	return &Schema{Type: Types{"string"}, Description: streamText, EventData: data}
}

// streamParams are since and Last-Event-ID.
func streamParams() []*Parameter {
	return []*Parameter{
		queryParam("since", "Resume after this event id (Last-Event-ID wins when both are given).", integerSchema(0)),
		headerParam("Last-Event-ID", "The id of the last event received: the stream resumes after it."),
	}
}

// streamOp is the GET of one event stream.
func (b *builder) streamOp(api *restkit.API, id, tag, summary, desc string, params []*Parameter, schema *Schema) *Operation {
	op := b.operation(id, tag, summary, desc)
	op.Parameters = params
	op.Responses["200"] = &Response{Description: "The stream: it stays open, one event per change.",
		Headers: map[string]*Header{"Cache-Control": cacheControlHeader()},
		Content: map[string]*MediaType{"text/event-stream": {Schema: schema}}}
	b.addErrors(op, api.Envelope, map[int]string{400: "a bad since or Last-Event-ID, or a parameter a stream does not take", 503: "the server is shutting down"})
	return op
}

// resourceEvents documents B/cars/events (filters apply to each event's record) and
// B/cars/{key}/events, and adds text/event-stream to the list's answers.
func (b *builder) resourceEvents(api *restkit.API, res *restkit.Resource) {
	if !res.Allows(restkit.GET, false) && !res.Allows(restkit.GET, true) {
		return
	}
	name := schemaName(api, res.Singular)
	keyOnly := &Schema{Type: Types{"object"}, Required: []string{res.Key}, Properties: Properties{{res.Key, parameterSchema(res.KeyField())}}}
	stream := streamSchema(ref(name), keyOnly)
	tag := b.resourceTag(api, res)
	list := api.ListPath(res)
	var filters []*Parameter
	for _, p := range listParams(res) {
		if !slices.Contains([]string{"limit", "cursor", "page", "sort", "count", "expand"}, p.Name) {
			filters = append(filters, p)
		}
	}
	if res.Allows(restkit.GET, false) { // the list's stream is served with the list's GET
		b.path(list + "/events").Get = b.streamOp(api, operationID(api, "stream", res.Name), tag, "Follow the changes of "+res.Name+".",
			"Every create, update and delete of "+res.Name+" as it commits, as the record a GET shows (the key alone for a delete). "+
				"The list's filters apply to each change's record; a delete is sent when the record matched in its last revision. "+
				"GET "+list+" with Accept: text/event-stream is the same stream.",
			append(streamParams(), filters...), stream)
		if op := b.path(list).Get; op != nil {
			op.Responses["200"].Content["text/event-stream"] = &MediaType{Schema: stream}
		}
	}
	if !res.Allows(restkit.GET, true) {
		return
	}
	item := b.path(api.ItemsPath(res) + "/{" + res.Key + "}/events")
	if item.Get != nil { // a sub-collection called events has the path
		return
	}
	item.Parameters = []*Parameter{pathParam(res.Key, "The "+res.Singular+"'s "+res.Key+".", parameterSchema(res.KeyField()))}
	item.Get = b.streamOp(api, operationID(api, "stream", res.Singular), tag, "Follow the changes of one "+res.Singular+".",
		"Every write of the "+res.Singular+" with this "+res.Key+" as it commits — also before it exists: its creation is the first event.",
		append(streamParams(), fieldsParam(res)), stream)
}

// nounEvents documents B/led/events.
func (b *builder) nounEvents(api *restkit.API, n *restkit.Noun) {
	path := api.Base + "/" + n.Name
	b.path(path + "/events").Get = b.streamOp(api, operationID(api, "stream", n.Name), path, "Follow the state of "+n.Name+".",
		"Every change of the state as it commits (created for the first write, updated after; a reset is an update to the defaults), as GET shows it.",
		streamParams(), streamSchema(ref(schemaName(api, n.Name)), nil))
}

// artefactEvents documents the repository's streams: BASE/events and, for a path of
// up to MaxDepth+1 segments, BASE/PATH/events (an artefact, or a directory with its
// subtree).
func (b *builder) artefactEvents(base, tag string) {
	keyOnly := &Schema{Type: Types{"object"}, Required: []string{"directory", "id"},
		Properties: Properties{{"directory", stringSchema()}, {"id", stringSchema()}}}
	stream := streamSchema(ref("Artefact"), keyOnly)
	b.path(base + "/events").Get = b.streamOp(&restkit.API{}, "streamArtefacts", tag, "Follow the changes of the repository.",
		"Every version added (created for an artefact's first, updated for later ones), version deleted and artefact deleted, "+
			"in the directories the caller may read, as listings show the version (directory and id alone for a deletion).",
		streamParams(), stream)
	for n := 1; n <= artefact.MaxDepth+1; n++ {
		template, params := segmentParams(n, "The artefact, or a subdirectory.")
		item := b.path(base + template + "/events")
		item.Parameters = params
		item.Get = b.streamOp(&restkit.API{}, "streamArtefactPath"+strconv.Itoa(n), tag, "Follow the changes of an artefact, or of a directory and everything below it.",
			"The repository's stream, of the artefact at this path or of the directory at this path with its subtree.", streamParams(), stream)
	}
}
