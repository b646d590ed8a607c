package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

// History: a store that implements restkit.HistoryStore (others skip these tests)
// appends every state WriteRecord writes for a resource with History, and a tombstone
// holding the last values for a delete, in the same transaction; numbering continues
// across a delete and a re-create; HistoryKeep prunes the oldest; PurgeHistory drops
// them all; resources without History keep none.

// historyFixture is a migrated store with resources that keep history.
type historyFixture struct {
	*fixture
	hs     restkit.HistoryStore
	logs   *restkit.Resource // History, integer key, several value types
	kept   *restkit.Resource // History with HistoryKeep 2, string key
	plain  *restkit.Resource // no History
	schema *restkit.Schema
}

func newHistorySchema(t testing.TB) *restkit.Schema {
	t.Helper()
	s := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{
		{Name: "logs", Key: "id", History: true, Fields: []*restkit.Field{
			{Name: "id", Type: restkit.TypeInteger},
			{Name: "text", Type: restkit.TypeString, Required: true, Unique: true},
			{Name: "note", Type: restkit.TypeString, Nullable: true},
			{Name: "n", Type: restkit.TypeInteger},
			{Name: "score", Type: restkit.TypeNumber},
			{Name: "ok", Type: restkit.TypeBoolean},
			{Name: "at", Type: restkit.TypeDatetime},
		}},
		{Name: "kept", Key: "name", KeySource: restkit.KeyFromURL, Collection: []string{restkit.GET}, History: true, HistoryKeep: 2, Fields: []*restkit.Field{
			{Name: "name", Type: restkit.TypeString},
			{Name: "n", Type: restkit.TypeInteger},
		}},
		{Name: "plain", Key: "id", Fields: []*restkit.Field{
			{Name: "id", Type: restkit.TypeInteger},
			{Name: "n", Type: restkit.TypeInteger},
		}},
	}}}}
	if err := s.Prepare(); err != nil {
		t.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	return s
}

// setupHistory opens a store, skips the test when it keeps no history, and migrates
// the history schema.
func setupHistory(t *testing.T, open func(t *testing.T) restkit.Store) *historyFixture {
	t.Helper()
	f := setup(t, open)
	hs, ok := f.s.(restkit.HistoryStore)
	if !ok {
		t.Skip("the store does not implement restkit.HistoryStore")
	}
	sc := newHistorySchema(t)
	if err := f.s.Migrate(f.ctx, sc); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	res := sc.APIs[0].Resources
	return &historyFixture{fixture: f, hs: hs, logs: res[0], kept: res[1], plain: res[2], schema: sc}
}

func testHistory(t *testing.T, open func(t *testing.T) restkit.Store) {
	t.Run("Lifecycle", func(t *testing.T) { testHistoryLifecycle(t, open) })
	t.Run("Paging", func(t *testing.T) { testHistoryPaging(t, open) })
	t.Run("Recreate", func(t *testing.T) { testHistoryRecreate(t, open) })
	t.Run("Keep", func(t *testing.T) { testHistoryKeep(t, open) })
	t.Run("Purge", func(t *testing.T) { testHistoryPurge(t, open) })
	t.Run("FailedWrite", func(t *testing.T) { testHistoryFailedWrite(t, open) })
	t.Run("WithoutHistory", func(t *testing.T) { testHistoryOff(t, open) })
}

// revs lists every revision of key, failing the test on an error.
func (f *historyFixture) revs(t testing.TB, res *restkit.Resource, key any) []*restkit.Revision {
	t.Helper()
	revs, more, err := f.hs.ListRevisions(f.ctx, res, key, 0, 0)
	if err != nil {
		t.Fatalf("ListRevisions %s %v: %v", res.Name, key, err)
	}
	if more {
		t.Errorf("ListRevisions %s %v without a limit: more = true", res.Name, key)
	}
	return revs
}

// revNumbers returns the Rev of each revision, in order.
func revNumbers(revs []*restkit.Revision) []any {
	out := make([]any, len(revs))
	for i, r := range revs {
		out[i] = r.Rev
	}
	return out
}

func int64s(xs ...int64) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// sameRevision fails unless rev has exactly the values, number, times and deleted flag.
func sameRevision(t testing.TB, what string, rev *restkit.Revision, values map[string]any, n int64, created, updated time.Time, deleted bool) {
	t.Helper()
	sameRecord(t, what, &rev.Record, values, n, created, updated)
	if rev.Deleted != deleted {
		t.Errorf("%s: Deleted = %v, want %v", what, rev.Deleted, deleted)
	}
	if rev.Actor != "" {
		t.Errorf("%s: Actor = %q, want empty", what, rev.Actor)
	}
}

func testHistoryLifecycle(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setupHistory(t, open)
	t1, t2, t3 := t0.Add(time.Second), t0.Add(2*time.Second), t0.Add(3*time.Second)
	v1 := map[string]any{"id": int64(1), "text": "one", "n": int64(1), "score": 0.5, "ok": true, "at": t0}
	v2 := map[string]any{"id": int64(1), "text": "two", "note": "a note", "ok": false}
	v3 := map[string]any{"id": int64(1), "text": "three", "at": t3, "score": -1.25}
	f.create(t, f.logs, v1, t1)
	if _, err := f.s.WriteRecord(f.ctx, f.logs, int64(1), replace(v2, t2)); err != nil {
		t.Fatalf("replace: %v", err)
	}
	// A nil value is stored as null and reads back absent, in history as in the record.
	v3null := copyMap(v3)
	v3null["note"] = nil
	if _, err := f.s.WriteRecord(f.ctx, f.logs, int64(1), replace(v3null, t3)); err != nil {
		t.Fatalf("replace: %v", err)
	}
	sameRecord(t, "record at rev 3", f.find(t, f.logs, int64(1)), v3, 3, t1, t3)
	before := time.Now()
	if _, err := f.s.WriteRecord(f.ctx, f.logs, int64(1), func(cur *restkit.Record) (*restkit.Record, error) {
		cur.Values["text"] = "changed by the change" // the change owns cur: the tombstone must not see this
		return nil, nil
	}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	f.wantNotFound(t, f.logs, int64(1))

	revs := f.revs(t, f.logs, int64(1))
	sameKeys(t, "revisions newest first", revNumbers(revs), int64s(4, 3, 2, 1))
	if len(revs) != 4 {
		t.FailNow()
	}
	// The tombstone: the last values, Created kept, Updated the time of the delete.
	tomb := revs[0]
	sameValues(t, "tombstone", tomb.Values, v3)
	if tomb.Rev != 4 || !tomb.Deleted {
		t.Errorf("tombstone: Rev %d Deleted %v, want 4 true", tomb.Rev, tomb.Deleted)
	}
	sameTime(t, "tombstone Created", tomb.Created, t1)
	if tomb.Updated.Before(before.Add(-time.Second)) || tomb.Updated.Location() != time.UTC {
		t.Errorf("tombstone Updated = %v, want the time of the delete (after %v), in UTC", tomb.Updated, before)
	}
	sameRevision(t, "rev 3", revs[1], v3, 3, t1, t3, false)
	sameRevision(t, "rev 2", revs[2], v2, 2, t1, t2, false)
	sameRevision(t, "rev 1", revs[3], v1, 1, t1, t1, false)

	for _, want := range revs {
		got, err := f.hs.FindRevision(f.ctx, f.logs, int64(1), want.Rev)
		if err != nil {
			t.Fatalf("FindRevision %d: %v", want.Rev, err)
		}
		sameRevision(t, fmt.Sprintf("FindRevision %d", want.Rev), got, want.Values, want.Rev, want.Created, want.Updated, want.Deleted)
	}
	for _, n := range []int64{0, 5, -1} {
		_, err := f.hs.FindRevision(f.ctx, f.logs, int64(1), n)
		wantKind(t, fmt.Sprintf("FindRevision of absent rev %d", n), err, restkit.NotFound)
	}
	_, err := f.hs.FindRevision(f.ctx, f.logs, int64(2), 1)
	wantKind(t, "FindRevision of a key never written", err, restkit.NotFound)
	if got, want := restkit.ErrorMessage(err), "log with id 2 has no revision 1"; got != want {
		t.Errorf("FindRevision NotFound message = %q, want %q", got, want)
	}
	_, _, err = f.hs.ListRevisions(f.ctx, f.logs, int64(2), 0, 0)
	wantKind(t, "ListRevisions of a key never written", err, restkit.NotFound)
	if got, want := restkit.ErrorMessage(err), "no revisions of log with id 2"; got != want {
		t.Errorf("ListRevisions NotFound message = %q, want %q", got, want)
	}
	_, _, err = f.hs.ListRevisions(f.ctx, f.logs, "x", 0, 0)
	wantKind(t, "ListRevisions with a key of the wrong type", err, restkit.Invalid)

	// Migrating again (the same schema, or one declared afresh) keeps the history.
	if err := f.s.Migrate(f.ctx, f.schema); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if err := f.s.Migrate(f.ctx, newHistorySchema(t)); err != nil {
		t.Fatalf("Migrate of an equal schema: %v", err)
	}
	sameKeys(t, "revisions after Migrate", revNumbers(f.revs(t, f.logs, int64(1))), int64s(4, 3, 2, 1))
}

func testHistoryPaging(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setupHistory(t, open)
	f.create(t, f.logs, map[string]any{"id": int64(7), "text": "v1"}, t0)
	for i := 2; i <= 5; i++ {
		if _, err := f.s.WriteRecord(f.ctx, f.logs, int64(7), replace(map[string]any{"id": int64(7), "text": fmt.Sprint("v", i)}, t0.Add(time.Duration(i)*time.Second))); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		before int64
		limit  int
		want   []any
		more   bool
	}{
		{0, 2, int64s(5, 4), true},
		{4, 2, int64s(3, 2), true},
		{2, 2, int64s(1), false},
		{3, 2, int64s(2, 1), false},
		{0, 5, int64s(5, 4, 3, 2, 1), false},
		{0, 0, int64s(5, 4, 3, 2, 1), false},
		{6, 1, int64s(5), true},
		{100, 0, int64s(5, 4, 3, 2, 1), false},
		{1, 2, int64s(), false}, // past the oldest: an empty page, not NotFound
	} {
		what := fmt.Sprintf("ListRevisions before %d limit %d", tc.before, tc.limit)
		revs, more, err := f.hs.ListRevisions(f.ctx, f.logs, int64(7), tc.before, tc.limit)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		sameKeys(t, what, revNumbers(revs), tc.want)
		if more != tc.more {
			t.Errorf("%s: more = %v, want %v", what, more, tc.more)
		}
		for _, r := range revs {
			if got, want := r.Values["text"], fmt.Sprint("v", r.Rev); got != want {
				t.Errorf("%s: rev %d text %v, want %v", what, r.Rev, got, want)
			}
		}
	}
}

func testHistoryRecreate(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setupHistory(t, open)
	t1, t2 := t0.Add(time.Second), t0.Add(2*time.Second)
	f.create(t, f.logs, map[string]any{"id": int64(1), "text": "first life"}, t0)
	if _, err := f.s.WriteRecord(f.ctx, f.logs, int64(1), func(*restkit.Record) (*restkit.Record, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	// Created again: numbering continues after the tombstone (rev 2), so (key, rev)
	// stays unique in the history; Created is the new record's own.
	v := map[string]any{"id": int64(1), "text": "second life"}
	rec := f.create(t, f.logs, v, t1)
	sameRecord(t, "re-created", rec, v, 3, t1, t1)
	sameRecord(t, "found after re-create", f.find(t, f.logs, int64(1)), v, 3, t1, t1)
	v2 := map[string]any{"id": int64(1), "text": "second life, edited"}
	rec, err := f.s.WriteRecord(f.ctx, f.logs, int64(1), replace(v2, t2))
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, "replaced after re-create", rec, v2, 4, t1, t2)
	revs := f.revs(t, f.logs, int64(1))
	sameKeys(t, "revisions across a re-create", revNumbers(revs), int64s(4, 3, 2, 1))
	if len(revs) == 4 {
		sameRevision(t, "rev 4", revs[0], v2, 4, t1, t2, false)
		sameRevision(t, "rev 3", revs[1], v, 3, t1, t1, false)
		if !revs[2].Deleted || revs[2].Values["text"] != "first life" {
			t.Errorf("rev 2 = deleted %v %v, want the tombstone of the first life", revs[2].Deleted, show(revs[2].Values))
		}
	}
}

func testHistoryKeep(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setupHistory(t, open)
	put := func(n int64) {
		t.Helper()
		if _, err := f.s.WriteRecord(f.ctx, f.kept, "k", func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: map[string]any{"name": "k", "n": n}, Updated: t0}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(1)
	sameKeys(t, "one write", revNumbers(f.revs(t, f.kept, "k")), int64s(1))
	for n := int64(2); n <= 5; n++ {
		put(n)
	}
	revs := f.revs(t, f.kept, "k")
	sameKeys(t, "HistoryKeep 2 after five writes", revNumbers(revs), int64s(5, 4))
	if len(revs) == 2 && (revs[0].Values["n"] != int64(5) || revs[1].Values["n"] != int64(4)) {
		t.Errorf("kept values %s %s, want n 5 and 4", show(revs[0].Values), show(revs[1].Values))
	}
	for _, n := range []int64{1, 3} {
		_, err := f.hs.FindRevision(f.ctx, f.kept, "k", n)
		wantKind(t, fmt.Sprintf("FindRevision of pruned rev %d", n), err, restkit.NotFound)
	}
	if _, err := f.s.WriteRecord(f.ctx, f.kept, "k", func(*restkit.Record) (*restkit.Record, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	revs = f.revs(t, f.kept, "k")
	sameKeys(t, "HistoryKeep 2 after a delete", revNumbers(revs), int64s(6, 5))
	if len(revs) == 2 && !revs[0].Deleted {
		t.Errorf("rev 6 is not a tombstone")
	}
	// Another key's history is its own.
	if _, err := f.s.WriteRecord(f.ctx, f.kept, "other", func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"name": "other"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "another key", revNumbers(f.revs(t, f.kept, "other")), int64s(1))
	sameKeys(t, "the first key, untouched", revNumbers(f.revs(t, f.kept, "k")), int64s(6, 5))
}

func testHistoryPurge(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setupHistory(t, open)
	f.create(t, f.logs, map[string]any{"id": int64(1), "text": "gone"}, t0)
	f.create(t, f.logs, map[string]any{"id": int64(2), "text": "live"}, t0)
	if _, err := f.s.WriteRecord(f.ctx, f.logs, int64(1), func(*restkit.Record) (*restkit.Record, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "a deleted record's history stays", revNumbers(f.revs(t, f.logs, int64(1))), int64s(2, 1))
	if err := f.hs.PurgeHistory(f.ctx, f.logs, int64(1)); err != nil {
		t.Fatalf("PurgeHistory: %v", err)
	}
	_, _, err := f.hs.ListRevisions(f.ctx, f.logs, int64(1), 0, 0)
	wantKind(t, "ListRevisions after PurgeHistory", err, restkit.NotFound)
	_, err = f.hs.FindRevision(f.ctx, f.logs, int64(1), 1)
	wantKind(t, "FindRevision after PurgeHistory", err, restkit.NotFound)
	wantKind(t, "PurgeHistory again", f.hs.PurgeHistory(f.ctx, f.logs, int64(1)), restkit.NotFound)
	wantKind(t, "PurgeHistory of a key never written", f.hs.PurgeHistory(f.ctx, f.logs, int64(9)), restkit.NotFound)
	sameKeys(t, "another key's history", revNumbers(f.revs(t, f.logs, int64(2))), int64s(1))

	// Purged, the key starts again at 1.
	rec := f.create(t, f.logs, map[string]any{"id": int64(1), "text": "new"}, t0)
	if rec.Rev != 1 {
		t.Errorf("created after a purge: Rev %d, want 1", rec.Rev)
	}
	// Purging a live record's history leaves the record; its next write starts the
	// history again, numbered from the record.
	if err := f.hs.PurgeHistory(f.ctx, f.logs, int64(2)); err != nil {
		t.Fatalf("PurgeHistory of a live record: %v", err)
	}
	sameRecord(t, "live record after PurgeHistory", f.find(t, f.logs, int64(2)), map[string]any{"id": int64(2), "text": "live"}, 1, t0, t0)
	if _, err := f.s.WriteRecord(f.ctx, f.logs, int64(2), replace(map[string]any{"id": int64(2), "text": "again"}, t0)); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "history after a purge and a write", revNumbers(f.revs(t, f.logs, int64(2))), int64s(2))
}

func testHistoryFailedWrite(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setupHistory(t, open)
	f.create(t, f.logs, map[string]any{"id": int64(1), "text": "a"}, t0)
	f.create(t, f.logs, map[string]any{"id": int64(2), "text": "b"}, t0)
	// A unique value taken, a Change error, a bad value: nothing written, no revision.
	_, err := f.s.WriteRecord(f.ctx, f.logs, int64(2), replace(map[string]any{"id": int64(2), "text": "a"}, t0))
	wantKind(t, "taken", err, restkit.Conflict)
	_, err = f.s.WriteRecord(f.ctx, f.logs, int64(2), func(*restkit.Record) (*restkit.Record, error) {
		return nil, restkit.Errorf(restkit.PreconditionFailed, "no")
	})
	wantKind(t, "change error", err, restkit.PreconditionFailed)
	_, err = f.s.WriteRecord(f.ctx, f.logs, int64(2), replace(map[string]any{"id": int64(2), "text": "b", "nope": 1}, t0))
	wantKind(t, "undeclared field", err, restkit.Internal)
	_, err = f.s.WriteRecord(f.ctx, f.logs, int64(3), createOnly(map[string]any{"id": int64(3), "text": "a"}, t0))
	wantKind(t, "create with a taken value", err, restkit.Conflict)
	sameKeys(t, "after failed writes", revNumbers(f.revs(t, f.logs, int64(2))), int64s(1))
	_, _, err = f.hs.ListRevisions(f.ctx, f.logs, int64(3), 0, 0)
	wantKind(t, "a create that failed", err, restkit.NotFound)
}

func testHistoryOff(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setupHistory(t, open)
	f.create(t, f.plain, map[string]any{"id": int64(1), "n": int64(1)}, t0)
	if _, err := f.s.WriteRecord(f.ctx, f.plain, int64(1), replace(map[string]any{"id": int64(1), "n": int64(2)}, t0)); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.hs.ListRevisions(f.ctx, f.plain, int64(1), 0, 0)
	wantKind(t, "ListRevisions without History", err, restkit.NotFound)
	_, err = f.hs.FindRevision(f.ctx, f.plain, int64(1), 1)
	wantKind(t, "FindRevision without History", err, restkit.NotFound)
	wantKind(t, "PurgeHistory without History", f.hs.PurgeHistory(f.ctx, f.plain, int64(1)), restkit.NotFound)
	// Delete and create again: without history, numbering starts at 1.
	if _, err := f.s.WriteRecord(f.ctx, f.plain, int64(1), func(*restkit.Record) (*restkit.Record, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if rec := f.create(t, f.plain, map[string]any{"id": int64(1)}, t0); rec.Rev != 1 {
		t.Errorf("re-created without History: Rev %d, want 1", rec.Rev)
	}
}
