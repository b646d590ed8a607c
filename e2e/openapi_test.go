package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOpenAPI fetches the served document and prints it with restkit spec.
func TestOpenAPI(t *testing.T) {
	s := startServer(t, t.TempDir())
	r := s.do("GET", "/openapi.json", "")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Servers []struct{ URL string }    `json:"servers"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("body: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || len(doc.Servers) != 1 || doc.Servers[0].URL != s.URL {
		t.Errorf("openapi %q servers %+v, want one server %s", doc.OpenAPI, doc.Servers, s.URL)
	}
	for _, p := range []string{"/cars", "/cars/{id}", "/v1/people/{name}", "/led", "/artefacts/{dir}/{id}", "/healthz"} {
		if doc.Paths[p] == nil {
			t.Errorf("no path %s", p)
		}
	}
	idx := s.do("GET", "/", "")
	if !strings.Contains(string(idx.Body), `"openapi":"/openapi.json"`) {
		t.Errorf("index does not name /openapi.json: %s", idx.Body)
	}

	out, err := runCLI(t, nil, "spec")
	if err != nil {
		t.Fatalf("restkit spec: %v\n%s", err, out)
	}
	var printed struct {
		OpenAPI string                 `json:"openapi"`
		Servers []struct{ URL string } `json:"servers"`
	}
	if err := json.Unmarshal([]byte(out), &printed); err != nil {
		t.Fatalf("restkit spec output is not JSON: %v", err)
	}
	// Without --server-url the paths are relative to wherever the document is read
	// ("/", what OpenAPI assumes when servers is absent, said explicitly).
	if printed.OpenAPI != "3.1.0" || len(printed.Servers) != 1 || printed.Servers[0].URL != "/" {
		t.Errorf("restkit spec: openapi %v servers %+v, want one server /", printed.OpenAPI, printed.Servers)
	}
}
