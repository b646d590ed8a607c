package sqlstore

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

// cars is a prepared resource: the key id, then the fields given.
func cars(tb testing.TB, fields ...*restkit.Field) *restkit.Resource {
	tb.Helper()
	r := &restkit.Resource{Name: "cars", Key: "id", Fields: append([]*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}, fields...)}
	if err := (&restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{r}}}}).Prepare(); err != nil {
		tb.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	return r
}

// fake is a dialect whose column types are the kinds' names; it counts HasRows.
func fake(rows bool, asked *int) Dialect {
	return Dialect{
		ColumnType: func(k Kind) string { return [...]string{"text", "int", "real", "bool", "time"}[k] },
		SameType:   strings.EqualFold,
		HasRows:    func() (bool, error) { *asked++; return rows, nil },
	}
}

// stored is the metadata of a table made for cars with id and model (string).
var stored = Found{
	Columns: map[string]string{"id": "INT", "model": "TEXT"},
	Stored:  map[string]StoredField{"id": {Type: string(restkit.TypeInteger), Key: true}, "model": {Type: string(restkit.TypeString)}},
}

func messages(m *Migration) string {
	var b strings.Builder
	for _, p := range m.Problems {
		b.WriteString(p.Field + ": " + p.Message + "\n")
	}
	return b.String()
}

func TestPlanAddsColumns(t *testing.T) {
	var asked int
	res := cars(t, &restkit.Field{Name: "model", Type: restkit.TypeString, MaxLength: new(10)}, // a spec recorded for the first time
		&restkit.Field{Name: "year", Type: restkit.TypeInteger},
		&restkit.Field{Name: "seats", Type: restkit.TypeInteger, Default: int64(4)})
	m := &Migration{Res: res, Dialect: fake(true, &asked)}
	p, err := m.Plan(stored)
	if err != nil || len(m.Problems) > 0 {
		t.Fatalf("Plan = %v, %s", err, messages(m))
	}
	if len(p.Renames)+len(p.Drops)+len(p.Retypes)+len(p.Narrows) > 0 {
		t.Errorf("plan %+v, want only new columns", p)
	}
	var got []string
	for _, c := range p.Add {
		got = append(got, c.Field.Name+" "+c.Type+map[bool]string{true: " fill"}[c.Fill])
	}
	if want := []string{"year int", "seats int fill"}; !slices.Equal(got, want) {
		t.Errorf("columns to add = %q, want %q", got, want)
	}
	if asked != 1 {
		t.Errorf("HasRows asked %d times, want once", asked)
	}

	// Nothing new: the table's rows are not asked about.
	asked = 0
	m = &Migration{Res: cars(t, &restkit.Field{Name: "model", Type: restkit.TypeString}), Dialect: fake(true, &asked)}
	if p, err := m.Plan(stored); err != nil || len(p.Add) > 0 || len(m.Steps) > 0 || len(m.Problems) > 0 || asked != 0 {
		t.Errorf("Plan of the same declaration = %+v, %v, %s; HasRows asked %d times", p, err, messages(m), asked)
	}
}

// TestPlanRefuses: every refusal in one declaration, in the order the stores have
// always reported them (stored fields by name, then new fields in declaration
// order, a store's Fill refusal in its place among them), and nothing to add.
func TestPlanRefuses(t *testing.T) {
	var asked int
	found := Found{
		Columns: map[string]string{"id": "INT", "model": "TEXT", "year": "TEXT", "color": "TEXT", "doors": "TEXT"},
		Stored: map[string]StoredField{"id": {Type: string(restkit.TypeInteger), Key: true},
			"model": {Type: string(restkit.TypeString)}, "year": {Type: string(restkit.TypeString)}, "color": {Type: string(restkit.TypeString)}},
	}
	res := cars(t,
		&restkit.Field{Name: "year", Type: restkit.TypeInteger},
		&restkit.Field{Name: "color", Type: restkit.TypeString},
		&restkit.Field{Name: "label", Type: restkit.TypeString, Default: "x"},
		&restkit.Field{Name: "doors", Type: restkit.TypeInteger},
		&restkit.Field{Name: "vin", Type: restkit.TypeString, Required: true},
		&restkit.Field{Name: "seats", Type: restkit.TypeInteger})
	m := &Migration{Res: res, Dialect: fake(true, &asked)}
	m.Fill = func(f *restkit.Field) string { return "cannot fill " + f.Name }
	p, err := m.Plan(found)
	if err != nil || p != nil {
		t.Fatalf("Plan = %v, %v; want refusals and no plan", p, err)
	}
	want := `cars.model: resource cars: field "model" was removed from the declaration but the table still holds it; restore the field, or drop it with its values; ` + MigrateHint + `
cars.year: resource cars: field "year" changed type from string to integer, but its column holds string values; restore the type, or convert them; ` + MigrateHint + `
cars.label: resource cars: cannot fill label
cars.doors: resource cars: field "doors" is new, but the table already has a column "doors" of type TEXT, not int; rename the field, or replace the column; ` + MigrateHint + `
cars.vin: resource cars: new field "vin" is required and has no default, but the table already holds records; give the field a default, or make it optional
`
	if got := messages(m); got != want {
		t.Errorf("refusals:\n%s\nwant\n%s", got, want)
	}

	// The key changed: refused alone.
	m = &Migration{Res: cars(t, &restkit.Field{Name: "model", Type: restkit.TypeString}), Dialect: fake(true, &asked)}
	m.Res.Key = "model"
	if p, _ := m.Plan(stored); p != nil || len(m.Problems) != 1 || !strings.Contains(m.Problems[0].Message, `the key changed from "id" (integer) to "model" (string)`) {
		t.Errorf("changed key: %v, %s", p, messages(m))
	}

	// A table without metadata is not restkit's.
	m = &Migration{Res: cars(t), Dialect: fake(true, &asked)}
	if p, _ := m.Plan(Found{Columns: map[string]string{"id": "INT"}}); p != nil || len(m.Problems) != 1 || m.Problems[0].Field != "cars" {
		t.Errorf("foreign table: %v, %s", p, messages(m))
	}
}

func TestPlanHasRowsError(t *testing.T) {
	boom := errors.New("boom")
	m := &Migration{Res: cars(t, &restkit.Field{Name: "model", Type: restkit.TypeString}, &restkit.Field{Name: "year", Type: restkit.TypeInteger}),
		Dialect: fake(false, new(int))}
	m.HasRows = func() (bool, error) { return false, boom }
	if _, err := m.Plan(stored); !errors.Is(err, boom) {
		t.Errorf("Plan = %v, want HasRows's error", err)
	}
}

func TestIndexChanges(t *testing.T) {
	existing := map[string]string{"cars:b:sort": "b", "cars:a:sort": "a", "cars:c:unique": "c"}
	want := map[string]int{"cars:c:unique": 0, "cars:e:sort": 0, "cars:d:unique": 0}
	drop, create := IndexChanges(existing, want)
	if !slices.Equal(drop, []string{"cars:a:sort", "cars:b:sort"}) || !slices.Equal(create, []string{"cars:d:unique", "cars:e:sort"}) {
		t.Errorf("IndexChanges = drop %q, create %q", drop, create)
	}
}
