package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/memory"
)

func corsServer(t *testing.T, cors *httpapi.CORS) http.Handler {
	t.Helper()
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{{
		Name: "cars", Key: "id", Collection: []string{"GET", "POST"}, Item: []string{"GET", "PUT", "DELETE"},
		Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}, {Name: "model", Type: restkit.TypeString}}}}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	if err := st.Migrate(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	return newServer(t, httpapi.Options{Schema: sc, Store: st, CORS: cors})
}

// TestCORS: preflights and plain requests, from listed and unlisted origins, for
// verbs the route allows and does not, with CORS configured and without.
func TestCORS(t *testing.T) {
	const app, evil = "https://app.example", "https://evil.example"
	on := corsServer(t, &httpapi.CORS{Origins: []string{app, "http://localhost:3000"}, MaxAge: 600})
	onlyGet := corsServer(t, &httpapi.CORS{Origins: []string{app}, Methods: []string{"GET", "HEAD"}, Headers: []string{"If-None-Match"}})
	off := corsServer(t, nil)
	const none = "!"
	for _, tc := range []struct {
		name    string
		srv     http.Handler
		method  string
		path    string
		headers []string // Origin, Access-Control-Request-Method, Access-Control-Request-Headers
		status  int
		want    map[string]string // exact; "!" absent
	}{
		{"preflight listed POST", on, "OPTIONS", "/cars", []string{app, "POST", "content-type"}, 204, map[string]string{
			"Access-Control-Allow-Origin": app, "Access-Control-Allow-Methods": "GET, HEAD, POST",
			"Access-Control-Allow-Headers": "Content-Type, If-Match, If-None-Match, Authorization", "Access-Control-Max-Age": "600",
			"Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers", "Allow": "GET, HEAD, POST, OPTIONS"}},
		{"preflight listed item PUT with If-Match", on, "OPTIONS", "/cars/1", []string{app, "PUT", "If-Match, Content-Type"}, 204, map[string]string{
			"Access-Control-Allow-Origin": app, "Access-Control-Allow-Methods": "GET, HEAD, PUT, DELETE"}},
		{"preflight second listed origin", on, "OPTIONS", "/cars", []string{"http://localhost:3000", "GET", ""}, 204, map[string]string{
			"Access-Control-Allow-Origin": "http://localhost:3000"}},
		{"preflight verb the route lacks", on, "OPTIONS", "/cars", []string{app, "DELETE", ""}, 204, map[string]string{
			"Access-Control-Allow-Origin": none, "Access-Control-Allow-Methods": none, "Allow": "GET, HEAD, POST, OPTIONS"}},
		{"preflight header not allowed", on, "OPTIONS", "/cars", []string{app, "POST", "X-Secret"}, 204, map[string]string{
			"Access-Control-Allow-Origin": none}},
		{"preflight unlisted origin", on, "OPTIONS", "/cars", []string{evil, "POST", "Content-Type"}, 204, map[string]string{
			"Access-Control-Allow-Origin": none, "Access-Control-Allow-Methods": none, "Access-Control-Max-Age": none}},
		{"preflight origin differs by scheme", on, "OPTIONS", "/cars", []string{"http://app.example", "GET", ""}, 204, map[string]string{
			"Access-Control-Allow-Origin": none}},
		{"preflight unknown route", on, "OPTIONS", "/nowhere", []string{app, "GET", ""}, 404, map[string]string{
			"Access-Control-Allow-Origin": none}},
		{"preflight methods restricted", onlyGet, "OPTIONS", "/cars", []string{app, "GET", "if-none-match"}, 204, map[string]string{
			"Access-Control-Allow-Origin": app, "Access-Control-Allow-Methods": "GET, HEAD", "Access-Control-Allow-Headers": "If-None-Match",
			"Access-Control-Max-Age": none}},
		{"preflight restricted verb", onlyGet, "OPTIONS", "/cars", []string{app, "POST", ""}, 204, map[string]string{
			"Access-Control-Allow-Origin": none}},
		{"simple GET listed", on, "GET", "/cars", []string{app, "", ""}, 200, map[string]string{
			"Access-Control-Allow-Origin": app, "Vary": "Origin, Accept", "Access-Control-Expose-Headers": "*", "Access-Control-Allow-Methods": none}},
		{"error to listed origin is readable", on, "GET", "/cars/9", []string{app, "", ""}, 404, map[string]string{
			"Access-Control-Allow-Origin": app}},
		{"simple GET unlisted", on, "GET", "/cars", []string{evil, "", ""}, 200, map[string]string{
			"Access-Control-Allow-Origin": none, "Access-Control-Expose-Headers": none, "Vary": "Origin, Accept"}},
		{"no Origin: same-origin or not a browser", on, "GET", "/cars", nil, 200, map[string]string{
			"Access-Control-Allow-Origin": none, "Vary": "Accept"}},
		{"plain OPTIONS from listed origin", on, "OPTIONS", "/cars", []string{app, "", ""}, 204, map[string]string{
			"Access-Control-Allow-Origin": app, "Access-Control-Allow-Methods": none, "Allow": "GET, HEAD, POST, OPTIONS"}},
		{"off: preflight", off, "OPTIONS", "/cars", []string{app, "POST", "Content-Type"}, 204, map[string]string{
			"Access-Control-Allow-Origin": none, "Access-Control-Allow-Methods": none, "Vary": none}},
		{"off: GET", off, "GET", "/cars", []string{app, "", ""}, 200, map[string]string{
			"Access-Control-Allow-Origin": none, "Access-Control-Expose-Headers": none}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			for i, name := range []string{"Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"} {
				if i < len(tc.headers) && tc.headers[i] != "" {
					r.Header.Set(name, tc.headers[i])
				}
			}
			w := httptest.NewRecorder()
			tc.srv.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			for k, v := range tc.want {
				got, present := strings.Join(w.Header().Values(k), ", "), len(w.Header().Values(k)) > 0
				switch {
				case v == none && present:
					t.Errorf("%s = %q, want none", k, got)
				case v == "*" && !present:
					t.Errorf("%s missing", k)
				case v != none && v != "*" && got != v:
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("nosniff missing")
			}
		})
	}
}
