package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

// runDestructiveMigrations runs the migrations restkit migrate carries out through
// restkit.MigrationPlanner: a dry run changes nothing and lists the plan; renames
// (renamed_from) keep the values and their history; drops, retypes, narrows and noun
// resets are refused by Migrate and carried out with AllowDestructive; values that
// would not survive are counted and refused even then; and a refusal anywhere leaves
// every table as it was.
func runDestructiveMigrations(t *testing.T, open func(t *testing.T) restkit.Store) {
	t.Run("DryRunThenDrop", func(t *testing.T) { testMigrationDryRunThenDrop(t, open) })
	t.Run("RenamesWithHistory", func(t *testing.T) { testMigrationRenames(t, open) })
	t.Run("RetypesWithHistory", func(t *testing.T) { testMigrationRetypes(t, open) })
	t.Run("RefusesValuesThatDoNotConvert", func(t *testing.T) { testMigrationRetypeRefused(t, open) })
	t.Run("Narrows", func(t *testing.T) { testMigrationNarrows(t, open) })
	t.Run("ResetsAndRenamesNounFields", func(t *testing.T) { testMigrationNouns(t, open) })
	t.Run("RenamesRelations", func(t *testing.T) { testMigrationRenamesRelations(t, open) })
	t.Run("DropsRelations", func(t *testing.T) { testMigrationDropsRelations(t, open) })
}

// migrateWith runs MigrateWith and fails the test on an error; it returns the plan,
// one step per line.
func migrateWith(t testing.TB, s restkit.Store, sc *restkit.Schema, o restkit.MigrateOptions) string {
	t.Helper()
	mp, ok := s.(restkit.MigrationPlanner)
	if !ok {
		t.Fatalf("%T is not a restkit.MigrationPlanner", s)
	}
	steps, err := mp.MigrateWith(context.Background(), sc, o)
	if err != nil {
		t.Fatalf("MigrateWith(%+v): %v %+v", o, err, restkit.ErrorFields(err))
	}
	return planText(steps)
}

func planText(steps []restkit.MigrationStep) string {
	lines := make([]string, len(steps))
	for i, st := range steps {
		lines[i] = st.String()
	}
	return strings.Join(lines, "\n")
}

// refusedWith requires MigrateWith to be refused with exactly message, for field, and
// returns the plan it gave.
func refusedWith(t testing.TB, s restkit.Store, sc *restkit.Schema, o restkit.MigrateOptions, field, message string) string {
	t.Helper()
	steps, err := s.(restkit.MigrationPlanner).MigrateWith(context.Background(), sc, o)
	if !restkit.IsKind(err, restkit.Invalid) {
		t.Fatalf("MigrateWith(%+v) = %v, want an Invalid refusal", o, err)
	}
	if got := restkit.ErrorMessage(err); got != message {
		t.Errorf("refusal:\ngot  %s\nwant %s", got, message)
	}
	if fe := restkit.ErrorFields(err); len(fe) != 1 || fe[0].Field != field {
		t.Errorf("refusal fields = %+v, want one for %s", fe, field)
	}
	return planText(steps)
}

func samePlan(t testing.TB, what, got string, want ...string) {
	t.Helper()
	if w := strings.Join(want, "\n"); got != w {
		t.Errorf("%s: plan\n%s\nwant\n%s", what, got, w)
	}
}

const hint = "restkit migrate --dry-run (with the same --config and --data) shows the plan, and restkit migrate --allow-destructive carries it out"

var allow = restkit.MigrateOptions{AllowDestructive: true}

func testMigrationDryRunThenDrop(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	sc := Cars(t, nil)
	m.migrate(sc)
	m.put(sc, map[string]any{"id": int64(1), "model": "T", "year": int64(1908)})
	noYear := Cars(t, func(r *restkit.Resource) {
		Without(r, "year")
		r.Fields = append(r.Fields, &restkit.Field{Name: "doors", Type: restkit.TypeInteger, Default: int64(4)})
	})
	drop := "drop    cars.year: the field was removed: its column and its integer values are deleted (destructive)"
	add := "add     cars.doors: a new integer column; the records it holds take the default 4"
	// A dry run lists the plan, the destructive step included, and changes nothing.
	for _, o := range []restkit.MigrateOptions{{DryRun: true}, {DryRun: true, AllowDestructive: true}} {
		samePlan(t, "dry run", migrateWith(t, m.s, noYear, o), drop, add)
		sameValues(t, "after a dry run", m.find(sc, 1), map[string]any{"id": int64(1), "model": "T", "year": int64(1908)})
	}
	samePlan(t, "refused", refusedWith(t, m.s, noYear, restkit.MigrateOptions{}, "cars.year",
		`resource cars: field "year" was removed from the declaration but the table still holds it; restore the field, or drop it with its values; `+hint), drop, add)
	samePlan(t, "the real run", migrateWith(t, m.s, noYear, allow), drop, add)
	sameValues(t, "after the drop", m.find(noYear, 1), map[string]any{"id": int64(1), "model": "T", "doors": int64(4)})
	samePlan(t, "again", migrateWith(t, m.s, noYear, allow))
	// The values went with the column: declaring year again gives an empty one.
	again := Cars(t, func(r *restkit.Resource) {
		r.Fields = append(r.Fields, &restkit.Field{Name: "doors", Type: restkit.TypeInteger, Default: int64(4)})
	})
	m.migrate(again)
	sameValues(t, "year declared again", m.find(again, 1), map[string]any{"id": int64(1), "model": "T", "doors": int64(4)})
}

// historyCars is Cars with history on, edited.
func historyCars(t testing.TB, edit func(r *restkit.Resource)) *restkit.Schema {
	return Cars(t, func(r *restkit.Resource) {
		r.History = true
		if edit != nil {
			edit(r)
		}
	})
}

// revisions returns the values of a record's revisions, oldest first.
func revisions(t testing.TB, s restkit.Store, sc *restkit.Schema, key int64) []map[string]any {
	t.Helper()
	revs, _, err := s.(restkit.HistoryStore).ListRevisions(context.Background(), sc.APIs[0].Resources[0], key, 0, 0)
	if err != nil {
		t.Fatalf("ListRevisions: %v", err)
	}
	out := make([]map[string]any, len(revs))
	for i, r := range revs {
		out[len(revs)-1-i] = r.Values
	}
	return out
}

func testMigrationRenames(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	sc := historyCars(t, nil)
	m.migrate(sc)
	m.put(sc, map[string]any{"id": int64(1), "model": "T", "year": int64(1908)})
	m.put(sc, map[string]any{"id": int64(1), "model": "T", "year": int64(1909)})
	renamed := historyCars(t, func(r *restkit.Resource) {
		f := FieldOf(r, "year")
		f.Name, f.RenamedFrom = "built", "year"
	})
	// Not destructive: Migrate itself (a server's start) carries it out.
	samePlan(t, "rename", migrateWith(t, m.s, renamed, restkit.MigrateOptions{}),
		"rename  cars.built: from year, keeping its values and their history")
	sameValues(t, "the renamed field", m.find(renamed, 1), map[string]any{"id": int64(1), "model": "T", "built": int64(1909)})
	revs := revisions(t, m.s, renamed, 1)
	if len(revs) != 2 {
		t.Fatalf("%d revisions, want 2", len(revs))
	}
	sameValues(t, "revision 1 after the rename", revs[0], map[string]any{"id": int64(1), "model": "T", "built": int64(1908)})
	sameValues(t, "revision 2 after the rename", revs[1], map[string]any{"id": int64(1), "model": "T", "built": int64(1909)})
	// renamed_from may stay declared: once renamed, it changes nothing.
	samePlan(t, "again", migrateWith(t, m.s, renamed, restkit.MigrateOptions{}))
	m.put(renamed, map[string]any{"id": int64(2), "model": "A", "built": int64(1927)})
	sameValues(t, "a record written after", m.find(renamed, 2), map[string]any{"id": int64(2), "model": "A", "built": int64(1927)})
	// The rename of the key.
	rekeyed := historyCars(t, func(r *restkit.Resource) {
		f := FieldOf(r, "year")
		f.Name, f.RenamedFrom = "built", "year"
		FieldOf(r, "id").Name, FieldOf(r, "id").RenamedFrom, r.Key = "number", "id", "number"
	})
	samePlan(t, "rename of the key", migrateWith(t, m.s, rekeyed, restkit.MigrateOptions{}),
		"rename  cars.number: from id, keeping its values and their history")
	sameValues(t, "after the key's rename", m.find(rekeyed, 1), map[string]any{"number": int64(1), "model": "T", "built": int64(1909)})
}

func testMigrationRetypes(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	sc := historyCars(t, nil)
	m.migrate(sc)
	m.put(sc, map[string]any{"id": int64(1), "model": "T", "year": int64(1908)})
	m.put(sc, map[string]any{"id": int64(1), "model": "T", "year": int64(1909)})
	m.put(sc, map[string]any{"id": int64(2), "model": "A"})
	text := historyCars(t, func(r *restkit.Resource) { FieldOf(r, "year").Type = restkit.TypeString })
	retype := "retype  cars.year: integer → string; every stored value is converted (destructive)"
	samePlan(t, "dry run", migrateWith(t, m.s, text, restkit.MigrateOptions{DryRun: true}), retype)
	sameValues(t, "after the dry run", m.find(sc, 1), map[string]any{"id": int64(1), "model": "T", "year": int64(1909)})
	samePlan(t, "retype", migrateWith(t, m.s, text, allow), retype)
	sameValues(t, "converted", m.find(text, 1), map[string]any{"id": int64(1), "model": "T", "year": "1909"})
	sameValues(t, "a null stays null", m.find(text, 2), map[string]any{"id": int64(2), "model": "A"})
	sameValues(t, "revision 1 converted", revisions(t, m.s, text, 1)[0], map[string]any{"id": int64(1), "model": "T", "year": "1908"})
	// And back: every value converts.
	samePlan(t, "back", migrateWith(t, m.s, sc, allow), "retype  cars.year: string → integer; every stored value is converted (destructive)")
	sameValues(t, "converted back", m.find(sc, 1), map[string]any{"id": int64(1), "model": "T", "year": int64(1909)})
	sameValues(t, "revision 1 converted back", revisions(t, m.s, sc, 1)[0], map[string]any{"id": int64(1), "model": "T", "year": int64(1908)})
	// integer → number.
	num := historyCars(t, func(r *restkit.Resource) { FieldOf(r, "year").Type = restkit.TypeNumber })
	migrateWith(t, m.s, num, allow)
	sameValues(t, "a number", m.find(num, 1), map[string]any{"id": int64(1), "model": "T", "year": 1909.0})
	// Renamed and retyped at once, a sortable field with its index.
	built := historyCars(t, func(r *restkit.Resource) {
		f := FieldOf(r, "year")
		f.Name, f.RenamedFrom, f.Type = "built", "year", restkit.TypeString
	})
	samePlan(t, "rename and retype", migrateWith(t, m.s, built, allow),
		"rename  cars.built: from year, keeping its values and their history",
		"retype  cars.built: number → string; every stored value is converted (destructive)")
	sameValues(t, "renamed and converted", m.find(built, 1), map[string]any{"id": int64(1), "model": "T", "built": "1909"})
	sameValues(t, "revision 1 renamed and converted", revisions(t, m.s, built, 1)[0], map[string]any{"id": int64(1), "model": "T", "built": "1908"})
}

func testMigrationRetypeRefused(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	text := Cars(t, func(r *restkit.Resource) { FieldOf(r, "year").Type = restkit.TypeString })
	m.migrate(text)
	for i, y := range []string{"1908", "soon", "1927"} {
		m.put(text, map[string]any{"id": int64(i + 1), "model": "T", "color": "black", "year": y})
	}
	// A drop that could be done and a retype that cannot, in one declaration: the
	// refusal counts what does not convert, and nothing is done, the drop included.
	sc := Cars(t, func(r *restkit.Resource) { Without(r, "color") })
	plan := refusedWith(t, m.s, sc, allow, "cars.year",
		`resource cars: field "year" cannot change type from string to integer: 1 of 3 records hold values it cannot take (2: "soon" is not a number); change those records, or restore the type`)
	samePlan(t, "refused", plan,
		"drop    cars.color: the field was removed: its column and its string values are deleted (destructive)",
		"retype  cars.year: string → integer; every stored value is converted (destructive)")
	sameValues(t, "after the refusal", m.find(text, 2), map[string]any{"id": int64(2), "model": "T", "color": "black", "year": "soon"})
	m.put(text, map[string]any{"id": int64(2), "model": "T", "color": "black", "year": "1909"})
	migrateWith(t, m.s, sc, allow)
	sameValues(t, "after the fix", m.find(sc, 2), map[string]any{"id": int64(2), "model": "T", "year": int64(1909)})
}

func testMigrationNarrows(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	sc := Cars(t, func(r *restkit.Resource) { FieldOf(r, "model").MaxLength = new(200) })
	m.migrate(sc)
	m.put(sc, map[string]any{"id": int64(1), "model": "T", "color": "red"})
	m.put(sc, map[string]any{"id": int64(2), "model": "Beetle", "color": "green"})
	enum := func(values ...string) func(r *restkit.Resource) {
		return func(r *restkit.Resource) {
			FieldOf(r, "model").MaxLength = new(200)
			f := FieldOf(r, "color")
			f.Type, f.Values = restkit.TypeEnum, values
		}
	}
	refusedWith(t, m.s, Cars(t, enum("red", "black")), allow, "cars.color",
		`resource cars: field "color" cannot be narrowed (string → enum): 1 of 2 records hold values it cannot take (2: "green" must be one of red, black); change those records, or restore the declaration`)
	m.put(sc, map[string]any{"id": int64(2), "model": "Beetle", "color": "black"})
	samePlan(t, "to an enum", migrateWith(t, m.s, Cars(t, enum("red", "black")), allow),
		"narrow  cars.color: string → enum; every stored value is checked (destructive)")
	// An enum value removed, a length shortened: recorded since, so seen.
	refusedWith(t, m.s, Cars(t, enum("black")), restkit.MigrateOptions{}, "cars.color",
		`resource cars: field "color" now allows fewer values (values no longer allowed: red); restore the declaration, or check every stored value and apply it; `+hint)
	refusedWith(t, m.s, Cars(t, enum("black")), allow, "cars.color",
		`resource cars: field "color" cannot be narrowed (values no longer allowed: red): 1 of 2 records hold values it cannot take (1: "red" must be one of black); change those records, or restore the declaration`)
	short := Cars(t, func(r *restkit.Resource) {
		enum("red", "black")(r)
		FieldOf(r, "model").MaxLength = new(3)
	})
	refusedWith(t, m.s, short, allow, "cars.model",
		`resource cars: field "model" cannot be narrowed (maxLength 200 → 3): 1 of 2 records hold values it cannot take (2: "Beetle" must be at most 3 characters long); change those records, or restore the declaration`)
	// Wider is no step at all.
	samePlan(t, "wider", migrateWith(t, m.s, Cars(t, enum("red", "black", "blue")), restkit.MigrateOptions{}))
}

// led declares a noun led: state (on/off) and level; edit changes it before Prepare.
func led(t testing.TB, edit func(n *restkit.Noun)) *restkit.Schema {
	t.Helper()
	n := &restkit.Noun{Name: "led", Fields: []*restkit.Field{
		{Name: "state", Type: restkit.TypeEnum, Values: []string{"on", "off"}, Default: "off"},
		{Name: "level", Type: restkit.TypeInteger, Default: int64(0)},
	}}
	if edit != nil {
		edit(n)
	}
	sc := &restkit.Schema{APIs: []*restkit.API{{Nouns: []*restkit.Noun{n}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	return sc
}

func testMigrationNouns(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	sc := led(t, nil)
	m.migrate(sc)
	if _, err := m.s.WriteNoun(m.ctx, sc.APIs[0].Nouns[0], func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"state": "on", "level": int64(3)}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	noLevel := led(t, func(n *restkit.Noun) { n.Fields = n.Fields[:1] })
	reset := "reset   led.level: the stored value 3 is dropped: the field was removed from the declaration (destructive)"
	samePlan(t, "refused", refusedWith(t, m.s, noLevel, restkit.MigrateOptions{}, "led.level",
		`noun led: field "level" was removed from the declaration but the stored state holds 3; restore the field, or drop the stored value (the field then reads as its default); `+hint), reset)
	samePlan(t, "reset", migrateWith(t, m.s, noLevel, allow), reset)
	rec, err := m.s.FindNoun(m.ctx, noLevel.APIs[0].Nouns[0])
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "the noun after the reset", rec.Values, map[string]any{"state": "on"})
	if rec.Rev != 2 {
		t.Errorf("rev %d after the reset, want 2 (a new revision: its ETag changes)", rec.Rev)
	}
	power := led(t, func(n *restkit.Noun) {
		n.Fields = n.Fields[:1]
		n.Fields[0].Name, n.Fields[0].RenamedFrom = "power", "state"
	})
	samePlan(t, "rename", migrateWith(t, m.s, power, restkit.MigrateOptions{}), "rename  led.power: from state, keeping its value")
	if rec, err = m.s.FindNoun(m.ctx, power.APIs[0].Nouns[0]); err != nil {
		t.Fatal(err)
	}
	sameValues(t, "the renamed field", rec.Values, map[string]any{"power": "on"})
}

// dealers is makers, cars (with a maker, unless dropMaker) and dealers (with the
// cars in stock, unless dropStock).
func dealers(t testing.TB, dropMaker, dropStock bool) *restkit.Schema {
	t.Helper()
	return dealersRenamed(t, dropMaker, dropStock, nil)
}

// dealersRenamed is dealers, edited before Prepare.
func dealersRenamed(t testing.TB, dropMaker, dropStock bool, edit func(cars, dealers *restkit.Resource)) *restkit.Schema {
	t.Helper()
	makers := &restkit.Resource{Name: "makers", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}
	cars := carsResource(func(r *restkit.Resource) {
		if !dropMaker {
			r.Fields = append(r.Fields, &restkit.Field{Name: "maker", Type: restkit.TypeRelation, To: "makers"})
		}
	})
	d := &restkit.Resource{Name: "dealers", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}
	if !dropStock {
		d.Fields = append(d.Fields, &restkit.Field{Name: "stock", Type: restkit.TypeRelation, To: "cars", Many: true})
	}
	if edit != nil {
		edit(cars, d)
	}
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{makers, cars, d}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	return sc
}

// relationRecords writes a maker 7, cars 1 and 2 of it, and dealer 1 with both in
// stock; write writes one more.
func relationRecords(t *testing.T, m *migrationStore, sc *restkit.Schema) (write func(sc *restkit.Schema, i int, values map[string]any) error) {
	write = func(sc *restkit.Schema, i int, values map[string]any) error {
		res := sc.APIs[0].Resources[i]
		_, err := m.s.WriteRecord(m.ctx, res, values[res.Key], func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: copyMap(values)}, nil
		})
		return err
	}
	for _, w := range []struct {
		i int
		v map[string]any
	}{{0, map[string]any{"id": int64(7)}}, {1, map[string]any{"id": int64(1), "model": "T", "maker": int64(7)}},
		{1, map[string]any{"id": int64(2), "model": "A", "maker": int64(7)}}, {2, map[string]any{"id": int64(1), "stock": []any{int64(2), int64(1)}}}} {
		if err := write(sc, w.i, w.v); err != nil {
			t.Fatal(err)
		}
	}
	return write
}

// testMigrationRenamesRelations: a single and a many relation renamed keep their
// values and their rules (the foreign keys, the join table); a second Migrate finds
// nothing to do.
func testMigrationRenamesRelations(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	sc := dealers(t, false, false)
	m.migrate(sc)
	write := relationRecords(t, m, sc)
	renamed := dealersRenamed(t, false, false, func(cars, dealers *restkit.Resource) {
		FieldOf(cars, "maker").Name, FieldOf(cars, "maker").RenamedFrom = "brand", "maker"
		FieldOf(dealers, "stock").Name, FieldOf(dealers, "stock").RenamedFrom = "cars", "stock"
	})
	samePlan(t, "renames", migrateWith(t, m.s, renamed, restkit.MigrateOptions{}),
		"rename  cars.brand: from maker, keeping its values and their history",
		"rename  dealers.cars: from stock, keeping its values and their history")
	samePlan(t, "again", migrateWith(t, m.s, renamed, restkit.MigrateOptions{}))
	car, err := m.s.FindRecord(m.ctx, renamed.APIs[0].Resources[1], int64(1))
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "car 1", car.Values, map[string]any{"id": int64(1), "model": "T", "brand": int64(7)})
	dealer, err := m.s.FindRecord(m.ctx, renamed.APIs[0].Resources[2], int64(1))
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "dealer 1", dealer.Values, map[string]any{"id": int64(1), "cars": []any{int64(2), int64(1)}})
	del := func(i int, key int64) error {
		_, err := m.s.WriteRecord(m.ctx, renamed.APIs[0].Resources[i], key, func(*restkit.Record) (*restkit.Record, error) { return nil, nil })
		return err
	}
	wantKind(t, "deleting a car in stock", del(1, 1), restkit.Conflict)
	wantKind(t, "deleting the maker of cars", del(0, 7), restkit.Conflict)
	wantKind(t, "a car of a maker that does not exist", write(renamed, 1, map[string]any{"id": int64(3), "model": "X", "brand": int64(9)}), restkit.Invalid)
	wantKind(t, "stock that does not exist", write(renamed, 2, map[string]any{"id": int64(2), "cars": []any{int64(9)}}), restkit.Invalid)
	if err := write(renamed, 2, map[string]any{"id": int64(2), "cars": []any{int64(1)}}); err != nil {
		t.Errorf("a dealer with stock after the rename: %v", err)
	}
}

func testMigrationDropsRelations(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	sc := dealers(t, false, false)
	m.migrate(sc)
	write := relationRecords(t, m, sc)
	// A single relation dropped (SQLite rebuilds the table: its column has a foreign
	// key); the many relation that refers to the table keeps its rows and its rule.
	noMaker := dealers(t, true, false)
	samePlan(t, "drop the maker", migrateWith(t, m.s, noMaker, allow),
		"drop    cars.maker: the field was removed: its column and its relation:makers values are deleted (destructive)")
	car, err := m.s.FindRecord(m.ctx, noMaker.APIs[0].Resources[1], int64(1))
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "car 1", car.Values, map[string]any{"id": int64(1), "model": "T"})
	dealer, err := m.s.FindRecord(m.ctx, noMaker.APIs[0].Resources[2], int64(1))
	if err != nil {
		t.Fatal(err)
	}
	sameValues(t, "dealer 1", dealer.Values, map[string]any{"id": int64(1), "stock": []any{int64(2), int64(1)}})
	_, err = m.s.WriteRecord(m.ctx, noMaker.APIs[0].Resources[1], int64(1), func(*restkit.Record) (*restkit.Record, error) { return nil, nil })
	wantKind(t, "deleting a car in stock", err, restkit.Conflict)
	wantKind(t, "stock that does not exist", write(noMaker, 2, map[string]any{"id": int64(2), "stock": []any{int64(9)}}), restkit.Invalid)
	// The many relation dropped: its join table goes, the car can be deleted.
	samePlan(t, "drop the stock", migrateWith(t, m.s, dealers(t, true, true), allow),
		"drop    dealers.stock: the field was removed: its column and its relation[]:cars values are deleted (destructive)")
	if _, err := m.s.WriteRecord(m.ctx, noMaker.APIs[0].Resources[1], int64(1), func(*restkit.Record) (*restkit.Record, error) { return nil, nil }); err != nil {
		t.Errorf("deleting the car after the stock was dropped: %v", err)
	}
}
