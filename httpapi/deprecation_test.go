package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/memory"
)

// deprecatedConfig has a deprecated API (/v1, with a sunset and a successor), a
// deprecated resource in an API that is not (/v2/vans, since a date, no sunset) and
// one that is not deprecated at all (/v2/cars).
const deprecatedConfig = `
apis:
  - base: /v1
    deprecated: {sunset: 2027-06-30, successor: /v2}
    resources:
      cars:
        key: id
        history: true
        fields:
          id: {type: integer}
          model: {type: string, required: true}
    nouns:
      led:
        fields:
          state: {type: enum, values: ["on", "off"], default: "off"}
  - base: /v2
    resources:
      cars:
        key: id
        fields:
          id: {type: integer}
      vans:
        key: id
        deprecated: {since: 2026-01-01, successor: "https://api.example/v3/vans"}
        fields:
          id: {type: integer}
`

// TestDeprecationHeaders checks that every answer of a deprecated API or resource —
// records, lists with their paging links, errors, 405s, OPTIONS, revisions, nouns —
// carries Deprecation (RFC 9745), Sunset (RFC 8594) and the successor-version Link,
// and that nothing else does.
func TestDeprecationHeaders(t *testing.T) {
	cfg, err := config.Parse("dep.yaml", []byte(deprecatedConfig))
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	if err := st.Migrate(t.Context(), cfg.Schema); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, httpapi.Options{Schema: cfg.Schema, Store: st})
	v1 := []string{"@0", "Wed, 30 Jun 2027 00:00:00 GMT", `</v2>; rel="successor-version"`}
	vans := []string{"@1767225600", "", `<https://api.example/v3/vans>; rel="successor-version"`}
	none := []string{"", "", ""}
	for _, tc := range []struct {
		method, path, body string
		status             int
		want               []string // Deprecation, Sunset, then every Link field joined by " | "
	}{
		{"POST", "/v1/cars", `{"id":1,"model":"T"}`, 201, v1},
		{"POST", "/v1/cars", `{"id":2}`, 400, v1},
		{"POST", "/v1/cars", `{"id":2,"model":"A"}`, 201, v1},
		{"GET", "/v1/cars/1", "", 200, v1},
		{"GET", "/v1/cars/9", "", 404, v1},
		{"GET", "/v1/cars?limit=1", "", 200, []string{v1[0], v1[1], v1[2] + ` | </v1/cars?limit=1&cursor=`}},
		{"PATCH", "/v1/cars", `{}`, 405, v1},
		{"OPTIONS", "/v1/cars/1", "", 204, v1},
		{"GET", "/v1/cars/1/revisions", "", 200, v1},
		{"GET", "/v1/led", "", 200, v1},
		{"POST", "/v1/led", "", 200, v1},
		{"GET", "/v2/vans", "", 200, vans},
		{"GET", "/v2/vans/1", "", 404, vans},
		{"GET", "/v2/cars", "", 200, none},
		{"GET", "/healthz", "", 200, none},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		if tc.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		what := tc.method + " " + tc.path
		if w.Code != tc.status {
			t.Fatalf("%s: %d %s, want %d", what, w.Code, w.Body, tc.status)
		}
		h := w.Header()
		if got := h.Get("Deprecation"); got != tc.want[0] {
			t.Errorf("%s: Deprecation %q, want %q", what, got, tc.want[0])
		}
		if got := h.Get("Sunset"); got != tc.want[1] {
			t.Errorf("%s: Sunset %q, want %q", what, got, tc.want[1])
		}
		got := strings.Join(h.Values("Link"), " | ")
		if tc.want[2] == "" && strings.Contains(got, "successor-version") || !strings.HasPrefix(got, tc.want[2]) {
			t.Errorf("%s: Link %q, want it to start with %q", what, got, tc.want[2])
		}
	}
}

// TestDeprecationHeadersOnRefusals: a caller refused by the resource's access rule
// (401) is told of the deprecation too.
func TestDeprecationHeadersOnRefusals(t *testing.T) {
	hash, err := auth.HashPassword("alice-secret", 4)
	if err != nil {
		t.Fatal(err)
	}
	s := &restkit.Schema{
		Auth: &restkit.Auth{BcryptCost: 4, Users: []*restkit.User{{Name: "alice", PasswordHash: hash, Roles: []string{"admin"}}}},
		APIs: []*restkit.API{{Resources: []*restkit.Resource{{
			Name: "cars", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}},
			Deprecated: &restkit.Deprecation{Successor: "/v2/cars"},
		}}}},
	}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	if err := st.Migrate(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, httpapi.Options{Schema: s, Store: st, Auth: a})
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/cars", nil))
	if w.Code != http.StatusUnauthorized || w.Header().Get("Deprecation") != "@0" || w.Header().Get("Link") != `</v2/cars>; rel="successor-version"` {
		t.Errorf("anonymous GET /cars: %d, Deprecation %q, Link %q", w.Code, w.Header().Get("Deprecation"), w.Header().Get("Link"))
	}
}
