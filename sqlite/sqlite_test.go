package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) restkit.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	}, storetest.Reopen(func(t *testing.T, s restkit.Store) restkit.Store {
		path := s.(*Store).path
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		return mustOpen(t, path)
	}))
}

// mustOpen opens a store and fails the test if it cannot. The caller closes it.
func mustOpen(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(path)
	if err != nil {
		tb.Fatalf("Open(%q): %v", path, err)
	}
	return s
}

var ctx = context.Background()

// migrated opens a store in a temporary directory, closed when the test ends, and
// migrates it to one API of resources.
func migrated(t *testing.T, resources ...*restkit.Resource) *Store {
	t.Helper()
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: resources}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, filepath.Join(t.TempDir(), "db"))
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx, sc); err != nil {
		t.Fatal(err)
	}
	return s
}

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

func wantRefusal(tb testing.TB, s *Store, sc *restkit.Schema, message, field string) {
	tb.Helper()
	storetest.WantRefusal(tb, s, sc, message, field)
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "restkit.db")
	sc := cars(t, nil)
	res := sc.APIs[0].Resources[0]
	noun := &restkit.Noun{Name: "led", Fields: []*restkit.Field{
		{Name: "state", Type: restkit.TypeEnum, Values: []string{"off", "on"}, Default: "off"},
		{Name: "at", Type: restkit.TypeDatetime, Nullable: true},
	}}
	sc.APIs[0].Nouns = []*restkit.Noun{noun}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}

	s := mustOpen(t, path)
	mustMigrate(t, s, sc)
	want := put(t, s, res, map[string]any{"id": int64(1), "model": "T", "color": "black", "year": int64(1908)})
	put(t, s, res, map[string]any{"id": int64(2), "model": "Beetle"})
	wantNoun, err := s.WriteNoun(ctx, noun, func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"state": "on", "at": t0}, Updated: t0}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, path)
	defer s.Close()
	mustMigrate(t, s, cars(t, nil))
	got, err := s.FindRecord(ctx, res, int64(1))
	if err != nil {
		t.Fatal(err)
	}
	if got.Rev != 1 || !got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) || len(got.Values) != 4 ||
		got.Values["model"] != "T" || got.Values["color"] != "black" || got.Values["year"] != int64(1908) {
		t.Errorf("after reopen: %+v, want %+v", got, want)
	}
	p, err := s.ListRecords(ctx, res, &restkit.Query{Limit: 10, Count: true})
	if err != nil || p.Total != 2 || len(p.Records) != 2 {
		t.Fatalf("list after reopen: %+v, %v", p, err)
	}
	gotNoun, err := s.FindNoun(ctx, noun)
	if err != nil {
		t.Fatal(err)
	}
	if gotNoun.Rev != 1 || gotNoun.Values["state"] != "on" || !restkit.Equal(gotNoun.Values["at"], t0) || !gotNoun.Created.Equal(wantNoun.Created) {
		t.Errorf("noun after reopen: %+v, want %+v", gotNoun, wantNoun)
	}
}

func TestPragmas(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	for _, c := range []struct {
		db     string
		pragma string
		want   string
	}{
		{"writer", "journal_mode", "wal"},
		{"reader", "journal_mode", "wal"},
		{"writer", "synchronous", "1"}, // NORMAL
		{"writer", "foreign_keys", "1"},
		{"reader", "foreign_keys", "1"},
		{"writer", "busy_timeout", "5000"},
		{"reader", "busy_timeout", "5000"},
		{"reader", "query_only", "1"},
		{"writer", "query_only", "0"},
	} {
		db := s.w
		if c.db == "reader" {
			db = s.r
		}
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: PRAGMA %s = %s, want %s", c.db, c.pragma, got, c.want)
		}
	}
	if got := s.w.Stats().MaxOpenConnections; got != 1 {
		t.Errorf("writer pool allows %d connections, want 1", got)
	}
}

func TestOpenRefusesNonFiles(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if s, err := Open(path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", path)
		}
	}
}

func TestMigrateCreatesTablesAndIndexes(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	sc := cars(t, func(r *restkit.Resource) { field(r, "model").Unique = true })
	mustMigrate(t, s, sc)
	mustMigrate(t, s, sc)
	var sqlText string
	if err := s.r.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = 'cars'`).Scan(&sqlText); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"id" INTEGER PRIMARY KEY NOT NULL`, `"model" TEXT`, `"year" INTEGER`, `_rev INTEGER NOT NULL`, `STRICT`} {
		if !strings.Contains(sqlText, want) {
			t.Errorf("table SQL lacks %s:\n%s", want, sqlText)
		}
	}
	sameIndexes(t, s, "cars", "cars:color:sort", "cars:model:unique", "cars:year:sort")
	var fields []string
	rows, err := s.r.QueryContext(ctx, `SELECT field || ' ' || type || ' ' || position || ' ' || is_key FROM _restkit_fields WHERE store_name = 'cars' ORDER BY position`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var f string
		rows.Scan(&f)
		fields = append(fields, f)
	}
	rows.Close()
	if got, want := strings.Join(fields, ", "), "id integer 0 1, model string 1 0, color string 2 0, year integer 3 0"; got != want {
		t.Errorf("_restkit_fields = %s, want %s", got, want)
	}
}

func sameIndexes(tb testing.TB, s *Store, table string, want ...string) {
	tb.Helper()
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name NOT LIKE 'sqlite_autoindex%' ORDER BY name`, table)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		got = append(got, n)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		tb.Errorf("indexes of %s = %v, want %v", table, got, want)
	}
}

// TestMigrations runs the shared migration suite; the tests below check what only
// SQLite shows: the columns and indexes a drop leaves, and that no sqlite3 binary is
// ever needed.
func TestMigrations(t *testing.T) {
	storetest.RunMigrations(t, func(t *testing.T) restkit.Store {
		return mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	})
}

// TestMigrateDropsIndexedColumn: a removed field is refused by Migrate, which points
// to restkit migrate; MigrateWith drops its column (and first its index, which SQLite
// would otherwise refuse to drop the column under) and keeps the records.
func TestMigrateDropsIndexedColumn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "restkit.db")
	s := mustOpen(t, path)
	defer s.Close()
	mustMigrate(t, s, cars(t, nil))
	put(t, s, cars(t, nil).APIs[0].Resources[0], map[string]any{"id": int64(1), "model": "T", "year": int64(1908)})
	sc := cars(t, func(r *restkit.Resource) {
		without(r, "year")
		r.Fields = append(r.Fields, &restkit.Field{Name: "doors", Type: restkit.TypeInteger})
	})
	wantRefusal(t, s, sc,
		`resource cars: field "year" was removed from the declaration but the table still holds it; restore the field, or drop it with its values; `+
			`restkit migrate --dry-run (with the same --config and --data) shows the plan, and restkit migrate --allow-destructive carries it out`,
		"cars.year")
	if cols := tableColumns(t, s, "cars"); cols != "id model color year _rev _created _updated" {
		t.Errorf("columns after a refusal: %s", cols)
	}
	if _, err := s.MigrateWith(ctx, sc, restkit.MigrateOptions{AllowDestructive: true}); err != nil {
		t.Fatal(err)
	}
	if cols := tableColumns(t, s, "cars"); cols != "id model color _rev _created _updated doors" {
		t.Errorf("columns after the migration: %s", cols)
	}
	sameIndexes(t, s, "cars", "cars:color:sort", "cars:model:sort")
	rec, err := s.FindRecord(ctx, sc.APIs[0].Resources[0], int64(1))
	if err != nil || len(rec.Values) != 2 || rec.Values["model"] != "T" {
		t.Errorf("record after the migration: %v, %v", rec, err)
	}
}

// TestMigrateRetypeKeepsIndexes: a retyped sortable field gets its index back on the
// converted column, and the recorded type is the new one.
func TestMigrateRetypeKeepsIndexes(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	mustMigrate(t, s, cars(t, nil))
	put(t, s, cars(t, nil).APIs[0].Resources[0], map[string]any{"id": int64(1), "model": "T", "year": int64(1908)})
	sc := cars(t, func(r *restkit.Resource) { field(r, "year").Type = restkit.TypeString })
	if _, err := s.MigrateWith(ctx, sc, restkit.MigrateOptions{AllowDestructive: true}); err != nil {
		t.Fatal(err)
	}
	sameIndexes(t, s, "cars", "cars:color:sort", "cars:model:sort", "cars:year:sort")
	var typ, colType string
	if err := s.r.QueryRowContext(ctx, `SELECT type FROM _restkit_fields WHERE store_name = 'cars' AND field = 'year'`).Scan(&typ); err != nil || typ != "string" {
		t.Errorf("recorded type of year = %q, %v; want string", typ, err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT type FROM pragma_table_info('cars') WHERE name = 'year'`).Scan(&colType); err != nil || colType != "TEXT" {
		t.Errorf("column type of year = %q, %v; want TEXT", colType, err)
	}
}

func tableColumns(tb testing.TB, s *Store, table string) string {
	tb.Helper()
	rows, err := s.r.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	return strings.Join(names, " ")
}

func TestMigrateIndexFlags(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	mustMigrate(t, s, cars(t, nil))
	res := cars(t, nil).APIs[0].Resources[0]
	put(t, s, res, map[string]any{"id": int64(1), "model": "T", "color": "black"})
	put(t, s, res, map[string]any{"id": int64(2), "model": "T", "color": "red"})

	// model made unique while two cars share "T": refused, naming the field.
	unique := func(r *restkit.Resource) { field(r, "model").Unique = true }
	wantRefusal(t, s, cars(t, unique),
		`resource cars: field "model" is now unique, but the table holds duplicate values of it; remove the duplicates, or leave the field non-unique`,
		"cars.model")
	sameIndexes(t, s, "cars", "cars:color:sort", "cars:model:sort", "cars:year:sort")

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
		field(r, "year").Unique = true
	}))
	sameIndexes(t, s, "cars", "cars:model:unique", "cars:year:unique")
}

func TestMigrateRefusesForeignTable(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE cars (id INTEGER PRIMARY KEY, x TEXT)`); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, s, cars(t, nil),
		`resource cars: table "cars" exists but restkit did not create it (it has no field metadata); rename or drop the table, or rename the resource`,
		"cars")

}

func TestMigrateRecreatesDroppedTable(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	sc := cars(t, nil)
	mustMigrate(t, s, sc)
	if _, err := s.w.ExecContext(ctx, `DROP TABLE cars`); err != nil {
		t.Fatal(err)
	}
	mustMigrate(t, s, sc)
	put(t, s, sc.APIs[0].Resources[0], map[string]any{"id": int64(1), "model": "T"})
}

// TestQueryPlans checks that filtered, sorted keyset pages by an indexed field are
// answered from its index: no full scan of the table, no sorting step.
func TestQueryPlans(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	sc := cars(t, func(r *restkit.Resource) { field(r, "model").Unique = true })
	mustMigrate(t, s, sc)
	res := sc.APIs[0].Resources[0]
	tb, err := s.tableOf(res, "test")
	if err != nil {
		t.Fatal(err)
	}
	byYear := []restkit.SortKey{{Field: "year"}, {Field: "id"}}
	byYearDesc := []restkit.SortKey{{Field: "year", Desc: true}, {Field: "id", Desc: true}}
	for _, c := range []struct {
		name  string
		q     restkit.Query
		index string
	}{
		{"year range by year", restkit.Query{Sort: byYear, Limit: 20,
			Filters: []restkit.Filter{{Field: "year", Op: restkit.OpGte, Value: int64(2000)}}}, "cars:year:sort"},
		{"after a cursor by year", restkit.Query{Sort: byYear, Limit: 20, After: []any{int64(2001), int64(7)},
			Filters: []restkit.Filter{{Field: "year", Op: restkit.OpLt, Value: int64(2020)}}}, "cars:year:sort"},
		{"before a cursor by year descending", restkit.Query{Sort: byYearDesc, Limit: 20, Before: []any{int64(2001), int64(7)}}, "cars:year:sort"},
		{"last by year", restkit.Query{Sort: byYear, Limit: 20, Last: true}, "cars:year:sort"},
		{"color prefix by color", restkit.Query{Sort: []restkit.SortKey{{Field: "color"}, {Field: "id"}}, Limit: 20,
			Filters: []restkit.Filter{{Field: "color", Op: restkit.OpPrefix, Value: "bl%"}}}, "cars:color:sort"},
		{"model equal", restkit.Query{Limit: 20, Filters: []restkit.Filter{{Field: "model", Op: restkit.OpEq, Value: "T"}}}, "cars:model:unique"},
		{"after a key", restkit.Query{Limit: 20, After: []any{int64(10)}}, ""},
	} {
		lq, err := tb.buildList(&c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		plan := explain(t, s, lq.page, lq.args)
		for _, line := range plan {
			if line == "SCAN cars" || strings.Contains(line, "TEMP B-TREE") {
				t.Errorf("%s: plan has %q:\n%s\n%s", c.name, line, lq.page, strings.Join(plan, "\n"))
			}
		}
		if c.index != "" && !strings.Contains(strings.Join(plan, "\n"), "INDEX "+c.index) {
			t.Errorf("%s: plan does not use %s:\n%s\n%s", c.name, c.index, lq.page, strings.Join(plan, "\n"))
		}
	}
}

// TestKeysetSeeksToTheCursor: a page after a cursor is one index seek per sort prefix
// (year = Y AND id > K, then year > Y), and a filter on the sort's lead column cannot
// become the seek's start: otherwise page N costs a walk past N pages of rows.
func TestKeysetSeeksToTheCursor(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	sc := cars(t, nil)
	mustMigrate(t, s, sc)
	tb, err := s.tableOf(sc.APIs[0].Resources[0], "test")
	if err != nil {
		t.Fatal(err)
	}
	q := restkit.Query{Sort: []restkit.SortKey{{Field: "year"}, {Field: "id"}}, Limit: 20, After: []any{int64(2012), int64(499857)},
		Filters: []restkit.Filter{{Field: "year", Op: restkit.OpGte, Value: int64(1995)}}}
	lq, err := tb.buildList(&q)
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(explain(t, s, lq.page, lq.args), "\n")
	if !strings.Contains(plan, "(year=? AND id>?)") || !strings.Contains(plan, "(year>?)") || strings.Contains(plan, "TEMP B-TREE") {
		t.Fatalf("not a seek per prefix:\n%s\n%s", lq.page, plan)
	}
	if !strings.Contains(lq.page, `+"year" >= ?`) {
		t.Fatalf("the filter on the lead column must not be usable as a seek bound:\n%s", lq.page)
	}
}

func explain(tb testing.TB, s *Store, query string, args []any) []string {
	tb.Helper()
	rows, err := s.r.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		tb.Fatalf("EXPLAIN %s: %v", query, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			tb.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

func TestPrefixUpper(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"ab", "ac", true},
		{"a\xff", "b", true},
		{"\xff\xff", "", false},
		{"ü", "ý", true},
	} {
		got, ok := prefixUpper(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("prefixUpper(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

// TestKeyCountMigrationWritesNothingTwice: Migrate starts a generated integer key's
// count once; migrating the same schema again does not write the count (a trigger
// that refuses any write to it lets the second Migrate pass), and a schema without
// such a key does not even create the table.
func TestKeyCountMigrationWritesNothingTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "restkit.db")
	s := mustOpen(t, path)
	defer s.Close()
	if err := s.Migrate(ctx, cars(t, nil)); err != nil {
		t.Fatal(err)
	}
	var tables int
	if err := s.w.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = '_restkit_keys'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("_restkit_keys tables: %d %v, want none without a generated integer key", tables, err)
	}
	generated := cars(t, func(r *restkit.Resource) { r.KeySource = restkit.KeyGenerated })
	if err := s.Migrate(ctx, generated); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"INSERT", "UPDATE", "DELETE"} {
		if _, err := s.w.ExecContext(ctx, `CREATE TRIGGER "no_`+ev+`" BEFORE `+ev+` ON _restkit_keys BEGIN SELECT RAISE(ABORT, 'the key count was written'); END`); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx, cars(t, func(r *restkit.Resource) { r.KeySource = restkit.KeyGenerated })); err != nil {
		t.Fatalf("the second Migrate wrote the key count: %v", err)
	}
	res := generated.APIs[0].Resources[0]
	if _, err := s.AllocateKeys(ctx, res, 1); err == nil || !strings.Contains(err.Error(), "the key count was written") {
		t.Fatalf("AllocateKeys under the trigger: %v, want the trigger's refusal (the trigger works)", err)
	}
}
