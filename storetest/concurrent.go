package storetest

import (
	"fmt"
	"sync"
	"testing"

	"github.com/restkit/restkit"
)

// increment is a read-modify-write Change adding one to an integer field.
func increment(field string) restkit.Change {
	return func(cur *restkit.Record) (*restkit.Record, error) {
		if cur == nil {
			return nil, restkit.Errorf(restkit.NotFound, "gone")
		}
		n, _ := cur.Values[field].(int64)
		cur.Values[field] = n + 1
		cur.Updated = t0
		return cur, nil
	}
}

func testConcurrentIncrement(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	f.create(t, f.things, map[string]any{"id": int64(1), "name": "counter", "count": int64(0)}, t0)
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := f.s.WriteRecord(f.ctx, f.things, int64(1), increment("count")); err != nil {
				t.Errorf("increment: %v", err)
			}
		})
	}
	wg.Wait()
	rec := f.find(t, f.things, int64(1))
	sameRecord(t, "after 50 increments", rec, map[string]any{"id": int64(1), "name": "counter", "count": int64(n)}, n+1, t0, t0)
}

// testConcurrentUpsert: writers that create a record when it is absent and change it
// otherwise, all starting before it exists, are serialised too: the first sees nil,
// every later one sees the previous one's write (a PUT that creates, from many
// clients at once). A store that locks only rows that exist fails here.
func testConcurrentUpsert(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	const n = 30
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := f.s.WriteRecord(f.ctx, f.things, int64(9), func(cur *restkit.Record) (*restkit.Record, error) {
				if cur == nil {
					return &restkit.Record{Values: map[string]any{"id": int64(9), "name": "upserted", "count": int64(1)}, Updated: t0}, nil
				}
				return increment("count")(cur)
			})
			if err != nil {
				t.Errorf("upsert: %v", err)
			}
		})
	}
	wg.Wait()
	rec := f.find(t, f.things, int64(9))
	sameRecord(t, "after 30 upserts", rec, map[string]any{"id": int64(9), "name": "upserted", "count": int64(n)}, n, t0, t0)
}

func testConcurrentCreateSame(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	const n = 20
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []int
	)
	for i := range n {
		wg.Go(func() {
			v := map[string]any{"id": int64(7), "name": fmt.Sprintf("racer %d", i)}
			_, err := f.s.WriteRecord(f.ctx, f.things, int64(7), createOnly(v, t0))
			switch {
			case err == nil:
				mu.Lock()
				winners = append(winners, i)
				mu.Unlock()
			case !restkit.IsKind(err, restkit.Conflict):
				t.Errorf("racer %d: %v, want nil or Conflict", i, err)
			}
		})
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d creates of one key succeeded (%v), want exactly 1", len(winners), winners)
	}
	rec := f.find(t, f.things, int64(7))
	sameRecord(t, "the winner", rec, map[string]any{"id": int64(7), "name": fmt.Sprintf("racer %d", winners[0])}, 1, t0, t0)
}

func testConcurrentCreateDistinct(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v := map[string]any{"id": int64(100 + i), "name": fmt.Sprintf("thing %d", i), "count": int64(i)}
			if _, err := f.s.WriteRecord(f.ctx, f.things, int64(100+i), createOnly(v, t0)); err != nil {
				t.Errorf("create %d: %v", 100+i, err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		rec := f.find(t, f.things, int64(100+i))
		sameRecord(t, "created concurrently", rec,
			map[string]any{"id": int64(100 + i), "name": fmt.Sprintf("thing %d", i), "count": int64(i)}, 1, t0, t0)
	}
	p := f.list(t, f.things, restkit.Query{Sort: []restkit.SortKey{{Field: "id"}}, Limit: 100, Count: true})
	if p.Total != n || len(p.Records) != n || p.More {
		t.Errorf("list: Total %d, %d records, More %v; want %d, %d, false", p.Total, len(p.Records), p.More, n, n)
	}
}
