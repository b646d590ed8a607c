package postgres

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

// TestEventsWakeEveryNode: a write committed on one node wakes the subscribers of
// another (LISTEN/NOTIFY), and while both nodes write at once, each event appears in
// the log exactly once, in Seq order, with the writes of both.
func TestEventsWakeEveryNode(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	res := &restkit.Resource{Name: "notes", Key: "id", Fields: []*restkit.Field{
		{Name: "id", Type: restkit.TypeInteger}, {Name: "n", Type: restkit.TypeInteger}}}
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{res}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Store{a, b} {
		if err := s.Migrate(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	wake, stop := b.Subscribe()
	defer stop()
	put := func(s *Store, k, n int64) {
		t.Helper()
		if _, err := s.WriteRecord(ctx, res, k, func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: map[string]any{"n": n}}, nil
		}); err != nil {
			t.Error(err)
		}
	}
	// b's LISTEN starts with its first subscriber, on a goroutine: write on a until
	// one of the writes wakes b (a NOTIFY sent before LISTEN reaches nobody).
	deadline := time.After(60 * time.Second)
	for i := int64(1); ; i++ {
		put(a, 1000+i, i)
		select {
		case <-wake:
		case <-time.After(200 * time.Millisecond):
			continue
		case <-deadline:
			t.Fatal("a write on node a never woke node b's subscriber")
		}
		break
	}
	_, start, err := b.EventBounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w, s := range []*Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range int64(25) {
				put(s, int64(w)*100+i, i)
			}
		}()
	}
	wg.Wait()
	events, err := a.Events(ctx, start, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 100 {
		t.Fatalf("%d events after %d, want 100", len(events), start)
	}
	seen := map[string]bool{}
	for i, e := range events {
		if i > 0 && e.Seq <= events[i-1].Seq {
			t.Fatalf("seq %d after %d", e.Seq, events[i-1].Seq)
		}
		if seen[e.Key] || e.Op != restkit.Created || e.Source != res.StoreName {
			t.Fatalf("event %+v (seen: %v)", e, seen[e.Key])
		}
		seen[e.Key] = true
	}
}
