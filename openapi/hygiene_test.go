package openapi_test

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/restkit/restkit/config"
)

// TestDocumentHygiene checks, without Node.js, what the linters of tools/speclint
// (Redocly's recommended, Spectral's spectral:oas) find most often, so that a change
// that breaks them fails here too: every operation has a description, declared tags
// and a 4xx answer; no operation lists a parameter twice; security is defined; every
// component is referenced; a record read is the record's own schema (not a union with
// its projection, which generated clients cannot decode directly).
func TestDocumentHygiene(t *testing.T) {
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		yaml []byte
	}{
		{"demo", config.Demo()},
		{"every", []byte(every)},
		{"flask", []byte(flask)},
		{"secure", read("../examples/secure.yaml")},
		{"fields", read("../examples/fields.yaml")},
		{"webhooks", []byte(webhooks)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, raw := build(t, tc.name+".yaml", tc.yaml)
			if _, ok := doc["security"]; !ok {
				t.Error("no security at the root: every operation's requirement is undefined")
			}
			tags := map[string]bool{}
			declared, _ := doc["tags"].([]any)
			for _, tag := range declared {
				tag := tag.(map[string]any)
				if tag["description"] == "" {
					t.Errorf("tag %v has no description", tag["name"])
				}
				tags[tag["name"].(string)] = true
			}
			for path, item := range doc["paths"].(map[string]any) {
				item := item.(map[string]any)
				for verb, op := range item {
					if verb == "parameters" {
						continue
					}
					op := op.(map[string]any)
					where := strings.ToUpper(verb) + " " + path
					if d, _ := op["description"].(string); d == "" {
						t.Errorf("%s: no description", where)
					}
					for _, tag := range op["tags"].([]any) {
						if !tags[tag.(string)] {
							t.Errorf("%s: tag %v is not declared", where, tag)
						}
					}
					has4xx := false
					for code := range op["responses"].(map[string]any) {
						has4xx = has4xx || code[0] == '4'
					}
					if !has4xx {
						t.Errorf("%s: no 4xx answer", where)
					}
					seen := map[string]bool{}
					params, _ := op["parameters"].([]any)
					pathParams, _ := item["parameters"].([]any)
					for _, p := range append(params, pathParams...) {
						p := p.(map[string]any)
						k := p["in"].(string) + " " + p["name"].(string)
						if seen[k] {
							t.Errorf("%s: parameter %s twice", where, k)
						}
						seen[k] = true
					}
				}
			}
			for kind, names := range doc["components"].(map[string]any) {
				if kind == "securitySchemes" {
					continue
				}
				for name := range names.(map[string]any) {
					if !strings.Contains(string(raw), `"#/components/`+kind+`/`+name+`"`) {
						t.Errorf("components.%s.%s is never referenced", kind, name)
					}
				}
			}
		})
	}
}

// TestReadIsTheRecord: a read answers the record's own schema, in a list and in the
// envelope too; the fields parameter says that a projection leaves fields out.
func TestReadIsTheRecord(t *testing.T) {
	doc, _ := build(t, "demo.yaml", config.Demo())
	car := map[string]any{"$ref": "#/components/schemas/Car"}
	for _, c := range []struct {
		got  any
		want any
	}{
		{dig(t, doc, "paths", "/cars/{id}", "get", "responses", "200", "content", "application/json", "schema"), car},
		{dig(t, doc, "paths", "/cars/{id}/revisions/{rev}", "get", "responses", "200", "content", "application/json", "schema"), car},
		{dig(t, doc, "paths", "/cars", "get", "responses", "200", "content", "application/json", "schema", "items"), car},
		{dig(t, doc, "paths", "/v1/people/{name}", "get", "responses", "200", "content", "application/json", "schema", "properties", "result"),
			map[string]any{"$ref": "#/components/schemas/V1Person"}},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("read schema %v, want %v", c.got, c.want)
		}
	}
	for _, p := range dig(t, doc, "paths", "/cars/{id}", "get", "parameters").([]any) {
		p := p.(map[string]any)
		if p["name"] == "fields" && !strings.Contains(p["description"].(string), "only those fields") {
			t.Errorf("fields: %v", p["description"])
		}
	}
	if _, ok := doc["components"].(map[string]any)["schemas"].(map[string]any)["CarFields"]; ok {
		t.Error("CarFields is still declared")
	}
	// A field named like a list parameter is filtered with [eq]; the bare name is the parameter.
	every, _ := build(t, "every.yaml", []byte(every))
	var count []string
	bare := 0
	for _, p := range dig(t, every, "paths", "/api/things", "get", "parameters").([]any) {
		name := p.(map[string]any)["name"].(string)
		if strings.HasPrefix(name, "count") {
			count = append(count, name)
		}
		if name == "count" {
			bare++
		}
	}
	if bare != 1 || !slices.Contains(count, "count[eq]") {
		t.Errorf("count parameters %v: want count (the total) once and count[eq]", count)
	}
}

// TestDeterministic: the same Schema gives the same bytes, whatever order Go's maps
// are walked in while the document is built.
func TestDeterministic(t *testing.T) {
	_, first := build(t, "fields.yaml", []byte(every))
	for range 5 {
		if _, again := build(t, "fields.yaml", []byte(every)); string(again) != string(first) {
			t.Fatal("two builds of one schema differ")
		}
	}
}
