package feed

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/memory"
)

// fixture is a memory store with one noun whose every write appends an event.
type fixture struct {
	s    *memory.Store
	noun *restkit.Noun
	n    int64
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	n := &restkit.Noun{Name: "counter", Fields: []*restkit.Field{{Name: "n", Type: restkit.TypeInteger, Default: int64(0)}}}
	sc := &restkit.Schema{APIs: []*restkit.API{{Nouns: []*restkit.Noun{n}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	s := memory.New()
	if err := s.Migrate(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, noun: n}
}

// write commits one write: one event.
func (f *fixture) write(t *testing.T) {
	t.Helper()
	f.n++
	if _, err := f.s.WriteNoun(context.Background(), f.noun, func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"n": f.n}}, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// readUntil reads from after until it has want events, waiting on the feed between
// reads (bounded generously: this is no timing test).
func readUntil(t *testing.T, f *Feed, after int64, want int) ([]*Entry, bool) {
	t.Helper()
	var got []*Entry
	fromStore := false
	deadline := time.After(30 * time.Second)
	for len(got) < want {
		r, err := f.Read(context.Background(), after, 100)
		if err != nil {
			t.Fatal(err)
		}
		if r.Closed {
			t.Fatal("the feed closed")
		}
		fromStore = fromStore || r.FromStore
		got = append(got, r.Entries...)
		if len(r.Entries) > 0 {
			after = r.Entries[len(r.Entries)-1].Seq
			continue
		}
		select {
		case <-r.Wait:
		case <-deadline:
			t.Fatalf("%d of %d events after 30s", len(got), want)
		}
	}
	return got, fromStore
}

func seqs(es []*Entry) string {
	s := ""
	for _, e := range es {
		s += fmt.Sprintf("%d ", e.Seq)
	}
	return s
}

// TestReadersFollowWrites: a reader starting at Position sees every later write,
// in order, from the ring; Close wakes it and reports the feed closed.
func TestReadersFollowWrites(t *testing.T) {
	fx := newFixture(t)
	fx.write(t) // before the feed: not in the ring
	f, err := Start(context.Background(), fx.s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := f.Position()
	if start != 1 {
		t.Fatalf("position %d, want 1", start)
	}
	wrote := make(chan error, 1)
	go func() { // writes while the reader waits
		var err error
		for i := range 5 {
			if _, err = fx.s.WriteNoun(context.Background(), fx.noun, func(*restkit.Record) (*restkit.Record, error) {
				return &restkit.Record{Values: map[string]any{"n": int64(i)}}, nil
			}); err != nil {
				break
			}
		}
		wrote <- err
	}()
	got, _ := readUntil(t, f, start, 5)
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if s := seqs(got); s != "2 3 4 5 6 " {
		t.Fatalf("seqs %s", s)
	}
	// The memo is computed once per entry, whoever asks.
	calls := 0
	memo := func(restkit.Event) any { calls++; return calls }
	r, _ := f.Read(context.Background(), start, 1)
	r2, _ := f.Read(context.Background(), start, 1)
	if r.Entries[0].Memo(memo) != 1 || r2.Entries[0].Memo(memo) != 1 || calls != 1 {
		t.Fatalf("memo computed %d times", calls)
	}
	r, _ = f.Read(context.Background(), f.Position(), 10)
	f.Close()
	select {
	case <-r.Wait:
	case <-time.After(30 * time.Second):
		t.Fatal("Close did not wake a waiting reader")
	}
	if r, _ := f.Read(context.Background(), 0, 10); !r.Closed {
		t.Fatal("Read after Close does not say closed")
	}
	f.Close() // twice is fine
}

// TestOldReadersReadTheStore: a reader resuming from before the ring reads the
// store, then joins the ring; a reader the ring has left behind is told so.
func TestOldReadersReadTheStore(t *testing.T) {
	fx := newFixture(t)
	for range 3 {
		fx.write(t)
	}
	f, err := Start(context.Background(), fx.s, Options{Ring: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range 10 {
		fx.write(t)
	}
	got, fromStore := readUntil(t, f, 0, 13)
	if s := seqs(got); s != "1 2 3 4 5 6 7 8 9 10 11 12 13 " || !fromStore {
		t.Fatalf("seqs %s (from the store: %v)", s, fromStore)
	}
	// The ring keeps the newest 4: 10..13. A reader at 9 is served from the ring.
	r, err := f.Read(context.Background(), 9, 100)
	if err != nil || r.FromStore || seqs(r.Entries) != "10 11 12 13 " {
		t.Fatalf("from 9: %s, from the store %v, %v", seqs(r.Entries), r.FromStore, err)
	}
	r, _ = f.Read(context.Background(), 8, 100)
	if !r.FromStore || seqs(r.Entries) != "9 10 11 12 13 " {
		t.Fatalf("from 8: %s, from the store %v", seqs(r.Entries), r.FromStore)
	}
}

// deaf is a store whose wake-ups never come: the feed must find events by polling.
type deaf struct{ *memory.Store }

func (deaf) Subscribe() (<-chan struct{}, func()) { return make(chan struct{}), func() {} }

func TestPollFindsEventsWithoutWakeUps(t *testing.T) {
	fx := newFixture(t)
	f, err := Start(context.Background(), deaf{fx.s}, Options{Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fx.write(t)
	if got, _ := readUntil(t, f, 0, 1); got[0].Seq != 1 {
		t.Fatalf("seq %d", got[0].Seq)
	}
}

// TestPrunedUnderAReader: a reader catching up from the store whose next events were
// pruned meanwhile is told (Pruned), never handed the later events as if nothing
// were missing.
func TestPrunedUnderAReader(t *testing.T) {
	fx := newFixture(t)
	f, err := Start(context.Background(), fx.s, Options{Ring: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range 12 {
		fx.write(t)
	}
	readUntil(t, f, 0, 12)                       // the feed has caught up
	r, err := f.Read(context.Background(), 2, 3) // catching up: 3, 4, 5 from the store
	if err != nil || r.Pruned || seqs(r.Entries) != "3 4 5 " {
		t.Fatalf("before the prune: %s, pruned %v, %v", seqs(r.Entries), r.Pruned, err)
	}
	if _, err := fx.s.PruneEvents(context.Background(), time.Time{}, 4, 1<<62); err != nil { // keeps 9..12
		t.Fatal(err)
	}
	r, err = f.Read(context.Background(), 5, 3)
	if err != nil || !r.Pruned || len(r.Entries) != 0 {
		t.Fatalf("after the prune, from 5: %s, pruned %v, %v", seqs(r.Entries), r.Pruned, err)
	}
	if r, _ := f.Read(context.Background(), 8, 3); r.Pruned || seqs(r.Entries) != "9 10 11 " {
		t.Fatalf("from 8, nothing missed: %s, pruned %v", seqs(r.Entries), r.Pruned)
	}
}

// TestRingBoundedByBytes: the ring keeps what fits in RingBytes, however many events
// Ring allows; older ones are read from the store.
func TestRingBoundedByBytes(t *testing.T) {
	fx := newFixture(t)
	f, err := Start(context.Background(), fx.s, Options{Ring: 1000, RingBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range 20 {
		fx.write(t)
	}
	readUntil(t, f, 0, 20)
	f.mu.RLock()
	n := len(f.ring)
	size := 0
	for _, e := range f.ring {
		size += entryCost(e)
	}
	f.mu.RUnlock()
	if n == 0 || n >= 20 || size > 1000 {
		t.Fatalf("the ring holds %d events, %d bytes by its count (bound 1000)", n, size)
	}
	if r, _ := f.Read(context.Background(), 1, 100); !r.FromStore || seqs(r.Entries)[:2] != "2 " {
		t.Fatalf("from 1: %s, from the store %v", seqs(r.Entries), r.FromStore)
	}
}
