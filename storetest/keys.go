package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/restkit/restkit"
)

// Option adds to what Run checks.
type Option func(*options)

type options struct {
	reopen func(t *testing.T, s restkit.Store) restkit.Store
}

// Reopen gives Run a way to restart a store: reopen closes s and returns a new Store
// on the same storage (not yet migrated). Checks of what must survive a restart, such
// as keys never handed out twice, use it; without it they migrate the same store
// again instead (what a configuration reload does), which is all a store that keeps
// nothing across a restart can offer.
func Reopen(reopen func(t *testing.T, s restkit.Store) restkit.Store) Option {
	return func(o *options) { o.reopen = reopen }
}

// sequenceSchema declares the resources of the sequential-key tests: tickets, whose
// integer key the store allocates, and legacy, whose integer key comes from the body
// until generatedLegacy turns it into a generated one (a migration).
func sequenceSchema(t testing.TB, generatedLegacy bool) (*restkit.Schema, *restkit.Resource, *restkit.Resource) {
	t.Helper()
	tickets := &restkit.Resource{Name: "tickets", Key: "id", KeySource: restkit.KeyGenerated, History: true, Fields: []*restkit.Field{
		{Name: "id", Type: restkit.TypeInteger},
		{Name: "title", Type: restkit.TypeString, Required: true, Unique: true},
	}}
	legacy := &restkit.Resource{Name: "legacy", Key: "id", History: true, Fields: []*restkit.Field{
		{Name: "id", Type: restkit.TypeInteger},
		{Name: "title", Type: restkit.TypeString},
	}}
	if generatedLegacy {
		legacy.KeySource = restkit.KeyGenerated
	}
	s := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{tickets, legacy}}}}
	if err := s.Prepare(); err != nil {
		t.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	return s, tickets, legacy
}

// testSequentialKeys checks restkit.KeyAllocator: keys 1, 2, 3… handed out once, also
// after the highest record is deleted, after a create that failed, after a restart
// and across migrations; a batch gets consecutive keys in order; a resource whose key
// becomes generated goes on after the highest key it holds. Stores without the
// ability skip it.
func testSequentialKeys(t *testing.T, open func(t *testing.T) restkit.Store, o options) {
	sc, tickets, legacy := sequenceSchema(t, false)
	f := &fixture{s: open(t), ctx: t.Context(), schema: sc}
	t.Cleanup(func() {
		if err := f.s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := f.s.Migrate(f.ctx, sc); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	if _, ok := f.s.(restkit.KeyAllocator); !ok {
		t.Skip("the store does not implement restkit.KeyAllocator")
	}
	// restart brings the store back with a schema declared and prepared anew, as a
	// new process (or a reload) would.
	restart := func(generatedLegacy bool) {
		t.Helper()
		if o.reopen != nil {
			f.s = o.reopen(t, f.s)
		}
		sc, tickets, legacy = sequenceSchema(t, generatedLegacy)
		if err := f.s.Migrate(f.ctx, sc); err != nil {
			t.Fatalf("Migrate after a restart: %v", err)
		}
	}
	alloc := func(res *restkit.Resource, n int) int64 {
		t.Helper()
		first, err := f.s.(restkit.KeyAllocator).AllocateKeys(f.ctx, res, n)
		if err != nil {
			t.Fatalf("AllocateKeys %s %d: %v", res.Name, n, err)
		}
		return first
	}
	wantNext := func(what string, res *restkit.Resource, want int64) int64 {
		t.Helper()
		if got := alloc(res, 1); got != want {
			t.Fatalf("%s: the next key of %s is %d, want %d", what, res.Name, got, want)
		}
		return want
	}
	ticket := func(key int64, title string) map[string]any { return map[string]any{"id": key, "title": title} }

	// 1, 2, 3.
	for want := int64(1); want <= 3; want++ {
		f.create(t, tickets, ticket(wantNext("a new resource", tickets, want), fmt.Sprint("ticket ", want)), t0)
	}
	// Deleting the highest does not give its number back.
	if _, err := f.s.WriteRecord(f.ctx, tickets, int64(3), func(*restkit.Record) (*restkit.Record, error) { return nil, nil }); err != nil {
		t.Fatalf("delete 3: %v", err)
	}
	f.create(t, tickets, ticket(wantNext("after the highest was deleted", tickets, 4), "ticket 4"), t0)
	// Nor does a create that failed (a unique title taken): its number is skipped.
	k := wantNext("before a failing create", tickets, 5)
	_, err := f.s.WriteRecord(f.ctx, tickets, k, createOnly(ticket(k, "ticket 1"), t0))
	wantKind(t, "a create taking a unique title", err, restkit.Conflict)
	wantNext("after a failed create", tickets, 6)

	// A batch: consecutive keys, in order.
	first := alloc(tickets, 3)
	if first != 7 {
		t.Fatalf("a batch of 3 starts at %d, want 7", first)
	}
	if bw, ok := f.s.(restkit.BatchWriter); ok {
		keys := []any{first, first + 1, first + 2}
		recs, err := bw.WriteRecords(f.ctx, tickets, keys, func(i int, cur *restkit.Record) (*restkit.Record, error) {
			return createOnly(ticket(keys[i].(int64), fmt.Sprint("batch ", i)), t0)(cur)
		})
		if err != nil || len(recs) != 3 {
			t.Fatalf("WriteRecords: %v %v", recs, err)
		}
		for i, rec := range recs {
			if rec.Values["id"] != first+int64(i) {
				t.Errorf("batch item %d has key %v, want %d", i, rec.Values["id"], first+int64(i))
			}
		}
	}

	// Invalid requests.
	_, err = f.s.(restkit.KeyAllocator).AllocateKeys(f.ctx, legacy, 1)
	wantKind(t, "AllocateKeys of a resource whose key comes from the body", err, restkit.Invalid)
	_, err = f.s.(restkit.KeyAllocator).AllocateKeys(f.ctx, tickets, 0)
	wantKind(t, "AllocateKeys of 0 keys", err, restkit.Invalid)

	// A restart, and a second migration, go on where the count was.
	restart(false)
	wantNext("after a restart", tickets, 10)
	restart(false)
	wantNext("after a second restart", tickets, 11)
	if err := f.s.Migrate(f.ctx, sc); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	wantNext("after migrating the same schema again", tickets, 12)

	// legacy's keys come from the body: 1, 5, 40 and 60, which is deleted. When they
	// become generated, the count goes on after the highest key held: 60 when the
	// store keeps the history (which holds 60's tombstone), else 40.
	for _, id := range []int64{1, 5, 40, 60} {
		f.create(t, legacy, map[string]any{"id": id, "title": fmt.Sprint("legacy ", id)}, t0)
	}
	if _, err := f.s.WriteRecord(f.ctx, legacy, int64(60), func(*restkit.Record) (*restkit.Record, error) { return nil, nil }); err != nil {
		t.Fatalf("delete legacy 60: %v", err)
	}
	restart(true)
	next := int64(41)
	if _, ok := f.s.(restkit.HistoryStore); ok {
		next = 61
	}
	wantNext("after legacy's key became generated", legacy, next)
	restart(true)
	wantNext("after migrating legacy again", legacy, next+1)
	wantNext("tickets, which the migration leaves alone", tickets, 13)
}

// testConcurrentSequentialKeys: allocations from many goroutines at once, single and
// in batches, never hand out one key twice, and every create with them succeeds.
func testConcurrentSequentialKeys(t *testing.T, open func(t *testing.T) restkit.Store) {
	sc, tickets, _ := sequenceSchema(t, false)
	f := &fixture{s: open(t), ctx: t.Context(), schema: sc}
	t.Cleanup(func() {
		if err := f.s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := f.s.Migrate(f.ctx, sc); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	ka, ok := f.s.(restkit.KeyAllocator)
	if !ok {
		t.Skip("the store does not implement restkit.KeyAllocator")
	}
	const workers, rounds, batch = 8, 10, 3
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		keys []int64
	)
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				n := 1
				if w%2 == 1 {
					n = batch
				}
				first, err := ka.AllocateKeys(f.ctx, tickets, n)
				if err != nil {
					t.Errorf("AllocateKeys: %v", err)
					return
				}
				for j := range int64(n) {
					title := fmt.Sprintf("worker %d round %d item %d", w, i, j)
					if _, err := f.s.WriteRecord(f.ctx, tickets, first+j, createOnly(map[string]any{"id": first + j, "title": title}, t0)); err != nil {
						t.Errorf("create %d: %v", first+j, err)
					}
				}
				mu.Lock()
				for j := range int64(n) {
					keys = append(keys, first+j)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	want := workers / 2 * rounds * (1 + batch)
	slices.Sort(keys)
	if len(keys) != want || len(slices.Compact(slices.Clone(keys))) != want {
		t.Fatalf("%d keys, %d distinct, want %d distinct", len(keys), len(slices.Compact(slices.Clone(keys))), want)
	}
	if keys[0] < 1 {
		t.Errorf("the lowest key is %d", keys[0])
	}
	page, err := f.s.ListRecords(f.ctx, tickets, &restkit.Query{Count: true, Limit: 1})
	if err != nil || page.Total != int64(want) {
		t.Fatalf("%d records (%v), want %d", page.Total, err, want)
	}
	// After them all, the next key is higher than any handed out.
	next, err := ka.AllocateKeys(f.ctx, tickets, 1)
	if err != nil || next <= keys[len(keys)-1] {
		t.Fatalf("next key %d (%v), want above %d", next, err, keys[len(keys)-1])
	}
}
