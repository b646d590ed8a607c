package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/sqlite"
)

// testSecret is a 32-byte key in the Standard Webhooks form.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo="

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// testSchema declares cars (integer key from the body, timestamps off) and the noun led.
func testSchema(tb testing.TB) *restkit.Schema {
	tb.Helper()
	s := &restkit.Schema{APIs: []*restkit.API{{
		Resources: []*restkit.Resource{{Name: "cars", Key: "id", Fields: []*restkit.Field{
			{Name: "id", Type: restkit.TypeInteger},
			{Name: "model", Type: restkit.TypeString, Required: true},
			{Name: "color", Type: restkit.TypeString, Nullable: true},
		}}},
		Nouns: []*restkit.Noun{{Name: "led", Fields: []*restkit.Field{
			{Name: "state", Type: restkit.TypeString, Default: "off"},
		}}},
	}}}
	if err := s.Prepare(); err != nil {
		tb.Fatal(err)
	}
	return s
}

func cars(s *restkit.Schema) *restkit.Resource { return s.APIs[0].Resources[0] }
func led(s *restkit.Schema) *restkit.Noun      { return s.APIs[0].Nouns[0] }

// migrator is a Store that can be migrated.
type migrator interface {
	Store
	restkit.Store
	Migrate(ctx context.Context, s *restkit.Schema) error
}

// openSQLite opens (or reopens) the SQLite store at path, migrated for s and closed at
// cleanup.
func openSQLite(tb testing.TB, path string, s *restkit.Schema) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Migrate(tb.Context(), s); err != nil {
		tb.Fatal(err)
	}
	return st
}

func newSQLite(tb testing.TB, s *restkit.Schema) *sqlite.Store {
	return openSQLite(tb, filepath.Join(tb.TempDir(), "restkit.db"), s)
}

// putCar writes car id (created or updated).
func putCar(tb testing.TB, st restkit.Store, s *restkit.Schema, id int64, model string) {
	tb.Helper()
	_, err := st.WriteRecord(context.Background(), cars(s), id, func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"id": id, "model": model}}, nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

func deleteCar(tb testing.TB, st restkit.Store, s *restkit.Schema, id int64) {
	tb.Helper()
	_, err := st.WriteRecord(context.Background(), cars(s), id, func(*restkit.Record) (*restkit.Record, error) { return nil, nil })
	if err != nil {
		tb.Fatal(err)
	}
}

func setLED(tb testing.TB, st restkit.Store, s *restkit.Schema, state string) {
	tb.Helper()
	_, err := st.WriteNoun(context.Background(), led(s), func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"state": state}}, nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// delivery is one request a receiver got.
type delivery struct {
	Header http.Header
	Body   []byte
}

// receiver is a webhook endpoint: it records every request and answers with the
// status answer gives for the nth request (1-based); 204 when answer is nil.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []delivery
	answer func(n int) int
}

func newReceiver(tb testing.TB, answer func(n int) int) *receiver {
	r := &receiver{answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{Header: req.Header.Clone(), Body: body})
		n := len(r.got)
		r.mu.Unlock()
		status := 204
		if r.answer != nil {
			status = r.answer(n)
		}
		w.WriteHeader(status)
	}))
	tb.Cleanup(r.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// fakeClock is a Clock that moves only when the test says.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) At(t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if !t.After(c.now) {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: t, c: ch})
	return ch
}

// Set moves the clock to t (never back) and fires every timer due by then.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	c.waiters = slices.DeleteFunc(c.waiters, func(w fakeWaiter) bool {
		if w.at.After(c.now) {
			return false
		}
		w.c <- c.now
		return true
	})
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// start makes a Dispatcher with o (the store and schema filled in when unset) and
// runs it until the test ends or the returned stop is called.
func start(tb testing.TB, o Options) (*Dispatcher, func()) {
	tb.Helper()
	d, err := New(tb.Context(), o)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil {
			tb.Error(err)
		}
	}()
	stop := func() {
		cancel()
		<-done
	}
	tb.Cleanup(stop)
	return d, sync.OnceFunc(stop)
}

// waitFor polls cond until it holds, failing after a generous bound.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// status reads the first endpoint's status.
func status(tb testing.TB, d *Dispatcher) EndpointStatus {
	tb.Helper()
	st, err := d.Status(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return st.Endpoints[0]
}

// endpoint is an endpoint for the receiver wanting events.
func endpointFor(r *receiver, events ...string) Endpoint {
	return Endpoint{URL: r.URL + "/hook", Events: events, Secret: testSecret}
}

// payload decodes a delivery's body.
func payload(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("%v: %s", err, b)
	}
	return m
}
