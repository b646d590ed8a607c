package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Sweep credentials: keys of testdata/sweep.yaml.
const (
	sweepAdmin  = "Bearer rk_sweep_admin"
	sweepReader = "Bearer rk_sweep_reader"
	sweepGuest  = "Bearer rk_sweep_guest"
	sweepWrong  = "Bearer rk_sweep_nobody"
)

type sweepRoute struct {
	Pattern string
	Methods []string
	Rule    string
}

// TestAuthorizationSweep requests every route the server registers — enumerated by
// `restkit routes`, which asks the router, not from a list kept here — with every
// verb it answers: without credentials (401 and the challenges), with a key that is
// not configured (401), with a role the rule does not allow (403, nothing changes)
// and with one it allows (2xx). OPTIONS too: without credentials it is the same 401
// (it would map the routes otherwise), and any signed-in caller gets 204 with the
// route's Allow. A route this test does not know how to set up fails it, so a new
// route cannot go unswept; a route registered without a rule fails the 401 step.
func TestAuthorizationSweep(t *testing.T) {
	out, err := runCLI(t, nil, "routes", "--json", "--config", "testdata/sweep.yaml")
	if err != nil {
		t.Fatalf("restkit routes: %v\n%s", err, out)
	}
	var routes []sweepRoute
	if err := json.Unmarshal([]byte(out), &routes); err != nil {
		t.Fatalf("routes: %v\n%s", err, out)
	}
	if len(routes) < 15 {
		t.Fatalf("only %d routes: %s", len(routes), out)
	}
	s := startServer(t, "", "--config", "testdata/sweep.yaml")
	s.contractAuth = sweepAdmin
	seen := map[string]bool{}
	for _, rt := range routes {
		for _, method := range rt.Methods {
			name := method + " " + rt.Pattern
			seen[rt.Rule] = true
			t.Run(name, func(t *testing.T) { sweepOne(t, s, rt, method) })
		}
	}
	for _, rule := range []string{"public", "signed-in", "console", "page:docs", "page:openapi", "page:metrics", "resource:/cars", "resource:/v1/people", "resource:/api/resources", "noun:/led", "artefacts:repository", "artefacts:directory"} {
		if !seen[rule] {
			t.Errorf("no route with rule %s was swept", rule)
		}
	}
}

// sweepCase is how to make one request of a route succeed: prepare makes what must
// exist (or not) beforehand and returns the path and body to send.
type sweepCase struct {
	prepare func() (path, body string)
	headers []string
	mutable bool // a write to an existing target: after a refusal the target must still be there
}

func sweepOne(t *testing.T, s *server, rt sweepRoute, method string) {
	c, ok := sweepSetup(t, s, rt, method)
	if !ok {
		t.Fatalf("the sweep does not know how to request %s %s (rule %s): teach sweepSetup this route", method, rt.Pattern, rt.Rule)
	}
	req := func(auth string) (*response, string) {
		path, body := c.prepare()
		return s.do(method, path, body, append([]string{"Authorization", auth}, c.headers...)...), path
	}
	options := method == http.MethodOptions
	if rt.Rule == "console" { // the console signs its callers in itself; its data comes through the guarded routes
		for _, auth := range []string{"", sweepWrong, sweepGuest} {
			r, _ := req(auth)
			if auth == sweepGuest && method != http.MethodPost {
				if r.Status != http.StatusOK {
					t.Fatalf("console with %q: %d %s", auth, r.Status, r.Body)
				}
				continue
			}
			if r.Status != http.StatusSeeOther && !(auth == sweepGuest && r.Status == http.StatusNotFound) {
				t.Fatalf("console with %q: %d %s, want 303 to the sign-in page", auth, r.Status, r.Body)
			}
			if r.Status == http.StatusSeeOther && !strings.HasPrefix(r.Header.Get("Location"), "/ui/sign-in") {
				t.Fatalf("console with %q: Location %q", auth, r.Header.Get("Location"))
			}
		}
		return
	}
	if rt.Rule == "public" {
		want := http.StatusOK
		if options {
			want = http.StatusNoContent
		}
		for _, auth := range []string{"", sweepWrong, sweepGuest, sweepAdmin} {
			if r, _ := req(auth); r.Status != want {
				t.Fatalf("public route with %q: %d %s", auth, r.Status, r.Body)
			}
		}
		return
	}
	// No credentials, on the path and on its trailing-slash twin.
	path, body := c.prepare()
	for _, p := range []string{path, strings.TrimSuffix(path, "/") + "/"} {
		r := s.do(method, p, body, c.headers...)
		if r.Status != http.StatusUnauthorized || len(r.Header.Values("WWW-Authenticate")) != 2 {
			t.Fatalf("%s %s without credentials: %d %v %s", method, p, r.Status, r.Header.Values("WWW-Authenticate"), r.Body)
		}
	}
	if r, _ := req(sweepWrong); r.Status != http.StatusUnauthorized || !strings.Contains(strings.Join(r.Header.Values("WWW-Authenticate"), ";"), `error="invalid_token"`) {
		t.Fatalf("with an unknown key: %d %v %s", r.Status, r.Header.Values("WWW-Authenticate"), r.Body)
	}
	if options { // any signed-in caller may ask what the route allows
		for _, auth := range []string{sweepGuest, sweepReader, sweepAdmin} {
			if r, _ := req(auth); r.Status != http.StatusNoContent || r.Header.Get("Allow") != strings.Join(rt.Methods, ", ") {
				t.Fatalf("with %s: %d Allow %q, want 204 Allow %q", auth, r.Status, r.Header.Get("Allow"), strings.Join(rt.Methods, ", "))
			}
		}
		return
	}
	// Every verb of a resumable upload needs write access (HEAD included).
	write := method != http.MethodGet && method != http.MethodHead || rt.Rule == "artefacts:upload"
	if !strings.HasPrefix(rt.Rule, "page:") && rt.Rule != "signed-in" { // pages and /_session are open to every signed-in caller
		lacking := sweepGuest
		if write {
			lacking = sweepReader
		}
		r, path := req(lacking)
		if r.Status != http.StatusForbidden {
			t.Fatalf("with a role lacking access (%s): %d %s", lacking, r.Status, r.Body)
		}
		if c.mutable {
			if r := s.do(http.MethodGet, path, "", "Authorization", sweepAdmin); r.Status != http.StatusOK {
				t.Fatalf("after a refused %s, GET %s: %d %s", method, path, r.Status, r.Body)
			}
		}
	}
	allowed := []string{sweepAdmin}
	if !write {
		allowed = append(allowed, sweepReader)
	}
	for _, auth := range allowed {
		if r, _ := req(auth); r.Status < 200 || r.Status > 299 {
			t.Fatalf("with the right role (%s): %d %s", auth, r.Status, r.Body)
		}
	}
}

var sweepSeq int

// sweepSetup knows every kind of route in testdata/sweep.yaml.
func sweepSetup(t *testing.T, s *server, rt sweepRoute, method string) (sweepCase, bool) {
	admin := func(method, path, body string, headers ...string) *response {
		return s.do(method, path, body, append([]string{"Authorization", sweepAdmin}, headers...)...)
	}
	must := func(r *response, what string) {
		if r.Status >= 300 {
			t.Fatalf("sweep setup %s: %d %s", what, r.Status, r.Body)
		}
	}
	static := func(path, body string) func() (string, string) {
		return func() (string, string) { return path, body }
	}
	write := method == http.MethodPut || method == http.MethodPatch || method == http.MethodPost
	raw := []string{"Content-Type", "application/octet-stream"}
	p := rt.Pattern
	switch {
	case p == "/{$}":
		return sweepCase{prepare: static("/", "")}, true
	case p == "/_session" || p == "/ui/":
		return sweepCase{prepare: static(p, "")}, true
	case p == "/healthz" || p == "/readyz" || p == "/openapi.json" || p == "/docs" || p == "/metrics":
		return sweepCase{prepare: static(p, "")}, true
	case p == "/cars" && method == http.MethodPost:
		return sweepCase{prepare: func() (string, string) {
			sweepSeq++
			return p, fmt.Sprintf(`{"id":%d}`, 1000+sweepSeq)
		}}, true
	case p == "/cars" || p == "/v1/people" || p == "/artefacts" || p == "/artefact":
		return sweepCase{prepare: static(p, "")}, true
	case p == "/cars/{key}" || p == "/v1/people/{key}":
		base := strings.TrimSuffix(p, "/{key}")
		body := ""
		if write {
			body = "{}"
		}
		return sweepCase{mutable: method != http.MethodGet && method != http.MethodHead, prepare: func() (string, string) {
			must(admin("PUT", base+"/7", "{}"), "PUT "+base+"/7")
			return base + "/7", body
		}}, true
	case strings.HasSuffix(p, "/events"): // event streams: the list's, a record's, a noun's
		return sweepCase{prepare: static(strings.ReplaceAll(p, "{key}", "7"), "")}, true
	case p == "/cars/{key}/revisions":
		return sweepCase{prepare: func() (string, string) {
			must(admin("PUT", "/cars/7", "{}"), "PUT /cars/7")
			return "/cars/7/revisions", ""
		}}, true
	case p == "/cars/{key}/revisions/{rev}":
		return sweepCase{prepare: func() (string, string) {
			must(admin("PUT", "/cars/7", "{}"), "PUT /cars/7")
			r := admin("GET", "/cars/7/revisions", "")
			var revs []struct {
				Rev int64 `json:"rev"`
			}
			if err := json.Unmarshal(r.Body, &revs); err != nil || len(revs) == 0 {
				t.Fatalf("revisions of /cars/7: %s", r.Body)
			}
			return fmt.Sprintf("/cars/7/revisions/%d", revs[0].Rev), ""
		}}, true
	case p == "/api/resources" || p == "/api/resource":
		body := ""
		if method == http.MethodPost {
			body = "{}"
		}
		return sweepCase{prepare: static(p, body)}, true
	case p == "/api/resource/{key}":
		body := ""
		if write {
			body = "{}"
		}
		return sweepCase{mutable: method != http.MethodGet && method != http.MethodHead, prepare: func() (string, string) {
			r := admin("POST", "/api/resource", "{}")
			must(r, "POST /api/resource")
			return r.Header.Get("Location"), body
		}}, true
	case p == "/led":
		body := ""
		if method == http.MethodPut {
			body = "{}"
		}
		return sweepCase{prepare: static(p, body)}, true
	case strings.HasSuffix(p, "/{dir}/{id}/properties"):
		base := p[:strings.Index(p, "/{dir}")]
		c := sweepCase{mutable: method == http.MethodPut, prepare: func() (string, string) {
			must(admin("PUT", base+"/sweep/a.txt", "hello", raw...), "PUT "+base+"/sweep/a.txt")
			return base + "/sweep/a.txt/properties", ""
		}}
		if method == http.MethodPut {
			c.headers = []string{"Content-Type", "application/json"}
			prev := c.prepare
			c.prepare = func() (string, string) { path, _ := prev(); return path, `{"build":"1"}` }
		}
		return c, true
	case p == "/_uploads":
		meta := "path " + base64.StdEncoding.EncodeToString([]byte("sweep/t.bin"))
		return sweepCase{headers: []string{"Tus-Resumable", "1.0.0", "Upload-Length", "5", "Upload-Metadata", meta}, prepare: static(p, "")}, true
	case p == "/_uploads/{upload}":
		meta := "path " + base64.StdEncoding.EncodeToString([]byte("sweep/t.bin"))
		c := sweepCase{headers: []string{"Tus-Resumable", "1.0.0"}, prepare: func() (string, string) {
			r := admin("POST", "/_uploads", "", "Tus-Resumable", "1.0.0", "Upload-Length", "5", "Upload-Metadata", meta)
			must(r, "POST /_uploads")
			return r.Header.Get("Location"), ""
		}}
		if method == http.MethodPatch {
			c.headers = append(c.headers, "Content-Type", "application/offset+octet-stream", "Upload-Offset", "0")
			prev := c.prepare
			c.prepare = func() (string, string) { path, _ := prev(); return path, "hello" }
		}
		return c, true
	case p == "/_admin/cleanup":
		return sweepCase{prepare: static(p+"?dry_run=true", "")}, true
	case strings.HasSuffix(p, "/{dir}") || strings.HasSuffix(p, "/{dir}/{id}") || strings.HasSuffix(p, "/{dir}/{id}/versions"):
		base := p[:strings.Index(p, "/{dir}")]
		path := strings.NewReplacer("{dir}", "sweep", "{id}", "a.txt").Replace(p)
		c := sweepCase{mutable: method == http.MethodDelete || method == http.MethodPut, prepare: func() (string, string) {
			must(admin("PUT", base+"/sweep/a.txt", "hello", raw...), "PUT "+base+"/sweep/a.txt")
			return path, ""
		}}
		if strings.HasSuffix(p, "/{id}") && write {
			c.headers = raw
			if method == http.MethodPost { // POST creates: the artefact must not exist
				c.prepare = func() (string, string) {
					admin("DELETE", base+"/sweep/a.txt", "")
					return path, "hello"
				}
			} else {
				prev := c.prepare
				c.prepare = func() (string, string) { path, _ := prev(); return path, "hello" }
			}
		}
		return c, true
	}
	return sweepCase{}, false
}
