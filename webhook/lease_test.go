package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/restkit/restkit/internal/testenv"
	"github.com/restkit/restkit/postgres"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestLeaseTakeover: two Dispatchers on one PostgreSQL database — two nodes — share
// the endpoint: one holds its lease and makes every delivery, so each event arrives
// once; when that node dies without giving the lease back, the other takes over once
// the lease has expired and delivers the rest. The lease runs on the test's clock.
func TestLeaseTakeover(t *testing.T) {
	url, drop, err := postgres.NewTestSchema(t.Context(), testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = drop(context.Background()) })
	s := testSchema(t)
	open := func() *postgres.Store {
		st, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		if err := st.Migrate(t.Context(), s); err != nil {
			t.Fatal(err)
		}
		return st
	}
	stores := []*postgres.Store{open(), open()}
	rcv := newReceiver(t, nil)
	clock := newFakeClock(t0)
	var nodes [2]*Dispatcher
	var stops [2]func()
	for i, name := range []string{"node-a", "node-b"} {
		nodes[i], stops[i] = start(t, Options{Schema: s, Store: stores[i], Endpoints: []Endpoint{endpointFor(rcv, "cars.*")},
			AllowHosts: []string{"127.0.0.1"}, Clock: clock, Node: name, Lease: 30 * time.Second})
	}
	waitFor(t, "a holder", func() bool { return status(t, nodes[0]).Holder != "" })
	holder := status(t, nodes[0]).Holder
	h := 0
	if holder == "node-b" {
		h = 1
	}
	for i := range int64(20) {
		putCar(t, stores[i%2], s, i, "first half")
	}
	other := 1 - h
	waitFor(t, "20 deliveries recorded", func() bool { return len(rcv.deliveries()) >= 20 && status(t, nodes[other]).Lag == 0 })

	// The holder dies: its store goes away first, so it cannot give the lease back.
	stores[h].Close()
	stops[h]()
	for i := int64(20); i < 40; i++ {
		putCar(t, stores[other], s, i, "second half")
	}
	clock.Advance(31 * time.Second) // the dead node's lease expires
	waitFor(t, "40 deliveries", func() bool { return len(rcv.deliveries()) >= 40 })
	seen := map[string]bool{}
	var last float64
	for _, g := range rcv.deliveries() {
		id := g.Header.Get("webhook-id")
		seq := payload(t, g.Body)["seq"].(float64)
		if seen[id] || seq <= last {
			t.Errorf("delivery %s (seq %v) after seq %v: repeated or out of order", id, seq, last)
		}
		seen[id], last = true, seq
	}
	if len(seen) != 40 {
		t.Errorf("%d distinct deliveries, want 40", len(seen))
	}
	if es := status(t, nodes[other]); es.Holder != []string{"node-a", "node-b"}[other] || es.Attempts[0].Node != es.Holder {
		t.Errorf("after the takeover: holder %q, last attempt by %q", es.Holder, es.Attempts[0].Node)
	}
}
