package openapi_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi-validator/schema_validation"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/openapi"
)

// every exercises each field type and constraint, a generated key, timestamps,
// require_if_match and the noun updates.
const every = `
apis:
  - base: /api
    resources:
      things:
        key: id
        key_from: generated
        timestamps: true
        require_if_match: true
        fields:
          id: {type: string}
          name: {type: string, required: true, minLength: 2, maxLength: 40, pattern: "^[a-z]+$", filterable: true, sortable: true}
          count: {type: integer, min: 0, max: 10, default: 3, filterable: true}
          ratio: {type: number, min: 0.5, max: 2.5, nullable: true}
          active: {type: boolean, default: true, filterable: true}
          when: {type: datetime, nullable: true, filterable: true}
          kind: {type: enum, values: [a, b], nullable: true, filterable: true}
          mail: {type: email, unique: true}
          home: {type: url, readOnly: true}
    nouns:
      counter:
        fields:
          n: {type: integer, default: 0}
        update: increment n 2
      settings:
        fields:
          mode: {type: string, default: "x"}
        update: merge
`

func build(t *testing.T, name string, yaml []byte) (map[string]any, []byte) {
	t.Helper()
	cfg, err := config.Parse(name, yaml)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	o := openapi.Options{ServerURL: "http://127.0.0.1:8080", Webhooks: cfg.WebhookEvents()}
	if cfg.Artefacts != nil {
		o.Artefacts = cfg.Artefacts.Path
	}
	doc := openapi.Build(cfg.Schema, o)
	raw, err := openapi.JSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	d, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatalf("libopenapi: %v", err)
	}
	if _, err := d.BuildV3Model(); err != nil {
		t.Fatalf("libopenapi BuildV3Model: %v", err)
	}
	// Against the OpenAPI 3.1 schema itself: a field the specification does not allow
	// where it is written (a description on a Media Type Object) fails here.
	if ok, errs := schema_validation.ValidateOpenAPIDocument(d); !ok {
		var msg strings.Builder
		for _, e := range errs {
			for _, se := range e.SchemaValidationErrors {
				if se.OriginalJsonSchemaError != nil {
					fmt.Fprintf(&msg, "\n%s", se.OriginalJsonSchemaError.Error())
				}
			}
			fmt.Fprintf(&msg, "\n%s: %s", e.Message, e.Reason)
		}
		t.Fatalf("%s: not valid OpenAPI 3.1:%s", name, msg.String())
	}
	var back map[string]any
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	return back, raw
}

func dig(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("at %q: not an object in %v", p, path)
		}
		if v, ok = m[p]; !ok {
			t.Fatalf("no %q in %v", p, path)
		}
	}
	return v
}

func operationIDs(t *testing.T, doc map[string]any) []string {
	var ids []string
	seen := map[string]bool{}
	for path, item := range doc["paths"].(map[string]any) {
		for verb, op := range item.(map[string]any) {
			if verb == "parameters" {
				continue
			}
			id, _ := op.(map[string]any)["operationId"].(string)
			if id == "" || seen[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", verb, path, id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return ids
}

func TestDemo(t *testing.T) {
	doc, raw := build(t, "demo.yaml", config.Demo())
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", doc["openapi"])
	}
	if got := dig(t, doc, "servers").([]any)[0].(map[string]any)["url"]; got != "http://127.0.0.1:8080" {
		t.Errorf("servers[0].url = %v", got)
	}
	// Properties in declaration order: read them with libopenapi, which keeps the order.
	d, _ := libopenapi.NewDocument(raw)
	m, _ := d.BuildV3Model()
	car := m.Model.Components.Schemas.GetOrZero("Car").Schema()
	var order []string
	for k := range car.Properties.KeysFromOldest() {
		order = append(order, k)
	}
	if want := []string{"id", "model", "color", "year"}; !reflect.DeepEqual(order, want) {
		t.Errorf("Car properties %v, want %v", order, want)
	}
	if !reflect.DeepEqual(car.Required, []string{"id", "model", "color"}) {
		t.Errorf("Car required %v", car.Required)
	}
	carJSON := dig(t, doc, "components", "schemas", "Car", "properties").(map[string]any)
	if got := dig(t, carJSON, "year", "minimum"); got != float64(1886) {
		t.Errorf("year minimum %v", got)
	}
	person := dig(t, doc, "components", "schemas", "V1Person", "properties")
	if got := dig(t, person, "email", "format"); got != "email" {
		t.Errorf("email format %v", got)
	}
	if got := dig(t, person, "comment", "type"); !reflect.DeepEqual(got, []any{"string", "null"}) {
		t.Errorf("comment type %v", got)
	}
	if got := dig(t, doc, "components", "schemas", "V1Person", "required"); !reflect.DeepEqual(got, []any{"email"}) {
		t.Errorf("V1Person required %v (the key comes from the URL)", got)
	}
	led := dig(t, doc, "components", "schemas", "Led", "properties")
	if got := dig(t, led, "state", "default"); got != "off" {
		t.Errorf("led state default %v", got)
	}
	ids := operationIDs(t, doc)
	for _, want := range []string{"listCars", "getCar", "createCar", "replaceCar", "updateCar", "deleteCar",
		"listCarRevisions", "getCarRevision", "purgeCarRevisions", "v1ListPeople", "v1GetPerson", "v1ReplacePerson",
		"getLed", "setLed", "updateLed", "resetLed", "downloadArtefact", "putArtefact", "getHealth"} {
		found := false
		for _, id := range ids {
			found = found || id == want
		}
		if !found {
			t.Errorf("no operation %s", want)
		}
	}
	put := dig(t, doc, "paths", "/cars/{id}", "put", "responses")
	for _, code := range []string{"200", "400", "404", "412", "413", "415"} {
		dig(t, put, code)
	}
	// /v1 has the envelope: success wrapped, errors in the envelope style.
	list := dig(t, doc, "paths", "/v1/people", "get", "responses")
	if got := dig(t, list, "200", "content", "application/json", "schema", "properties", "status", "const"); got != "ok" {
		t.Errorf("/v1/people envelope status %v", got)
	}
	if got := dig(t, list, "400", "content", "application/json", "schema", "$ref"); got != "#/components/schemas/EnvelopeError" {
		t.Errorf("/v1/people 400 schema %v", got)
	}
	if _, ok := dig(t, doc, "paths", "/v1/people").(map[string]any)["post"]; ok {
		t.Error("POST /v1/people is not declared but is documented")
	}
	if got := dig(t, doc, "paths", "/cars", "get", "responses", "400", "content", "application/problem+json", "schema", "$ref"); got != "#/components/schemas/Problem" {
		t.Errorf("/cars 400 schema %v", got)
	}
	dl := dig(t, doc, "paths", "/artefacts/{dir}/{id}", "get", "responses")
	for _, code := range []string{"200", "206", "304", "416"} {
		dig(t, dl, code)
	}
	up := dig(t, doc, "paths", "/artefacts/{dir}/{id}", "put", "requestBody", "content").(map[string]any)
	for _, mt := range []string{"application/octet-stream", "multipart/form-data"} {
		if up[mt] == nil {
			t.Errorf("upload without %s", mt)
		}
	}
}

func TestEveryField(t *testing.T) {
	doc, _ := build(t, "every.yaml", []byte(every))
	p := dig(t, doc, "components", "schemas", "ApiThing", "properties")
	check := func(field, key string, want any) {
		t.Helper()
		if got := dig(t, p, field, key); !reflect.DeepEqual(got, want) {
			t.Errorf("%s.%s = %#v, want %#v", field, key, got, want)
		}
	}
	check("id", "readOnly", true)
	check("name", "pattern", "^[a-z]+$")
	check("name", "minLength", float64(2))
	check("name", "maxLength", float64(40))
	check("count", "type", "integer")
	check("count", "default", float64(3))
	check("count", "maximum", float64(10))
	check("ratio", "type", []any{"number", "null"})
	check("ratio", "minimum", 0.5)
	check("active", "type", "boolean")
	check("active", "default", true)
	check("when", "format", "date-time")
	check("when", "type", []any{"string", "null"})
	check("kind", "enum", []any{"a", "b", nil})
	check("mail", "format", "email")
	check("home", "format", "uri")
	check("home", "readOnly", true)
	check("created", "format", "date-time")
	if got := dig(t, doc, "components", "schemas", "ApiThing", "required"); !reflect.DeepEqual(got, []any{"name"}) {
		t.Errorf("required %v (a generated key is not)", got)
	}
	put := dig(t, doc, "paths", "/api/things/{id}", "put", "responses")
	dig(t, put, "412")
	dig(t, put, "428")
	var names []string
	for _, prm := range dig(t, doc, "paths", "/api/things", "get", "parameters").([]any) {
		names = append(names, prm.(map[string]any)["name"].(string))
	}
	for _, want := range []string{"limit", "cursor", "page", "sort", "fields", "count", "name", "name[prefix]", "count[gte]", "active", "active[in]", "when[lt]", "kind[null]"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("no list parameter %s in %v", want, names)
		}
	}
	for _, n := range names {
		if n == "active[gt]" || n == "count[prefix]" {
			t.Errorf("parameter %s makes no sense", n)
		}
	}
	if dig(t, doc, "paths", "/api/counter", "post").(map[string]any)["requestBody"] != nil {
		t.Error("increment takes no body")
	}
	dig(t, doc, "paths", "/api/settings", "post", "requestBody")
	operationIDs(t, doc)
}

// TestSecurityRequirements: with auth on, the schemes are declared, every operation
// documents 401 and 403, /healthz needs nothing, and reads that anonymous callers may
// make have credentials optional ({} among the requirements).
func TestSecurityRequirements(t *testing.T) {
	s := &restkit.Schema{
		Auth: &restkit.Auth{Access: restkit.Access{Read: []string{"*"}}},
		APIs: []*restkit.API{{Resources: []*restkit.Resource{
			{Name: "open", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}, Access: restkit.Access{Anonymous: restkit.AnonymousRead}},
			{Name: "closed", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}},
		}}},
	}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	doc := openapi.Build(s, openapi.Options{})
	out, err := openapi.JSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Security   []map[string][]string `json:"security"`
		Components struct {
			SecuritySchemes map[string]map[string]string `json:"securitySchemes"`
		} `json:"components"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	type operation struct {
		Security  *[]map[string][]string     `json:"security"`
		Responses map[string]json.RawMessage `json:"responses"`
	}
	ops := map[string]map[string]operation{}
	for path, item := range d.Paths {
		ops[path] = map[string]operation{}
		for m, raw := range item {
			if m == "parameters" {
				continue
			}
			var op operation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			ops[path][m] = op
		}
	}
	if d.Components.SecuritySchemes["basicAuth"]["scheme"] != "basic" || d.Components.SecuritySchemes["bearerAuth"]["scheme"] != "bearer" || len(d.Security) != 2 {
		t.Fatalf("schemes %v, security %v", d.Components.SecuritySchemes, d.Security)
	}
	if sec := ops["/healthz"]["get"].Security; sec == nil || len(*sec) != 0 {
		t.Fatalf("/healthz security: %v", sec)
	}
	if sec := ops["/open"]["get"].Security; sec == nil || len(*sec) != 3 || len((*sec)[0]) != 0 {
		t.Fatalf("/open GET security: %v", sec)
	}
	if sec := ops["/open"]["post"].Security; sec != nil {
		t.Fatalf("/open POST must inherit the global requirement, has %v", *sec)
	}
	if sec := ops["/closed"]["get"].Security; sec != nil {
		t.Fatalf("/closed GET must inherit the global requirement, has %v", *sec)
	}
	for path, item := range ops {
		for m, op := range item {
			if path == "/healthz" {
				continue
			}
			if op.Responses["401"] == nil || op.Responses["403"] == nil {
				t.Errorf("%s %s lacks 401 or 403", m, path)
			}
		}
	}
}
