package restkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

func ptr[T any](v T) *T { return &v }

// carsSchema is a small declaration exercising every field type and constraint.
func carsSchema(t testing.TB) (*restkit.Resource, *restkit.Noun) {
	t.Helper()
	cars := &restkit.Resource{
		Name: "cars", Key: "id",
		Fields: []*restkit.Field{
			{Name: "id", Type: restkit.TypeInteger, Min: ptr(1.0)},
			{Name: "model", Type: restkit.TypeString, Required: true, MaxLength: ptr(10), Pattern: `^[A-Za-z0-9 ]+$`},
			{Name: "year", Type: restkit.TypeInteger, Min: ptr(1886.0), Max: ptr(2100.0)},
			{Name: "price", Type: restkit.TypeNumber, Min: ptr(0.0)},
			{Name: "electric", Type: restkit.TypeBoolean, Default: false},
			{Name: "sold", Type: restkit.TypeDatetime, Nullable: true},
			{Name: "color", Type: restkit.TypeEnum, Values: []string{"red", "blue"}, Default: "red"},
			{Name: "owner", Type: restkit.TypeEmail, Nullable: true},
			{Name: "site", Type: restkit.TypeURL},
			{Name: "serial", Type: restkit.TypeString, ReadOnly: true, Default: "none"},
		},
	}
	led := &restkit.Noun{
		Name: "led",
		Fields: []*restkit.Field{
			{Name: "state", Type: restkit.TypeEnum, Values: []string{"on", "off"}, Default: "off"},
			{Name: "brightness", Type: restkit.TypeInteger, Min: ptr(0.0), Max: ptr(100.0), Default: 50},
			{Name: "label", Type: restkit.TypeString, Nullable: true},
		},
		Update: restkit.Update{Op: restkit.UpdateToggle, Field: "state"},
	}
	s := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{cars}, Nouns: []*restkit.Noun{led}}}}
	if err := s.Prepare(); err != nil {
		t.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	return cars, led
}

func mustParse(t testing.TB, body string) map[string]any {
	t.Helper()
	m, err := restkit.ParseObject([]byte(body), restkit.Limits{})
	if err != nil {
		t.Fatalf("ParseObject(%s): %v", body, err)
	}
	return m
}

func TestBuildCreate(t *testing.T) {
	cars, _ := carsSchema(t)
	tests := []struct {
		name   string
		body   string
		want   map[string]any
		errors []restkit.FieldError
	}{
		{name: "minimal, defaults applied",
			body: `{"id":1,"model":"Golf"}`,
			want: map[string]any{"id": int64(1), "model": "Golf", "electric": false, "color": "red", "sold": nil, "owner": nil, "serial": "none"}},
		{name: "every type",
			body: `{"id":2,"model":"Zoe","year":2020,"price":9.5,"electric":true,"sold":"2024-05-01T12:00:00.5+02:00","color":"blue","owner":"a@b.c","site":"https://x.example/p"}`,
			want: map[string]any{"id": int64(2), "model": "Zoe", "year": int64(2020), "price": 9.5, "electric": true,
				"sold": time.Date(2024, 5, 1, 10, 0, 0, 500000000, time.UTC), "color": "blue", "owner": "a@b.c", "site": "https://x.example/p", "serial": "none"}},
		{name: "integral float is an integer", body: `{"id":3e0,"model":"A","year":2.01e3}`,
			want: map[string]any{"id": int64(3), "model": "A", "year": int64(2010), "electric": false, "color": "red", "sold": nil, "owner": nil, "serial": "none"}},
		{name: "every failure listed, sorted by field",
			body: `{"id":0,"model":"way too long model","year":1.5,"price":"9","electric":"yes","sold":"yesterday","color":"green","owner":"Fred <f@x.y>","site":"ftp://x","extra":1}`,
			errors: []restkit.FieldError{
				{Field: "color", Message: "must be one of red, blue"},
				{Field: "electric", Message: "must be true or false"},
				{Field: "extra", Message: "is not a field of cars"},
				{Field: "id", Message: "must be at least 1"},
				{Field: "model", Message: "must be at most 10 characters long"},
				{Field: "owner", Message: "must be an email address such as name@example.com"},
				{Field: "price", Message: "must be a number"},
				{Field: "site", Message: "must be an absolute http or https URL"},
				{Field: "sold", Message: "must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z"},
				{Field: "year", Message: "must be an integer"},
			}},
		{name: "required and null", body: `{"model":null,"year":null}`,
			errors: []restkit.FieldError{{"id", "is required"}, {"model", "must not be null"}, {"year", "must not be null"}}},
		{name: "pattern", body: `{"id":4,"model":"a-b"}`, errors: []restkit.FieldError{{"model", "must match the pattern ^[A-Za-z0-9 ]+$"}}},
		{name: "read-only may echo its value only", body: `{"id":5,"model":"A","serial":"X1"}`, errors: []restkit.FieldError{{"serial", "is read-only"}}},
		{name: "integer out of range", body: `{"id":99999999999999999999,"model":"A"}`, errors: []restkit.FieldError{{"id", "is out of range"}}},
		{name: "max length counts characters, not bytes", body: `{"id":6,"model":"ÄÖÜäöüßÄÖÜ"}`, errors: []restkit.FieldError{{"model", "must match the pattern ^[A-Za-z0-9 ]+$"}}},
		{name: "year above max", body: `{"id":7,"model":"A","year":2101}`, errors: []restkit.FieldError{{"year", "must be at most 2100"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cars.Build(mustParse(t, tt.body), nil, nil, restkit.Create)
			if tt.errors != nil {
				if !restkit.IsKind(err, restkit.Invalid) {
					t.Fatalf("err = %v, want Invalid", err)
				}
				if fe := restkit.ErrorFields(err); !reflect.DeepEqual(fe, tt.errors) {
					t.Fatalf("fields =\n%v\nwant\n%v", fe, tt.errors)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build: %v %v", err, restkit.ErrorFields(err))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestBuildReplaceAndPatch(t *testing.T) {
	cars, _ := carsSchema(t)
	cur := &restkit.Record{Values: map[string]any{"id": int64(9), "model": "Golf", "year": int64(2000), "electric": true, "color": "blue", "sold": nil, "owner": "o@x.y", "serial": "S9"}, Rev: 3}

	got, err := cars.Build(mustParse(t, `{"model":"Polo","serial":"S9"}`), cur, int64(9), restkit.Replace)
	if err != nil {
		t.Fatal(err, restkit.ErrorFields(err))
	}
	want := map[string]any{"id": int64(9), "model": "Polo", "electric": false, "color": "red", "sold": nil, "owner": nil, "serial": "S9"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("replace: got %#v\nwant %#v", got, want)
	}

	_, err = cars.Build(mustParse(t, `{"id":10,"model":"Polo"}`), cur, int64(9), restkit.Replace)
	if fe := restkit.ErrorFields(err); len(fe) != 1 || fe[0] != (restkit.FieldError{"id", "does not match the key in the URL (9)"}) {
		t.Fatalf("key mismatch: %v", fe)
	}

	got, err = cars.Build(mustParse(t, `{"year":null,"owner":null,"color":"red"}`), cur, int64(9), restkit.Patch)
	if err != nil {
		t.Fatal(err, restkit.ErrorFields(err))
	}
	want = map[string]any{"id": int64(9), "model": "Golf", "electric": true, "color": "red", "sold": nil, "owner": nil, "serial": "S9"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("patch: got %#v\nwant %#v", got, want)
	}

	_, err = cars.Build(mustParse(t, `{"model":null}`), cur, int64(9), restkit.Patch)
	if fe := restkit.ErrorFields(err); len(fe) != 1 || fe[0] != (restkit.FieldError{"model", "is required"}) {
		t.Fatalf("patch removing a required field: %v", fe)
	}
}

func TestPrepareRejectsBadDeclarations(t *testing.T) {
	s := &restkit.Schema{APIs: []*restkit.API{{Base: "v1", Resources: []*restkit.Resource{
		{Name: "Cars", Key: "nope", Fields: []*restkit.Field{{Name: "a", Type: "strnig"}, {Name: "b", Type: restkit.TypeInteger, Min: ptr(5.0), Max: ptr(1.0)}}},
		{Name: "x", Key: "k", KeySource: restkit.KeyGenerated, Fields: []*restkit.Field{{Name: "k", Type: restkit.TypeNumber}}},
	}, Nouns: []*restkit.Noun{{Name: "x", Fields: []*restkit.Field{{Name: "n", Type: restkit.TypeString}}, Update: restkit.Update{Op: restkit.UpdateIncrement, Field: "n"}}}}}}
	err := s.Prepare()
	var got []string
	for _, fe := range restkit.ErrorFields(err) {
		got = append(got, fe.Field+": "+fe.Message)
	}
	want := []string{
		`apis[0].base: base must be empty or a path like /v1, got "v1"`,
		`apis[0].resources.Cars: resource name must match ^[a-z][a-z0-9_]{0,62}$`,
		`apis[0].resources.Cars.fields.a.type: unknown type "strnig"; one of string, integer, number, boolean, datetime, enum, email, url, relation, json, array`,
		`apis[0].resources.Cars.fields.b: min 5 is greater than max 1`,
		`apis[0].resources.Cars.key: key "nope" is not a declared field`,
		`apis[0].resources.x.key: a generated key must be an integer field (1, 2, 3…) or a string field (a UUIDv7), not "number"`,
		`apis[0].nouns.x: path v1/x is already used by apis[0].resources.x`,
		`apis[0].nouns.x.update: increment needs an integer or number field, n is string`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestDatetimeRangeIsCheckedInUTC(t *testing.T) {
	f := &restkit.Field{Name: "d", Type: restkit.TypeDatetime}
	for in, ok := range map[string]bool{
		"9999-12-31T23:59:59Z":      true,
		"9999-12-31T23:59:59-05:00": false, // year 10000 in UTC
		"0001-01-01T00:00:00Z":      true,
		"0001-01-01T00:00:00+01:00": false, // year 0 in UTC
		"2024-02-30T00:00:00Z":      false,
	} {
		_, verr := f.Canonical(in)
		if (verr == nil) != ok {
			t.Errorf("%s: accepted=%v, want %v", in, verr == nil, ok)
		}
	}
}

func TestKeysMustBeAddressable(t *testing.T) {
	notes := &restkit.Resource{Name: "notes", Key: "k", Fields: []*restkit.Field{{Name: "k", Type: restkit.TypeString}}}
	if err := (&restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{notes}}}}).Prepare(); err != nil {
		t.Fatal(err)
	}
	for key, msg := range map[string]string{
		"":         "must not be empty",
		".":        `must not be "." or ".."`,
		"..":       `must not be "." or ".."`,
		`a\u0001b`: "must be valid UTF-8 without control characters",
		"ok":       "",
	} {
		_, err := notes.Build(mustParse(t, `{"k":"`+key+`"}`), nil, nil, restkit.Create)
		got := ""
		if fe := restkit.ErrorFields(err); len(fe) > 0 {
			got = fe[0].Message
		}
		if got != msg {
			t.Errorf("key %q: %q, want %q", key, got, msg)
		}
	}
}

func TestIncrementOverflowIsAConflict(t *testing.T) {
	for _, tt := range []struct {
		typ restkit.FieldType
		by  float64
		cur any
	}{
		{restkit.TypeInteger, 1 << 62, int64(1 << 62)},
		{restkit.TypeInteger, -(1 << 62), int64(-(1 << 62)) - 1},
		{restkit.TypeNumber, 1e308, 1e308},
	} {
		n := &restkit.Noun{Name: "c", Fields: []*restkit.Field{{Name: "v", Type: tt.typ}}, Update: restkit.Update{Op: restkit.UpdateIncrement, Field: "v", By: tt.by}}
		if err := (&restkit.Schema{APIs: []*restkit.API{{Nouns: []*restkit.Noun{n}}}}).Prepare(); err != nil {
			t.Fatal(err)
		}
		_, err := n.Apply(context.Background(), map[string]any{"v": tt.cur}, nil)
		if !restkit.IsKind(err, restkit.Conflict) {
			t.Errorf("%s %v + %v: %v, want Conflict", tt.typ, tt.cur, tt.by, err)
		}
	}
}

func TestNounStateAddsNewFieldsAndDropsOldOnes(t *testing.T) {
	_, led := carsSchema(t)
	got := led.State(map[string]any{"state": "on", "gone": 1})
	if want := map[string]any{"state": "on", "brightness": int64(50), "label": nil}; !reflect.DeepEqual(got, want) {
		t.Fatalf("%#v", got)
	}
}

func TestPrepareRejectsStorageCollisions(t *testing.T) {
	field := func() []*restkit.Field { return []*restkit.Field{{Name: "k", Type: restkit.TypeString}} }
	s := &restkit.Schema{APIs: []*restkit.API{
		{Resources: []*restkit.Resource{{Name: "v1_people", Key: "k", Fields: field()}}},
		{Base: "/v1", Resources: []*restkit.Resource{{Name: "people", Key: "k", Fields: field()}}},
	}}
	fe := restkit.ErrorFields(s.Prepare())
	if len(fe) != 1 || fe[0].Message != `its storage name "v1_people" is also apis[0].resources.v1_people's; rename one of them` {
		t.Fatalf("%v", fe)
	}
}

func TestNounUpdates(t *testing.T) {
	_, led := carsSchema(t)
	ctx := context.Background()
	state := led.Defaults()
	if want := map[string]any{"state": "off", "brightness": int64(50), "label": nil}; !reflect.DeepEqual(state, want) {
		t.Fatalf("defaults %#v", state)
	}
	next, err := led.Apply(ctx, state, nil)
	if err != nil || next["state"] != "on" || state["state"] != "off" {
		t.Fatalf("toggle: %v %v (input must not change: %v)", next, err, state)
	}
	if _, err := led.Apply(ctx, state, map[string]any{"x": true}); !restkit.IsKind(err, restkit.Invalid) {
		t.Fatalf("toggle with a body: %v", err)
	}
	set, err := led.Set(map[string]any{"brightness": json.Number("7")}, next)
	if err != nil || !reflect.DeepEqual(set, map[string]any{"state": "off", "brightness": int64(7), "label": nil}) {
		t.Fatalf("PUT sets exactly (absent fields take defaults): %v %v", set, err)
	}
	if _, err := led.Set(map[string]any{"brightness": json.Number("101")}, next); !restkit.IsKind(err, restkit.Invalid) {
		t.Fatalf("PUT out of range: %v", err)
	}

	inc := *led
	inc.Update = restkit.Update{Op: restkit.UpdateIncrement, Field: "brightness", By: 30}
	s := &restkit.Schema{APIs: []*restkit.API{{Nouns: []*restkit.Noun{&inc}}}}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	v, err := inc.Apply(ctx, map[string]any{"brightness": int64(60)}, nil)
	if err != nil || v["brightness"] != int64(90) {
		t.Fatalf("increment: %v %v", v, err)
	}
	if _, err := inc.Apply(ctx, v, nil); !restkit.IsKind(err, restkit.Conflict) {
		t.Fatalf("increment past max must be a Conflict, got %v", err)
	}

	hook := *led
	hook.Update = restkit.Update{Op: restkit.UpdateHook, Hook: func(_ context.Context, st, body map[string]any) (map[string]any, error) {
		st["label"] = "hooked"
		return st, nil
	}}
	s = &restkit.Schema{APIs: []*restkit.API{{Nouns: []*restkit.Noun{&hook}}}}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	if v, err := hook.Apply(ctx, led.Defaults(), nil); err != nil || v["label"] != "hooked" {
		t.Fatalf("hook: %v %v", v, err)
	}
}

func TestParseObject(t *testing.T) {
	tests := []struct {
		body string
		lim  restkit.Limits
		kind restkit.Kind
		msg  string
	}{
		{body: ``, kind: restkit.Invalid, msg: "the body is empty; send a JSON object"},
		{body: "  \n", kind: restkit.Invalid, msg: "the body is empty; send a JSON object"},
		{body: `[1]`, kind: restkit.Invalid, msg: "the body must be a JSON object"},
		{body: `"x"`, kind: restkit.Invalid, msg: "the body must be a JSON object"},
		{body: `{"a":1,"a":2}`, kind: restkit.Invalid, msg: `duplicate member "a"`},
		{body: `{"o":{"a":1,"a":2}}`, kind: restkit.Invalid, msg: `duplicate member "a" in o`},
		{body: `{"a":1} {}`, kind: restkit.Invalid, msg: "unexpected data after the JSON object, which ends at byte 7"},
		{body: `{"a":1}x`, kind: restkit.Invalid, msg: "unexpected data after the JSON object, which ends at byte 7"},
		{body: `{"a":}`, kind: restkit.Invalid, msg: "malformed JSON at byte 5"},
		{body: `{"a":1`, kind: restkit.Invalid, msg: "the JSON ends too early"},
		{body: "{\"a\":\"\xff\"}", kind: restkit.Invalid, msg: "the body is not valid UTF-8"},
		{body: `{"a":[1,{"b":[[[]]]}]}`, lim: restkit.Limits{MaxDepth: 3}, kind: restkit.Invalid, msg: "a[1].b: nested deeper than 3 levels"},
		{body: `{"a":1,"b":2,"c":3}`, lim: restkit.Limits{MaxMembers: 2}, kind: restkit.Invalid, msg: "the object has more than 2 members"},
		{body: `{"a":"` + strings.Repeat("x", 100) + `"}`, lim: restkit.Limits{MaxBytes: 50}, kind: restkit.TooLarge, msg: "the body is larger than 50 bytes"},
		{body: `{"a":{"b":1}}`, lim: restkit.NounLimits, kind: restkit.Invalid, msg: "a: only strings, numbers, booleans and null are accepted here, not objects or arrays"},
		{body: `{"a":[]}`, lim: restkit.NounLimits, kind: restkit.Invalid, msg: "a: only strings, numbers, booleans and null are accepted here, not objects or arrays"},
	}
	for _, tt := range tests {
		_, err := restkit.ParseObject([]byte(tt.body), tt.lim)
		if restkit.ErrorKind(err) != tt.kind || restkit.ErrorMessage(err) != tt.msg {
			t.Errorf("ParseObject(%q) = %v (%s), want %s %q", tt.body, err, restkit.ErrorKind(err), tt.kind, tt.msg)
		}
	}
	m, err := restkit.ParseObject([]byte(`{"big":9007199254740993,"s":"\u00e9\ud83d\ude00","n":null,"b":false,"a":[1,"x"],"o":{}}`), restkit.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"big": json.Number("9007199254740993"), "s": "é😀", "n": nil, "b": false, "a": []any{json.Number("1"), "x"}, "o": map[string]any{}}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("got %#v", m)
	}
	if m, err := restkit.ParseObject(nil, restkit.Limits{AllowEmpty: true}); m != nil || err != nil {
		t.Fatalf("AllowEmpty: %v %v", m, err)
	}
}

func TestNewKeyIsUUIDv7AndOrdered(t *testing.T) {
	prev := ""
	for i := 0; i < 10000; i++ {
		k := restkit.NewKey()
		if len(k) != 36 || k[14] != '7' || !strings.ContainsRune("89ab", rune(k[19])) {
			t.Fatalf("not a UUIDv7: %s", k)
		}
		if k <= prev {
			t.Fatalf("keys must increase within a process: %s after %s", k, prev)
		}
		prev = k
	}
}

func TestErrorsNeverLeakCauses(t *testing.T) {
	err := restkit.Wrap("sqlite.WriteRecord", &json.SyntaxError{})
	if restkit.ErrorMessage(err) != "internal error" || restkit.ErrorKind(err) != restkit.Internal {
		t.Fatalf("%v", err)
	}
	if !strings.Contains(err.Error(), "sqlite.WriteRecord") {
		t.Fatalf("the log form keeps the op: %v", err)
	}
	inner := restkit.Errorf(restkit.Conflict, "taken")
	if restkit.Wrap("op", inner) != error(inner) {
		t.Fatal("Wrap must keep domain errors")
	}
}

// FuzzParseObject: the body parser never panics, never makes up a U+FFFD the input did
// not hold (as encoding/json does for a lone surrogate escape), and what it accepts
// re-encodes to a document it accepts again with the same members.
func FuzzParseObject(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := restkit.ParseObject(data, restkit.Limits{MaxBytes: 1 << 16})
		if err != nil {
			if restkit.ErrorKind(err) == restkit.Internal {
				t.Fatalf("internal error for input: %v", err)
			}
			return
		}
		if !bytes.Contains(data, []byte("\ufffd")) && !bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`)) && holdsReplacement(m) {
			t.Fatalf("a U+FFFD that the input %q does not hold", data)
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, err := restkit.ParseObject(again, restkit.Limits{MaxBytes: 1 << 20})
		if err != nil || len(m2) != len(m) {
			t.Fatalf("round trip of %q: %v", again, err)
		}
	})
}

// FuzzNounBody: the noun path (bounded flat parser, then validation against a noun)
// never panics and never accepts an invalid state.
func FuzzNounBody(f *testing.F) {
	fuzzSeeds(f)
	_, led := carsSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		body, err := restkit.ParseObject(data, restkit.NounLimits)
		if err != nil {
			return
		}
		for _, v := range body {
			switch v.(type) {
			case map[string]any, []any:
				t.Fatalf("flat parser accepted a nested value: %q", data)
			}
		}
		state, err := led.Set(body, led.Defaults())
		if err != nil {
			return
		}
		for _, fld := range led.Fields {
			if msg := fld.Check(state[fld.Name]); msg != "" {
				t.Fatalf("accepted invalid %s: %s", fld.Name, msg)
			}
		}
	})
}

// holdsReplacement reports whether a parsed value holds U+FFFD in a string or a name.
func holdsReplacement(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.ContainsRune(x, '\ufffd')
	case []any:
		return slices.ContainsFunc(x, holdsReplacement)
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, '\ufffd') || holdsReplacement(e) {
				return true
			}
		}
	}
	return false
}

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{`{}`, `{"state":"on","brightness":7}`, `{"a":{"b":[1,2,{"c":null}]}}`, `{"a":1,"a":2}`, "{\"\xff\":1}", `{"brightness":1e400}`, `[]`, ``} {
		f.Add([]byte(s))
	}
}

func TestParseArray(t *testing.T) {
	got, err := restkit.ParseArray([]byte(` [{"a":1},{"b":"x"}] `), restkit.Limits{})
	if err != nil || len(got) != 2 || got[0]["a"] != json.Number("1") || got[1]["b"] != "x" {
		t.Fatalf("%v %v", got, err)
	}
	for body, msg := range map[string]string{
		`{}`:                      "the body must be a JSON array of objects",
		`[]`:                      "the array is empty; send at least one object",
		`[{"a":1},2]`:             "item 1 must be a JSON object",
		`[{"a":1},{"a":1,"a":2}]`: `duplicate member "a" in [1]`,
		`[{"a":1}] x`:             "unexpected data after the JSON array, which ends at byte 9",
		`[{"a":1}`:                "the JSON ends too early",
	} {
		if _, err := restkit.ParseArray([]byte(body), restkit.Limits{}); restkit.ErrorMessage(err) != msg {
			t.Errorf("%s: %v, want %q", body, err, msg)
		}
	}
	big := "[" + strings.Repeat(`{},`, restkit.MaxBatch) + "{}]"
	if _, err := restkit.ParseArray([]byte(big), restkit.Limits{MaxBytes: 1 << 20}); restkit.ErrorMessage(err) != "the array has more than 1000 items" {
		t.Errorf("too many items: %v", err)
	}
}
