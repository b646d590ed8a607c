package postgres

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/testenv"
	"github.com/restkit/restkit/storetest"

	"github.com/jackc/pgx/v5"
)

// The tests need a PostgreSQL database: RESTKIT_TEST_POSTGRES names it, or the one
// of a local server when it is unset (testenv.Postgres). Each test works in a schema
// of its own, made for it and dropped after it, so tests of several packages may
// share the database at once.

func TestMain(m *testing.M) { testenv.Main(m) }

func testURL(tb testing.TB) string {
	tb.Helper()
	return testenv.Postgres(tb)
}

// newTestSchema makes a fresh schema for the test, dropped at cleanup, and returns
// the URL that uses it.
func newTestSchema(tb testing.TB) string {
	tb.Helper()
	u, drop, err := NewTestSchema(ctx, testURL(tb))
	if err != nil {
		tb.Fatalf("NewTestSchema: %v", err)
	}
	tb.Cleanup(func() {
		if err := drop(context.Background()); err != nil {
			tb.Errorf("drop the test schema: %v", err)
		}
	})
	return u
}

// mustOpen opens a store on url, closed at cleanup (before the schema is dropped).
func mustOpen(tb testing.TB, url string, opts ...Option) *Store {
	tb.Helper()
	s, err := Open(ctx, url, opts...)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// openTest opens a store on a fresh schema of its own.
func openTest(tb testing.TB) *Store {
	tb.Helper()
	return mustOpen(tb, newTestSchema(tb))
}

func TestStore(t *testing.T) {
	testURL(t)
	var urls sync.Map // *Store → the URL it was opened with, for Reopen
	storetest.Run(t, func(t *testing.T) restkit.Store {
		u := newTestSchema(t)
		s := mustOpen(t, u)
		urls.Store(s, u)
		return s
	}, storetest.Reopen(func(t *testing.T, s restkit.Store) restkit.Store {
		u, _ := urls.Load(s)
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		again := mustOpen(t, u.(string))
		urls.Store(again, u)
		return again
	}))
}

func TestArtefacts(t *testing.T) {
	testURL(t)
	storetest.RunArtefacts(t, func(t *testing.T) restkit.ArtefactStore { return openTest(t) })
}

var ctx = context.Background()

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 123456789, time.UTC)

// The store tests' helpers are storetest's, on this store.
var (
	cars    = storetest.Cars
	field   = storetest.FieldOf
	without = storetest.Without
)

func put(tb testing.TB, s *Store, res *restkit.Resource, values map[string]any) *restkit.Record {
	tb.Helper()
	return storetest.Put(tb, s, res, values)
}

func mustMigrate(tb testing.TB, s *Store, sc *restkit.Schema) {
	tb.Helper()
	storetest.MustMigrate(tb, s, sc)
}

func mustExec(tb testing.TB, s *Store, sql string) {
	tb.Helper()
	if _, err := s.pool.Exec(ctx, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

func wantRefusal(tb testing.TB, s *Store, sc *restkit.Schema, message, field string) {
	tb.Helper()
	storetest.WantRefusal(tb, s, sc, message, field)
}

func TestOpenRefusals(t *testing.T) {
	url := testURL(t)
	// A password in a URL that cannot be parsed never reaches the message.
	_, err := Open(ctx, "postgres://user:s3cret@host:notaport/db")
	if !restkit.IsKind(err, restkit.Invalid) || strings.Contains(restkit.ErrorMessage(err), "s3cret") {
		t.Errorf("Open of a bad URL: %v", err)
	}
	// A search_path naming no schema: nowhere to keep tables.
	bad, err := withSearchPath(url, "restkit_no_such_schema")
	if err != nil {
		t.Fatal(err)
	}
	if s, err := Open(ctx, bad); !restkit.IsKind(err, restkit.Invalid) {
		if s != nil {
			s.Close()
		}
		t.Errorf("Open with a missing schema: %v, want Invalid", err)
	}
	// A server that is not there.
	if _, err := Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"); !restkit.IsKind(err, restkit.Unavailable) {
		t.Errorf("Open of a closed port: %v, want Unavailable", err)
	}
}

func TestOpenOptions(t *testing.T) {
	url := newTestSchema(t)
	s := mustOpen(t, url, WithMaxConns(3), WithStatementTimeout(1500*time.Millisecond))
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.pool.Config().MaxConns; got != 3 {
		t.Errorf("MaxConns = %d, want 3", got)
	}
	var timeout, app, path string
	if err := s.pool.QueryRow(ctx, `SELECT current_setting('statement_timeout'), current_setting('application_name'), current_schema()`).Scan(&timeout, &app, &path); err != nil {
		t.Fatal(err)
	}
	if timeout != "1500ms" || app != "restkit" || path != s.Schema() || !strings.HasPrefix(path, "restkit_test_") {
		t.Errorf("statement_timeout %q, application_name %q, schema %q (Schema() %q)", timeout, app, path, s.Schema())
	}
	s2 := mustOpen(t, url)
	if err := s2.pool.QueryRow(ctx, `SELECT current_setting('statement_timeout')`).Scan(&timeout); err != nil || timeout != "30s" {
		t.Errorf("default statement_timeout %q, %v; want 30s", timeout, err)
	}
	s.Close()
	if err := s.Ping(ctx); !restkit.IsKind(err, restkit.Unavailable) {
		t.Errorf("Ping after Close: %v, want Unavailable", err)
	}
}

// TestStatementTimeout: a write stuck behind another node's lock gives up after the
// statement timeout with Unavailable, and a message that says nothing of SQL. Only
// the stuck write uses the short timeout; it is long enough (and the client's
// deadline twice that) for the work around the wait to finish on a loaded machine.
func TestStatementTimeout(t *testing.T) {
	url := newTestSchema(t)
	other := mustOpen(t, url)
	sc := cars(t, nil)
	mustMigrate(t, other, sc)
	res := sc.APIs[0].Resources[0]
	s := mustOpen(t, url, WithStatementTimeout(2500*time.Millisecond))
	mustMigrate(t, s, sc) // not bounded; it connects before the deadlines matter
	tx, err := other.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if err := lock(ctx, tx, s.recordLock(s.mustTable(t, res), int64(1))); err != nil {
		t.Fatal(err)
	}
	_, err = s.WriteRecord(ctx, res, int64(1), func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"model": "T"}}, nil
	})
	if !restkit.IsKind(err, restkit.Unavailable) || restkit.ErrorMessage(err) != "the database is busy; try again" {
		t.Fatalf("write behind a held lock: %v, want Unavailable", err)
	}
	tx.Rollback(ctx)
	put(t, other, res, map[string]any{"id": int64(1), "model": "T"})
}

func (s *Store) mustTable(tb testing.TB, res *restkit.Resource) *table {
	tb.Helper()
	t, err := s.tableOf(res, "test")
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// TestMigrateConcurrently: nodes starting together on a new, empty schema — each its
// own pool — open and migrate at once without a failure, and agree afterwards.
func TestMigrateConcurrently(t *testing.T) {
	url := newTestSchema(t)
	const nodes = 4
	stores := make([]*Store, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			s, err := Open(ctx, url)
			if err != nil {
				t.Errorf("node %d: Open: %v", i, err)
				return
			}
			stores[i] = s
			sc := cars(t, func(r *restkit.Resource) { r.History = true; field(r, "model").Unique = true })
			if err := s.Migrate(ctx, sc); err != nil {
				t.Errorf("node %d: Migrate: %v", i, err)
			}
		})
	}
	wg.Wait()
	for _, s := range stores {
		if s != nil {
			t.Cleanup(func() { s.Close() })
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	res := cars(t, nil).APIs[0].Resources[0]
	put(t, stores[0], res, map[string]any{"id": int64(1), "model": "T"})
	for i, s := range stores {
		rec, err := s.FindRecord(ctx, res, int64(1))
		if err != nil || rec.Values["model"] != "T" {
			t.Errorf("node %d: %v %v", i, rec, err)
		}
	}
	sameIndexes(t, stores[1], "cars", "cars:color:sort", "cars:model:unique", "cars:year:sort")
}

// TestWritesAcrossNodes: stores with separate pools, as separate processes have, on
// one schema: a read-modify-write never loses an update, also when the record does
// not exist yet, and a create-only write has exactly one winner.
func TestWritesAcrossNodes(t *testing.T) {
	url := newTestSchema(t)
	sc := cars(t, nil)
	res := sc.APIs[0].Resources[0]
	nodes := []*Store{mustOpen(t, url, WithMaxConns(4)), mustOpen(t, url, WithMaxConns(4)), mustOpen(t, url, WithMaxConns(4))}
	for _, s := range nodes {
		mustMigrate(t, s, sc)
	}
	// Create if absent, else add one: every writer starts before the record exists.
	upsert := func(cur *restkit.Record) (*restkit.Record, error) {
		if cur == nil {
			return &restkit.Record{Values: map[string]any{"model": "counter", "year": int64(1)}}, nil
		}
		cur.Values["year"] = cur.Values["year"].(int64) + 1
		return cur, nil
	}
	const perNode = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for _, s := range nodes {
		for i := range perNode {
			wg.Go(func() {
				if _, err := s.WriteRecord(ctx, res, int64(1), upsert); err != nil {
					t.Errorf("upsert: %v", err)
				}
				_, err := s.WriteRecord(ctx, res, int64(100+i), func(cur *restkit.Record) (*restkit.Record, error) {
					if cur != nil {
						return nil, restkit.Errorf(restkit.Conflict, "exists")
					}
					return &restkit.Record{Values: map[string]any{"model": "racer"}}, nil
				})
				switch {
				case err == nil:
					mu.Lock()
					winners++
					mu.Unlock()
				case !restkit.IsKind(err, restkit.Conflict):
					t.Errorf("create-only: %v", err)
				}
			})
		}
	}
	wg.Wait()
	rec, err := nodes[2].FindRecord(ctx, res, int64(1))
	if err != nil || rec.Values["year"] != int64(len(nodes)*perNode) || rec.Rev != int64(len(nodes)*perNode) {
		t.Errorf("after %d upserts on %d nodes: %+v %v", len(nodes)*perNode, len(nodes), rec, err)
	}
	if winners != perNode {
		t.Errorf("%d create-only writes succeeded, want %d (one per key)", winners, perNode)
	}
}

// TestBatchesDoNotDeadlock: batches sharing keys in opposite orders lock them in one
// order, so none waits for another in a cycle.
func TestBatchesDoNotDeadlock(t *testing.T) {
	s := openTest(t)
	sc := cars(t, nil)
	mustMigrate(t, s, sc)
	res := sc.APIs[0].Resources[0]
	keys := []any{int64(1), int64(2), int64(3), int64(4)}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			ks := keys
			if i%2 == 1 {
				ks = []any{int64(4), int64(3), int64(2), int64(1)}
			}
			_, err := s.WriteRecords(ctx, res, ks, func(_ int, cur *restkit.Record) (*restkit.Record, error) {
				if cur == nil {
					return &restkit.Record{Values: map[string]any{"model": "m", "year": int64(1)}}, nil
				}
				cur.Values["year"] = cur.Values["year"].(int64) + 1
				return cur, nil
			})
			if err != nil {
				t.Errorf("batch %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	for _, k := range keys {
		if rec, err := s.FindRecord(ctx, res, k); err != nil || rec.Values["year"] != int64(16) {
			t.Errorf("key %v: %+v %v", k, rec, err)
		}
	}
}

// TestText: PostgreSQL text holds neither NUL nor invalid UTF-8. Writing such a value
// is Invalid, naming the field; looking one up finds nothing; filtering by one is
// Invalid. Noun states are JSON and hold anything.
func TestText(t *testing.T) {
	s := openTest(t)
	words := &restkit.Resource{Name: "words", Key: "word", KeySource: restkit.KeyFromURL, Collection: []string{restkit.GET}, Fields: []*restkit.Field{
		{Name: "word", Type: restkit.TypeString},
		{Name: "text", Type: restkit.TypeString, Filterable: true},
	}}
	lamp := &restkit.Noun{Name: "lamp", Fields: []*restkit.Field{{Name: "label", Type: restkit.TypeString, Nullable: true}}}
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{words}, Nouns: []*restkit.Noun{lamp}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	mustMigrate(t, s, sc)
	_, err := s.WriteRecord(ctx, words, "a", func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"text": "nul\x00inside"}}, nil
	})
	if fe := restkit.ErrorFields(err); !restkit.IsKind(err, restkit.Invalid) || len(fe) != 1 || fe[0] != (restkit.FieldError{Field: "text", Message: "must not contain NUL characters"}) {
		t.Errorf("a NUL in a value: %v %+v", err, fe)
	}
	_, err = s.WriteRecord(ctx, words, "bad\xff", func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"text": "x"}}, nil
	})
	if !restkit.IsKind(err, restkit.Invalid) {
		t.Errorf("a key of invalid UTF-8: %v", err)
	}
	if _, err := s.FindRecord(ctx, words, "bad\xff"); !restkit.IsKind(err, restkit.NotFound) {
		t.Errorf("FindRecord of invalid UTF-8: %v", err)
	}
	if _, err := s.FindRecord(ctx, words, "nul\x00"); !restkit.IsKind(err, restkit.NotFound) {
		t.Errorf("FindRecord with a NUL: %v", err)
	}
	_, err = s.ListRecords(ctx, words, &restkit.Query{Filters: []restkit.Filter{{Field: "text", Op: restkit.OpEq, Value: "\xff"}}})
	if !restkit.IsKind(err, restkit.Invalid) {
		t.Errorf("a filter of invalid UTF-8: %v", err)
	}
	rec, err := s.WriteNoun(ctx, lamp, func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"label": "nul\x00inside"}}, nil
	})
	if err != nil {
		t.Fatalf("a NUL in a noun's state: %v", err)
	}
	if got, err := s.FindNoun(ctx, lamp); err != nil || got.Values["label"] != "nul\x00inside" || got.Rev != rec.Rev {
		t.Errorf("noun with a NUL: %+v %v", got, err)
	}
	if _, err := s.FindArtefact(ctx, "d", "x\x00", 0); !restkit.IsKind(err, restkit.NotFound) {
		t.Errorf("FindArtefact with a NUL: %v", err)
	}
}

func TestMigrateCreatesTablesAndIndexes(t *testing.T) {
	s := openTest(t)
	sc := cars(t, func(r *restkit.Resource) { field(r, "model").Unique = true; field(r, "color").Unique = true })
	mustMigrate(t, s, sc)
	mustMigrate(t, s, sc)
	cols, err := tableColumns(ctx, s.pool, "cars")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"id": "bigint", "model": `text COLLATE "C"`, "year": "bigint", "_rev": "bigint", "_created": `text COLLATE "default"`} {
		if cols[name] != want {
			t.Errorf("column %s is %q, want %q", name, cols[name], want)
		}
	}
	// color is unique and sortable: a unique index and a sort index.
	sameIndexes(t, s, "cars", "cars:color:sort", "cars:color:unique", "cars:model:unique", "cars:year:sort")
	var fields []string
	rows, err := s.pool.Query(ctx, `SELECT field || ' ' || type || ' ' || position || ' ' || is_key FROM _restkit_fields WHERE store_name = 'cars' ORDER BY position`)
	if err != nil {
		t.Fatal(err)
	}
	fields, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(fields, ", "), "id integer 0 true, model string 1 false, color string 2 false, year integer 3 false"; got != want {
		t.Errorf("_restkit_fields = %s, want %s", got, want)
	}
}

// sameIndexes fails unless the table's indexes, its primary key aside, are want.
func sameIndexes(tb testing.TB, s *Store, table string, want ...string) {
	tb.Helper()
	rows, err := s.pool.Query(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 AND indexname <> $2 ORDER BY indexname`,
		table, keyConstraint(table))
	if err != nil {
		tb.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		tb.Errorf("indexes of %s = %v, want %v", table, got, want)
	}
}

// TestMigrations runs the shared migration suite; the tests below check what only
// PostgreSQL shows: the columns and indexes the steps leave, and that no psql is
// ever needed.
func TestMigrations(t *testing.T) {
	testURL(t)
	storetest.RunMigrations(t, func(t *testing.T) restkit.Store { return openTest(t) })
}

const migrateHint = "restkit migrate --dry-run (with the same --config and --data) shows the plan, and restkit migrate --allow-destructive carries it out"

var allowDestructive = restkit.MigrateOptions{AllowDestructive: true}

func TestMigrateDropsColumn(t *testing.T) {
	s := openTest(t)
	mustMigrate(t, s, cars(t, nil))
	put(t, s, cars(t, nil).APIs[0].Resources[0], map[string]any{"id": int64(1), "model": "T", "year": int64(1908)})
	sc := cars(t, func(r *restkit.Resource) {
		without(r, "year")
		r.Fields = append(r.Fields, &restkit.Field{Name: "doors", Type: restkit.TypeInteger})
	})
	wantRefusal(t, s, sc,
		`resource cars: field "year" was removed from the declaration but the table still holds it; restore the field, or drop it with its values; `+migrateHint,
		"cars.year")
	if cols := columnList(t, s, "cars"); cols != "id model color year _rev _created _updated" {
		t.Errorf("columns after a refusal: %s", cols)
	}
	if _, err := s.MigrateWith(ctx, sc, allowDestructive); err != nil {
		t.Fatal(err)
	}
	if cols := columnList(t, s, "cars"); cols != "id model color _rev _created _updated doors" {
		t.Errorf("columns after the migration: %s", cols)
	}
	rec, err := s.FindRecord(ctx, sc.APIs[0].Resources[0], int64(1))
	if err != nil || len(rec.Values) != 2 || rec.Values["model"] != "T" {
		t.Errorf("record after the migration: %v, %v", rec, err)
	}
	sameIndexes(t, s, "cars", "cars:color:sort", "cars:model:sort")
}

// columnList returns the table's columns in order.
func columnList(tb testing.TB, s *Store, table string) string {
	tb.Helper()
	rows, err := s.pool.Query(ctx, `SELECT column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table)
	if err != nil {
		tb.Fatal(err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatal(err)
	}
	return strings.Join(names, " ")
}

// TestMigrateRetypeRenames: a retyped sortable field gets its index back on the
// converted column; a renamed relation keeps its foreign key under the name restkit
// gives it (so a later Migrate adds no second one), and its join table too.
func TestMigrateRetypeRenames(t *testing.T) {
	s := openTest(t)
	mustMigrate(t, s, cars(t, nil))
	put(t, s, cars(t, nil).APIs[0].Resources[0], map[string]any{"id": int64(1), "model": "T", "year": int64(1908)})
	sc := cars(t, func(r *restkit.Resource) { field(r, "year").Type = restkit.TypeString })
	if _, err := s.MigrateWith(ctx, sc, allowDestructive); err != nil {
		t.Fatal(err)
	}
	sameIndexes(t, s, "cars", "cars:color:sort", "cars:model:sort", "cars:year:sort")
	var typ string
	if err := s.pool.QueryRow(ctx, `SELECT type FROM _restkit_fields WHERE store_name = 'cars' AND field = 'year'`).Scan(&typ); err != nil || typ != "string" {
		t.Errorf("recorded type of year = %q, %v; want string", typ, err)
	}
	if rec, err := s.FindRecord(ctx, sc.APIs[0].Resources[0], int64(1)); err != nil || rec.Values["year"] != "1908" {
		t.Errorf("the converted record: %v, %v", rec, err)
	}
}

func TestMigrateReplacesHandMadeColumn(t *testing.T) {
	s := openTest(t)
	mustMigrate(t, s, cars(t, nil))
	mustExec(t, s, `ALTER TABLE cars ADD COLUMN doors text`)
	withDoors := cars(t, func(r *restkit.Resource) {
		r.Fields = append(r.Fields, &restkit.Field{Name: "doors", Type: restkit.TypeString})
	})
	wantRefusal(t, s, withDoors,
		`resource cars: field "doors" is new, but the table already has a column "doors" of type text COLLATE "default", not text COLLATE "C"; rename the field, or replace the column; `+migrateHint,
		"cars.doors")
	if _, err := s.MigrateWith(ctx, withDoors, allowDestructive); err != nil {
		t.Fatal(err)
	}
	cols, err := tableColumns(ctx, s.pool, "cars")
	if err != nil || cols["doors"] != `text COLLATE "C"` {
		t.Errorf("the replaced column: %q, %v", cols["doors"], err)
	}
	// One of the right type is adopted.
	mustExec(t, s, `ALTER TABLE cars ADD COLUMN seats bigint`)
	steps, err := s.MigrateWith(ctx, cars(t, func(r *restkit.Resource) {
		r.Fields = append(r.Fields, &restkit.Field{Name: "doors", Type: restkit.TypeString}, &restkit.Field{Name: "seats", Type: restkit.TypeInteger})
	}), restkit.MigrateOptions{})
	if err != nil || len(steps) != 0 {
		t.Errorf("adopting a column of the right type: %v, %+v", err, steps)
	}
}

func TestMigrateIndexFlags(t *testing.T) {
	s := openTest(t)
	mustMigrate(t, s, cars(t, nil))
	res := cars(t, nil).APIs[0].Resources[0]
	put(t, s, res, map[string]any{"id": int64(1), "model": "T", "color": "black"})
	put(t, s, res, map[string]any{"id": int64(2), "model": "T", "color": "red"})

	// model made unique while two cars share "T": refused, naming the field; the other
	// changes of the same declaration are not made either.
	unique := func(r *restkit.Resource) { field(r, "model").Unique = true }
	wantRefusal(t, s, cars(t, func(r *restkit.Resource) {
		unique(r)
		r.Fields = append(r.Fields, &restkit.Field{Name: "doors", Type: restkit.TypeInteger, Sortable: true})
	}),
		`resource cars: field "model" is now unique, but the table holds duplicate values of it; remove the duplicates, or leave the field non-unique`,
		"cars.model")
	sameIndexes(t, s, "cars", "cars:color:sort", "cars:model:sort", "cars:year:sort")
	if cols := columnList(t, s, "cars"); strings.Contains(cols, "doors") {
		t.Errorf("a refused migration added a column: %s", cols)
	}

	put(t, s, res, map[string]any{"id": int64(2), "model": "Beetle", "color": "red"})
	sc := cars(t, unique)
	mustMigrate(t, s, sc)
	sameIndexes(t, s, "cars", "cars:color:sort", "cars:model:unique", "cars:year:sort")
	_, err := s.WriteRecord(ctx, sc.APIs[0].Resources[0], int64(3), func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"id": int64(3), "model": "T"}}, nil
	})
	if fe := restkit.ErrorFields(err); !restkit.IsKind(err, restkit.Conflict) || len(fe) != 1 || fe[0].Field != "model" {
		t.Errorf("duplicate model after the unique index: %v %+v", err, fe)
	}

	// color no longer sortable or filterable: its index goes; year unique instead of sortable.
	mustMigrate(t, s, cars(t, func(r *restkit.Resource) {
		unique(r)
		f := field(r, "color")
		f.Sortable, f.Filterable = false, false
		y := field(r, "year")
		y.Unique, y.Sortable = true, false
	}))
	sameIndexes(t, s, "cars", "cars:model:unique", "cars:year:unique")
}

func TestMigrateRefusesForeignTable(t *testing.T) {
	s := openTest(t)
	mustExec(t, s, `CREATE TABLE cars (id bigint PRIMARY KEY, x text)`)
	wantRefusal(t, s, cars(t, nil),
		`resource cars: table "cars" exists but restkit did not create it (it has no field metadata); rename or drop the table, or rename the resource`,
		"cars")
}

func TestMigrateRecreatesDroppedTable(t *testing.T) {
	s := openTest(t)
	sc := cars(t, nil)
	mustMigrate(t, s, sc)
	mustExec(t, s, `DROP TABLE cars`)
	mustMigrate(t, s, sc)
	put(t, s, sc.APIs[0].Resources[0], map[string]any{"id": int64(1), "model": "T"})
}

// TestLongNames: PostgreSQL truncates names beyond 63 bytes, so a table name that
// long is refused, and index names that long are shortened with a hash — and still
// recognised by the next Migrate.
func TestLongNames(t *testing.T) {
	s := openTest(t)
	long := strings.Repeat("f", 63)
	sc := cars(t, func(r *restkit.Resource) {
		r.Name = "cars_with_a_rather_long_name"
		r.Fields = append(r.Fields,
			&restkit.Field{Name: long, Type: restkit.TypeString, Unique: true, Sortable: true},
			&restkit.Field{Name: long[:62] + "g", Type: restkit.TypeString, Unique: true})
	})
	mustMigrate(t, s, sc)
	res := sc.APIs[0].Resources[0]
	name := res.StoreName
	sameIndexes(t, s, name, name+":color:sort", name+":model:sort", name+":year:sort",
		indexName(name, long, "unique"), indexName(name, long, "sort"), indexName(name, long[:62]+"g", "unique"))
	if n := indexName(name, long, "unique"); len(n) != maxIdent || n == indexName(name, long[:62]+"g", "unique") {
		t.Errorf("shortened name %q", n)
	}
	mustMigrate(t, s, sc)
	put(t, s, res, map[string]any{"id": int64(1), "model": "a", long: "x"})
	_, err := s.WriteRecord(ctx, res, int64(2), func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"model": "b", long: "x"}}, nil
	})
	if fe := restkit.ErrorFields(err); !restkit.IsKind(err, restkit.Conflict) || len(fe) != 1 || fe[0].Field != long {
		t.Errorf("a taken value of a long-named field: %v %+v", err, fe)
	}
	// Dropping the field's uniqueness drops its shortened index.
	mustMigrate(t, s, cars(t, func(r *restkit.Resource) {
		r.Name = "cars_with_a_rather_long_name"
		r.Fields = append(r.Fields,
			&restkit.Field{Name: long, Type: restkit.TypeString},
			&restkit.Field{Name: long[:62] + "g", Type: restkit.TypeString, Unique: true})
	}))
	sameIndexes(t, s, name, name+":color:sort", name+":model:sort", name+":year:sort", indexName(name, long[:62]+"g", "unique"))

	tooLong := &restkit.Schema{APIs: []*restkit.API{{Base: "/" + strings.Repeat("v", 20), Resources: []*restkit.Resource{{
		Name: strings.Repeat("r", 50), Key: "id", History: true, Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}}}}}
	if err := tooLong.Prepare(); err != nil {
		t.Fatal(err)
	}
	err = s.Migrate(ctx, tooLong)
	if !restkit.IsKind(err, restkit.Invalid) || !strings.Contains(restkit.ErrorMessage(err), "longer than the 63 bytes PostgreSQL keeps") {
		t.Errorf("a table name beyond 63 bytes: %v", err)
	}
}

func TestShortName(t *testing.T) {
	if got := shortName("short"); got != "short" {
		t.Errorf("shortName(short) = %q", got)
	}
	for _, in := range []string{strings.Repeat("a", 64), strings.Repeat("é", 40), strings.Repeat("a", 200)} {
		got := shortName(in)
		if len(got) > maxIdent || !strings.Contains(got, "~") || !strings.HasPrefix(in, got[:strings.Index(got, "~")]) {
			t.Errorf("shortName(%q) = %q", in, got)
		}
	}
	if shortName(strings.Repeat("a", 64)) == shortName(strings.Repeat("a", 65)) {
		t.Error("two long names made one")
	}
}

func TestNounRefusal(t *testing.T) {
	s := openTest(t)
	noun := func(fields ...*restkit.Field) *restkit.Schema {
		sc := &restkit.Schema{APIs: []*restkit.API{{Nouns: []*restkit.Noun{{Name: "led", Fields: fields}}}}}
		if err := sc.Prepare(); err != nil {
			t.Fatal(err)
		}
		return sc
	}
	state := &restkit.Field{Name: "state", Type: restkit.TypeEnum, Values: []string{"off", "on"}, Default: "off"}
	sc := noun(state, &restkit.Field{Name: "level", Type: restkit.TypeInteger, Default: 1})
	mustMigrate(t, s, sc)
	if _, err := s.WriteNoun(ctx, sc.APIs[0].Nouns[0], func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"state": "on", "level": int64(3)}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, s, noun(state),
		`noun led: field "level" was removed from the declaration but the stored state holds 3; restore the field, or drop the stored value (the field then reads as its default); `+migrateHint,
		"led.level")
	if _, err := s.MigrateWith(ctx, noun(state), allowDestructive); err != nil {
		t.Fatal(err)
	}
	mustMigrate(t, s, noun(state))
}

// TestHistoryPersists: turning History off leaves the history table alone, and
// turning it on again finds it.
func TestHistoryPersists(t *testing.T) {
	url := newTestSchema(t)
	withHistory := func(on bool) *restkit.Schema {
		return cars(t, func(r *restkit.Resource) { r.History = on })
	}
	s := mustOpen(t, url)
	sc := withHistory(true)
	mustMigrate(t, s, sc)
	res := sc.APIs[0].Resources[0]
	for _, color := range []string{"red", "blue"} {
		if _, err := s.WriteRecord(ctx, res, int64(1), func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: map[string]any{"id": int64(1), "model": "Golf", "color": color}, Updated: t0}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	s = mustOpen(t, url)
	sc = withHistory(false)
	mustMigrate(t, s, sc)
	res = sc.APIs[0].Resources[0]
	if _, _, err := s.ListRevisions(ctx, res, int64(1), 0, 0); restkit.ErrorKind(err) != restkit.NotFound {
		t.Errorf("ListRevisions with history off: %v, want NotFound", err)
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM "cars__history"`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("history table with history off: %d rows, %v; want 2 kept", n, err)
	}
	sc = withHistory(true)
	mustMigrate(t, s, sc)
	res = sc.APIs[0].Resources[0]
	revs, _, err := s.ListRevisions(ctx, res, int64(1), 0, 0)
	if err != nil || len(revs) != 2 || revs[0].Rev != 2 || revs[0].Values["color"] != "blue" || revs[1].Values["color"] != "red" {
		t.Fatalf("revisions after a reopen: %v %+v", err, revs)
	}
	// A key changed while history was off: the old history is refused, with the way
	// out, which drops it and makes a new one.
	mustExec(t, s, `DELETE FROM _restkit_fields WHERE store_name = 'cars'`)
	mustExec(t, s, `DROP TABLE cars`)
	stringKeys := cars(t, func(r *restkit.Resource) {
		r.History = true
		field(r, "id").Type = restkit.TypeString
	})
	wantRefusal(t, s, stringKeys,
		`resource cars: the history table "cars__history" is keyed by bigint values but the key "id" is string; drop the old history; `+migrateHint,
		"cars.id")
	if _, err := s.MigrateWith(ctx, stringKeys, allowDestructive); err != nil {
		t.Fatal(err)
	}
	cols, err := tableColumns(ctx, s.pool, "cars__history")
	if err != nil || cols["key"] != `text COLLATE "C"` {
		t.Errorf("the new history table's key: %q, %v", cols["key"], err)
	}
}

// TestHistoryTableClash: a resource named like another's history table is refused.
func TestHistoryTableClash(t *testing.T) {
	s := openTest(t)
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{
		{Name: "cars", Key: "id", History: true, Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}},
		{Name: "cars__history", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}},
	}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	err := s.Migrate(ctx, sc)
	if restkit.ErrorKind(err) != restkit.Invalid || !strings.Contains(restkit.ErrorMessage(err), "is the history table of resource cars") {
		t.Fatalf("Migrate = %v, want Invalid naming the clash", err)
	}
}

func TestPrefixUpper(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"ab", "ac", true},
		{"ü", "ý", true},
		{"ü\U0010FFFF", "ý", true},
		{"\U0010FFFF\U0010FFFF", "", false},
		{"a\uD7FF", "a\uE000", true},
	} {
		got, ok := prefixUpper(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("prefixUpper(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestWithSearchPath(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"postgres://u:p@h:5432/db?sslmode=disable", "postgres://u:p@h:5432/db?search_path=s&sslmode=disable"},
		{"postgres://h/db?search_path=old", "postgres://h/db?search_path=s"},
		{"host=h dbname=db", "host=h dbname=db search_path=s"},
	} {
		if got, err := withSearchPath(c.in, "s"); err != nil || got != c.want {
			t.Errorf("withSearchPath(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestInternalErrorsStayInside: a database failure reaches the client as "internal
// error"; SQL and server text stay in the chain, for logs.
func TestInternalErrorsStayInside(t *testing.T) {
	s := openTest(t)
	sc := cars(t, nil)
	mustMigrate(t, s, sc)
	res := sc.APIs[0].Resources[0]
	mustExec(t, s, `ALTER TABLE cars RENAME COLUMN model TO model_gone`)
	_, err := s.FindRecord(ctx, res, int64(1))
	if !restkit.IsKind(err, restkit.Internal) || restkit.ErrorMessage(err) != "internal error" {
		t.Fatalf("FindRecord on a broken table: %v", err)
	}
	var e *restkit.Error
	if !errors.As(err, &e) || e.Op != "postgres.FindRecord" || !strings.Contains(err.Error(), "model") {
		t.Errorf("the log should have the cause: %v", err)
	}
}

// TestMigrateRenamedRelationConstraints: a renamed relation's foreign key, and its join
// table's key, index and foreign keys, take the names restkit gives them, so that a
// later Migrate adds no second foreign key.
func TestMigrateRenamedRelationConstraints(t *testing.T) {
	s := openTest(t)
	schema := func(maker, stock string) *restkit.Schema {
		sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{
			{Name: "makers", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}},
			{Name: "cars", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger},
				{Name: maker, Type: restkit.TypeRelation, To: "makers", RenamedFrom: map[bool]string{true: "maker"}[maker != "maker"]},
				{Name: stock, Type: restkit.TypeRelation, To: "makers", Many: true, RenamedFrom: map[bool]string{true: "stock"}[stock != "stock"]}}},
		}}}}
		if err := sc.Prepare(); err != nil {
			t.Fatal(err)
		}
		return sc
	}
	mustMigrate(t, s, schema("maker", "stock"))
	mustMigrate(t, s, schema("brand", "parts"))
	mustMigrate(t, s, schema("brand", "parts"))
	var names []string
	rows, err := s.pool.Query(ctx, `SELECT c.conname::text FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema() AND t.relname IN ('cars', 'cars__parts') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	if names, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); got != "cars:brand:fk cars:key cars__parts:key cars__parts:owner:fk cars__parts:target:fk" {
		t.Errorf("constraints after the renames: %s", got)
	}
	sameIndexes(t, s, "cars__parts", "cars__parts:target:sort") // and its key, which sameIndexes leaves out
}
