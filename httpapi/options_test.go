package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/httpapi"
)

// optionsConfig has auth on: anonymous callers may read /open only; keys rk_sweep_admin,
// rk_sweep_reader and rk_sweep_guest (no role) are those of e2e/testdata/sweep.yaml.
const optionsConfig = `
auth:
  bcrypt_cost: 4
  users:
    admin: {password: "$2a$04$b6X67idHSvdCO.HeH07RU.54O.OJWkscuGHyOJOknqE8igFPdlwga", roles: [admin]}
    reader: {password: "$2a$04$ZqGqlXVT9NtlBdtAqw2tL.0myqTUhiqhWTB3UmCwxmA4cW0LwdSMW", roles: [reader]}
    guest: {password: "$2a$04$vlP94q3V5rBlQkLURBhntONF4r3Z1T6wJujq.PAC5GHVkOMrO7ggi", roles: [guest]}
  keys:
    - {id: admin-key, sha256: 32456056681fd52e17301798bdab4618551d1d2354e0b33ff97f80bda4d3e3b9, user: admin}
    - {id: reader-key, sha256: f60d9b5d7504b808dcafce92ba36bd02964246d798cd19cf0bab8b7e8bec4771, user: reader}
    - {id: guest-key, sha256: 544fde0c7bccfa888d876b7779ff67b71a3aa0c4f94804623065f86dc89249a3, user: guest}
  access: {read: [admin, reader], write: [admin], anonymous: none}
apis:
  - resources:
      cars:
        key: id
        history: true
        fields: {id: {type: integer}}
      open:
        key: id
        fields: {id: {type: integer}}
        access: {read: [admin], anonymous: read}
    nouns:
      led:
        fields: {state: {type: enum, values: ["on", "off"], default: "off"}}
        update: toggle state
`

// TestOptionsDoesNotMapGuardedRoutes (issue 11, finding 10): with auth on, an OPTIONS
// without credentials on a route that needs them gets the 401 an unknown path gets —
// unless it is a CORS preflight from an allowed origin; with credentials (any role)
// OPTIONS answers 204 and Allow as before.
func TestOptionsDoesNotMapGuardedRoutes(t *testing.T) {
	const app = "https://app.example"
	h := configServer(t, optionsConfig, func(o *httpapi.Options) {
		a, err := auth.New(o.Schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Auth = a
		o.CORS = &httpapi.CORS{Origins: []string{app}}
	})
	unknown := mustServe(t, h, http.StatusUnauthorized, "OPTIONS", "/nowhere", "")
	preflight := func(origin string) []string {
		return []string{"Origin", origin, "Access-Control-Request-Method", "GET"}
	}
	for _, tc := range []struct {
		name, path string
		headers    []string
		status     int
		allow      string // the Allow header of a 204
	}{
		{"a record", "/cars/1", nil, 401, ""},
		{"a collection", "/cars", nil, 401, ""},
		{"a revision", "/cars/1/revisions/5", nil, 401, ""},
		{"the revisions", "/cars/1/revisions", nil, 401, ""},
		{"a noun", "/led", nil, 401, ""},
		{"the docs", "/docs", nil, 401, ""},
		{"the spec", "/openapi.json", nil, 401, ""},
		{"the index", "/", nil, 401, ""},
		{"a trailing slash", "/cars/1/", nil, 401, ""},
		{"an unknown key", "/cars/1", []string{"Authorization", "Bearer rk_nobody"}, 401, ""},
		{"a preflight from an unlisted origin", "/cars/1", preflight("https://evil.example"), 401, ""},
		{"an allowed origin without a preflight", "/cars/1", []string{"Origin", app}, 401, ""},
		{"a preflight from the allowed origin", "/cars/1", preflight(app), 204, "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"},
		{"a route anonymous callers may read", "/open", nil, 204, "GET, HEAD, POST, OPTIONS"},
		{"healthz is public", "/healthz", nil, 204, "GET, HEAD, OPTIONS"},
		{"a reader", "/cars/1/revisions/5", []string{"Authorization", "Bearer rk_sweep_reader"}, 204, "GET, HEAD, OPTIONS"},
		{"a caller without a role here", "/cars/1", []string{"Authorization", "Bearer rk_sweep_guest"}, 204, "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"},
		{"an admin", "/led", []string{"Authorization", "Bearer rk_sweep_admin"}, 204, "GET, HEAD, PUT, POST, DELETE, OPTIONS"},
	} {
		r := mustServe(t, h, tc.status, "OPTIONS", tc.path, "", tc.headers...)
		switch {
		case tc.status == 204 && r.header.Get("Allow") != tc.allow:
			t.Errorf("%s: Allow %q, want %q", tc.name, r.header.Get("Allow"), tc.allow)
		case tc.status == 401 && r.header.Get("Allow") != "":
			t.Errorf("%s: a 401 with Allow %q", tc.name, r.header.Get("Allow"))
		case tc.status == 401 && len(tc.headers) == 0 && (r.body != unknown.body || strings.Join(r.header.Values("WWW-Authenticate"), "; ") != strings.Join(unknown.header.Values("WWW-Authenticate"), "; ")):
			t.Errorf("%s: %s %v, not the answer an unknown path gets: %s %v", tc.name, r.body, r.header.Values("WWW-Authenticate"), unknown.body, unknown.header.Values("WWW-Authenticate"))
		}
	}
	if r := mustServe(t, h, 204, "OPTIONS", "/cars", "", preflight(app)...); r.header.Get("Access-Control-Allow-Origin") != app {
		t.Fatalf("preflight: Access-Control-Allow-Origin %q", r.header.Get("Access-Control-Allow-Origin"))
	}
}
