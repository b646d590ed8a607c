package httpapi_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/memory"
	"github.com/restkit/restkit/metrics"
)

// sse is one event as an EventSource would dispatch it (HTML §9.2.6), plus the
// comments seen before it.
type sse struct {
	id, event, data string
	comments        []string
}

func (e sse) String() string { return e.id + " " + e.event + " " + e.data }

// stream is a client of one event stream over real HTTP.
type stream struct {
	t    *testing.T
	resp *http.Response
	r    *bufio.Reader
	got  chan sse
	done chan error
}

// openStream GETs path on ts with the headers (name, value pairs) and, on 200,
// parses the events as they come.
func openStream(t *testing.T, ts *httptest.Server, path string, headers ...string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	s := &stream{t: t, resp: resp, r: bufio.NewReader(resp.Body), got: make(chan sse, 1000), done: make(chan error, 1)}
	if resp.StatusCode == http.StatusOK {
		go s.parse()
	}
	return s
}

func (s *stream) parse() {
	var e sse
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			s.done <- err
			return
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if e.data != "" || e.event != "" || len(e.comments) > 0 || e.id != "" {
				s.got <- e
			}
			e = sse{}
		case strings.HasPrefix(line, ":"):
			e.comments = append(e.comments, strings.TrimSpace(line[1:]))
		default:
			name, value, _ := strings.Cut(line, ":")
			value = strings.TrimPrefix(value, " ")
			switch name {
			case "id":
				e.id = value
			case "event":
				e.event = value
			case "data":
				e.data = value
			}
		}
	}
}

// next returns the next dispatched event (skipping blocks of comments only).
func (s *stream) next() sse {
	s.t.Helper()
	for {
		select {
		case e := <-s.got:
			if e.data == "" && e.event == "" {
				continue
			}
			return e
		case err := <-s.done:
			s.t.Fatalf("the stream ended: %v", err)
		case <-time.After(30 * time.Second):
			s.t.Fatal("no event within 30s")
		}
	}
}

// ended waits for the server to end the stream.
func (s *stream) ended() {
	s.t.Helper()
	for {
		select {
		case <-s.got:
		case err := <-s.done:
			if err != io.EOF && !strings.Contains(err.Error(), "EOF") {
				s.t.Logf("stream ended with %v", err)
			}
			return
		case <-time.After(30 * time.Second):
			s.t.Fatal("the stream did not end within 30s")
		}
	}
}

// eventsServer serves the demo over a memory store on a real listener.
func eventsServer(t *testing.T, configure func(*httpapi.Options)) (*httptest.Server, *httpapi.Server, *memory.Store) {
	t.Helper()
	return eventsServerOf(t, string(config.Demo()), configure)
}

// eventsServerOf is eventsServer for the APIs of a YAML config.
func eventsServerOf(t *testing.T, yaml string, configure func(*httpapi.Options)) (*httptest.Server, *httpapi.Server, *memory.Store) {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	if err := st.Migrate(context.Background(), cfg.Schema); err != nil {
		t.Fatal(err)
	}
	opts := httpapi.Options{Schema: cfg.Schema, Store: st}
	if configure != nil {
		configure(&opts)
	}
	srv := newServer(t, opts)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return ts, srv, st
}

func do(t *testing.T, ts *httptest.Server, method, path, body string, want int) {
	t.Helper()
	req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
}

// TestStreamOfACollection: creates, updates and deletes arrive in order with the
// log's Seq as id, the record as GET shows it, and the key alone for a delete.
func TestStreamOfACollection(t *testing.T) {
	ts, _, _ := eventsServer(t, nil)
	s := openStream(t, ts, "/cars/events")
	if s.resp.StatusCode != 200 || s.resp.Header.Get("Content-Type") != "text/event-stream" || s.resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v", s.resp.StatusCode, s.resp.Header)
	}
	do(t, ts, "POST", "/cars", `{"id":1,"model":"T","color":"black","year":1910}`, 201)
	do(t, ts, "PATCH", "/cars/1", `{"color":"red"}`, 200)
	do(t, ts, "PUT", "/led", `{"state":"on"}`, 200) // another source: not on this stream
	do(t, ts, "DELETE", "/cars/1", ``, 204)
	var got []string
	for range 3 {
		got = append(got, s.next().String())
	}
	want := []string{
		`1 created {"id":1,"model":"T","color":"black","year":1910}`,
		`2 updated {"id":1,"model":"T","color":"red","year":1910}`,
		`4 deleted {"id":1}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestStreamResumes: Last-Event-ID (or since=) resumes after that id with nothing
// repeated; an id older than the log keeps gets one event: reset and the stream
// goes on from now.
func TestStreamResumes(t *testing.T) {
	ts, _, st := eventsServer(t, nil)
	for i := 1; i <= 3; i++ {
		do(t, ts, "POST", "/cars", fmt.Sprintf(`{"id":%d,"model":"T","color":"black"}`, i), 201)
	}
	s := openStream(t, ts, "/cars/events", "Last-Event-ID", "1")
	if e := s.next(); e.id != "2" || e.event != "created" || !strings.Contains(e.data, `"id":2`) {
		t.Fatalf("resumed with %v", e)
	}
	if e := s.next(); e.id != "3" {
		t.Fatalf("then %v", e)
	}
	s2 := openStream(t, ts, "/cars/events?since=2")
	if e := s2.next(); e.id != "3" {
		t.Fatalf("since=2 gave %v", e)
	}
	// Prune everything; a client at 1 has missed 2 and 3.
	if _, err := st.PruneEvents(context.Background(), time.Now().Add(time.Hour), 0, 1<<62); err != nil {
		t.Fatal(err)
	}
	s3 := openStream(t, ts, "/cars/events", "Last-Event-ID", "1")
	if e := s3.next(); e.event != "reset" || e.id != "3" || !strings.Contains(e.data, "list again") {
		t.Fatalf("an old id gave %v", e)
	}
	do(t, ts, "POST", "/cars", `{"id":4,"model":"T","color":"black"}`, 201)
	if e := s3.next(); e.id != "4" || e.event != "created" {
		t.Fatalf("after the reset: %v", e)
	}
	// An id from the future (another log, a restored backup) resets too.
	s4 := openStream(t, ts, "/cars/events", "Last-Event-ID", "99")
	if e := s4.next(); e.event != "reset" || e.id != "4" || !strings.Contains(e.data, "ahead of this server") {
		t.Fatalf("an id from the future gave %v", e)
	}
}

// TestStreamFilters: list filters apply to each event's record; a delete is sent
// when the record matched in its last revision; fields= shapes the data.
func TestStreamFilters(t *testing.T) {
	ts, _, _ := eventsServer(t, nil)
	s := openStream(t, ts, "/cars/events?color=red&fields=id,color")
	do(t, ts, "POST", "/cars", `{"id":1,"model":"T","color":"black"}`, 201)
	do(t, ts, "POST", "/cars", `{"id":2,"model":"T","color":"red"}`, 201)
	do(t, ts, "PATCH", "/cars/1", `{"color":"red"}`, 200)
	do(t, ts, "PATCH", "/cars/2", `{"color":"blue"}`, 200) // no longer red: not sent
	do(t, ts, "DELETE", "/cars/2", ``, 204)                // was blue: not sent
	do(t, ts, "DELETE", "/cars/1", ``, 204)                // was red: sent
	var got []string
	for range 3 {
		got = append(got, s.next().String())
	}
	want := []string{`2 created {"id":2,"color":"red"}`, `3 updated {"id":1,"color":"red"}`, `6 deleted {"id":1}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestStreamsOfItemsAndNouns, and the collection's URL asked for text/event-stream.
func TestStreamsOfItemsAndNouns(t *testing.T) {
	ts, _, _ := eventsServer(t, nil)
	item := openStream(t, ts, "/cars/2/events") // before the record exists
	noun := openStream(t, ts, "/led/events")
	accept := openStream(t, ts, "/cars", "Accept", "text/event-stream")
	if ct := accept.resp.Header.Get("Content-Type"); ct != "text/event-stream" || !strings.Contains(accept.resp.Header.Get("Vary"), "Accept") {
		t.Fatalf("Accept: text/event-stream on /cars: %s, Vary %q", ct, accept.resp.Header.Get("Vary"))
	}
	do(t, ts, "POST", "/cars", `{"id":1,"model":"T","color":"black"}`, 201)
	do(t, ts, "POST", "/cars", `{"id":2,"model":"A","color":"red"}`, 201)
	do(t, ts, "POST", "/led", ``, 200) // toggle
	if e := item.next(); e.String() != `2 created {"id":2,"model":"A","color":"red"}` {
		t.Fatalf("item stream: %v", e)
	}
	if e := noun.next(); e.String() != `3 created {"state":"on","brightness":50}` {
		t.Fatalf("noun stream: %v", e)
	}
	if e := accept.next(); e.id != "1" {
		t.Fatalf("collection by Accept: %v", e)
	}
	do(t, ts, "DELETE", "/led", ``, 200) // reset: an update to the defaults
	if e := noun.next(); e.String() != `4 updated {"state":"off","brightness":50}` {
		t.Fatalf("noun reset: %v", e)
	}
}

// TestStreamRefusals: what a stream cannot take is a 400 naming it, before any
// stream starts; other verbs are 405 (or reach the item of key "events").
func TestStreamRefusals(t *testing.T) {
	ts, srv, _ := eventsServer(t, nil)
	for _, c := range []struct {
		path, header, want string
	}{
		{"/cars/events?limit=5", "", "limit"},
		{"/cars/events?sort=year", "", "sort"},
		{"/cars/events?colour=red", "", "colour"},
		{"/cars/events?since=x", "", "since"},
		{"/cars/events?since=-1", "", "since"},
		{"/cars/events?since=1&since=2", "", "since"},
		{"/cars/events", "x", "Last-Event-ID"},
		{"/cars/1/events?color=red", "", "color"},
		{"/led/events?state=on", "", "state"},
		{"/cars/abc/events", "", "id"},
	} {
		var h []string
		if c.header != "" {
			h = []string{"Last-Event-ID", c.header}
		}
		r := serve(t, srv, "GET", c.path, "", h...)
		if r.status != 400 || !strings.Contains(r.body, c.want) {
			t.Errorf("%s: %d %s", c.path, r.status, r.body)
		}
	}
	if r := serve(t, srv, "POST", "/cars/events", `{}`); r.status != 405 && r.status != 400 {
		t.Errorf("POST /cars/events: %d %s", r.status, r.body)
	}
	if r := serve(t, srv, "OPTIONS", "/led/events", ""); r.status != 204 || r.header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("OPTIONS: %d %v", r.status, r.header)
	}
	if r := serve(t, srv, "HEAD", "/cars/events", ""); r.status != 200 || r.header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("HEAD: %d %v", r.status, r.header)
	}
	_ = ts
	// The reference and the document describe the streams.
	if r := serve(t, srv, "GET", "/docs", ""); !strings.Contains(r.body, "/cars/events") || !strings.Contains(r.body, "curl -N") || !strings.Contains(r.body, "/led/events") {
		t.Errorf("/docs does not show the streams")
	}
	if r := serve(t, srv, "GET", "/openapi.json", ""); !strings.Contains(r.body, `"/cars/{id}/events"`) || !strings.Contains(r.body, `"x-restkit-event-data"`) {
		t.Errorf("/openapi.json does not describe the streams")
	}
}

// TestStreamHeartbeatAndClose: an idle stream gets ": ping" comments, carrying the
// id it has read up to past events not for it; Close ends every stream.
func TestStreamHeartbeatAndClose(t *testing.T) {
	ts, srv, _ := eventsServer(t, func(o *httpapi.Options) { o.Events.Heartbeat = 20 * time.Millisecond })
	s := openStream(t, ts, "/cars/events")
	do(t, ts, "PUT", "/led", `{"state":"on"}`, 200) // seq 1, not for /cars
	deadline := time.After(30 * time.Second)
	for found := false; !found; {
		select {
		case e := <-s.got:
			if e.data != "" {
				t.Fatalf("an event for another source: %v", e)
			}
			found = len(e.comments) > 0 && e.comments[len(e.comments)-1] == "ping" && e.id == "1"
		case <-deadline:
			t.Fatal("no ping carrying id 1 within 30s")
		}
	}
	srv.Close()
	s.ended()
	if r := serve(t, srv, "GET", "/cars/events", ""); r.status != 503 {
		t.Fatalf("a stream after Close: %d", r.status)
	}
}

// TestSlowStreamIsDropped: a client that stops reading is dropped once a write has
// blocked past the write timeout, and counted.
func TestSlowStreamIsDropped(t *testing.T) {
	m := metrics.New()
	ts, srv, _ := eventsServerOf(t, `
apis:
  - resources:
      blobs:
        key: id
        fields:
          id: {type: integer}
          body: {type: string, maxLength: 1000000}
`, func(o *httpapi.Options) {
		o.Events.WriteTimeout = 50 * time.Millisecond
		o.Metrics = m
	})
	req, _ := http.NewRequest("GET", ts.URL+"/blobs/events", nil)
	resp, err := ts.Client().Do(req) // and never read
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	big := strings.Repeat("x", 500_000)
	metricsHas := func(want string) bool { return strings.Contains(serve(t, srv, "GET", "/metrics", "").body, want) }
	deadline := time.Now().Add(60 * time.Second)
	for i := 1; !metricsHas(`restkit_event_streams_dropped_total{reason="slow"} 1`); i++ {
		do(t, ts, "POST", "/blobs", fmt.Sprintf(`{"id":%d,"body":"%s"}`, i, big), 201)
		if time.Now().After(deadline) {
			t.Fatal("a client that never reads was not dropped")
		}
	}
	for !metricsHas("restkit_event_streams_open 0") {
		if time.Now().After(deadline) {
			t.Fatal("the dropped stream is still counted open")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStreamEndsWhenReadIsWithdrawn: an open stream checks, before it sends, that
// the caller may still GET what it shows; once the GET is switched off, the next
// event ends the stream instead of reaching the client.
func TestStreamEndsWhenReadIsWithdrawn(t *testing.T) {
	var opts httpapi.Options
	ts, _, _ := eventsServerOf(t, `
capabilities: {reads: true}
apis:
  - resources:
      books:
        key: id
        fields: {id: {type: integer}, title: {type: string}}
        collection: [{verb: GET, capability: reads}, POST]
        item: [{verb: GET, capability: reads}, PUT]
`, func(o *httpapi.Options) { opts = *o })
	s := openStream(t, ts, "/books/events")
	if s.resp.StatusCode != 200 {
		t.Fatalf("stream: %d", s.resp.StatusCode)
	}
	do(t, ts, "POST", "/books", `{"id":1,"title":"before"}`, 201)
	if got := s.next().String(); got != `1 created {"id":1,"title":"before"}` {
		t.Fatalf("first event %q", got)
	}
	opts.Schema.Switch(map[string]bool{"reads": false})
	do(t, ts, "PUT", "/books/1", `{"id":1,"title":"after"}`, 200)
	for {
		select {
		case e := <-s.got:
			if strings.Contains(e.data, "after") {
				t.Fatalf("the stream sent %q after GET was switched off", e.String())
			}
		case <-s.done:
			return // ended, as it must
		case <-time.After(30 * time.Second):
			t.Fatal("the stream neither ended nor sent within 30s")
		}
	}
}

// TestIdleStreamEndsWhenReadIsWithdrawn: a stream with nothing to send ends too when
// GET of what it shows is switched off. A switched-off resource takes no writes, so
// no event would ever come to notice it by: the stream re-decides at its heartbeat,
// and ends, whether the resource's switch or only its GET's went off.
func TestIdleStreamEndsWhenReadIsWithdrawn(t *testing.T) {
	var opts httpapi.Options
	ts, _, _ := eventsServerOf(t, `
capabilities: {books: true, reads: true}
apis:
  - resources:
      books:
        key: id
        capability: books
        fields: {id: {type: integer}, title: {type: string}}
      cars:
        key: id
        fields: {id: {type: integer}, model: {type: string}}
        collection: [{verb: GET, capability: reads}, POST]
        item: [{verb: GET, capability: reads}, PUT]
`, func(o *httpapi.Options) {
		o.Events.Heartbeat = 20 * time.Millisecond
		opts = *o
	})
	for _, c := range []struct{ capability, path string }{
		{"books", "/books/events"}, {"books", "/books/1/events"}, {"reads", "/cars/events"}, {"reads", "/cars/1/events"},
	} {
		opts.Schema.Switch(map[string]bool{})
		s := openStream(t, ts, c.path)
		if s.resp.StatusCode != 200 {
			t.Fatalf("%s: %d", c.path, s.resp.StatusCode)
		}
		opts.Schema.Switch(map[string]bool{c.capability: false})
		deadline := time.After(30 * time.Second) // pings come meanwhile: one bound for them all
	wait:
		for {
			select {
			case e := <-s.got:
				if e.data != "" {
					t.Fatalf("%s sent %q after GET was switched off", c.path, e.String())
				}
			case <-s.done:
				break wait // ended, as it must
			case <-deadline:
				t.Fatalf("%s: an idle stream did not end within 30s of its GET being switched off", c.path)
			}
		}
	}
}
