package storetest

import (
	"errors"
	"testing"

	"github.com/restkit/restkit"
)

// testBatch checks restkit.BatchWriter: all of a batch is written, or none of it.
// Stores without the ability skip it.
func testBatch(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	bw, ok := f.s.(restkit.BatchWriter)
	if !ok {
		t.Skip("the store does not implement restkit.BatchWriter")
	}
	f.create(t, f.things, map[string]any{"id": int64(1), "name": "alpha"}, t0)
	items := func(vals ...map[string]any) ([]any, func(int, *restkit.Record) (*restkit.Record, error)) {
		keys := make([]any, len(vals))
		for i, v := range vals {
			keys[i] = v["id"]
		}
		return keys, func(i int, cur *restkit.Record) (*restkit.Record, error) {
			if cur != nil {
				return nil, restkit.Errorf(restkit.Conflict, "already there")
			}
			return &restkit.Record{Values: vals[i], Created: t0, Updated: t0}, nil
		}
	}
	wantBatchError := func(what string, err error, index int, kind restkit.Kind) {
		t.Helper()
		var be *restkit.BatchError
		if !errors.As(err, &be) || be.Index != index || restkit.ErrorKind(err) != kind {
			t.Fatalf("%s: %v (%T), want a BatchError at %d of kind %s", what, err, err, index, kind)
		}
	}

	// The third item's change refuses: nothing of the batch is written.
	keys, change := items(
		map[string]any{"id": int64(2), "name": "beta"},
		map[string]any{"id": int64(3), "name": "gamma"},
		map[string]any{"id": int64(1), "name": "again"})
	_, err := bw.WriteRecords(f.ctx, f.things, keys, change)
	wantBatchError("a refused item", err, 2, restkit.Conflict)
	f.wantNotFound(t, f.things, int64(2))
	f.wantNotFound(t, f.things, int64(3))

	// Two items of one batch taking one unique value: the second fails, none is kept,
	// and the value is still free afterwards.
	keys, change = items(
		map[string]any{"id": int64(4), "name": "delta"},
		map[string]any{"id": int64(5), "name": "delta"})
	_, err = bw.WriteRecords(f.ctx, f.things, keys, change)
	wantBatchError("a unique value taken twice in one batch", err, 1, restkit.Conflict)
	f.wantNotFound(t, f.things, int64(4))

	// A whole batch.
	keys, change = items(
		map[string]any{"id": int64(4), "name": "delta"},
		map[string]any{"id": int64(5), "name": "epsilon"},
		map[string]any{"id": int64(6), "name": "zeta"})
	recs, err := bw.WriteRecords(f.ctx, f.things, keys, change)
	if err != nil || len(recs) != 3 {
		t.Fatalf("a good batch: %v %v", recs, err)
	}
	for i, id := range []int64{4, 5, 6} {
		if recs[i].Rev != 1 || recs[i].Values["id"] != id {
			t.Errorf("item %d: %+v", i, recs[i])
		}
		f.find(t, f.things, id)
	}
	page, err := f.s.ListRecords(f.ctx, f.things, &restkit.Query{Count: true})
	if err != nil || page.Total != 4 {
		t.Fatalf("after the batches: %d records, %v", page.Total, err)
	}
}
