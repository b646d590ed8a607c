package memory

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/restkit/restkit"
)

var _ restkit.HistoryStore = (*Store)(nil)

// The history of a resource declared with History is a slice of revisions per key,
// oldest first, in table.hist; WriteRecord appends to it under the write lock. The
// revisions are never changed once appended: reads copy them through the current
// declaration.

// continueNumbering gives a record created under key k the revision after the newest
// one its history holds, so that revision numbers stay unique across a delete and a
// re-create.
func (t *table) continueNumbering(k any, rec *restkit.Record) {
	if !t.res.History {
		return
	}
	if revs := t.hist[k]; len(revs) > 0 {
		rec.Rev = revs[len(revs)-1].Rev + 1
	}
}

// appendRevision appends rev to k's history when the resource keeps History, and
// prunes it to HistoryKeep revisions. A revision with the number of one already there
// (left from before History was turned off and on) replaces it.
func (t *table) appendRevision(k any, rev *restkit.Revision) {
	if !t.res.History {
		return
	}
	revs := t.hist[k]
	i, found := slices.BinarySearchFunc(revs, rev.Rev, func(r *restkit.Revision, n int64) int { return cmp.Compare(r.Rev, n) })
	if found {
		revs[i] = rev
	} else {
		revs = slices.Insert(revs, i, rev)
	}
	if keep := t.res.HistoryKeep; keep > 0 && len(revs) > keep {
		revs = append([]*restkit.Revision(nil), revs[len(revs)-keep:]...)
	}
	t.hist[k] = revs
}

// appendTombstone appends the revision of the delete of cur.
func (t *table) appendTombstone(k any, cur *restkit.Record) {
	rev := &restkit.Revision{Record: *cur.Clone(), Deleted: true}
	rev.Rev, rev.Updated = cur.Rev+1, time.Now().UTC()
	t.appendRevision(k, rev)
}

// revisionView copies rev keeping only values that fit the current declaration.
func (t *table) revisionView(rev *restkit.Revision) *restkit.Revision {
	c := *rev
	c.Values = make(map[string]any, len(rev.Values))
	for name, v := range rev.Values {
		if f := t.res.Field(name); f != nil {
			if cv, verr := f.Canonical(v); verr == nil && cv != nil {
				c.Values[name] = cv
			}
		}
	}
	return &c
}

// historyOf returns the table and canonical key of a history call; the caller holds
// s.mu.
func (s *Store) historyOf(res *restkit.Resource, key any, op string) (*table, any, error) {
	t, err := s.tableOf(res, op)
	if err != nil {
		return nil, nil, err
	}
	k, err := t.res.CanonicalKey(key)
	if err != nil {
		return nil, nil, err
	}
	return t, k, nil
}

// ListRevisions returns a record's revisions newest first (see restkit.HistoryStore).
func (s *Store) ListRevisions(ctx context.Context, res *restkit.Resource, key any, before int64, limit int) ([]*restkit.Revision, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, k, err := s.historyOf(res, key, "memory.ListRevisions")
	if err != nil {
		return nil, false, err
	}
	all := t.hist[k]
	if !t.res.History || len(all) == 0 {
		return nil, false, t.res.NoRevisions(k)
	}
	out := []*restkit.Revision{}
	for i := len(all) - 1; i >= 0; i-- {
		rev := all[i]
		if before > 0 && rev.Rev >= before {
			continue
		}
		if limit > 0 && len(out) == limit {
			return out, true, nil
		}
		out = append(out, t.revisionView(rev))
	}
	return out, false, nil
}

// FindRevision returns one revision of a record (see restkit.HistoryStore).
func (s *Store) FindRevision(ctx context.Context, res *restkit.Resource, key any, rev int64) (*restkit.Revision, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, k, err := s.historyOf(res, key, "memory.FindRevision")
	if err != nil {
		return nil, err
	}
	if t.res.History {
		for _, r := range t.hist[k] {
			if r.Rev == rev {
				return t.revisionView(r), nil
			}
		}
	}
	return nil, t.res.NoRevision(k, rev)
}

// PurgeHistory deletes every revision of a record (see restkit.HistoryStore).
func (s *Store) PurgeHistory(ctx context.Context, res *restkit.Resource, key any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, k, err := s.historyOf(res, key, "memory.PurgeHistory")
	if err != nil {
		return err
	}
	if !t.res.History || len(t.hist[k]) == 0 {
		return t.res.NoRevisions(k)
	}
	delete(t.hist, k)
	return nil
}
