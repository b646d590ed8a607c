package httpapi

import (
	"context"

	"github.com/restkit/restkit"
)

// writeRecord runs one write of the resource through its hooks (restkit.Hooks): the
// before-hooks inside the store's transaction, AfterCommit once it committed. An
// AfterCommit failure comes back as the error (the record is written: the client is
// told so).
func (h *resourceHandler) writeRecord(ctx context.Context, key any, change restkit.Change) (*restkit.Record, error) {
	if h.res.Hooks == nil {
		return h.s.store.WriteRecord(ctx, h.res, key, change)
	}
	var before *restkit.Record
	rec, err := h.s.store.WriteRecord(ctx, h.res, key, h.res.Before(ctx, func(cur *restkit.Record) (*restkit.Record, error) {
		before = nil // a store may run the change again (a retried transaction)
		if cur != nil {
			before = cur.Clone()
		}
		return change(cur)
	}))
	if err != nil {
		return nil, err
	}
	return rec, h.res.After(ctx, commitOf(key, before, rec))
}

// writeRecords is writeRecord for a batch (restkit.BatchWriter): one AfterCommit per
// record, in order, after the batch committed.
func (h *resourceHandler) writeRecords(ctx context.Context, bw restkit.BatchWriter, keys []any, changes []restkit.Change) ([]*restkit.Record, error) {
	befores := make([]*restkit.Record, len(keys))
	hooked := make([]restkit.Change, len(changes))
	for i, change := range changes {
		hooked[i] = h.res.Before(ctx, func(cur *restkit.Record) (*restkit.Record, error) {
			befores[i] = nil
			if cur != nil {
				befores[i] = cur.Clone()
			}
			return change(cur)
		})
	}
	recs, err := bw.WriteRecords(ctx, h.res, keys, func(i int, cur *restkit.Record) (*restkit.Record, error) { return hooked[i](cur) })
	if err != nil {
		return nil, err
	}
	for i, rec := range recs {
		if err := h.res.After(ctx, commitOf(keys[i], befores[i], rec)); err != nil {
			return nil, err
		}
	}
	return recs, nil
}

// commitOf is the Commit of a write that found before and left after.
func commitOf(key any, before, after *restkit.Record) restkit.Commit {
	op := restkit.Updated
	switch {
	case before == nil:
		op = restkit.Created
	case after == nil:
		op = restkit.Deleted
	}
	return restkit.Commit{Op: op, Key: key, Before: before, After: after}
}
