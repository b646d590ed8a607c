package openapi_test

import (
	"bytes"
	"sort"
	"strings"
	"testing"

	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/openapi"
)

const deprecatedAPIs = `
apis:
  - base: /v1
    deprecated: {sunset: 2027-06-30, successor: /v2}
    resources:
      cars:
        key: id
        history: true
        fields:
          id: {type: integer}
    nouns:
      led:
        fields:
          on: {type: boolean, default: false}
  - base: /v2
    resources:
      cars:
        key: id
        fields:
          id: {type: integer}
      vans:
        key: id
        deprecated: true
        fields:
          id: {type: integer}
`

// TestDeprecatedOperations: every operation of a deprecated API or resource, and
// its record schema, is marked deprecated: true; nothing else is. The document stays
// valid OpenAPI 3.1 (build checks it).
func TestDeprecatedOperations(t *testing.T) {
	doc, _ := build(t, "dep.yaml", []byte(deprecatedAPIs))
	var marked, plain []string
	for path, item := range doc["paths"].(map[string]any) {
		for verb, op := range item.(map[string]any) {
			if verb == "parameters" {
				continue
			}
			if dep, _ := op.(map[string]any)["deprecated"].(bool); dep {
				marked = append(marked, verb+" "+path)
			} else if strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/v2/vans") {
				t.Errorf("%s %s is not marked deprecated", verb, path)
			} else {
				plain = append(plain, verb+" "+path)
			}
		}
	}
	sort.Strings(marked)
	for _, want := range []string{"get /v1/cars", "get /v1/cars/{id}/revisions", "get /v1/led", "post /v1/led", "delete /v2/vans/{id}", "get /v2/vans"} {
		if i := sort.SearchStrings(marked, want); i == len(marked) || marked[i] != want {
			t.Errorf("%s is not marked deprecated (marked: %v)", want, marked)
		}
	}
	for _, p := range plain {
		if !strings.HasPrefix(p, "get /healthz") && !strings.HasPrefix(p, "get /openapi.json") && !strings.Contains(p, " /v2/cars") {
			t.Errorf("%s is not deprecated but is not expected either", p)
		}
	}
	schemas := dig(t, doc, "components", "schemas").(map[string]any)
	for name, want := range map[string]bool{"V1Car": true, "V1Led": true, "V2Van": true, "V2Car": false} {
		s, ok := schemas[name].(map[string]any)
		if !ok {
			t.Fatalf("no schema %s among %v", name, schemas)
		}
		if got, _ := s["deprecated"].(bool); got != want {
			t.Errorf("schema %s deprecated = %v, want %v", name, got, want)
		}
	}
}

// TestDeprecatedInDocs: the reference page says what the deprecation announces.
func TestDeprecatedInDocs(t *testing.T) {
	cfg, err := config.Parse("dep.yaml", []byte(deprecatedAPIs))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := openapi.RenderDocs(&buf, cfg.Schema, openapi.DocsOptions{}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		`Deprecated; it stops answering on 2027-06-30; its successor is /v2. Responses carry Deprecation, Sunset and Link (rel=&#34;successor-version&#34;) headers.`,
	} {
		if strings.Count(page, want) != 2 { // /v1/cars and /v1/led
			t.Errorf("the page holds %q %d times, want 2", want, strings.Count(page, want))
		}
	}
	if !strings.Contains(page, "<strong>Deprecated. Responses carry") {
		t.Errorf("the page does not say /v2/vans is deprecated")
	}
}
