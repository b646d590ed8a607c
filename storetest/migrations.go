package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

// RunMigrations is the conformance suite of Store.Migrate for stores that keep data
// across declarations (the SQL stores): additive changes are applied and existing
// records take new fields' defaults; destructive or ambiguous ones — a field removed,
// retyped or narrowed, the key changed, a new required field without a default on a
// table with records — are refused with an Invalid error naming "<table>.<field>",
// and the refusal changes nothing. Each refusal's message starts with the text the
// SQL stores share. The store must also be a restkit.MigrationPlanner, and the suite
// runs the destructive migrations restkit migrate carries out (migrations_destructive.go):
// dry runs, drops, renames with their history, retypes, narrows, noun resets, and
// refusals that leave everything as it was. open must return a new, empty store; the
// suite closes it.
func RunMigrations(t *testing.T, open func(t *testing.T) restkit.Store) {
	t.Run("AddsFields", func(t *testing.T) { testMigrationAddsFields(t, open) })
	t.Run("RefusesRequiredFieldWithoutDefault", func(t *testing.T) { testMigrationRequiredField(t, open) })
	t.Run("RefusesRemovedField", func(t *testing.T) { testMigrationRemovedField(t, open) })
	t.Run("RefusesRetypedField", func(t *testing.T) { testMigrationRetypedField(t, open) })
	t.Run("RefusesChangedKey", func(t *testing.T) { testMigrationChangedKey(t, open) })
	t.Run("AddsRelations", func(t *testing.T) { testMigrationAddsRelations(t, open) })
	runDestructiveMigrations(t, open)
}

// migrationStore is an opened store and the helpers the suite uses on it.
type migrationStore struct {
	t   *testing.T
	s   restkit.Store
	ctx context.Context
}

func openMigrations(t *testing.T, open func(t *testing.T) restkit.Store) *migrationStore {
	t.Helper()
	s := open(t)
	t.Cleanup(func() { s.Close() })
	return &migrationStore{t: t, s: s, ctx: context.Background()}
}

func (m *migrationStore) migrate(sc *restkit.Schema) {
	m.t.Helper()
	if err := m.s.Migrate(m.ctx, sc); err != nil {
		m.t.Fatalf("Migrate: %v %+v", err, restkit.ErrorFields(err))
	}
}

func (m *migrationStore) put(sc *restkit.Schema, values map[string]any) {
	m.t.Helper()
	res := sc.APIs[0].Resources[0]
	if _, err := m.s.WriteRecord(m.ctx, res, values[res.Key], func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: copyMap(values), Updated: t0}, nil
	}); err != nil {
		m.t.Fatalf("WriteRecord %v: %v", values, err)
	}
}

func (m *migrationStore) find(sc *restkit.Schema, key int64) map[string]any {
	m.t.Helper()
	rec, err := m.s.FindRecord(m.ctx, sc.APIs[0].Resources[0], key)
	if err != nil {
		m.t.Fatalf("FindRecord %d: %v", key, err)
	}
	return rec.Values
}

// refused requires Migrate(sc) to be refused, naming field, with a message that
// starts with prefix.
func (m *migrationStore) refused(sc *restkit.Schema, field, prefix string) {
	m.t.Helper()
	err := m.s.Migrate(m.ctx, sc)
	if !restkit.IsKind(err, restkit.Invalid) {
		m.t.Fatalf("Migrate = %v, want an Invalid refusal", err)
	}
	msg := restkit.ErrorMessage(err)
	if !strings.HasPrefix(msg, prefix) {
		m.t.Errorf("refusal message:\ngot  %s\nwant it to start with %s", msg, prefix)
	}
	if fe := restkit.ErrorFields(err); len(fe) != 1 || fe[0].Field != field || fe[0].Message != msg {
		m.t.Errorf("refusal fields = %+v, want one for %s with the message", fe, field)
	}
}

func testMigrationAddsFields(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	m.migrate(Cars(t, nil))
	m.put(Cars(t, nil), map[string]any{"id": int64(1), "model": "T"})

	// A field with a default: existing records take it. A nullable one: they stay
	// null. A required one with a default is fine too.
	sc := Cars(t, func(r *restkit.Resource) {
		r.Fields = append(r.Fields,
			&restkit.Field{Name: "doors", Type: restkit.TypeInteger, Default: 4, Sortable: true},
			&restkit.Field{Name: "electric", Type: restkit.TypeBoolean, Required: true, Default: false},
			&restkit.Field{Name: "sold", Type: restkit.TypeDatetime, Nullable: true},
			&restkit.Field{Name: "price", Type: restkit.TypeNumber, Default: 9.5},
		)
	})
	m.migrate(sc)
	sameValues(t, "a record from before", m.find(sc, 1),
		map[string]any{"id": int64(1), "model": "T", "doors": int64(4), "electric": false, "price": 9.5})
	// The new fields are written and read like the old ones.
	m.put(sc, map[string]any{"id": int64(2), "model": "Leaf", "doors": int64(5), "electric": true, "sold": t0})
	sameValues(t, "a record with the new fields", m.find(sc, 2),
		map[string]any{"id": int64(2), "model": "Leaf", "doors": int64(5), "electric": true, "sold": t0})
	m.migrate(sc) // again: nothing to do
}

func testMigrationRequiredField(t *testing.T, open func(t *testing.T) restkit.Store) {
	withVIN := func(r *restkit.Resource) {
		r.Fields = append(r.Fields, &restkit.Field{Name: "vin", Type: restkit.TypeString, Required: true})
	}
	empty := openMigrations(t, open) // on an empty table it is fine
	empty.migrate(Cars(t, nil))
	empty.migrate(Cars(t, withVIN))

	m := openMigrations(t, open)
	m.migrate(Cars(t, nil))
	m.put(Cars(t, nil), map[string]any{"id": int64(1), "model": "T"})
	m.refused(Cars(t, withVIN), "cars.vin",
		`resource cars: new field "vin" is required and has no default, but the table already holds records; give the field a default, or make it optional`)
}

func testMigrationRemovedField(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	sc := Cars(t, nil)
	m.migrate(sc)
	m.put(sc, map[string]any{"id": int64(1), "model": "T", "year": int64(1908)})
	// year removed, and a field added in the same declaration: the refusal leaves
	// everything as it was, the new field included.
	m.refused(Cars(t, func(r *restkit.Resource) {
		Without(r, "year")
		r.Fields = append(r.Fields, &restkit.Field{Name: "doors", Type: restkit.TypeInteger, Default: 4})
	}), "cars.year", `resource cars: field "year" was removed from the declaration but the table still holds it; `)
	sameValues(t, "the record after a refusal", m.find(sc, 1), map[string]any{"id": int64(1), "model": "T", "year": int64(1908)})
	m.migrate(sc) // the old declaration still fits
	m.put(sc, map[string]any{"id": int64(2), "model": "Ka", "year": int64(1996)})
}

func testMigrationRetypedField(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	m.migrate(Cars(t, nil))
	m.refused(Cars(t, func(r *restkit.Resource) { FieldOf(r, "year").Type = restkit.TypeString }), "cars.year",
		`resource cars: field "year" changed type from integer to string, but its column holds integer values; `)
	m.refused(Cars(t, func(r *restkit.Resource) { FieldOf(r, "color").Type = restkit.TypeDatetime }), "cars.color",
		`resource cars: field "color" changed type from string to datetime, but its column holds string values; `)
	// Between types stored alike it is a widening (an enum becoming a string), which
	// is allowed, or a narrowing (a string becoming an enum), which is destructive:
	// restkit migrate checks every value first.
	toEnum := Cars(t, func(r *restkit.Resource) {
		f := FieldOf(r, "color")
		f.Type, f.Values = restkit.TypeEnum, []string{"black", "red"}
	})
	m.refused(toEnum, "cars.color", `resource cars: field "color" now allows fewer values (string → enum); restore the declaration, or check every stored value and apply it; `+
		`restkit migrate --dry-run (with the same --config and --data) shows the plan, and restkit migrate --allow-destructive carries it out`)
	migrateWith(t, m.s, toEnum, restkit.MigrateOptions{AllowDestructive: true})
	m.put(toEnum, map[string]any{"id": int64(1), "model": "T", "color": "black"})
	sameValues(t, "an enum value", m.find(toEnum, 1), map[string]any{"id": int64(1), "model": "T", "color": "black"})
	m.migrate(Cars(t, nil)) // back to a string: wider, allowed
	sameValues(t, "the value as a string", m.find(Cars(t, nil), 1), map[string]any{"id": int64(1), "model": "T", "color": "black"})
}

func testMigrationChangedKey(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	m.migrate(Cars(t, nil))
	m.refused(Cars(t, func(r *restkit.Resource) {
		r.Key = "vin"
		r.Fields = append(r.Fields, &restkit.Field{Name: "vin", Type: restkit.TypeString})
		Without(r, "id")
	}), "cars.vin",
		`resource cars: the key changed from "id" (integer) to "vin" (string), but the table is keyed by "id"; restore the key, or declare a new resource and copy the records into it`)
	m.refused(Cars(t, func(r *restkit.Resource) { FieldOf(r, "id").Type = restkit.TypeString }), "cars.id",
		`resource cars: the key changed from "id" (integer) to "id" (string), but the table is keyed by "id"; restore the key, or declare a new resource and copy the records into it`)
}

// withMakers is Cars with a makers resource; edit changes cars before Prepare.
func withMakers(t testing.TB, edit func(r *restkit.Resource)) *restkit.Schema {
	t.Helper()
	makers := &restkit.Resource{Name: "makers", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{carsResource(edit), makers}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	return sc
}

// testMigrationAddsRelations: a relation added to a table with records is refused
// when it is required without a default, or when its default names a record that
// does not exist; an optional one, or one whose default exists, is added, and the
// records take the default.
func testMigrationAddsRelations(t *testing.T, open func(t *testing.T) restkit.Store) {
	m := openMigrations(t, open)
	base := withMakers(t, nil)
	m.migrate(base)
	m.put(base, map[string]any{"id": int64(1), "model": "T"})
	relation := func(def any, required bool) func(r *restkit.Resource) {
		return func(r *restkit.Resource) {
			r.Fields = append(r.Fields, &restkit.Field{Name: "maker", Type: restkit.TypeRelation, To: "makers", Default: def, Required: required})
		}
	}
	m.refused(withMakers(t, relation(nil, true)), "cars.maker",
		`resource cars: new field "maker" is required and has no default, but the table already holds records; `)
	m.refused(withMakers(t, relation(int64(7), false)), "cars.maker",
		`resource cars: new relation "maker" would give the records it already holds its default, id 7, but no maker has that id; `)
	if _, err := m.s.WriteRecord(m.ctx, base.APIs[0].Resources[1], int64(7), func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"id": int64(7)}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	sc := withMakers(t, relation(int64(7), false))
	m.migrate(sc)
	sameValues(t, "a record given the new relation's default", m.find(sc, 1), map[string]any{"id": int64(1), "model": "T", "maker": int64(7)})
	// The relation holds: a record that refers to a missing maker is refused.
	_, err := m.s.WriteRecord(m.ctx, sc.APIs[0].Resources[0], int64(2), func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"id": int64(2), "model": "A", "maker": int64(8)}}, nil
	})
	wantKind(t, "a reference to a missing maker after the migration", err, restkit.Invalid)
}
