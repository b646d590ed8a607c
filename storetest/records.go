package storetest

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

func testMigrate(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	rec := f.create(t, f.things, map[string]any{"id": int64(1), "name": "kept"}, t0)
	// The same schema again, and an equal schema declared afresh.
	if err := f.s.Migrate(f.ctx, f.schema); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	if err := f.s.Migrate(f.ctx, newSchema(t)); err != nil {
		t.Fatalf("Migrate of an equal schema: %v", err)
	}
	sameRecord(t, "after Migrate", f.find(t, f.things, int64(1)), rec.Values, 1, t0, t0)
	f.create(t, f.things, map[string]any{"id": int64(2), "name": "new"}, t0)
	p := f.list(t, f.things, restkit.Query{Limit: 10, Count: true})
	sameKeys(t, "list after Migrate", keysOf(f.things, p), ints(1, 2))

	// A resource the store was never told about is an internal error, not a crash.
	other := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{{
		Name: "strangers", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}}}}}
	if err := other.Prepare(); err != nil {
		t.Fatal(err)
	}
	_, err := f.s.FindRecord(f.ctx, other.APIs[0].Resources[0], int64(1))
	wantKind(t, "FindRecord of an unmigrated resource", err, restkit.Internal)

	// A store that can say whether it was migrated for a schema says so exactly.
	if sc, ok := f.s.(restkit.SchemaChecker); ok {
		if err := sc.Migrated(f.schema); err != nil {
			t.Errorf("Migrated(the migrated schema) = %v", err)
		}
		if err := sc.Migrated(newSchema(t)); err != nil {
			t.Errorf("Migrated(an equal schema declared afresh) = %v", err)
		}
		wantKind(t, "Migrated(a schema never migrated)", sc.Migrated(other), restkit.Invalid)
		changed := newSchema(t)
		changed.APIs[0].Resources[0].Fields = append(changed.APIs[0].Resources[0].Fields, &restkit.Field{Name: "added", Type: restkit.TypeString, Nullable: true})
		wantKind(t, "Migrated(a schema with a field added since)", sc.Migrated(changed), restkit.Invalid)
	}
}

func testCRUD(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	t1, t2, t3 := t0.Add(time.Second), t0.Add(2*time.Second), t0.Add(3*time.Second)

	f.wantNotFound(t, f.things, int64(1))
	_, err := f.s.FindRecord(f.ctx, f.things, int64(1))
	if got, want := restkit.ErrorMessage(err), "no thing with id 1"; got != want {
		t.Errorf("NotFound message = %q, want %q", got, want)
	}

	v1 := map[string]any{"id": int64(1), "name": "alpha", "count": int64(3)}
	var sawCur *restkit.Record
	sawCalled := false
	rec, err := f.s.WriteRecord(f.ctx, f.things, int64(1), func(cur *restkit.Record) (*restkit.Record, error) {
		sawCur, sawCalled = cur, true
		return &restkit.Record{Values: copyMap(v1), Updated: t1}, nil
	})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !sawCalled || sawCur != nil {
		t.Errorf("create: change called %v with cur %v, want called with nil", sawCalled, sawCur)
	}
	sameRecord(t, "created", rec, v1, 1, t1, t1)
	sameRecord(t, "found after create", f.find(t, f.things, int64(1)), v1, 1, t1, t1)

	// Replace: the change sees the stored record; Created stays, Updated is the change's.
	v2 := map[string]any{"id": int64(1), "name": "alpha2", "note": "n"}
	rec, err = f.s.WriteRecord(f.ctx, f.things, int64(1), func(cur *restkit.Record) (*restkit.Record, error) {
		if cur == nil {
			return nil, errors.New("cur is nil on replace")
		}
		sameRecord(t, "cur on replace", cur, v1, 1, t1, t1)
		return &restkit.Record{Values: copyMap(v2), Updated: t2, Rev: 99}, nil
	})
	if err != nil {
		t.Fatalf("replace: %v", err)
	}
	sameRecord(t, "replaced", rec, v2, 2, t1, t2)
	sameRecord(t, "found after replace", f.find(t, f.things, int64(1)), v2, 2, t1, t2)

	// A change may return cur itself, modified; a Created it sets is kept.
	rec, err = f.s.WriteRecord(f.ctx, f.things, int64(1), func(cur *restkit.Record) (*restkit.Record, error) {
		cur.Values["count"] = int64(7)
		cur.Created, cur.Updated = t0, t3
		return cur, nil
	})
	if err != nil {
		t.Fatalf("third write: %v", err)
	}
	v3 := map[string]any{"id": int64(1), "name": "alpha2", "note": "n", "count": int64(7)}
	sameRecord(t, "third write", rec, v3, 3, t0, t3)
	sameRecord(t, "found after third write", f.find(t, f.things, int64(1)), v3, 3, t0, t3)

	// A zero Updated becomes the time of the write.
	before := time.Now()
	rec, err = f.s.WriteRecord(f.ctx, f.things, int64(1), func(cur *restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: cur.Values}, nil
	})
	if err != nil {
		t.Fatalf("write with zero Updated: %v", err)
	}
	if rec.Updated.Before(before.Add(-time.Second)) || rec.Updated.After(time.Now().Add(time.Second)) || rec.Updated.Location() != time.UTC {
		t.Errorf("zero Updated became %v, want about %v in UTC", rec.Updated, before)
	}
	sameTime(t, "Created after zero-Updated write", rec.Created, t0)
	if rec.Rev != 4 {
		t.Errorf("Rev = %d, want 4", rec.Rev)
	}

	// Delete by returning nil.
	rec, err = f.s.WriteRecord(f.ctx, f.things, int64(1), func(cur *restkit.Record) (*restkit.Record, error) {
		if cur == nil || cur.Rev != 4 {
			return nil, errors.New("delete did not see rev 4")
		}
		return nil, nil
	})
	if err != nil || rec != nil {
		t.Fatalf("delete = %v, %v; want nil, nil", rec, err)
	}
	f.wantNotFound(t, f.things, int64(1))

	// Deleting what is absent writes nothing and is not an error for the store.
	sawCalled = false
	rec, err = f.s.WriteRecord(f.ctx, f.things, int64(1), func(cur *restkit.Record) (*restkit.Record, error) {
		sawCur, sawCalled = cur, true
		return nil, nil
	})
	if err != nil || rec != nil || !sawCalled || sawCur != nil {
		t.Fatalf("delete of absent = %v, %v (called %v, cur %v); want nil, nil, called with nil", rec, err, sawCalled, sawCur)
	}
	f.wantNotFound(t, f.things, int64(1))

	// A record created again after a delete starts over at Rev 1.
	rec = f.create(t, f.things, v1, t2)
	sameRecord(t, "created again", rec, v1, 1, t2, t2)

	// A key missing from the change's values is filled in.
	rec, err = f.s.WriteRecord(f.ctx, f.things, int64(5), func(cur *restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"name": "five"}, Updated: t1}, nil
	})
	if err != nil {
		t.Fatalf("create without the key in Values: %v", err)
	}
	sameRecord(t, "key filled in", rec, map[string]any{"id": int64(5), "name": "five"}, 1, t1, t1)

	p := f.list(t, f.things, restkit.Query{Limit: 10, Count: true})
	sameKeys(t, "list", keysOf(f.things, p), ints(1, 5))
	if p.Total != 2 || p.More {
		t.Errorf("Total, More = %d, %v; want 2, false", p.Total, p.More)
	}
}

func testKeys(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	for _, word := range []string{"héllo wörld", "a/b?c#d", "日本語", "'; DROP TABLE words; --", "Z", "a"} {
		v := map[string]any{"word": word, "text": "about " + word}
		sameRecord(t, "create "+word, f.create(t, f.words, v, t0), v, 1, t0, t0)
		sameRecord(t, "find "+word, f.find(t, f.words, word), v, 1, t0, t0)
	}
	f.wantNotFound(t, f.words, "héllo")
	p := f.list(t, f.words, restkit.Query{Limit: 10})
	sameKeys(t, "words in key order", keysOf(f.words, p),
		[]any{"'; DROP TABLE words; --", "Z", "a", "a/b?c#d", "héllo wörld", "日本語"})

	var keys []any
	for i := range 5 {
		key := restkit.NewKey()
		keys = append(keys, key)
		v := map[string]any{"id": key, "body": "note " + string(rune('a'+i))}
		sameRecord(t, "create note", f.create(t, f.notes, v, t0), v, 1, t0, t0)
		sameRecord(t, "find note", f.find(t, f.notes, key), v, 1, t0, t0)
	}
	// UUIDv7 keys order by their millisecond; within one, by their random bits.
	slices.SortFunc(keys, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	p = f.list(t, f.notes, restkit.Query{Limit: 10})
	sameKeys(t, "notes in key order", keysOf(f.notes, p), keys)

	// The same resource name under two APIs is two separate collections.
	a := map[string]any{"id": int64(1), "name": "root"}
	b := map[string]any{"id": int64(1), "name": "v1"}
	f.create(t, f.things, a, t0)
	f.create(t, f.v1things, b, t0)
	sameValues(t, "things 1", f.find(t, f.things, int64(1)).Values, a)
	sameValues(t, "v1 things 1", f.find(t, f.v1things, int64(1)).Values, b)

	// A key of the wrong type is Invalid.
	_, err := f.s.FindRecord(f.ctx, f.things, "one")
	wantKind(t, "FindRecord with a string key on an integer resource", err, restkit.Invalid)
}

func testChangeError(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	v := map[string]any{"id": int64(1), "name": "alpha", "count": int64(1)}
	f.create(t, f.things, v, t0)
	for _, want := range []error{
		restkit.Errorf(restkit.PreconditionFailed, "the record changed"),
		&restkit.Error{Kind: restkit.Invalid, Message: "validation failed", Fields: []restkit.FieldError{{Field: "count", Message: "is odd"}}},
		errors.New("plain Go error"),
	} {
		// The change scribbles on cur before failing: nothing of it may be stored.
		rec, err := f.s.WriteRecord(f.ctx, f.things, int64(1), func(cur *restkit.Record) (*restkit.Record, error) {
			cur.Values["count"] = int64(100)
			cur.Values["name"] = "scribbled"
			return nil, want
		})
		if rec != nil {
			t.Errorf("failed change returned record %v", show(rec.Values))
		}
		if err != want {
			t.Fatalf("WriteRecord error = %#v, want the change's error %#v unchanged", err, want)
		}
		sameRecord(t, "after a failed change", f.find(t, f.things, int64(1)), v, 1, t0, t0)

		// On an absent record too.
		_, err = f.s.WriteRecord(f.ctx, f.things, int64(2), func(cur *restkit.Record) (*restkit.Record, error) { return nil, want })
		if err != want {
			t.Fatalf("WriteRecord on an absent key: error = %v, want %v", err, want)
		}
		f.wantNotFound(t, f.things, int64(2))
	}
	// A later write sees Rev 1, so none of the failed ones counted.
	rec, err := f.s.WriteRecord(f.ctx, f.things, int64(1), replace(v, t0))
	if err != nil || rec.Rev != 2 {
		t.Fatalf("write after failures: rev %v, %v; want 2", rec, err)
	}
}

func testBadChange(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	v := map[string]any{"id": int64(1), "name": "alpha"}
	f.create(t, f.things, v, t0)
	for what, bad := range map[string]map[string]any{
		"an undeclared field":          {"id": int64(1), "name": "alpha", "colour": "red"},
		"a string in an integer field": {"id": int64(1), "name": "alpha", "count": "five"},
		"a different key":              {"id": int64(2), "name": "alpha"},
		"a number in a boolean field":  {"id": int64(1), "name": "alpha", "flag": int64(1)},
	} {
		_, err := f.s.WriteRecord(f.ctx, f.things, int64(1), replace(bad, t0))
		wantKind(t, "replace with "+what, err, restkit.Internal)
		if msg := restkit.ErrorMessage(err); msg != "internal error" {
			t.Errorf("replace with %s: client message %q, want \"internal error\"", what, msg)
		}
		sameRecord(t, "after replace with "+what, f.find(t, f.things, int64(1)), v, 1, t0, t0)
	}
}

func testConflict(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	a := map[string]any{"id": int64(1), "name": "alpha", "code": "A"}
	f.create(t, f.things, a, t0)

	wantTaken := func(what string, err error, field string) {
		t.Helper()
		wantKind(t, what, err, restkit.Conflict)
		if got, want := restkit.ErrorMessage(err), "another thing already has this "+field; got != want {
			t.Errorf("%s: message %q, want %q", what, got, want)
		}
		fe := restkit.ErrorFields(err)
		if len(fe) != 1 || fe[0] != (restkit.FieldError{Field: field, Message: "is already taken"}) {
			t.Errorf("%s: fields %+v, want [{%s is already taken}]", what, fe, field)
		}
	}

	_, err := f.s.WriteRecord(f.ctx, f.things, int64(2), createOnly(map[string]any{"id": int64(2), "name": "alpha"}, t1()))
	wantTaken("second record with a taken name", err, "name")
	f.wantNotFound(t, f.things, int64(2))
	sameRecord(t, "first record after the conflict", f.find(t, f.things, int64(1)), a, 1, t0, t0)

	_, err = f.s.WriteRecord(f.ctx, f.things, int64(2), createOnly(map[string]any{"id": int64(2), "name": "beta", "code": "A"}, t1()))
	wantTaken("second record with a taken code", err, "code")
	f.wantNotFound(t, f.things, int64(2))

	// null is never taken: two records without a code.
	b := map[string]any{"id": int64(2), "name": "beta"}
	c := map[string]any{"id": int64(3), "name": "gamma", "code": nil}
	f.create(t, f.things, b, t0)
	f.create(t, f.things, c, t0)

	// A replace onto a taken value fails and changes nothing.
	_, err = f.s.WriteRecord(f.ctx, f.things, int64(2), replace(map[string]any{"id": int64(2), "name": "alpha"}, t1()))
	wantTaken("replace onto a taken name", err, "name")
	sameRecord(t, "record after a failed replace", f.find(t, f.things, int64(2)), b, 1, t0, t0)

	// A record keeps its own unique value across a replace.
	a2 := map[string]any{"id": int64(1), "name": "alpha", "code": "A", "count": int64(1)}
	if _, err := f.s.WriteRecord(f.ctx, f.things, int64(1), replace(a2, t0)); err != nil {
		t.Fatalf("replace keeping its unique values: %v", err)
	}

	// Creating a key that exists is the Change's decision: it sees cur.
	_, err = f.s.WriteRecord(f.ctx, f.things, int64(1), createOnly(map[string]any{"id": int64(1), "name": "other"}, t1()))
	wantKind(t, "create of an existing key", err, restkit.Conflict)
	if got := restkit.ErrorMessage(err); got != "already there" {
		t.Errorf("create of an existing key: message %q, want the change's %q", got, "already there")
	}
	sameRecord(t, "record after a create of its key", f.find(t, f.things, int64(1)), a2, 2, t0, t0)

	// A value given up by a replace or a delete is free again.
	if _, err := f.s.WriteRecord(f.ctx, f.things, int64(2), replace(map[string]any{"id": int64(2), "name": "beta2"}, t0)); err != nil {
		t.Fatalf("rename beta: %v", err)
	}
	f.create(t, f.things, map[string]any{"id": int64(4), "name": "beta", "code": "B"}, t0)
	if _, err := f.s.WriteRecord(f.ctx, f.things, int64(1), func(*restkit.Record) (*restkit.Record, error) { return nil, nil }); err != nil {
		t.Fatalf("delete alpha: %v", err)
	}
	f.create(t, f.things, map[string]any{"id": int64(5), "name": "alpha", "code": "A"}, t0)

	// Unique across resources? No: v1 things have their own names.
	f.create(t, f.v1things, map[string]any{"id": int64(1), "name": "alpha", "code": "A"}, t0)
}

func t1() time.Time { return t0.Add(time.Second) }

func testNull(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	// nil values are stored as null and read back absent; zero values are values.
	rec := f.create(t, f.things, map[string]any{"id": int64(1), "name": "n", "note": nil, "count": nil, "code": nil}, t0)
	want := map[string]any{"id": int64(1), "name": "n"}
	sameRecord(t, "created with nils", rec, want, 1, t0, t0)
	sameRecord(t, "found with nils", f.find(t, f.things, int64(1)), want, 1, t0, t0)

	zero := map[string]any{"id": int64(1), "name": "", "note": "", "count": int64(0), "score": 0.0, "flag": false, "code": ""}
	if _, err := f.s.WriteRecord(f.ctx, f.things, int64(1), replace(zero, t0)); err != nil {
		t.Fatal(err)
	}
	sameValues(t, "zero values", f.find(t, f.things, int64(1)).Values, zero)

	if _, err := f.s.WriteRecord(f.ctx, f.things, int64(1), replace(map[string]any{"id": int64(1), "name": "n", "note": nil}, t0)); err != nil {
		t.Fatal(err)
	}
	sameValues(t, "set back to nil", f.find(t, f.things, int64(1)).Values, want)
	p := f.list(t, f.things, restkit.Query{Limit: 5})
	if len(p.Records) != 1 {
		t.Fatalf("list: %d records, want 1", len(p.Records))
	}
	sameValues(t, "listed with nils", p.Records[0].Values, want)
}

func testRoundTrip(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	ist := time.FixedZone("IST", 5*3600+1800)
	cases := []map[string]any{
		{"name": "😀🚀 emoji", "note": "👩‍👩‍👧‍👦 family ZWJ"},
		{"name": "e\u0301 combining", "note": "n\u0303o\u0308"},
		{"name": "漢字かな交じり文", "note": "한국어"},
		{"name": "עברית مرحبا", "note": "\u202eRTL override"},
		{"name": "tab\tnewline\nquote'\"backslash\\", "note": "'; DROP TABLE things; --"},
		{"name": "max int", "count": int64(math.MaxInt64), "score": math.MaxFloat64},
		{"name": "min int", "count": int64(math.MinInt64), "score": -math.MaxFloat64},
		{"name": "2^62", "count": int64(1) << 62, "score": math.SmallestNonzeroFloat64},
		{"name": "-2^62", "count": -(int64(1) << 62), "score": -1.5e-300},
		{"name": "2^53+1", "count": int64(1)<<53 + 1, "score": 0.1},
		{"name": "integral float", "count": int64(-1), "score": 3.0},
		{"name": "big float", "score": 1e21, "flag": true},
		{"name": "third", "score": 1.0 / 3.0, "flag": false},
		{"name": "nanoseconds", "at": time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC)},
		{"name": "zone", "at": time.Date(2024, 2, 29, 23, 59, 59, 1, ist)},
		{"name": "year 1", "at": time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"name": "year 9999", "at": time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{"name": "enum", "color": "green"},
	}
	for i, v := range cases {
		v["id"] = int64(i + 1)
		created := time.Date(2023, 1, 2, 3, 4, 5, 6, ist)
		updated := time.Date(2023, 1, 2, 3, 4, 5, int(i), time.UTC)
		_, err := f.s.WriteRecord(f.ctx, f.things, v["id"], func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: copyMap(v), Created: created, Updated: updated}, nil
		})
		if err != nil {
			t.Fatalf("write %v: %v", v["name"], err)
		}
		want := copyMap(v)
		if at, ok := want["at"].(time.Time); ok {
			want["at"] = at.UTC()
		}
		rec := f.find(t, f.things, v["id"])
		sameRecord(t, "round trip of "+v["name"].(string), rec, want, 1, created, updated)
		if at, ok := rec.Values["at"].(time.Time); ok && at.Location() != time.UTC {
			t.Errorf("datetime value in %v, want UTC", at.Location())
		}
	}
}

// testIsolation checks that callers cannot reach into the store through what they
// pass or receive.
func testIsolation(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	v := map[string]any{"id": int64(1), "name": "alpha", "count": int64(1)}
	passed := copyMap(v)
	rec, err := f.s.WriteRecord(f.ctx, f.things, int64(1), func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: passed, Updated: t0}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	passed["count"] = int64(2)
	rec.Values["count"] = int64(3)
	found := f.find(t, f.things, int64(1))
	sameValues(t, "after changing what was passed and returned", found.Values, v)
	found.Values["name"] = "changed"
	delete(found.Values, "count")
	p := f.list(t, f.things, restkit.Query{Limit: 1})
	p.Records[0].Values["name"] = "changed too"
	sameValues(t, "after changing what was found and listed", f.find(t, f.things, int64(1)).Values, v)
}
