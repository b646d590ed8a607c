package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/recordjson"
)

// resourceHandler serves one declared collection and its items.
type resourceHandler struct {
	endpoint
	res   *restkit.Resource
	view  view
	guard guard // shared by the resource's history routes
}

func (h *resourceHandler) serveCollection(w http.ResponseWriter, r *http.Request) {
	verb := r.Method
	if verb == http.MethodHead {
		verb = http.MethodGet
	}
	switch {
	case verb == http.MethodOptions:
		w.Header().Set("Allow", allowHeader(h.res.Verbs(false)))
		w.WriteHeader(http.StatusNoContent)
	case !h.res.Allows(verb, false):
		h.s.methodNotAllowed(w, r, h.api.Envelope, allowHeader(h.res.Verbs(false)))
	case verb == http.MethodGet:
		h.list(w, r)
	case verb == http.MethodPost:
		h.create(w, r)
	}
}

// createVerbs are the verbs of B/<item_path> when it differs from the list's path:
// POST creates there as on the list.
var createVerbs = []string{http.MethodPost}

// serveCreate serves POST on the items' own path (B/resource beside B/resources).
func (h *resourceHandler) serveCreate(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodOptions:
		w.Header().Set("Allow", allowHeader(createVerbs))
		w.WriteHeader(http.StatusNoContent)
	case http.MethodPost:
		h.create(w, r)
	default:
		h.s.methodNotAllowed(w, r, h.api.Envelope, allowHeader(createVerbs))
	}
}

func (h *resourceHandler) serveItem(w http.ResponseWriter, r *http.Request) {
	verb := r.Method
	if verb == http.MethodHead {
		verb = http.MethodGet
	}
	switch {
	case verb == http.MethodOptions:
		w.Header().Set("Allow", allowHeader(h.res.Verbs(true)))
		w.WriteHeader(http.StatusNoContent)
		return
	case !h.res.Allows(verb, true):
		h.s.methodNotAllowed(w, r, h.api.Envelope, allowHeader(h.res.Verbs(true)))
		return
	}
	key, err := h.parseKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch verb {
	case http.MethodGet:
		h.get(w, r, key)
	case http.MethodPut:
		h.put(w, r, key)
	case http.MethodPatch:
		h.patch(w, r, key)
	case http.MethodDelete:
		h.delete(w, r, key)
	}
}

// parseKey reads the key from the URL: it must be a valid value of the key field and,
// for string keys, valid UTF-8 without control characters. Text is put in NFC, as
// artefact names are, so Zo%C3%AB and Zoe%CC%88 name one record (see normalizeKey).
func (h *resourceHandler) parseKey(r *http.Request) (any, error) {
	raw := r.PathValue("key")
	f := h.res.KeyField()
	invalid := func(msg string) error {
		return &restkit.Error{Kind: restkit.Invalid, Message: "invalid key in the URL",
			Fields: []restkit.FieldError{{Field: f.Name, Message: msg}}}
	}
	if !utf8.ValidString(raw) {
		return nil, invalid("must be valid UTF-8 without control characters")
	}
	raw = norm.NFC.String(raw)
	v, err := f.Parse(raw)
	if err != nil {
		return nil, invalid(fmt.Sprintf("%q is not a valid %s", raw, f.Type))
	}
	// One URL per record: /cars/1 only, not /cars/01, /cars/+1 or /cars/1e0.
	if n, ok := v.(int64); ok && strconv.FormatInt(n, 10) != raw {
		return nil, invalid(fmt.Sprintf("%q is not written as a plain integer; use %d", raw, n))
	}
	if msg := h.res.CheckKey(v); msg != "" {
		return nil, invalid(msg)
	}
	return v, nil
}

// normalizeKey puts a string key sent in a body into NFC (Unicode normalization form
// C), as parseKey does with the URL's: a client may spell "Zoë" as one code point or
// as "e" and a combining diaeresis, and both must name one record, with one Location.
// Keys are compared byte for byte by every store, so this is the one place they meet.
//
// References are keys too: a relation's values to a string-keyed resource are put
// into NFC alike, or "café" sent decomposed would refer to no record.
func (h *resourceHandler) normalizeKey(in map[string]any) {
	if s, ok := in[h.res.Key].(string); ok {
		in[h.res.Key] = norm.NFC.String(s)
	}
	for _, f := range h.res.Fields {
		if f.Type != restkit.TypeRelation || !stringKeyed(f) {
			continue
		}
		switch v := in[f.Name].(type) {
		case string:
			in[f.Name] = norm.NFC.String(v)
		case []any:
			for i, e := range v {
				if s, ok := e.(string); ok {
					v[i] = norm.NFC.String(s)
				}
			}
		}
	}
}

// stringKeyed reports whether relation f refers to a resource with string keys.
func stringKeyed(f *restkit.Field) bool {
	t := f.Target()
	return t != nil && t.KeyField() != nil && t.KeyField().Type != restkit.TypeInteger
}

func (h *resourceHandler) location(key any) string {
	return h.api.ItemsPath(h.res) + "/" + escapeKey(key)
}

func (h *resourceHandler) get(w http.ResponseWriter, r *http.Request, key any) {
	media, ok := h.negotiate(w, r, mediaJSON, mediaXML, mediaHTML)
	if !ok {
		return
	}
	v, exps := h.view, []*expansion(nil)
	if r.URL.RawQuery != "" {
		var err error
		if v, exps, err = h.itemView(r); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	rec, err := h.s.store.FindRecord(r.Context(), h.res, key)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var ex []expanded
	if exps != nil {
		if ex, err = h.s.expand(r.Context(), []*restkit.Record{rec}, exps); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	etag := etagOf(rec, media)
	if exps != nil {
		etag = expandedTag(etag, expandedAt(ex, 0), exps)
	}
	setValidators(w.Header(), rec, etag, h.res.CacheControl)
	if notModified(r, rec, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.writeExpanded(w, http.StatusOK, media, v, rec, expandedAt(ex, 0), exps)
}

// itemView applies fields= and expand= on a single record; no other parameter is
// meaningful there.
func (h *resourceHandler) itemView(r *http.Request) (view, []*expansion, error) {
	q := r.URL.Query()
	for name := range q {
		if name != paramFields && name != paramExpand {
			return view{}, nil, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters",
				Fields: []restkit.FieldError{{Field: name, Message: "is not a parameter of a single " + h.res.Singular + "; only fields and expand are"}}}
		}
	}
	lr, err := parseList(h.res, r.URL.RawQuery, h.s.cursors) // only fields= and expand= are left: it reports duplicates too
	if err != nil {
		return view{}, nil, err
	}
	var exps []*expansion
	if lr.expand != "" {
		if exps, err = h.s.parseExpand(r, h.res, lr.expand); err != nil {
			return view{}, nil, err
		}
	}
	return lr.view, exps, nil
}

func (h *resourceHandler) create(w http.ResponseWriter, r *http.Request) {
	media, ok := h.negotiate(w, r, mediaJSON, mediaXML)
	if !ok {
		return
	}
	data, err := readBody(w, r, h.res.MaxBody)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		h.createMany(w, r, media, data)
		return
	}
	in, err := restkit.ParseObject(data, restkit.Limits{MaxBytes: int(h.res.MaxBody)})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	values, err := h.build(r, in)
	if err == nil {
		err = h.allocateKeys(r, values)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	key := values[h.res.Key]
	now := h.s.now().UTC()
	rec, err := h.writeRecord(writeContext(r), key, h.createOnly(values, now))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Location", h.location(key))
	setValidators(w.Header(), rec, etagOf(rec, media), h.res.CacheControl)
	h.writeItem(w, http.StatusCreated, media, h.view, rec)
}

// build validates one body for a create, making a generated string key (a UUIDv7)
// and stamping the owner. A generated integer key is allocated after validation, by
// allocateKeys, so that a body refused here spends no number.
func (h *resourceHandler) build(r *http.Request, in map[string]any) (map[string]any, error) {
	var key any
	if h.res.KeySource == restkit.KeyGenerated && !h.res.SequentialKeys() {
		key = restkit.NewKey()
	}
	h.normalizeKey(in)
	values, err := h.res.Build(in, nil, key, restkit.Create)
	if err == nil {
		h.stampOwner(r, values)
	}
	return values, err
}

// allocateKeys gives the records of a create, in order, the next integer keys of a
// resource whose store generates them (restkit.KeyAllocator): 1, 2, 3…, consecutive
// within one request. For any other resource it does nothing.
func (h *resourceHandler) allocateKeys(r *http.Request, records ...map[string]any) error {
	if !h.res.SequentialKeys() {
		return nil
	}
	ka, ok := h.s.store.(restkit.KeyAllocator)
	if !ok {
		return restkit.Wrap("httpapi.create", fmt.Errorf("resource %s generates integer keys, and the store cannot allocate them (restkit.KeyAllocator)", h.res.Name))
	}
	first, err := ka.AllocateKeys(writeContext(r), h.res, len(records))
	if err != nil {
		return err
	}
	for i, values := range records {
		values[h.res.Key] = first + int64(i)
	}
	return nil
}

// createOnly is the Change of a create: a key that exists is a 409.
func (h *resourceHandler) createOnly(values map[string]any, now time.Time) restkit.Change {
	key := values[h.res.Key]
	return func(cur *restkit.Record) (*restkit.Record, error) {
		if cur != nil {
			return nil, &restkit.Error{Kind: restkit.Conflict, Message: fmt.Sprintf("a %s with %s %s already exists", h.res.Singular, h.res.Key, restkit.Format(key)),
				Fields: []restkit.FieldError{{Field: h.res.Key, Message: "already exists"}}}
		}
		return &restkit.Record{Values: values, Created: now, Updated: now}, nil
	}
}

// createMany is a bulk create: POST of a JSON array. Every item is validated first;
// then all are written in one transaction (restkit.BatchWriter), so either every
// record is created (201, the array of them) or none is, and the answer is the first
// failure, its message and field names prefixed with the item's index.
func (h *resourceHandler) createMany(w http.ResponseWriter, r *http.Request, media string, data []byte) {
	bw, ok := h.s.store.(restkit.BatchWriter)
	if !ok {
		h.fail(w, r, restkit.Errorf(restkit.Invalid, "this server's store cannot create several records at once; POST them one by one"))
		return
	}
	items, err := restkit.ParseArray(data, restkit.Limits{MaxBytes: int(h.res.MaxBody)})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.s.now().UTC()
	records := make([]map[string]any, len(items))
	for i, in := range items {
		values, err := h.build(r, in)
		if err != nil {
			h.fail(w, r, atItem(i, err))
			return
		}
		records[i] = values
	}
	if len(records) > 0 {
		if err := h.allocateKeys(r, records...); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	keys := make([]any, len(items))
	changes := make([]restkit.Change, len(items))
	for i, values := range records {
		keys[i], changes[i] = values[h.res.Key], h.createOnly(values, now)
	}
	recs, err := h.writeRecords(writeContext(r), bw, keys, changes)
	if err != nil {
		var be *restkit.BatchError
		if errors.As(err, &be) {
			err = atItem(be.Index, be.Err)
		}
		h.fail(w, r, err)
		return
	}
	if media == mediaXML {
		buf := append(make([]byte, 0, 256*len(recs)), xmlHeader...)
		buf = append(buf, '<')
		buf = append(buf, h.res.Name...)
		buf = append(buf, '>')
		for _, rec := range recs {
			buf = h.view.appendXMLRecord(buf, h.res.Singular, rec)
		}
		buf = append(buf, "</"...)
		buf = append(buf, h.res.Name...)
		buf = append(buf, ">\n"...)
		writeBody(w, http.StatusCreated, "application/xml; charset=utf-8", buf)
		return
	}
	buf := append(make([]byte, 0, 128*len(recs)), '[')
	for i, rec := range recs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = h.view.appendRecord(buf, rec)
	}
	buf = append(buf, ']')
	if h.api.Envelope {
		buf = wrapEnvelope(make([]byte, 0, len(buf)+32), buf)
	}
	writeBody(w, http.StatusCreated, mediaJSON, append(buf, '\n'))
}

// atItem names the item of a bulk request an error belongs to.
func atItem(i int, err error) error {
	var e *restkit.Error
	if !errors.As(err, &e) || e.Kind == restkit.Internal {
		return err
	}
	out := &restkit.Error{Kind: e.Kind, Message: fmt.Sprintf("item %d: %s", i, e.Message), Op: e.Op, Err: e.Err}
	for _, f := range e.Fields {
		out.Fields = append(out.Fields, restkit.FieldError{Field: fmt.Sprintf("[%d].%s", i, f.Field), Message: f.Message})
	}
	return out
}

// write runs a PUT or PATCH: preconditions and validation happen inside the store's
// transaction, against the record as it is at that instant.
func (h *resourceHandler) write(w http.ResponseWriter, r *http.Request, key any, mode restkit.WriteMode) {
	media, ok := h.negotiate(w, r, mediaJSON, mediaXML)
	if !ok {
		return
	}
	in, err := readObject(w, r, h.res.MaxBody, restkit.Limits{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.normalizeKey(in)
	now := h.s.now().UTC()
	created := false
	rec, err := h.writeRecord(writeContext(r), key, func(cur *restkit.Record) (*restkit.Record, error) {
		created = false // a store may run the change again (a retried transaction)
		if err := h.checkOwner(r, cur); err != nil {
			return nil, err
		}
		if err := requireIfMatch(r, h.res, cur); err != nil {
			return nil, err
		}
		if err := checkWrite(r, cur); err != nil {
			return nil, err
		}
		if cur == nil && (mode == restkit.Patch || !h.res.PutCreates) {
			return nil, h.res.NotFound(key)
		}
		values, err := h.res.Build(in, cur, key, mode)
		if err != nil {
			return nil, err
		}
		next := &restkit.Record{Values: values, Updated: now}
		if cur == nil {
			created = true
			next.Created = now
			h.stampOwner(r, values)
		}
		return next, nil
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", h.location(key))
	}
	setValidators(w.Header(), rec, etagOf(rec, media), h.res.CacheControl)
	h.writeItem(w, status, media, h.view, rec)
}

func (h *resourceHandler) put(w http.ResponseWriter, r *http.Request, key any) {
	h.write(w, r, key, restkit.Replace)
}

func (h *resourceHandler) patch(w http.ResponseWriter, r *http.Request, key any) {
	h.write(w, r, key, restkit.Patch)
}

func (h *resourceHandler) delete(w http.ResponseWriter, r *http.Request, key any) {
	ctx := restkit.WithDeleteCheck(writeContext(r), h.s.deleteCheck(r))
	_, err := h.writeRecord(ctx, key, func(cur *restkit.Record) (*restkit.Record, error) {
		if err := h.checkOwner(r, cur); err != nil {
			return nil, err
		}
		if err := requireIfMatch(r, h.res, cur); err != nil {
			return nil, err
		}
		if err := checkWrite(r, cur); err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, h.res.NotFound(key)
		}
		return nil, nil
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *resourceHandler) list(w http.ResponseWriter, r *http.Request) {
	if h.s.streams && acceptsEventStream(r) {
		addVary(w.Header(), "Accept")
		h.serveEvents(w, r)
		return
	}
	h.listAt(w, r, h.api.ListPath(h.res), nil)
}

// listAt serves a list at path (the resource's, or a sub-collection's), its records
// also restricted by within (a sub-collection's relation).
func (h *resourceHandler) listAt(w http.ResponseWriter, r *http.Request, path string, within []restkit.Filter) {
	media, ok := h.negotiate(w, r, mediaJSON, mediaXML, mediaCSV, mediaHTML)
	if !ok {
		return
	}
	lr, err := parseList(h.res, r.URL.RawQuery, h.s.cursors)
	if err == nil {
		err = h.s.checkRelatedFilters(r, h.res, lr.q.Filters)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	lr.path = path
	lr.q.Filters = append(lr.q.Filters, within...)
	var exps []*expansion
	if lr.expand != "" {
		if exps, err = h.s.parseExpand(r, h.res, lr.expand); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if _, limited := lr.params[paramLimit]; media == mediaCSV && !limited && lr.page == 0 && lr.q.After == nil && lr.q.Before == nil && !lr.q.Last {
		h.exportCSV(w, r, lr, exps)
		return
	}
	if media == mediaJSON && exps == nil {
		if jp, ok := h.s.store.(jsonPager); ok && h.listJSON(w, r, lr, jp) {
			return
		}
	}
	page, err := h.s.store.ListRecords(r.Context(), h.res, &lr.q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ex, err := h.s.expand(r.Context(), page.Records, exps)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if h.s.debug {
		h.logList(r, lr, len(page.Records), page.More)
	}
	var first, last *restkit.Record
	if n := len(page.Records); n > 0 {
		first, last = page.Records[0], page.Records[n-1]
	}
	h.pageHeaders(w, lr, first, last, page.More, page.Total)
	switch media {
	case mediaXML:
		pb := getBody()
		buf := append(*pb, xmlHeader...)
		buf = append(buf, '<')
		buf = append(buf, h.res.Name...)
		buf = append(buf, '>')
		for i, rec := range page.Records {
			buf = lr.view.appendXMLExpanded(buf, h.res.Singular, rec, expandedAt(ex, i), exps)
		}
		buf = append(buf, "</"...)
		buf = append(buf, h.res.Name...)
		buf = append(buf, ">\n"...)
		writePooled(w, http.StatusOK, "application/xml; charset=utf-8", pb, buf)
	case mediaCSV:
		w.Header().Set("Content-Type", csvType)
		cw := newCSVWriter(w, lr.view, exps)
		cw.writeRecords(page.Records, ex)
		cw.Flush()
	default:
		pb := getBody()
		buf := *pb
		if h.api.Envelope {
			buf = append(buf, `{"status":"ok","result":`...)
		}
		buf = append(buf, '[')
		for i, rec := range page.Records {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = lr.view.appendExpanded(buf, rec, expandedAt(ex, i), exps)
		}
		h.endJSONList(w, pb, buf)
	}
}

// jsonPager is a store that writes a list page's JSON objects straight from the rows
// it reads, without a Record per row (sqlite.Store); see listJSON.
type jsonPager interface {
	AppendJSONPage(ctx context.Context, res *restkit.Resource, q *restkit.Query, view recordjson.View, b []byte) ([]byte, recordjson.Page, bool, error)
}

// listJSON answers a JSON list page without expansions through a jsonPager: the
// same body and headers as the Record path of listAt, for less work per row (a
// deep page of 20 allocates no map). It reports false, having written nothing, when
// the store cannot write this view; listAt then lists the usual way.
func (h *resourceHandler) listJSON(w http.ResponseWriter, r *http.Request, lr *listRequest, jp jsonPager) bool {
	pb := getBody()
	buf := *pb
	if h.api.Envelope {
		buf = append(buf, `{"status":"ok","result":`...)
	}
	buf, page, ok, err := jp.AppendJSONPage(r.Context(), h.res, &lr.q, lr.view.View, append(buf, '['))
	if !ok {
		bodies.Put(pb)
		return false
	}
	if err != nil {
		bodies.Put(pb)
		h.fail(w, r, err)
		return true
	}
	if h.s.debug {
		h.logList(r, lr, page.N, page.More)
	}
	h.pageHeaders(w, lr, page.First, page.Last, page.More, page.Total)
	h.endJSONList(w, pb, buf)
	return true
}

// pageHeaders sets the headers of a list page: Link (see links), X-Total-Count when
// counted, Cache-Control.
func (h *resourceHandler) pageHeaders(w http.ResponseWriter, lr *listRequest, first, last *restkit.Record, more bool, total int64) {
	hdr := w.Header()
	if links := h.links(lr, first, last, more, total); links != "" {
		hdr.Add("Link", links) // Add: a deprecated resource has its successor-version link there already
	}
	if lr.q.Count {
		hdr.Set("X-Total-Count", strconv.FormatInt(total, 10))
	}
	hdr.Set("Cache-Control", h.res.CacheControl)
}

// endJSONList closes a JSON list body (array, envelope) and writes it.
func (h *resourceHandler) endJSONList(w http.ResponseWriter, pb *[]byte, buf []byte) {
	buf = append(buf, ']')
	if h.api.Envelope {
		buf = append(buf, '}')
	}
	writePooled(w, http.StatusOK, mediaJSON, pb, append(buf, '\n'))
}

// logList logs, at debug level, how a list request was read.
func (h *resourceHandler) logList(r *http.Request, lr *listRequest, n int, more bool) {
	h.s.log.LogAttrs(r.Context(), slog.LevelDebug, "list", slog.String(keyDecision, fmt.Sprintf("sort=%v filters=%d limit=%d after=%v before=%v last=%v offset=%d -> %d rows, more=%v",
		lr.q.Sort, len(lr.q.Filters), lr.q.Limit, lr.q.After != nil, lr.q.Before != nil, lr.q.Last, lr.q.Offset, n, more)))
}

// links builds the RFC 8288 Link header of a list page: next and prev follow cursors
// from the page's edge rows (or page numbers in offset mode), first drops the cursor,
// last (when counted) is a cursor that reads backward from the end.
func (h *resourceHandler) links(lr *listRequest, first, last *restkit.Record, more bool, total int64) string {
	// The carried parameters (filters, sort, fields, limit, count) are encoded once;
	// each link appends its own cursor or page number.
	base := lr.path
	sep := "?"
	if enc := lr.params.Encode(); enc != "" {
		base += "?" + enc
		sep = "&"
	}
	b := make([]byte, 0, 2*len(base)+256)
	add := func(rel, param, value string) {
		if len(b) > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '<')
		b = append(b, base...)
		if param != "" {
			b = append(b, sep...)
			b = append(b, param...)
			b = append(b, '=')
			b = append(b, value...) // cursors are base64url and page numbers digits: nothing to escape
		}
		b = append(b, `>; rel="`...)
		b = append(b, rel...)
		b = append(b, '"')
	}
	if lr.page > 0 { // offset paging
		if more {
			add("next", paramPage, strconv.Itoa(lr.page+1))
		}
		if lr.page > 1 {
			add("prev", paramPage, strconv.Itoa(lr.page-1))
		}
		add("first", paramPage, "1")
		if lr.q.Count {
			n := max(1, int((total+int64(lr.q.Limit)-1)/int64(lr.q.Limit)))
			add("last", paramPage, strconv.Itoa(n))
		}
		return string(b)
	}
	sortSpec := lr.params.Get(paramSort)
	cursor := func(dir byte, rec *restkit.Record) string {
		return h.s.cursors.encode(h.res, sortSpec, dir, rec, lr.q.Sort)
	}
	backward := lr.q.Backward()
	if (!backward && more) || (lr.q.Before != nil && last != nil) {
		add("next", paramCursor, cursor(dirAfter, last))
	}
	if (backward && more) || (lr.q.After != nil && first != nil) {
		add("prev", paramCursor, cursor(dirBefore, first))
	}
	add("first", "", "")
	if lr.q.Count {
		add("last", paramCursor, cursor(dirLast, nil))
	}
	return string(b)
}
