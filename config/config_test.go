package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
)

// mustParse parses src and fails the test on any error.
func mustParse(tb testing.TB, src string) *Config {
	tb.Helper()
	c, err := Parse("t.yaml", []byte(src))
	if err != nil {
		tb.Fatalf("Parse: unexpected errors:\n%v", err)
	}
	return c
}

// lines returns the messages of a Parse error, one per problem.
func lines(tb testing.TB, err error) []string {
	tb.Helper()
	var es Errors
	if !errors.As(err, &es) {
		tb.Fatalf("Parse error is %T (%v), want config.Errors", err, err)
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Error()
	}
	return out
}

func fieldNames(fs []*restkit.Field) []string {
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	return names
}

func TestDemo(t *testing.T) {
	c, err := Parse("demo.yaml", Demo())
	if err != nil {
		t.Fatalf("the demo does not parse:\n%v", err)
	}
	if got, want := c.Server, (Server{Addr: "127.0.0.1:8080", Data: "./restkit-data"}); got != want {
		t.Errorf("server = %+v, want %+v", got, want)
	}
	wantArt := &Artefacts{Path: "/artefacts", Policy: artefact.Policy{MaxSize: 1 << 30, MinFree: 64 << 20}}
	if !reflect.DeepEqual(c.Artefacts, wantArt) {
		t.Errorf("artefacts = %+v, want %+v", c.Artefacts, wantArt)
	}
	apis := c.Schema.APIs
	if len(apis) != 2 {
		t.Fatalf("%d APIs, want 2", len(apis))
	}

	root := apis[0]
	if root.Base != "" || root.Envelope || len(root.Resources) != 1 || len(root.Nouns) != 1 {
		t.Fatalf("API 0 = base %q envelope %v, %d resources, %d nouns; want \"\", false, [cars], [led]",
			root.Base, root.Envelope, len(root.Resources), len(root.Nouns))
	}
	cars := root.Resources[0]
	if cars.Name != "cars" || cars.Key != "id" || cars.KeySource != restkit.KeyFromBody || !cars.History {
		t.Errorf("cars = name %q key %q from %q history %v", cars.Name, cars.Key, cars.KeySource, cars.History)
	}
	if got, want := fieldNames(cars.Fields), []string{"id", "model", "color", "year"}; !reflect.DeepEqual(got, want) {
		t.Errorf("cars fields = %v, want %v (declaration order)", got, want)
	}
	if got := cars.Collection; !reflect.DeepEqual(got, []string{"GET", "POST"}) {
		t.Errorf("cars collection = %v", got)
	}
	if got := cars.Item; !reflect.DeepEqual(got, []string{"GET", "PUT", "PATCH", "DELETE"}) {
		t.Errorf("cars item = %v", got)
	}
	if id := cars.Field("id"); id.Description != "The car's number, chosen by the client." || *id.Min != 1 {
		t.Errorf("cars.id = %+v", *id)
	}
	if year := cars.Field("year"); *year.Min != 1886 || *year.Max != 2100 || !year.Sortable || !year.Filterable {
		t.Errorf("cars.year = %+v", *year)
	}

	led := root.Nouns[0]
	if led.Name != "led" || led.Update.Op != restkit.UpdateToggle || led.Update.Field != "state" {
		t.Errorf("led = name %q update %+v, want toggle state", led.Name, led.Update)
	}
	state, brightness := led.Field("state"), led.Field("brightness")
	if state.Type != restkit.TypeEnum || !reflect.DeepEqual(state.Values, []string{"on", "off"}) || state.Default != "off" {
		t.Errorf("led.state = %+v, want enum [on off] default \"off\"", *state)
	}
	if brightness.Default != int64(50) {
		t.Errorf("led.brightness default = %#v, want int64(50)", brightness.Default)
	}

	v1 := apis[1]
	if v1.Base != "/v1" || !v1.Envelope || len(v1.Resources) != 1 || len(v1.Nouns) != 0 {
		t.Fatalf("API 1 = base %q envelope %v, %d resources, %d nouns; want /v1, true, [people], []",
			v1.Base, v1.Envelope, len(v1.Resources), len(v1.Nouns))
	}
	people := v1.Resources[0]
	if people.Name != "people" || people.Key != "name" || people.KeySource != restkit.KeyFromURL || !people.PutCreates {
		t.Errorf("people = name %q key %q from %q put_creates %v", people.Name, people.Key, people.KeySource, people.PutCreates)
	}
	if got, want := fieldNames(people.Fields), []string{"comment", "name", "email"}; !reflect.DeepEqual(got, want) {
		t.Errorf("people fields = %v, want %v (declaration order)", got, want)
	}
	if got := people.Collection; !reflect.DeepEqual(got, []string{"GET"}) {
		t.Errorf("people collection = %v", got)
	}
	if email := people.Field("email"); email.Type != restkit.TypeEmail || !email.Required {
		t.Errorf("people.email = %+v", *email)
	}
	if comment := people.Field("comment"); !comment.Nullable {
		t.Errorf("people.comment = %+v, want nullable", *comment)
	}
}

func TestDemoIsACopy(t *testing.T) {
	b := Demo()
	b[0] = 'X'
	if Demo()[0] == 'X' {
		t.Fatal("Demo returned the embedded bytes themselves")
	}
}

// TestBooleanLookalikes pins the YAML 1.1 gotcha: on/off/yes/no unquoted are words,
// and for string-like fields even true/false and numbers are taken as written.
func TestBooleanLookalikes(t *testing.T) {
	c := mustParse(t, `
apis:
  - nouns:
      led:
        fields:
          state: {type: enum, values: [on, off], default: off}
          answer: {type: enum, values: [yes, no, true, false], default: true}
          level: {type: enum, values: [1, 2, 3], default: 2}
          word: {type: string, default: 42}
          flag: {type: boolean, default: false}
          forced: {type: string, default: !!str true}
`)
	led := c.Schema.APIs[0].Nouns[0]
	for _, tc := range []struct {
		field  string
		values []string
		def    any
	}{
		{"state", []string{"on", "off"}, "off"},
		{"answer", []string{"yes", "no", "true", "false"}, "true"},
		{"level", []string{"1", "2", "3"}, "2"},
		{"word", nil, "42"},
		{"flag", nil, false},
		{"forced", nil, "true"},
	} {
		f := led.Field(tc.field)
		if !reflect.DeepEqual(f.Values, tc.values) || f.Default != tc.def {
			t.Errorf("%s: values %q default %#v, want %q %#v", tc.field, f.Values, f.Default, tc.values, tc.def)
		}
	}
}

func TestOrderIsDeclarationOrder(t *testing.T) {
	c := mustParse(t, `
apis:
  - resources:
      zebras: {key: z, fields: {z: {type: integer}, b: {type: string}, a: {type: string}}}
      apples: {key: id, fields: {id: {type: integer}}}
      mangos:
        key: m
        fields:
          y: {type: string}
          m: {type: string}
          c: {type: string}
    nouns:
      zz: {fields: {b: {type: integer}, a: {type: integer}}}
      aa: {fields: {x: {type: integer}}}
`)
	a := c.Schema.APIs[0]
	var resources, nouns []string
	for _, r := range a.Resources {
		resources = append(resources, r.Name)
	}
	for _, n := range a.Nouns {
		nouns = append(nouns, n.Name)
	}
	check := func(what string, got, want []string) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("resources", resources, []string{"zebras", "apples", "mangos"})
	check("nouns", nouns, []string{"zz", "aa"})
	check("zebras fields", fieldNames(a.Resources[0].Fields), []string{"z", "b", "a"})
	check("mangos fields", fieldNames(a.Resources[2].Fields), []string{"y", "m", "c"})
	check("zz fields", fieldNames(a.Nouns[0].Fields), []string{"b", "a"})
}

// TestUI: the console is on unless ui: false; anything but a boolean is an error at
// its line.
func TestUI(t *testing.T) {
	const api = "apis:\n  - resources:\n      cars: {key: id, fields: {id: {type: integer}}}\n"
	for src, off := range map[string]bool{api: false, api + "ui: true\n": false, api + "ui:\n": false, api + "ui: false\n": true} {
		if c := mustParse(t, src); c.DisableUI != off {
			t.Errorf("%q: DisableUI %v, want %v", src, c.DisableUI, off)
		}
	}
	_, err := Parse("t.yaml", []byte(api+"ui: off\n"))
	if err == nil || err.Error() != `t.yaml:4:5: ui must be true or false, not "off"` {
		t.Errorf("ui: off: %v", err)
	}
}

func TestSettings(t *testing.T) {
	c := mustParse(t, `
server:
  addr: ":9090"
  data: /var/lib/restkit
  log_format: json
  debug: true
  read_header_timeout: 2s
  min_upload_rate: 0
  upload_grace: 1m30s
  cors:
    origins: [https://app.example, "http://localhost:3000"]
    methods: [get, HEAD]
apis:
  - name: store
    base: /api/v2
    resources:
      items:
        description: Things.
        singular: thing
        key: id
        key_from: generated
        timestamps: true
        page_size: 10
        max_page_size: 50
        max_body: 512KiB
        collection: [get, Post]
        item: [GET, delete]
        fields:
          id: {type: string}
          price: {type: number, min: 0.5, max: 1e3, default: 2}
          name: {type: string, minLength: 1, maxLength: 80, pattern: "^[a-z]+$", unique: true}
          seen: {type: datetime, readOnly: true, default: 2024-05-01T12:00:00Z}
    nouns:
      counter:
        fields:
          n: {type: integer, default: 0}
        update: increment n 5
      knob:
        fields:
          x: {type: number}
        update: Increment x
      bag:
        update: merge
      plain:
        fields:
          x: {type: string}
`)
	cors := c.Server.CORS
	c.Server.CORS = nil
	if got, want := c.Server, (Server{Addr: ":9090", Data: "/var/lib/restkit", LogFormat: "json", Debug: true,
		ReadHeaderTimeout: 2 * time.Second, MinUploadRateSet: true, UploadGrace: 90 * time.Second}); got != want {
		t.Errorf("server = %+v, want %+v", got, want)
	}
	if want := (&CORS{Origins: []string{"https://app.example", "http://localhost:3000"}, Methods: []string{"GET", "HEAD"},
		Headers: []string{"Content-Type", "If-Match", "If-None-Match", "Authorization"}, MaxAge: 600}); !reflect.DeepEqual(cors, want) {
		t.Errorf("cors = %+v, want %+v", cors, want)
	}
	a := c.Schema.APIs[0]
	if a.Name != "store" || a.Base != "/api/v2" {
		t.Errorf("api = %q %q", a.Name, a.Base)
	}
	r := a.Resources[0]
	if r.Description != "Things." || r.Singular != "thing" || r.KeySource != restkit.KeyGenerated || !r.Timestamps ||
		r.PageSize != 10 || r.MaxPageSize != 50 || r.MaxBody != 512<<10 {
		t.Errorf("items = %+v", *r)
	}
	if !reflect.DeepEqual(r.Collection, []string{"GET", "POST"}) || !reflect.DeepEqual(r.Item, []string{"GET", "DELETE"}) {
		t.Errorf("verbs = %v %v, want upper case", r.Collection, r.Item)
	}
	if p := r.Field("price"); *p.Min != 0.5 || *p.Max != 1000 || p.Default != float64(2) {
		t.Errorf("price = min %v max %v default %#v", *p.Min, *p.Max, p.Default)
	}
	if n := r.Field("name"); *n.MinLength != 1 || *n.MaxLength != 80 || n.Pattern != "^[a-z]+$" || !n.Unique {
		t.Errorf("name = %+v", *n)
	}
	if s := r.Field("seen"); !s.ReadOnly || restkit.Format(s.Default) != "2024-05-01T12:00:00Z" {
		t.Errorf("seen = %+v", *s)
	}
	for i, want := range []restkit.Update{
		{Op: restkit.UpdateIncrement, Field: "n", By: 5},
		{Op: restkit.UpdateIncrement, Field: "x", By: 1},
		{Op: restkit.UpdateMerge},
		{Op: restkit.UpdateMerge},
	} {
		if got := a.Nouns[i].Update; got.Op != want.Op || got.Field != want.Field || got.By != want.By {
			t.Errorf("noun %s update = %+v, want %+v", a.Nouns[i].Name, got, want)
		}
	}
}

func TestMaxBody(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1048576", 1 << 20},
		{"1MiB", 1 << 20},
		{`"1 MiB"`, 1 << 20},
		{"512KiB", 512 << 10},
		{"10MB", 10_000_000},
		{"2kb", 2000},
		{"1.5KiB", 1536},
		{"0x100", 256},
	} {
		c := mustParse(t, "apis:\n  - resources:\n      r:\n        key: id\n        max_body: "+tc.in+"\n        fields: {id: {type: integer}}\n")
		if got := c.Schema.APIs[0].Resources[0].MaxBody; got != tc.want {
			t.Errorf("max_body: %s = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestHistoryKeep(t *testing.T) {
	c := mustParse(t, "apis:\n  - resources:\n      r:\n        key: id\n        history: true\n        history_keep: 5\n        fields: {id: {type: integer}}\n")
	if r := c.Schema.APIs[0].Resources[0]; !r.History || r.HistoryKeep != 5 {
		t.Errorf("history %v history_keep %d, want true 5", r.History, r.HistoryKeep)
	}
	c = mustParse(t, "apis:\n  - resources:\n      r:\n        key: id\n        history: true\n        fields: {id: {type: integer}}\n")
	if r := c.Schema.APIs[0].Resources[0]; r.HistoryKeep != 0 {
		t.Errorf("history_keep %d when not given, want 0 (keep all)", r.HistoryKeep)
	}
}

func TestArtefacts(t *testing.T) {
	const apis = "apis:\n  - nouns: {led: {fields: {on: {type: boolean}}}}\n"
	defaults := artefact.Policy{MinFree: DefaultMinFree}
	for _, tc := range []struct {
		name, src string
		want      *Artefacts
	}{
		{"absent", "", nil},
		{"empty section", "artefacts: {}\n", &Artefacts{Path: "/artefacts", Policy: defaults}},
		{"null section", "artefacts:\n", &Artefacts{Path: "/artefacts", Policy: defaults}},
		{"null settings keep the defaults", "artefacts: {path: , min_free: , max_size: , keep_versions: , directories: }\n",
			&Artefacts{Path: "/artefacts", Policy: defaults}},
		{"zero is no limit", "artefacts: {max_size: 0, min_free: 0, keep_versions: 0}\n",
			&Artefacts{Path: "/artefacts", Policy: artefact.Policy{}}},
		{"every setting", `artefacts:
  path: /store/files
  max_size: 1GiB
  keep_versions: 10
  min_free: 1048576
  directories:
    releases: {keep_versions: 3}
    "team-*": {max_size: 100MiB}
    "[a-c]?": {keep_versions: 1, max_size: 2KB}
    "*":
`, &Artefacts{Path: "/store/files", Policy: artefact.Policy{
			MaxSize: 1 << 30, KeepVersions: 10, MinFree: 1 << 20,
			Directories: []artefact.DirectoryPolicy{
				{Pattern: "releases", KeepVersions: 3},
				{Pattern: "team-*", MaxSize: 100 << 20},
				{Pattern: "[a-c]?", KeepVersions: 1, MaxSize: 2000},
				{Pattern: "*"},
			},
		}}},
		{"merge keys", `artefacts:
  <<: {max_size: 1MiB}
  directories:
    zz: &rule {keep_versions: 2}
    aa: {<<: *rule, max_size: 5}
`, &Artefacts{Path: "/artefacts", Policy: artefact.Policy{
			MaxSize: 1 << 20, MinFree: DefaultMinFree,
			Directories: []artefact.DirectoryPolicy{{Pattern: "zz", KeepVersions: 2}, {Pattern: "aa", KeepVersions: 2, MaxSize: 5}},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, apis+tc.src)
			if !reflect.DeepEqual(c.Artefacts, tc.want) {
				t.Errorf("artefacts = %+v, want %+v", c.Artefacts, tc.want)
			}
		})
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	c := mustParse(t, `
apis:
  - resources:
      cars:
        key: id
        fields: &common
          id: {type: integer}
          note: &note {type: string, maxLength: 10}
      boats:
        key: id
        fields:
          <<: *common
          note: {<<: *note, nullable: true}
          hull: *note
`)
	boats := c.Schema.APIs[0].Resources[1]
	if got, want := fieldNames(boats.Fields), []string{"id", "note", "hull"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("boats fields = %v, want %v", got, want)
	}
	note, hull := boats.Field("note"), boats.Field("hull")
	if !note.Nullable || *note.MaxLength != 10 || hull.Nullable || *hull.MaxLength != 10 {
		t.Errorf("note = %+v, hull = %+v", *note, *hull)
	}
	if cars := c.Schema.APIs[0].Resources[0]; cars.Field("note").Nullable {
		t.Error("the merge changed the anchored original")
	}
}

// TestParseErrors lists broken configurations and every message each must give,
// exactly, in file order.
func TestParseErrors(t *testing.T) {
	// cars is a valid resource to add mistakes to: its fields start on line 6.
	const cars = `apis:
  - resources:
      cars:
        key: id
        fields:
          id: {type: integer}
`
	const led = `apis:
  - nouns:
      led:
        fields:
          state: {type: string}
`
	for _, tc := range []struct {
		name string
		src  string
		want []string
	}{
		{"unknown field setting with suggestion", cars + "          year: {type: integer, requird: true}\n",
			[]string{`t.yaml:7:33: unknown key "requird" in field cars.year; did you mean "required"?`}},
		{"snake case for camel case", cars + "          name: {type: string, max_length: 5}\n",
			[]string{`t.yaml:7:32: unknown key "max_length" in field cars.name; did you mean "maxLength"?`}},
		{"unknown key without suggestion", "apis: []\nextra: 1\n",
			[]string{
				`t.yaml:1:1: at least one API is required`,
				`t.yaml:2:1: unknown key "extra" at the top level; expected one of: server, auth, ratelimit, capabilities, apis, artefacts, events, ui, webhooks`,
			}},
		{"unknown resource setting", cars + "        colection: [GET]\n",
			[]string{`t.yaml:7:9: unknown key "colection" in resource cars; did you mean "collection"?`}},
		{"bad type name", cars + "          year: {type: strng}\n",
			[]string{`t.yaml:7:24: unknown type "strng"; did you mean "string"?`}},
		{"type far from any", cars + "          year: {type: blob}\n",
			[]string{`t.yaml:7:24: unknown type "blob"; one of string, integer, number, boolean, datetime, enum, email, url, relation, json, array`}},
		{"abbreviated type", cars + "          done: {type: bool}\n",
			[]string{`t.yaml:7:24: unknown type "bool"; did you mean "boolean"?`}},
		{"misspelt type key is one problem", strings.Replace(cars, "{type: integer}", "{typ: integer}", 1),
			[]string{`t.yaml:6:16: unknown key "typ" in field cars.id; did you mean "type"?`}},
		{"missing type", cars + "          year: {min: 1}\n",
			[]string{`t.yaml:7:11: field cars.year needs a type: one of string, integer, number, boolean, datetime, enum, email, url, relation, json, array`}},
		{"min greater than max", cars + "          year: {type: integer, min: 5, max: 1}\n",
			[]string{`t.yaml:7:11: min 5 is greater than max 1`}},
		{"enum without values", cars + "          state: {type: enum}\n",
			[]string{`t.yaml:7:11: an enum needs values`}},
		{"enum value twice points at the second", cars + "          state: {type: enum, values: [a, b, a]}\n",
			[]string{`t.yaml:7:46: value "a" is listed twice`}},
		{"default outside the enum", cars + "          state: {type: enum, values: [on, off], default: dim}\n",
			[]string{`t.yaml:7:59: default must be one of on, off`}},
		{"key not a field", strings.Replace(cars, "key: id", "key: idd", 1),
			[]string{`t.yaml:4:14: key "idd" is not a declared field`}},
		{"no key", strings.Replace(cars, "        key: id\n", "", 1),
			[]string{`t.yaml:3:7: a resource needs a key field`}},
		{"duplicate field", cars + "          id: {type: string}\n",
			[]string{`t.yaml:7:11: duplicate key "id"; first declared at line 6`}},
		{"duplicate resource", cars + "      cars: {key: id}\n",
			[]string{`t.yaml:7:7: duplicate key "cars"; first declared at line 3`}},
		{"unknown verb", cars + "        collection: [get, putt]\n",
			[]string{`t.yaml:7:27: verb "PUTT" is not one of GET POST`}},
		{"verb not allowed there", cars + "        item:\n          - GET\n          - POST\n",
			[]string{`t.yaml:9:13: verb "POST" is not one of GET PUT PATCH DELETE`}},
		{"verbs not a list", cars + "        item: GET\n",
			[]string{`t.yaml:7:15: item must be a list, not "GET"`}},
		{"bad key_from", cars + "        key_from: bdy\n",
			[]string{`t.yaml:7:19: key_from must be one of body, url, generated, not "bdy"; did you mean "body"?`}},
		{"url key with POST", cars + "        key_from: url\n",
			[]string{`t.yaml:3:7: POST on the collection needs a key from the body or generated; this key comes from the URL (use PUT with put_creates)`}},
		{"non-integer page_size", cars + "        page_size: ten\n",
			[]string{`t.yaml:7:20: page_size must be an integer, not "ten"`}},
		{"fractional page_size", cars + "        page_size: 2.5\n",
			[]string{`t.yaml:7:20: page_size must be an integer, not "2.5"`}},
		{"zero page_size", cars + "        page_size: 0\n",
			[]string{`t.yaml:7:20: page_size must be at least 1, not "0"`}},
		{"page_size over max", cars + "        page_size: 200\n        max_page_size: 100\n",
			[]string{`t.yaml:7:20: page_size must be between 1 and max_page_size (100)`}},
		{"non-integer history_keep", cars + "        history: true\n        history_keep: all\n",
			[]string{`t.yaml:8:23: history_keep must be an integer, not "all"`}},
		{"zero history_keep", cars + "        history: true\n        history_keep: 0\n",
			[]string{`t.yaml:8:23: history_keep must be at least 1, not "0"`}},
		{"history_keep without history", cars + "        history_keep: 3\n",
			[]string{`t.yaml:7:23: history_keep needs history: true`}},
		{"bad max_body", cars + "        max_body: lots\n",
			[]string{`t.yaml:7:19: max_body must be a positive size in bytes such as 1048576, 512KiB, 1MiB or 10MB, not "lots"`}},
		{"negative max_body", cars + "        max_body: -5\n",
			[]string{`t.yaml:7:19: max_body must be a positive size in bytes such as 1048576, 512KiB, 1MiB or 10MB, not "-5"`}},
		{"bad update", led + "        update: flip state\n",
			[]string{`t.yaml:6:17: update must be "toggle FIELD", "increment FIELD [BY]" or "merge", not "flip state"`}},
		{"misspelt update", led + "        update: toggel state\n",
			[]string{`t.yaml:6:17: update must be "toggle FIELD", "increment FIELD [BY]" or "merge", not "toggel state"; did you mean "toggle state"?`}},
		{"increment of a string field", led + "        update: increment state\n",
			[]string{`t.yaml:6:17: increment needs an integer or number field, state is string`}},
		{"increment step not a number", led + "        update: increment state lots\n",
			[]string{`t.yaml:6:17: the step of increment must be a non-zero number, not "lots"`}},
		{"toggle of a missing field", led + "        update: toggle power\n",
			[]string{`t.yaml:6:17: toggle names "power", which is not a field`}},
		{"hook in YAML", led + "        update: hook\n",
			[]string{`t.yaml:6:17: a hook update is a Go function (restkit.Update.Hook); it cannot be declared in YAML`}},
		{"wrong YAML types", cars + `          year:
            type: integer
            required: yes please
            min: abc
          color: {type: enum, values: red}
`, []string{
			`t.yaml:9:23: required must be true or false, not "yes please"`,
			`t.yaml:10:18: min must be a number, not "abc"`,
			`t.yaml:11:39: values must be a list, not "red"`,
		}},
		{"yes is not a boolean", cars + "          year: {type: integer, sortable: yes}\n",
			[]string{`t.yaml:7:43: sortable must be true or false, not "yes"`}},
		{"default of the wrong type", cars + "          year: {type: integer, default: soon}\n",
			[]string{`t.yaml:7:42: default must be an integer`}},
		{"infinite default", cars + "          year: {type: number, default: .inf}\n",
			[]string{`t.yaml:7:41: default must be a finite number, not ".inf"`}},
		{"two problems at once", cars + "          year: {type: integer, min: 5, max: 1}\n        page_size: many\n",
			[]string{
				`t.yaml:7:11: min 5 is greater than max 1`,
				`t.yaml:8:20: page_size must be an integer, not "many"`,
			}},
		{"problems in two APIs", cars + "  - base: v1\n    resources:\n      Bad: {key: id, fields: {id: {type: integer}}}\n",
			[]string{
				`t.yaml:7:11: base must be empty or a path like /v1, got "v1"`,
				`t.yaml:9:7: resource name must match ^[a-z][a-z0-9_]{0,62}$`,
			}},
		{"server section", "server:\n  adr: x\n  log_format: xml\n  debug: on\napis: []\n",
			[]string{
				`t.yaml:2:3: unknown key "adr" in server; did you mean "addr"?`,
				`t.yaml:3:15: log_format must be text or json, not "xml"`,
				`t.yaml:4:10: debug must be true or false, not "on"`,
				`t.yaml:5:1: at least one API is required`,
			}},
		{"server timing", "server:\n  read_header_timeout: fast\n  min_upload_rate: -1\n  upload_grace: 0s\napis: []\n",
			[]string{
				`t.yaml:2:24: read_header_timeout must be a positive duration such as 10s, 500ms or 1m, not "fast"`,
				`t.yaml:3:20: min_upload_rate must be a size in bytes such as 0, 1048576, 512KiB, 1MiB or 10MB, not "-1"`,
				`t.yaml:4:17: upload_grace must be a positive duration such as 10s, 500ms or 1m, not "0s"`,
				`t.yaml:5:1: at least one API is required`,
			}},
		{"cors", "server:\n  cors:\n    origins: [https://app.example/, '*', http://ok.example:8080]\n    methods: [get, FETCH]\n    headers: [If-Match, 'bad header']\n    max_age: -1\n    credentials: true\napis: []\n",
			[]string{
				`t.yaml:3:15: origins[0] must be an origin such as https://app.example (scheme, host and optional port; no path), not "https://app.example/"`,
				`t.yaml:3:37: origins[1] must be an origin such as https://app.example (scheme, host and optional port; no path), not "*"`,
				`t.yaml:4:20: methods[1] must be one of GET, HEAD, POST, PUT, PATCH, DELETE, not "FETCH"`,
				`t.yaml:5:25: headers[1] must be a header name such as If-Match, not "bad header"`,
				`t.yaml:6:14: max_age must be at least 0, not "-1"`,
				`t.yaml:7:5: unknown key "credentials" in server.cors; expected one of: origins, methods, headers, max_age`,
				`t.yaml:8:1: at least one API is required`,
			}},
		{"cors without origins", "server:\n  cors: {max_age: 5}\napis: []\n",
			[]string{
				`t.yaml:2:9: cors needs origins: the list of origins allowed to call this server, such as [https://app.example]`,
				`t.yaml:3:1: at least one API is required`,
			}},
		{"no apis", "server: {addr: x}\n",
			[]string{`t.yaml:1:1: at least one API is required`}},
		{"apis not a list", "apis: {cars: 1}\n",
			[]string{`t.yaml:1:7: apis must be a list of APIs, not a mapping`}},
		{"resource not a mapping", "apis:\n  - resources:\n      cars: 5\n",
			[]string{`t.yaml:3:13: resource cars must be a mapping, not "5"`}},
		{"undefined alias", cars + "          year: *nope\n",
			[]string{`t.yaml:7:17: alias *nope does not name an earlier anchor`}},
		{"syntax error", "apis: [\n",
			[]string{`t.yaml:1:7: YAML syntax error: sequence end token ']' not found`}},
		{"syntax error in the middle", cars + "        item: [GET\n        history: true\n",
			[]string{`t.yaml:8:9: YAML syntax error: ',' or ']' must be specified`}},
		{"tab indentation", "apis:\n\t- base: /v1\n",
			[]string{`t.yaml:2:1: YAML syntax error: found character '\t' that cannot start any token`}},
		{"empty file", "",
			[]string{`t.yaml:1:1: the configuration is empty: it needs at least an apis list`}},
		{"only a comment", "# nothing here\n",
			[]string{`t.yaml:1:1: the configuration is empty: it needs at least an apis list`}},
		{"not a mapping", "- apis\n",
			[]string{`t.yaml:1:1: the configuration must be a mapping with apis (and optionally server and artefacts), not a list`}},
		{"a scalar", "hello\n",
			[]string{`t.yaml:1:1: the configuration must be a mapping with apis (and optionally server and artefacts), not "hello"`}},
		{"two documents", "apis: []\n---\napis: []\n",
			[]string{`t.yaml:3:1: a configuration is one YAML document; this is a second one`}},

		// artefacts: after cars, the section starts on line 7.
		{"relative artefacts path", cars + "artefacts:\n  path: artefacts\n",
			[]string{`t.yaml:8:9: path must be an absolute URL path such as /artefacts, not "artefacts"`}},
		{"artefacts path with a trailing slash", cars + "artefacts:\n  path: /artefacts/\n",
			[]string{`t.yaml:8:9: path must not end with a slash: write "/artefacts"`}},
		{"artefacts path at the root", cars + "artefacts: {path: /}\n",
			[]string{`t.yaml:7:19: path must not be the root "/"; choose one such as /artefacts`}},
		{"artefacts path with a dot segment", cars + "artefacts:\n  path: /files/../etc\n",
			[]string{`t.yaml:8:9: path must not contain . or .. segments, not "/files/../etc"`}},
		{"artefacts path with an empty segment", cars + "artefacts:\n  path: /files//x\n",
			[]string{`t.yaml:8:9: path must not contain an empty segment (//), not "/files//x"`}},
		{"artefacts path with a query", cars + "artefacts:\n  path: /files?x=1\n",
			[]string{`t.yaml:8:9: path may use only letters, digits and - . _ ~ between its slashes, not "/files?x=1"`}},
		{"artefacts path not a string", cars + "artefacts:\n  path: [/a]\n",
			[]string{`t.yaml:8:9: path must be a string, not a list`}},
		{"artefacts path is a resource's", cars + "artefacts:\n  path: /cars\n",
			[]string{`t.yaml:8:9: path /cars collides with resource cars at /cars, declared at line 3`}},
		{"artefacts path inside a resource", cars + "artefacts:\n  path: /cars/old\n",
			[]string{`t.yaml:8:9: path /cars/old collides with resource cars at /cars, declared at line 3`}},
		{"artefacts path holding an API", cars + "  - base: /v1\n    nouns:\n      led: {fields: {on: {type: boolean}}}\nartefacts: {path: /v1}\n",
			[]string{`t.yaml:10:19: path /v1 collides with noun led at /v1/led, declared at line 9`}},
		{"default artefacts path is a resource's", strings.ReplaceAll(cars, "cars", "artefacts") + "artefacts: {max_size: 1MiB}\n",
			[]string{`t.yaml:7:1: the repository's default path /artefacts collides with resource artefacts at /artefacts, declared at line 3; choose another with path:`}},
		{"negative keep_versions", cars + "artefacts:\n  keep_versions: -1\n",
			[]string{`t.yaml:8:18: keep_versions must be at least 0, not "-1"`}},
		{"fractional keep_versions", cars + "artefacts:\n  keep_versions: 2.5\n",
			[]string{`t.yaml:8:18: keep_versions must be an integer, not "2.5"`}},
		{"bad max_size", cars + "artefacts:\n  max_size: 1 gigabyte\n",
			[]string{`t.yaml:8:13: max_size must be a size in bytes such as 0, 1048576, 512KiB, 1MiB or 10MB, not "1 gigabyte"`}},
		{"negative min_free", cars + "artefacts:\n  min_free: -5\n",
			[]string{`t.yaml:8:13: min_free must be a size in bytes such as 0, 1048576, 512KiB, 1MiB or 10MB, not "-5"`}},
		{"bad glob", cars + "artefacts:\n  directories:\n    releases: {keep_versions: 3}\n    \"team-[\": {max_size: 100MiB}\n",
			[]string{`t.yaml:10:5: directory pattern "team-[": segment team-[ is not a valid glob: syntax error in pattern`}},
		{"glob with an empty segment", cars + "artefacts:\n  directories:\n    releases//*: {keep_versions: 3}\n    \"a**\": {keep_versions: 3}\n",
			[]string{
				`t.yaml:9:5: directory pattern "releases//*": a directory pattern must not have an empty segment (//, or a leading or trailing /)`,
				`t.yaml:10:5: directory pattern "a**": ** must be a whole segment (releases/**)`,
			}},
		{"bad cleanup policies", cars + "artefacts:\n  cleanup:\n    - {match: \"snapshots/**\", keep_latest: 3}\n    - {match: \"a//b\", older_than: 30x}\n    - {older_than: 2w}\n  cleanup_every: soon\n",
			[]string{
				`t.yaml:9:7: a cleanup policy needs older_than or not_downloaded_for (keep_latest alone is keep_versions)`,
				`t.yaml:10:15: a directory pattern must not have an empty segment (//, or a leading or trailing /)`,
				`t.yaml:10:35: older_than must be a positive age such as 30d, 2w or 12h, not "30x"`,
				`t.yaml:11:7: a cleanup policy needs match: a directory glob such as snapshots/**`,
				`t.yaml:12:18: cleanup_every must be a positive age such as 30d, 2w or 12h, not "soon"`,
			}},
		{"zero in a directory rule", cars + "artefacts:\n  directories:\n    releases: {keep_versions: 0, max_size: 0}\n",
			[]string{
				`t.yaml:9:31: keep_versions in a directory rule must be at least 1; 0 cannot lift the repository's limit`,
				`t.yaml:9:44: max_size in a directory rule must be at least 1 byte; 0 cannot lift the repository's limit`,
			}},
		{"unknown artefacts key with suggestion", cars + "artefacts:\n  keep_version: 3\n",
			[]string{`t.yaml:8:3: unknown key "keep_version" in artefacts; did you mean "keep_versions"?`}},
		{"unknown directory rule key", cars + "artefacts:\n  directories:\n    releases: {keep: 3, min_free: 1}\n",
			[]string{
				`t.yaml:9:16: unknown key "keep" in directory rule "releases"; did you mean "keep_versions"?`,
				`t.yaml:9:25: unknown key "min_free" in directory rule "releases"; expected one of: keep_versions, max_size, access`,
			}},
		{"artefacts of the wrong YAML types", cars + `artefacts:
  directories:
    releases: 3
    nightly: {keep_versions: many}
  max_size: {a: 1}
`, []string{
			`t.yaml:9:15: directory rule "releases" must be a mapping, not "3"`,
			`t.yaml:10:30: keep_versions must be an integer, not "many"`,
			`t.yaml:11:13: max_size must be a size in bytes such as 0, 1048576, 512KiB, 1MiB or 10MB, not a mapping`,
		}},
		{"artefacts not a mapping", cars + "artefacts: /artefacts\n",
			[]string{`t.yaml:7:12: artefacts must be a mapping, not "/artefacts"`}},
		{"directories not a mapping", cars + "artefacts:\n  directories: [releases]\n",
			[]string{`t.yaml:8:16: directories must be a mapping, not a list`}},
		{"artefacts problems and schema problems at once", strings.Replace(cars, "key: id", "key: idd", 1) + "artefacts:\n  path: /cars\n  keep_versions: -3\n",
			[]string{
				`t.yaml:4:14: key "idd" is not a declared field`,
				`t.yaml:8:9: path /cars collides with resource cars at /cars, declared at line 3`,
				`t.yaml:9:18: keep_versions must be at least 0, not "-3"`,
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tc.src))
			if err == nil {
				t.Fatalf("Parse succeeded (%d APIs), want errors:\n%s", len(c.Schema.APIs), strings.Join(tc.want, "\n"))
			}
			if c != nil {
				t.Errorf("Parse returned a config with its errors")
			}
			if got := lines(t, err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestAliasBomb checks that aliases cannot expand a small file into an endless
// walk: the budget stops it with one message.
func TestAliasBomb(t *testing.T) {
	// One API of 10 resources of 10 enum fields of 10 values, repeated by alias
	// 100 times: a small file that names over a hundred thousand values.
	var b strings.Builder
	b.WriteString("apis:\n  - &api {resources: {r0: &r {key: id, fields: {id: {type: integer}, f0: &f {type: enum, values: [a, b, c, d, e, f, g, h, i, j]}")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, ", f%d: *f", i)
	}
	b.WriteString("}}")
	for i := 1; i < 10; i++ {
		fmt.Fprintf(&b, ", r%d: *r", i)
	}
	b.WriteString("}}\n")
	for range 100 {
		b.WriteString("  - *api\n")
	}
	_, err := Parse("t.yaml", []byte(b.String()))
	want := []string{"t.yaml:1:1: the configuration is too large: its aliases expand to more than 100000 values"}
	if got := lines(t, err); !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestErrorsFormat(t *testing.T) {
	_, err := Parse("api.yaml", []byte("apis: []\nfoo: 1\nbar: 2\n"))
	want := "api.yaml:1:1: at least one API is required\n" +
		"api.yaml:2:1: unknown key \"foo\" at the top level; expected one of: server, auth, ratelimit, capabilities, apis, artefacts, events, ui, webhooks\n" +
		"api.yaml:3:1: unknown key \"bar\" at the top level; expected one of: server, auth, ratelimit, capabilities, apis, artefacts, events, ui, webhooks"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.File != "api.yaml" || e.Line != 1 || e.Column != 1 {
		t.Errorf("errors.As(*Error) = %+v", e)
	}
	if got := (&Error{Line: 3, Column: 4, Message: "m"}).Error(); got != "3:4: m" {
		t.Errorf("without a file: %q", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.yaml")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want an error naming %s", err, missing)
	}

	good := filepath.Join(dir, "api.yaml")
	if err := os.WriteFile(good, Demo(), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(good)
	if err != nil || len(c.Schema.APIs) != 2 {
		t.Fatalf("Load(good) = %v, %v", c, err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apis: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":1:1: ") {
		t.Errorf("Load(bad) = %v, want errors prefixed with the path", err)
	}
}

func TestSuggest(t *testing.T) {
	opts := []string{"type", "required", "minLength", "readOnly", "max"}
	for word, want := range map[string]string{
		"requird":    "required",
		"Required":   "required",
		"min_length": "minLength",
		"read-only":  "readOnly",
		"typ":        "type",
		"mx":         "max",
		"x":          "",
		"colour":     "",
		"":           "",
	} {
		if got := suggest(word, opts); got != want {
			t.Errorf("suggest(%q) = %q, want %q", word, got, want)
		}
	}
}

// FuzzParse checks that no input makes Parse panic, and that every failure is
// Errors with real positions. Seeds live in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add(Demo())
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data)
		if err == nil {
			if c == nil || c.Schema == nil || len(c.Schema.APIs) == 0 {
				t.Fatalf("no error and no usable config: %+v", c)
			}
			return
		}
		var es Errors
		if !errors.As(err, &es) || len(es) == 0 {
			t.Fatalf("error %T %v, want non-empty Errors", err, err)
		}
		for _, e := range es {
			if e.Line < 1 || e.Column < 1 || e.File != "f.yaml" || e.Message == "" || strings.ContainsFunc(e.Message, unicode.IsControl) {
				t.Fatalf("bad error %#v", *e)
			}
		}
	})
}

// TestArtefactsAliasCollision: the repository's singular alias is a path too.
func TestArtefactsAliasCollision(t *testing.T) {
	_, err := Parse("t.yaml", []byte("apis:\n  - resources:\n      artefact:\n        key: id\n        fields:\n          id: {type: integer}\nartefacts: {}\n"))
	if err == nil || !strings.Contains(err.Error(), "collides with resource artefact at /artefact (the repository's alias /artefact)") {
		t.Fatalf("err = %v", err)
	}
}

// TestReservedRootNames: /healthz, /readyz and /metrics are the server's own.
func TestReservedRootNames(t *testing.T) {
	for _, name := range []string{"healthz", "readyz", "metrics"} {
		_, err := Parse("t.yaml", []byte("apis:\n  - resources:\n      "+name+":\n        key: id\n        fields:\n          id: {type: integer}\n"))
		if err == nil || !strings.Contains(err.Error(), "t.yaml:3:7: /"+name+" is the server's own") {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := Parse("t.yaml", []byte("apis:\n  - base: /v1\n    resources:\n      "+name+":\n        key: id\n        fields:\n          id: {type: integer}\n")); err != nil {
			t.Errorf("%s under /v1: %v", name, err)
		}
	}
}

// TestResourcePaths: path and item_path name where a resource's list and items are
// served (the Flask tutorial's /api/resources and /api/resource/{id}); a clash with
// another route, a server path or an artefact repository is refused at the line of
// the setting, naming the line of what it clashes with.
func TestResourcePaths(t *testing.T) {
	c := mustParse(t, `
apis:
  - base: /api
    resources:
      resources:
        item_path: resource
        key: id
        key_from: generated
        fields:
          id: {type: integer}
          name: {type: string, required: true}
`)
	api := c.Schema.APIs[0]
	r := api.Resources[0]
	if api.ListPath(r) != "/api/resources" || api.ItemsPath(r) != "/api/resource" || !r.SequentialKeys() {
		t.Errorf("list %s, items %s, sequential keys %v", api.ListPath(r), api.ItemsPath(r), r.SequentialKeys())
	}

	_, err := Parse("t.yaml", []byte(`apis:
  - resources:
      cars:
        key: id
        fields: {id: {type: integer}}
      autos:
        item_path: cars
        key: id
        fields: {id: {type: integer}}
      stats:
        path: metrics
        key: id
        fields: {id: {type: integer}}
      odd:
        path: Odd/Path
        key: id
        fields: {id: {type: integer}}
    nouns:
      led:
        fields: {on: {type: boolean}}
      things:
        fields: {on: {type: boolean}}
  - base: /v1
    resources:
      lights:
        item_path: led
        key: id
        fields: {id: {type: integer}}
      boxes:
        item_path: artefacts
        key: id
        fields: {id: {type: integer}}
artefacts: {path: /v1/artefacts}
`))
	want := []string{
		`t.yaml:7:20: path /cars is already used by apis[0].resources.cars (line 3)`,
		`t.yaml:11:15: /metrics is the server's own (Prometheus metrics): choose another path or give its API a base such as /v1`,
		`t.yaml:15:15: path must be one URL segment matching ^[a-z][a-z0-9_-]{0,62}$, got "Odd/Path"`,
		`t.yaml:33:19: path /v1/artefacts collides with resource boxes at /v1/artefacts, declared at line 30`,
	}
	if got := lines(t, err); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
