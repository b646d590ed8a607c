package webhook

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

// TestHorizonKeepsUndelivered: Horizon is the lowest cursor, so pruning the log up
// to it keeps what a failing endpoint has yet to receive, which it gets once it
// answers again; the healthy endpoint is not held back.
func TestHorizonKeepsUndelivered(t *testing.T) {
	s := testSchema(t)
	st := newSQLite(t, s)
	healthy := newReceiver(t, nil)
	var answer atomic.Int32
	answer.Store(500)
	failing := newReceiver(t, func(int) int { return int(answer.Load()) })
	clock := newFakeClock(t0)
	d, _ := start(t, Options{Schema: s, Store: st, AllowHosts: []string{"127.0.0.1"}, Clock: clock,
		Endpoints: []Endpoint{endpointFor(healthy, "*"), endpointFor(failing, "cars.*")}})
	putCar(t, st, s, 1, "Golf")
	putCar(t, st, s, 2, "Zoe")
	_, newest, _ := st.EventBounds(t.Context())
	waitFor(t, "both at the healthy endpoint", func() bool { return len(healthy.deliveries()) == 2 })
	waitFor(t, "a failed attempt", func() bool { return len(failing.deliveries()) == 1 })
	h, err := d.Horizon(t.Context())
	if err != nil || h != newest-2 {
		t.Fatalf("Horizon = %d, %v; want %d", h, err, newest-2)
	}
	if _, err := st.PruneEvents(t.Context(), time.Now().Add(time.Hour), 0, h); err != nil {
		t.Fatal(err)
	}
	answer.Store(200)
	clock.Advance(time.Second)
	waitFor(t, "both at the failing endpoint", func() bool { return len(failing.deliveries()) == 3 })
	if got := string(failing.deliveries()[2].Body); !strings.Contains(got, `"model":"Zoe"`) {
		t.Errorf("the last delivery: %s", got)
	}
	waitFor(t, "the Horizon at the newest event", func() bool { h, err := d.Horizon(t.Context()); return err == nil && h == newest })
}

// TestNewRefuses: options that cannot work are an Invalid error naming the problem.
func TestNewRefuses(t *testing.T) {
	s := testSchema(t)
	st := newSQLite(t, s)
	ok := Endpoint{URL: "https://hooks.example/a", Events: []string{"cars.*"}, Secret: testSecret}
	for want, change := range map[string]func(o *Options){
		"url must not carry a user name":   func(o *Options) { o.Endpoints[0].URL = "https://u:p@hooks.example/" },
		"url must be an absolute http":     func(o *Options) { o.Endpoints[0].URL = "/relative" },
		"secret must start with whsec_":    func(o *Options) { o.Endpoints[0].Secret = "hunter2" },
		"holds a key of 3 bytes":           func(o *Options) { o.Endpoints[0].Secret = "whsec_YWJj" },
		`events entry "artefacts.created"`: func(o *Options) { o.Endpoints[0].Events = []string{"artefacts.created"} },
		"events names no event type":       func(o *Options) { o.Endpoints[0].Events = nil },
		"header webhook-signature is set":  func(o *Options) { o.Endpoints[0].Headers = map[string]string{"webhook-signature": "x"} },
		"repeats the url of another":       func(o *Options) { o.Endpoints = append(o.Endpoints, o.Endpoints[0]) },
		`allow_hosts entry "a b"`:          func(o *Options) { o.AllowHosts = []string{"a b"} },
	} {
		o := Options{Schema: s, Store: st, Endpoints: []Endpoint{ok}}
		change(&o)
		_, err := New(t.Context(), o)
		if !restkit.IsKind(err, restkit.Invalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", want, err)
		}
	}
	o := Options{Schema: s, Store: st, Endpoints: []Endpoint{ok}, Artefacts: true}
	o.Endpoints[0].Events = []string{"artefacts.*"}
	if _, err := New(t.Context(), o); err != nil {
		t.Errorf("artefacts.* with the repository served: %v", err)
	}
}

// TestArtefactPayload: the repository's events carry their State as data.
func TestArtefactPayload(t *testing.T) {
	src := sources(testSchema(t))[restkit.ArtefactSource]
	ev := restkit.Event{Seq: 9, Source: restkit.ArtefactSource, Key: "builds/app.tar", Op: restkit.Created, Time: t0,
		State: "{\n  \"directory\": \"builds\", \"id\": \"app.tar\", \"version\": 2\n}"}
	b, err := src.body(ev)
	want := `{"type":"artefacts.created","timestamp":"2024-05-01T12:00:00Z","seq":9,"data":{"directory":"builds","id":"app.tar","version":2}}`
	if err != nil || string(b) != want {
		t.Errorf("%s, %v\nwant %s", b, err, want)
	}
	ev.State, ev.Op = "", restkit.Deleted
	b, _ = src.body(ev)
	if want := `{"type":"artefacts.deleted","timestamp":"2024-05-01T12:00:00Z","seq":9,"data":{"directory":"builds","id":"app.tar"}}`; string(b) != want {
		t.Errorf("%s\nwant %s", b, want)
	}
}

// TestMatchAndTypes: patterns match types as documented, and EventTypes lists the
// types some endpoint receives (never noun.deleted).
func TestMatchAndTypes(t *testing.T) {
	for _, c := range []struct {
		pattern, typ string
		want         bool
	}{
		{"*", "cars.created", true}, {"cars.*", "cars.deleted", true}, {"cars.created", "cars.created", true},
		{"cars.created", "cars.updated", false}, {"car.*", "cars.created", false}, {"cars.*", "carsx.created", false},
	} {
		if Match(c.pattern, c.typ) != c.want {
			t.Errorf("Match(%q, %q) = %v", c.pattern, c.typ, !c.want)
		}
	}
	got := EventTypes(testSchema(t), true, []Endpoint{{Events: []string{"cars.created", "led.*"}}, {Events: []string{"artefacts.*", "cars.deleted"}}})
	if want := "cars.created cars.deleted led.created led.updated artefacts.created artefacts.updated artefacts.deleted"; strings.Join(got, " ") != want {
		t.Errorf("EventTypes = %q, want %q", got, want)
	}
}
