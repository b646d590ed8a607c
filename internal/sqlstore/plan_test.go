package sqlstore

import (
	"testing"
	"time"

	"github.com/restkit/restkit"
)

func TestConvert(t *testing.T) {
	prepared := func(f *restkit.Field) *restkit.Field {
		cars(t, f) // prepares it
		return f
	}
	integer := prepared(&restkit.Field{Name: "n", Type: restkit.TypeInteger, Min: new(0.0)})
	number := prepared(&restkit.Field{Name: "n", Type: restkit.TypeNumber})
	text := prepared(&restkit.Field{Name: "n", Type: restkit.TypeString, MaxLength: new(4)})
	boolean := prepared(&restkit.Field{Name: "n", Type: restkit.TypeBoolean})
	when := prepared(&restkit.Field{Name: "n", Type: restkit.TypeDatetime})
	enum := prepared(&restkit.Field{Name: "n", Type: restkit.TypeEnum, Values: []string{"1", "2"}})
	day := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		v    any
		from string
		f    *restkit.Field
		want any
		why  string
	}{
		{int64(1908), "integer", text, "1908", ""},
		{int64(19080), "integer", text, nil, `"19080" must be at most 4 characters long`},
		{1.5, "number", text, "1.5", ""},
		{"12", "string", integer, int64(12), ""},
		{"12.0", "string", integer, int64(12), ""},
		{"soon", "string", integer, nil, `"soon" is not a number`},
		{"-1", "string", integer, nil, "-1 must be at least 0"},
		{2.5, "number", integer, nil, "2.5 must be an integer"},
		{int64(3), "integer", number, 3.0, ""},
		{"true", "string", boolean, true, ""},
		{"yes", "string", boolean, nil, `"yes" is not true or false`},
		{int64(1), "integer", boolean, true, ""},
		{true, "boolean", text, "true", ""},
		{"2026-01-02T03:04:05Z", "string", when, day, ""},
		{day, "datetime", prepared(&restkit.Field{Name: "n", Type: restkit.TypeString}), "2026-01-02T03:04:05Z", ""},
		{int64(2), "integer", enum, "2", ""},
		{int64(3), "integer", enum, nil, `"3" must be one of 1, 2`},
		{nil, "integer", text, nil, ""},
	} {
		got, why := Convert(tc.v, tc.from, tc.f)
		if why != tc.why || (why == "" && !restkit.Equal(got, tc.want)) {
			t.Errorf("Convert(%v %s → %s) = %v, %q; want %v, %q", tc.v, tc.from, tc.f.Type, got, why, tc.want, tc.why)
		}
	}
}

func TestNarrowing(t *testing.T) {
	stored := func(f *restkit.Field) StoredField {
		cars(t, f)
		return StoredField{Type: f.DeclaredType(), Spec: FieldSpec(f)}
	}
	for _, tc := range []struct {
		name     string
		old, cur *restkit.Field
		want     string
	}{
		{"same", &restkit.Field{Name: "c", Type: restkit.TypeString}, &restkit.Field{Name: "c", Type: restkit.TypeString}, ""},
		{"string to enum", &restkit.Field{Name: "c", Type: restkit.TypeString}, &restkit.Field{Name: "c", Type: restkit.TypeEnum, Values: []string{"a"}}, "string → enum"},
		{"enum to string is wider", &restkit.Field{Name: "c", Type: restkit.TypeEnum, Values: []string{"a"}}, &restkit.Field{Name: "c", Type: restkit.TypeString}, ""},
		{"values removed", &restkit.Field{Name: "c", Type: restkit.TypeEnum, Values: []string{"a", "b", "c"}},
			&restkit.Field{Name: "c", Type: restkit.TypeEnum, Values: []string{"b", "d"}}, "values no longer allowed: a, c"},
		{"values added", &restkit.Field{Name: "c", Type: restkit.TypeEnum, Values: []string{"a"}}, &restkit.Field{Name: "c", Type: restkit.TypeEnum, Values: []string{"a", "b"}}, ""},
		{"lengths", &restkit.Field{Name: "c", Type: restkit.TypeString, MaxLength: new(10)},
			&restkit.Field{Name: "c", Type: restkit.TypeString, MinLength: new(2), MaxLength: new(5)}, "minLength none → 2, maxLength 10 → 5"},
		{"longer", &restkit.Field{Name: "c", Type: restkit.TypeString, MaxLength: new(10)}, &restkit.Field{Name: "c", Type: restkit.TypeString, MaxLength: new(20)}, ""},
		{"range", &restkit.Field{Name: "c", Type: restkit.TypeInteger, Min: new(0.0), Max: new(10.0)},
			&restkit.Field{Name: "c", Type: restkit.TypeInteger, Min: new(1.0), Max: new(10.0)}, "min 0 → 1"},
		{"pattern", &restkit.Field{Name: "c", Type: restkit.TypeString}, &restkit.Field{Name: "c", Type: restkit.TypeString, Pattern: "^a"}, `pattern "^a"`},
	} {
		if got := narrowing(stored(tc.old), tc.cur); got != tc.want {
			t.Errorf("%s: narrowing = %q, want %q", tc.name, got, tc.want)
		}
	}
	// A spec recorded before specs were kept: only a change of type shows.
	if got := narrowing(StoredField{Type: "enum"}, &restkit.Field{Name: "c", Type: restkit.TypeEnum, Values: []string{"a"}}); got != "" {
		t.Errorf("unknown spec: %q", got)
	}
}

// TestPlanRenames: renamed_from takes over a stored column; a column of the new name
// already there is refused; once renamed, it plans nothing.
func TestPlanRenames(t *testing.T) {
	var asked int
	renamed := &restkit.Field{Name: "title", Type: restkit.TypeString, RenamedFrom: "model"}
	m := &Migration{Res: cars(t, renamed), Dialect: fake(true, &asked)}
	p, err := m.Plan(stored)
	if err != nil || len(m.Problems) > 0 || len(p.Renames) != 1 || p.Renames[0].From != "model" || len(p.Add)+len(p.Drops) != 0 {
		t.Fatalf("Plan = %+v, %v, %s", p, err, messages(m))
	}
	clash := Found{Columns: map[string]string{"id": "INT", "model": "TEXT", "title": "TEXT"}, Stored: stored.Stored}
	m = &Migration{Res: cars(t, &restkit.Field{Name: "title", Type: restkit.TypeString, RenamedFrom: "model"}), Dialect: fake(true, &asked)}
	if p, _ := m.Plan(clash); p != nil || len(m.Problems) != 1 || m.Problems[0].Message != `resource cars: field "title" is renamed from "model", but the table already has a column "title"; rename the field, or remove renamed_from` {
		t.Errorf("clash: %v, %s", p, messages(m))
	}
	done := Found{Columns: map[string]string{"id": "INT", "title": "TEXT"},
		Stored: map[string]StoredField{"id": {Type: "integer", Key: true}, "title": {Type: "string", Spec: "{}"}}}
	m = &Migration{Res: cars(t, &restkit.Field{Name: "title", Type: restkit.TypeString, RenamedFrom: "model"}), Dialect: fake(true, &asked)}
	if p, err := m.Plan(done); err != nil || len(m.Steps) != 0 || len(p.Renames) != 0 {
		t.Errorf("after the rename: %+v, %v, steps %v", p, err, m.Steps)
	}
}

func TestMigrateNoun(t *testing.T) {
	sc := &restkit.Schema{APIs: []*restkit.API{{Nouns: []*restkit.Noun{{Name: "led", Fields: []*restkit.Field{
		{Name: "power", Type: restkit.TypeEnum, Values: []string{"on", "off"}, RenamedFrom: "state"},
		{Name: "level", Type: restkit.TypeInteger, Max: new(10.0)},
	}}}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	n := sc.APIs[0].Nouns[0]
	state := `{"level":30,"old":true,"state":"on"}`
	next, steps, problems, err := MigrateNoun(n, state, restkit.MigrateOptions{})
	if err != nil || next != "" || len(steps) != 3 || len(problems) != 2 {
		t.Fatalf("MigrateNoun = %q, %v, %v, %v", next, steps, problems, err)
	}
	next, _, problems, err = MigrateNoun(n, state, restkit.MigrateOptions{AllowDestructive: true})
	if err != nil || len(problems) != 0 || next != `{"power":"on"}` {
		t.Errorf("allowed: %q, %v, %v", next, problems, err)
	}
	if next, steps, _, _ := MigrateNoun(n, `{"power":"off"}`, restkit.MigrateOptions{}); next != "" || len(steps) != 0 {
		t.Errorf("a state that fits: %q, %v", next, steps)
	}
}
