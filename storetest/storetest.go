// Package storetest is the conformance suite every restkit.Store passes.
//
// A store's own tests call Run with a function that opens a fresh, empty store:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) restkit.Store { return memory.New() })
//	}
//
// A new backend is done when the suite passes (litestream's replica client test is
// the model). RunArtefacts (artefacts.go) is the same for restkit.ArtefactStore. The suite declares its own schema, migrates it, and checks exact values:
// revisions, timestamps, every value type's round trip, errors and their kinds, every
// filter operator, sorting with nulls, keyset and offset paging in both directions,
// and atomicity under concurrent writers. It closes each store it opened.
//
// What it pins down, beyond the words of restkit.Store, so that stores agree:
//
//   - A nil value is stored as null and reads back absent from Record.Values (the HTTP
//     layer renders an absent nullable field as null). Zero values (0, "", false) are
//     values and come back present.
//   - A new record whose Change left Created zero gets Created = Updated; a zero
//     Updated becomes the time of the write. Times come back in UTC.
//   - Values of undeclared fields, values of the wrong type, and a Change returning a
//     record with a different key are Internal errors, and nothing is written.
//   - A Change that returns nil for an absent record writes nothing and WriteRecord
//     returns (nil, nil).
//   - A unique value already taken: Conflict, Message "another <singular> already has
//     this <field>", Fields [{<field>, "is already taken"}]. null never conflicts.
//   - FindRecord of an absent key: NotFound "no <singular> with <key field> <key>". FindNoun of
//     a noun never written: NotFound.
//   - Filters: comparisons against an unset field are false, except null and ne; ne is
//     "is distinct from", so a null field matches ne v. prefix treats % and _ literally.
//     Filtering by an unknown field, prefix on a non-string field, a value of the wrong
//     type: Invalid.
//   - Sort without the key at its end is completed with the key, ascending. nil sorts
//     first ascending and last descending, as restkit.Compare. Limit <= 0 means no limit.
//     Page.Total counts every row matching the filters, whatever the cursor.
//   - A store that implements restkit.HistoryStore keeps, for a resource with History,
//     every revision WriteRecord writes plus a tombstone (the last values, Deleted) for
//     a delete; a record created again after a delete continues the numbering; a
//     failed write appends nothing. Stores without it skip the History tests.
//   - restkit.BatchWriter, when a store has it: a batch is written whole or not at all,
//     its error names the failing item's index; stores without it skip the Batch test.
//   - restkit.KeyAllocator, when a store has it: 1, 2, 3… each handed out once, also
//     after a delete of the highest, a failed create (a gap), a restart (with the
//     Reopen option; else a second Migrate) and under concurrent callers; a batch's
//     keys are consecutive; Migrate goes on after the highest key a resource's records
//     and history hold when its key becomes generated.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

// Run runs the conformance suite against the stores open returns. open is called
// once per subtest and must return a new, empty store; Run migrates and closes it.
// Options add checks (Reopen).
func Run(t *testing.T, open func(t *testing.T) restkit.Store, opts ...Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	t.Run("Migrate", func(t *testing.T) { testMigrate(t, open) })
	t.Run("CRUD", func(t *testing.T) { testCRUD(t, open) })
	t.Run("StringAndGeneratedKeys", func(t *testing.T) { testKeys(t, open) })
	t.Run("ChangeError", func(t *testing.T) { testChangeError(t, open) })
	t.Run("BadChange", func(t *testing.T) { testBadChange(t, open) })
	t.Run("Conflict", func(t *testing.T) { testConflict(t, open) })
	t.Run("NullIsAbsent", func(t *testing.T) { testNull(t, open) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, open) })
	t.Run("ConcurrentIncrement", func(t *testing.T) { testConcurrentIncrement(t, open) })
	t.Run("ConcurrentUpsert", func(t *testing.T) { testConcurrentUpsert(t, open) })
	t.Run("ConcurrentCreateSameKey", func(t *testing.T) { testConcurrentCreateSame(t, open) })
	t.Run("ConcurrentCreateDistinct", func(t *testing.T) { testConcurrentCreateDistinct(t, open) })
	t.Run("PageShape", func(t *testing.T) { testPageShape(t, open) })
	t.Run("Sort", func(t *testing.T) { testSort(t, open) })
	t.Run("Filter", func(t *testing.T) { testFilter(t, open) })
	t.Run("QueryErrors", func(t *testing.T) { testQueryErrors(t, open) })
	t.Run("PagingUnderInsertsAndDeletes", func(t *testing.T) { testPagingUnderInserts(t, open) })
	t.Run("Noun", func(t *testing.T) { testNoun(t, open) })
	t.Run("ConcurrentNoun", func(t *testing.T) { testConcurrentNoun(t, open) })
	t.Run("History", func(t *testing.T) { testHistory(t, open) })
	t.Run("Batch", func(t *testing.T) { testBatch(t, open) })
	t.Run("SequentialKeys", func(t *testing.T) { testSequentialKeys(t, open, o) })
	t.Run("ConcurrentSequentialKeys", func(t *testing.T) { testConcurrentSequentialKeys(t, open) })
	t.Run("RelationReferences", func(t *testing.T) { testRelationReferences(t, open) })
	t.Run("RelationRestrict", func(t *testing.T) { testRelationRestrict(t, open) })
	t.Run("RelationSetNull", func(t *testing.T) { testRelationSetNull(t, open) })
	t.Run("RelationCascade", func(t *testing.T) { testRelationCascade(t, open) })
	t.Run("RelationValues", func(t *testing.T) { testRelationValues(t, open) })
	t.Run("RelationFilters", func(t *testing.T) { testRelationFilters(t, open) })
	t.Run("RelationRace", func(t *testing.T) { testRelationRace(t, open) })
	t.Run("Events", func(t *testing.T) { testEvents(t, open) })
	t.Run("EventsOfCascades", func(t *testing.T) { testEventsOfCascades(t, open) })
	t.Run("EventsFollowCommits", func(t *testing.T) { testEventsFollowCommits(t, open) })
	t.Run("EventsAfterReopen", func(t *testing.T) { testEventsAfterReopen(t, open, o) })
	t.Run("EventPrune", func(t *testing.T) { testEventPrune(t, open) })
	t.Run("State", func(t *testing.T) { testState(t, open) })
}

// t0 is the suite's reference time: nanoseconds set, to catch truncation.
var t0 = time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)

// fixture is one migrated store and the declarations of the suite.
type fixture struct {
	s        restkit.Store
	ctx      context.Context
	schema   *restkit.Schema
	things   *restkit.Resource // integer key from the body, every field type
	words    *restkit.Resource // string key from the URL
	notes    *restkit.Resource // generated UUIDv7 key
	v1things *restkit.Resource // same name as things under API /v1
	lamp     *restkit.Noun     // noun with defaults
	v1lamp   *restkit.Noun
}

// newSchema declares and prepares the suite's schema.
func newSchema(t testing.TB) *restkit.Schema {
	t.Helper()
	sortable := func(f *restkit.Field) *restkit.Field { f.Sortable, f.Filterable = true, true; return f }
	things := func() *restkit.Resource {
		return &restkit.Resource{Name: "things", Key: "id", Fields: []*restkit.Field{
			{Name: "id", Type: restkit.TypeInteger},
			sortable(&restkit.Field{Name: "name", Type: restkit.TypeString, Required: true, Unique: true}),
			sortable(&restkit.Field{Name: "note", Type: restkit.TypeString, Nullable: true}),
			sortable(&restkit.Field{Name: "count", Type: restkit.TypeInteger}),
			sortable(&restkit.Field{Name: "score", Type: restkit.TypeNumber}),
			sortable(&restkit.Field{Name: "flag", Type: restkit.TypeBoolean}),
			sortable(&restkit.Field{Name: "at", Type: restkit.TypeDatetime}),
			sortable(&restkit.Field{Name: "color", Type: restkit.TypeEnum, Values: []string{"red", "green", "blue"}}),
			{Name: "code", Type: restkit.TypeString, Nullable: true, Unique: true},
		}}
	}
	lamp := func() *restkit.Noun {
		return &restkit.Noun{Name: "lamp", Fields: []*restkit.Field{
			{Name: "state", Type: restkit.TypeEnum, Values: []string{"off", "on"}, Default: "off"},
			{Name: "level", Type: restkit.TypeInteger, Default: 50},
			{Name: "label", Type: restkit.TypeString, Nullable: true},
			{Name: "since", Type: restkit.TypeDatetime, Nullable: true},
			{Name: "ratio", Type: restkit.TypeNumber, Default: 0.5},
			{Name: "lit", Type: restkit.TypeBoolean, Default: false},
		}}
	}
	s := &restkit.Schema{APIs: []*restkit.API{
		{Resources: []*restkit.Resource{
			things(),
			{Name: "words", Key: "word", KeySource: restkit.KeyFromURL, Collection: []string{restkit.GET}, Fields: []*restkit.Field{
				{Name: "word", Type: restkit.TypeString},
				sortable(&restkit.Field{Name: "text", Type: restkit.TypeString}),
			}},
			{Name: "notes", Key: "id", KeySource: restkit.KeyGenerated, Fields: []*restkit.Field{
				{Name: "id", Type: restkit.TypeString},
				{Name: "body", Type: restkit.TypeString, Required: true},
			}},
		}, Nouns: []*restkit.Noun{lamp()}},
		{Base: "/v1", Resources: []*restkit.Resource{things()}, Nouns: []*restkit.Noun{lamp()}},
	}}
	if err := s.Prepare(); err != nil {
		t.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	return s
}

// setup opens a store, migrates the suite's schema and closes the store at cleanup.
func setup(t *testing.T, open func(t *testing.T) restkit.Store) *fixture {
	t.Helper()
	sc := newSchema(t)
	f := &fixture{
		s: open(t), ctx: context.Background(), schema: sc,
		things: sc.APIs[0].Resources[0], words: sc.APIs[0].Resources[1], notes: sc.APIs[0].Resources[2],
		v1things: sc.APIs[1].Resources[0], lamp: sc.APIs[0].Nouns[0], v1lamp: sc.APIs[1].Nouns[0],
	}
	t.Cleanup(func() {
		if err := f.s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if err := f.s.Migrate(f.ctx, sc); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return f
}

// create stores a new record with the key taken from values, failing the test if it
// exists or the write fails.
func (f *fixture) create(t testing.TB, res *restkit.Resource, values map[string]any, updated time.Time) *restkit.Record {
	t.Helper()
	rec, err := f.s.WriteRecord(f.ctx, res, values[res.Key], createOnly(values, updated))
	if err != nil {
		t.Fatalf("create %s %v: %v", res.Name, values[res.Key], err)
	}
	return rec
}

// createOnly is the Change of a POST: Conflict when the key exists.
func createOnly(values map[string]any, updated time.Time) restkit.Change {
	return func(cur *restkit.Record) (*restkit.Record, error) {
		if cur != nil {
			return nil, restkit.Errorf(restkit.Conflict, "already there")
		}
		return &restkit.Record{Values: copyMap(values), Updated: updated}, nil
	}
}

// replace is the Change of a PUT on an existing record.
func replace(values map[string]any, updated time.Time) restkit.Change {
	return func(cur *restkit.Record) (*restkit.Record, error) {
		if cur == nil {
			return nil, restkit.Errorf(restkit.NotFound, "gone")
		}
		return &restkit.Record{Values: copyMap(values), Updated: updated}, nil
	}
}

func (f *fixture) find(t testing.TB, res *restkit.Resource, key any) *restkit.Record {
	t.Helper()
	rec, err := f.s.FindRecord(f.ctx, res, key)
	if err != nil {
		t.Fatalf("FindRecord %s %v: %v", res.Name, key, err)
	}
	return rec
}

func (f *fixture) list(t testing.TB, res *restkit.Resource, q restkit.Query) *restkit.Page {
	t.Helper()
	p, err := f.s.ListRecords(f.ctx, res, &q)
	if err != nil {
		t.Fatalf("ListRecords %s %+v: %v", res.Name, q, err)
	}
	return p
}

func copyMap(m map[string]any) map[string]any {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
