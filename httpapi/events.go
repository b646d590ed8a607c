package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/internal/feed"
	"github.com/restkit/restkit/internal/recordjson"
)

// Event streams (DESIGN §12): GET B/cars/events, B/cars/{key}/events, B/led/events
// — and a collection's own URL asked for text/event-stream — follow the store's
// change log as Server-Sent Events, framed as the HTML standard's "Server-sent
// events" section (§9.2.6, the event stream interpretation) reads them:
//
//	id: 42
//	event: updated
//	data: {"id":5,"color":"red"}
//
// id is the event's Seq, so that a client reconnecting sends it back as
// Last-Event-ID (§9.2.4) and resumes with nothing lost and nothing repeated, across
// restarts too: the log is in the store. A Seq older than the log keeps gets one
// event: reset, telling the client to list again, and the stream goes on from now.
// The events come from one feed per Server (package internal/feed), which reads the
// log once per wake-up however many streams are open.

const mediaEventStream = "text/event-stream"

// EventsOptions configure the event streams.
type EventsOptions struct {
	// Heartbeat is how often an idle stream gets a ": ping" comment, so that proxies
	// and clients see it alive and a gone client is noticed; default 15s.
	Heartbeat time.Duration
	// WriteTimeout is how long one write to a client may block before the client is
	// dropped as too slow; default 30s.
	WriteTimeout time.Duration
	// Window is how many of the newest events are kept in memory for the streams; a
	// stream that falls further behind is dropped (it may resume). Default 4096.
	Window int
	// Poll is how often the log is read without a wake-up from the store; default 1s.
	Poll time.Duration
}

// streamSpec is what one stream follows and how it shows each event.
type streamSpec struct {
	name    string // the path it follows, for the stream's opening comment
	source  string // the StoreName of the resource or noun
	key     string // an item stream's key (restkit.Format); "" for every record
	filters []restkit.Filter
	view    *view // fields=: a view of its own; nil: the full one, rendered once per event
	allowed func(r *http.Request) bool
	// The artefact repository's streams: the events of path (an artefact, or a
	// directory and everything below it; "" for all), those in directories the
	// caller may read (readable, judged per event; nil: all).
	artefacts bool
	path      string
	readable  func(r *http.Request, dir string) bool
}

// decoded is what every stream of the Server needs from one event, computed once
// per event (feed.Entry.Memo).
type decoded struct {
	rec  *restkit.Record // the record after the write (a delete: its last revision)
	data []byte          // the full view's JSON (a delete: the key alone)
	key  []byte          // {"<key field>":<key>}, for deletes under any view
	err  error
}

// decode is the memo function of the Server's feed.
func (s *Server) decode(e restkit.Event) any {
	res, noun := s.schema.SourceOf(e.Source)
	switch {
	case res != nil:
		rec, err := e.Record(res.Field)
		if err != nil {
			return &decoded{err: err}
		}
		d := &decoded{rec: rec}
		d.key = append(appendString(append(d.key, '{'), res.Key), ':')
		d.key = append(appendValue(d.key, rec.Values[res.Key]), '}')
		if e.Op == restkit.Deleted {
			d.data = d.key
		} else {
			d.data = recordjson.Full(res.Fields, res.Timestamps).Append(nil, rec)
		}
		return d
	case noun != nil:
		rec, err := e.Record(noun.Field)
		if err != nil {
			return &decoded{err: err}
		}
		rec.Values = noun.State(rec.Values)
		return &decoded{rec: rec, data: recordjson.Full(noun.Fields, false).Append(nil, rec)}
	}
	return &decoded{} // a source this schema does not serve
}

// render returns the data of e for the stream, or false when the stream does not
// show it (another source or key, or filtered out).
func (st *streamSpec) render(s *Server, r *http.Request, e *feed.Entry) ([]byte, bool) {
	if st.artefacts {
		return st.renderArtefact(r, e)
	}
	if e.Source != st.source || st.key != "" && e.Key != st.key {
		return nil, false
	}
	d := e.Memo(s.decode).(*decoded)
	if d.err != nil {
		s.log.Error("events: an event cannot be decoded; skipped", "seq", e.Seq, "source", e.Source, "error", d.err)
		return nil, false
	}
	if d.rec == nil || !restkit.Matches(d.rec.Values, st.filters, nil) {
		return nil, false
	}
	if st.view == nil {
		return d.data, true
	}
	if e.Op == restkit.Deleted {
		return d.key, true
	}
	return st.view.appendRecord(nil, d.rec), true
}

// eventFeed returns the Server's feed, started on the first stream.
func (s *Server) eventFeed(ctx context.Context) (*feed.Feed, error) {
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	switch {
	case s.feedClosed:
		return nil, restkit.Errorf(restkit.Unavailable, "the server is shutting down")
	case s.feed != nil:
		return s.feed, nil
	}
	el, ok := s.store.(restkit.EventLog)
	if !ok {
		return nil, restkit.Errorf(restkit.NotFound, "this store keeps no change log: there are no event streams")
	}
	f, err := feed.Start(ctx, el, feed.Options{Ring: s.events.Window, Poll: s.events.Poll, Logger: s.log})
	if err != nil {
		return nil, restkit.Wrap("httpapi.eventFeed", err)
	}
	s.feed = f
	return f, nil
}

// Close ends every event stream (they return, and their clients reconnect — to this
// node's successor after a reload, to another node after a drain) and stops
// following the change log. The Server still answers other requests; a stream
// asked for afterwards gets 503. It may be called more than once.
func (s *Server) Close() {
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	s.feedClosed = true
	if s.feed != nil {
		s.feed.Close()
	}
}

// streamStart reads where a stream resumes: Last-Event-ID (§9.2.4; what a
// reconnecting EventSource sends), else ?since=SEQ. A malformed one is a 400.
func streamStart(r *http.Request, q url.Values) (int64, bool, error) {
	name, v := "Last-Event-ID", r.Header.Get("Last-Event-ID")
	if v == "" {
		if vs, ok := q["since"]; ok {
			if len(vs) > 1 {
				return 0, false, invalidParam("since", "is given more than once")
			}
			name, v = "since", vs[0]
		}
	}
	if v == "" && name == "Last-Event-ID" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, false, invalidParam(name, "must be the id of an event (a whole number ≥ 0)")
	}
	return n, true, nil
}

func invalidParam(name, msg string) error {
	return &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters",
		Fields: []restkit.FieldError{{Field: name, Message: msg}}}
}

// serveStream answers one event stream until the client leaves, the Server closes
// or the client proves too slow.
func (s *Server) serveStream(w http.ResponseWriter, r *http.Request, envelope bool, st *streamSpec) {
	fail := func(err error) { s.writeError(w, r, envelope, err) }
	since, resume, err := streamStart(r, r.URL.Query())
	if err != nil {
		fail(err)
		return
	}
	f, err := s.eventFeed(r.Context())
	if err != nil {
		fail(err)
		return
	}
	pos := f.Position()
	reset, ahead := false, false
	if resume {
		// An id above this feed's position may come from another node whose feed is
		// ahead (it passed a gap in the log sooner, or heard of a commit first): the
		// log's newest final position, or for a log whose numbers commit out of order
		// the last number drawn, says whether the id exists; the stream then waits
		// for the feed.
		oldest, newest, err := f.Bounds(r.Context())
		if err == nil && since > max(pos, newest) {
			// Beyond what this node knows final: a log whose numbers may commit out
			// of order says whether the id was drawn at all.
			if drawn, ok, derr := f.Drawn(r.Context()); derr != nil {
				err = derr
			} else if ok && since <= drawn {
				newest = since
			}
		}
		switch {
		case err != nil:
			fail(restkit.Wrap("httpapi.serveStream", err))
			return
		case since > max(pos, newest), since < oldest-1:
			// Events it has not seen are gone (pruned), or it comes from another
			// log (a restored backup): it must list again.
			reset, ahead = true, since > max(pos, newest)
		default:
			pos = since
		}
	}
	h := w.Header()
	h.Set("Content-Type", mediaEventStream)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass each event on at once
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	defer s.metrics.StreamOpened()()
	out := &streamWriter{w: w, rc: http.NewResponseController(w), timeout: s.events.WriteTimeout}
	w.WriteHeader(http.StatusOK)
	buf := append([]byte(": events of "), st.name...)
	buf = append(buf, "\nretry: 2000\n\n"...)
	switch {
	case ahead:
		buf = appendEvent(buf, pos, "reset", []byte(`{"reason":"the id you gave is ahead of this server's change log (another server's, or a restored backup's); list again, then follow from this id"}`))
	case reset:
		buf = appendEvent(buf, pos, "reset", []byte(`{"reason":"the events after the id you gave are no longer kept; list again, then follow from this id"}`))
	}
	if out.write(buf) != nil {
		return
	}
	s.follow(r, f, st, out, pos)
}

// maxStreamWrite bounds what one write of a stream holds: a stream's memory stays
// bounded by bytes, not by a number of events of any size.
const maxStreamWrite = 1 << 20

// follow sends the events after pos as they come (serveStream's loop).
func (s *Server) follow(r *http.Request, f *feed.Feed, st *streamSpec, out *streamWriter, pos int64) {
	ctx := r.Context()
	told := pos // the last id the client has: on a heartbeat it learns pos, past events not for it
	caughtUp := false
	heartbeat := time.NewTicker(s.events.Heartbeat)
	defer heartbeat.Stop()
	var buf []byte
	for {
		res, err := f.Read(ctx, pos, 256)
		switch {
		case err != nil:
			if ctx.Err() == nil {
				s.log.Warn("events: a stream cannot read the change log; ending it", "error", err)
			}
			return
		case res.Closed:
			return
		case res.FromStore && caughtUp:
			s.metrics.StreamDropped("behind")
			return
		case res.Pruned:
			// Pruned past the client while it caught up: it has missed changes and
			// must list again, as a resume from a pruned id would be told.
			pos = f.Position()
			reset := appendEvent(nil, pos, "reset", []byte(`{"reason":"events this stream had yet to send are no longer kept; list again, then follow from this id"}`))
			if out.write(reset) != nil {
				s.dropIfSlow(out)
				return
			}
			told = pos
			continue
		case !res.FromStore:
			caughtUp = true
		}
		buf = buf[:0]
		n := 0
		for _, e := range res.Entries {
			pos = e.Seq
			if data, ok := st.render(s, r, e); ok {
				buf = appendEvent(buf, e.Seq, string(e.Op), data)
				n++
			}
			if len(buf) >= maxStreamWrite { // big records: write what is here, read on from pos
				break
			}
		}
		if n > 0 {
			if st.allowed != nil && !st.allowed(r) {
				return // access was withdrawn
			}
			if out.write(buf) != nil {
				s.dropIfSlow(out)
				return
			}
			told = pos
			s.metrics.StreamSent(n)
		}
		if len(res.Entries) > 0 {
			continue
		}
		select {
		case <-res.Wait:
		case <-ctx.Done():
			return
		case <-heartbeat.C:
			// A switch that takes the GET away, or a rule that no longer lets the
			// caller read, sends no event to notice it by: an idle stream (a
			// switched-off resource takes no writes either) would go on forever.
			if st.allowed != nil && !st.allowed(r) {
				return
			}
			buf = append(buf[:0], ": ping\n"...)
			if pos > told {
				buf = append(append(buf, "id: "...), strconv.FormatInt(pos, 10)...)
				buf = append(buf, '\n')
				told = pos
			}
			if out.write(append(buf, '\n')) != nil {
				s.dropIfSlow(out)
				return
			}
		}
	}
}

// appendEvent appends one event in the text/event-stream format. data is JSON on
// one line (it holds no raw newline: JSON escapes them).
func appendEvent(b []byte, id int64, event string, data []byte) []byte {
	b = append(b, "id: "...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, "\nevent: "...)
	b = append(b, event...)
	b = append(b, "\ndata: "...)
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// streamWriter writes to a stream's client, each write bounded by a deadline so
// that a client that stops reading is noticed and dropped instead of holding a
// goroutine and its buffers for ever.
type streamWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	slow    bool // the last failed write hit its deadline
}

func (sw *streamWriter) write(b []byte) error {
	_ = sw.rc.SetWriteDeadline(time.Now().Add(sw.timeout))
	_, err := sw.w.Write(b)
	if err == nil {
		err = sw.rc.Flush()
	}
	_ = sw.rc.SetWriteDeadline(time.Time{})
	sw.slow = errors.Is(err, os.ErrDeadlineExceeded)
	return err
}

func (s *Server) dropIfSlow(out *streamWriter) {
	if out.slow {
		s.metrics.StreamDropped("slow")
	}
}

// feedState is the Server's part of the streams (events.go).
type feedState struct {
	events     EventsOptions
	feedMu     sync.Mutex
	feed       *feed.Feed // started by the first stream
	feedClosed bool
}

// notStreamParams are list parameters that mean nothing to a stream.
var notStreamParams = []string{paramLimit, paramCursor, paramPage, paramSort, paramCount, paramExpand}

// streamQuery parses a resource stream's query string: since, fields= and (for a
// collection's stream) the list's filters, which apply to each event's record.
func (h *resourceHandler) streamQuery(r *http.Request, collection bool) (*streamSpec, error) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, restkit.Errorf(restkit.Invalid, "the query string is malformed")
	}
	delete(vals, "since")
	var bad []restkit.FieldError
	for name := range vals {
		switch {
		case slices.Contains(notStreamParams, name):
			bad = append(bad, restkit.FieldError{Field: name, Message: "is not a parameter of an event stream; it takes since, fields and filters"})
		case !collection && name != paramFields:
			bad = append(bad, restkit.FieldError{Field: name, Message: "is not a parameter of a record's event stream; it takes since and fields"})
		}
	}
	if len(bad) > 0 {
		restkit.SortFieldErrors(bad)
		return nil, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters", Fields: bad}
	}
	lr, err := parseList(h.res, vals.Encode(), h.s.cursors)
	if err != nil {
		return nil, err
	}
	q, err := lr.q.Resolve(h.res)
	if err != nil {
		return nil, err
	}
	if f := relationFilter(q.Filters); f != "" {
		return nil, invalidParam(f, "filters on a related record's fields do not apply to event streams; filter on this resource's own fields")
	}
	// The stream is re-decided as its route is: the resource's access, and GET of the
	// list (or of an item) declared and switched on.
	g, res := h.guard, h.res
	g.enabled = func() bool { return res.Enabled() && res.Allows(http.MethodGet, !collection) }
	st := &streamSpec{source: h.res.StoreName, filters: q.Filters, allowed: h.s.streamAllowed(g)}
	if _, ok := vals[paramFields]; ok {
		st.view = &lr.view
	}
	return st, nil
}

// relationFilter names the first filter on a relation's target (OpMatch), if any.
func relationFilter(filters []restkit.Filter) string {
	for _, f := range filters {
		if f.Op == restkit.OpMatch {
			return f.Field
		}
		if name := relationFilter(f.Filters); name != "" {
			return name
		}
	}
	return ""
}

// streamAllowed re-decides a stream's guard before each event it sends, and at
// each heartbeat of an idle one: the stream ends when the caller may no longer read.
func (s *Server) streamAllowed(g guard) func(r *http.Request) bool {
	enabled := g.enabled
	if enabled == nil {
		enabled = func() bool { return true }
	}
	if s.auth == nil || g.access == nil {
		return func(*http.Request) bool { return enabled() }
	}
	return func(r *http.Request) bool {
		return enabled() && s.auth.Decide(principalOf(r), g.access(r), auth.Read) == auth.Allowed
	}
}

// serveEvents serves GET B/cars/events, and the collection's URL asked for
// text/event-stream.
func (h *resourceHandler) serveEvents(w http.ResponseWriter, r *http.Request) {
	if !h.streamMethod(w, r) {
		return
	}
	st, err := h.streamQuery(r, true)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st.name = h.api.ListPath(h.res)
	h.s.serveStream(w, r, h.api.Envelope, st)
}

// serveItemEvents serves GET B/cars/{key}/events: the events of one record, whether
// or not it exists yet (a stream may wait for its creation).
func (h *resourceHandler) serveItemEvents(w http.ResponseWriter, r *http.Request) {
	if !h.streamMethod(w, r) {
		return
	}
	key, err := h.parseKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := h.streamQuery(r, false)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st.key = restkit.Format(key)
	st.name = h.api.ItemsPath(h.res) + "/" + escapeKey(key)
	h.s.serveStream(w, r, h.api.Envelope, st)
}

// streamMethod answers OPTIONS and verbs other than GET and HEAD; true means serve.
func (e *endpoint) streamMethod(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return true
	case http.MethodOptions:
		w.Header().Set("Allow", readOnlyAllow)
		w.WriteHeader(http.StatusNoContent)
	default:
		e.s.methodNotAllowed(w, r, e.api.Envelope, readOnlyAllow)
	}
	return false
}

// serveEvents serves GET B/led/events: every change of the noun's state.
func (h *nounHandler) serveEvents(w http.ResponseWriter, r *http.Request) {
	if !h.streamMethod(w, r) {
		return
	}
	for name := range r.URL.Query() {
		if name != "since" {
			h.fail(w, r, invalidParam(name, "is not a parameter of an event stream; it takes since"))
			return
		}
	}
	h.s.serveStream(w, r, h.api.Envelope, &streamSpec{name: h.api.Base + "/" + h.noun.Name, source: h.noun.StoreName, allowed: h.s.streamAllowed(h.guard)})
}

func (o EventsOptions) withDefaults() EventsOptions {
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	return o // Window and Poll: package feed's defaults
}

// routeStream registers a stream's route for GET (and HEAD) and OPTIONS only: the
// other verbs of B/cars/events still reach the item of key "events" through
// B/cars/{key}, which is less specific.
func (s *Server) routeStream(pattern string, g guard, h http.HandlerFunc) {
	s.routes = append(s.routes, Route{Pattern: pattern, Methods: splitList(readOnlyAllow), Rule: g.rule})
	h = s.gated(g.enabled, deprecated(g.deprecation, s.guarded(g, h)))
	s.mux.HandleFunc("GET "+pattern, h)
	s.mux.HandleFunc("OPTIONS "+pattern, h)
}

// hasSubCollection reports whether res has a sub-collection called name, whose
// route B/res/{key}/name the item stream would take.
func hasSubCollection(res *restkit.Resource, name string) bool {
	for _, sc := range res.SubCollections() {
		if sc.Name == name {
			return true
		}
	}
	return false
}

// acceptsEventStream reports whether a GET of a collection asks for its event stream
// (Accept: text/event-stream) rather than a page of it.
func acceptsEventStream(r *http.Request) bool {
	media, err := negotiate(r, mediaJSON, mediaXML, mediaCSV, mediaHTML, mediaEventStream)
	return err == nil && media == mediaEventStream
}

// renderArtefact is render for the repository's streams: the version as listings
// show it (the State), {"directory","id"} for a deletion.
func (st *streamSpec) renderArtefact(r *http.Request, e *feed.Entry) ([]byte, bool) {
	if e.Source != restkit.ArtefactSource || st.path != "" && e.Key != st.path && !strings.HasPrefix(e.Key, st.path+"/") {
		return nil, false
	}
	slash := strings.LastIndexByte(e.Key, '/')
	if slash < 0 {
		return nil, false
	}
	dir, id := e.Key[:slash], e.Key[slash+1:]
	if st.readable != nil && !st.readable(r, dir) {
		return nil, false
	}
	if e.Op != restkit.Deleted {
		return []byte(e.State), true
	}
	b := append(appendString([]byte(`{"directory":`), dir), `,"id":`...)
	return append(appendString(b, id), '}'), true
}

// serveArtefactEvents serves GET /artefacts/events and /artefacts/{path}/events: the
// events of the artefact at path, or of everything below the directory at path.
func (h *artefactHandler) serveEvents(w http.ResponseWriter, r *http.Request, path string) {
	for name := range r.URL.Query() {
		if name != "since" {
			h.fail(w, r, invalidParam(name, "is not a parameter of an event stream; it takes since"))
			return
		}
	}
	// Switched off, the repository's streams end as its routes go (allowed); a
	// directory's read rule is decided per event (readable).
	st := &streamSpec{name: strings.TrimSuffix(h.base+"/"+path, "/"), artefacts: true, path: path,
		allowed: func(*http.Request) bool { return h.s.artefactsOn() }}
	if s := h.s; s.auth != nil {
		st.readable = func(r *http.Request, dir string) bool {
			return s.auth.Decide(principalOf(r), s.auth.DirectoryAccess(dir), auth.Read) == auth.Allowed
		}
	}
	h.s.serveStream(w, r, false, st)
}
