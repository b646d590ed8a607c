package server

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/internal/testenv"
	"github.com/restkit/restkit/postgres"
)

// get answers a GET of url: status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	return call(t, "GET", url, "")
}

func call(t *testing.T, method, url, body string, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func sumOf(b string) string {
	s := sha256.Sum256([]byte(b))
	return hex.EncodeToString(s[:])
}

// configFile writes text to a config file of the test and returns its path.
func configFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "api.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func adminConfig(t *testing.T, url string) map[string]any {
	t.Helper()
	code, body := get(t, url+"/_admin/config")
	if code != 200 {
		t.Fatalf("/_admin/config: %d %s", code, body)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const trucksYAML = `
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}, model: {type: string}, seats: {type: integer}}}
      trucks: {key: id, fields: {id: {type: integer}}}
`

// TestReload: a reload swaps the served API (a new resource, a new field), ends the
// old handler's event streams, lets a request in flight finish on the old API, and
// shows the new config's sha256; a config with errors is refused with its line
// numbers while the old one goes on serving; a change that needs a restart is named.
func TestReload(t *testing.T) {
	path := configFile(t, carsYAML)
	s, url, _ := running(t, Config{API: parse(t, carsYAML), ConfigPath: path, Source: []byte(carsYAML)})

	if m := adminConfig(t, url); m["sha256"] != sumOf(carsYAML) || m["path"] != path || m["reloads"] != 0.0 {
		t.Fatalf("/_admin/config before: %v", m)
	}
	if code, body := get(t, url+"/readyz"); code != 200 || !strings.Contains(body, `"config":"`+sumOf(carsYAML)+`"`) {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	if code, _ := get(t, url+"/trucks"); code != 404 {
		t.Fatalf("/trucks before the reload: %d", code)
	}

	// An event stream, and a POST whose body is half sent, both on the old handler.
	stream, err := http.Get(url + "/cars/events")
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("stream: %v %v", stream, err)
	}
	defer stream.Body.Close()
	lines := bufio.NewReader(stream.Body)
	if line, err := lines.ReadString('\n'); err != nil || !strings.HasPrefix(line, ": events of /cars") {
		t.Fatalf("stream's first line %q %v", line, err)
	}
	pr, pw := io.Pipe()
	inflight := make(chan *http.Response, 1)
	go func() {
		// Expect: 100-continue holds the body back until the handler reads it: once the
		// first write below returns, the old handler is serving this request.
		req, _ := http.NewRequest("POST", url+"/cars", pr)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Expect", "100-continue")
		tr := &http.Transport{ExpectContinueTimeout: 10 * time.Minute}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Error(err)
			inflight <- nil
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		inflight <- resp
	}()
	if _, err := pw.Write([]byte(`{"id": 1, `)); err != nil { // returns once the handler reads it
		t.Fatal(err)
	}

	if err := os.WriteFile(path, []byte(trucksYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The request in flight finishes on the old API: seats is no field of it yet.
	pw.Write([]byte(`"model": "old", "seats": 2}`))
	pw.Close()
	if resp := <-inflight; resp == nil || resp.StatusCode != 400 {
		t.Fatalf("the request in flight: %+v (want the old API's 400 for an unknown field)", resp)
	}
	// The stream of the old handler ends; its client reconnects to the new one.
	for {
		if _, err := lines.ReadString('\n'); err != nil {
			break
		}
	}
	if code, body := call(t, "POST", url+"/cars", `{"id": 2, "model": "new", "seats": 4}`); code != 201 {
		t.Fatalf("POST with the new field: %d %s", code, body)
	}
	if code, _ := get(t, url+"/trucks"); code != 200 {
		t.Fatalf("/trucks after the reload: %d", code)
	}
	if m := adminConfig(t, url); m["sha256"] != sumOf(trucksYAML) || m["reloads"] != 1.0 || m["last_error"] != nil {
		t.Fatalf("/_admin/config after: %v", m)
	}

	// A config with an error: refused, with its line; the running one serves on.
	bad := trucksYAML + "      vans: {key: nope, fields: {id: {type: integer}}}\n"
	os.WriteFile(path, []byte(bad), 0o644)
	err = s.Reload(context.Background())
	var perr config.Errors
	if !errors.As(err, &perr) || !strings.Contains(err.Error(), "api.yaml:6:") {
		t.Fatalf("bad config: %v", err)
	}
	if code, _ := get(t, url+"/trucks"); code != 200 {
		t.Fatalf("/trucks after a refused reload: %d", code)
	}
	if m := adminConfig(t, url); m["sha256"] != sumOf(trucksYAML) || !strings.Contains(m["last_error"].(string), "api.yaml:6:") {
		t.Fatalf("/_admin/config after a refused reload: %v", m)
	}

	// A change a reload cannot apply is applied in part and named.
	withAddr := "server: {addr: 127.0.0.1:1}\n" + trucksYAML
	os.WriteFile(path, []byte(withAddr), 0o644)
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if m := adminConfig(t, url); m["sha256"] != sumOf(withAddr) || !strings.Contains(toJSON(m["restart_needed"]), "server: section") {
		t.Fatalf("/_admin/config after an address change: %v", m)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestWatchReloads: with Watch, a change of the file's text is served without a
// signal; a broken save is refused and the last good config serves on.
func TestWatchReloads(t *testing.T) {
	path := configFile(t, carsYAML)
	_, url, _ := running(t, Config{API: parse(t, carsYAML), ConfigPath: path, Source: []byte(carsYAML), Watch: true})
	os.WriteFile(path, []byte(trucksYAML), 0o644)
	waitFor(t, "the watched change to be served", func() bool { c, _ := get(t, url+"/trucks"); return c == 200 })
	os.WriteFile(path, []byte("apis: ["), 0o644)
	waitFor(t, "the broken save to be refused", func() bool { m := adminConfig(t, url); return m["last_error"] != nil })
	if code, _ := get(t, url+"/trucks"); code != 200 {
		t.Fatalf("/trucks after a broken save: %d", code)
	}
	// The broken edit undone: the file is what is served, and no error is left shown.
	os.WriteFile(path, []byte(trucksYAML), 0o644)
	waitFor(t, "the error to be cleared", func() bool { m := adminConfig(t, url); return m["last_error"] == nil })
}

// TestReloadWithoutSource: a declaration made in Go has nothing to reload from.
func TestReloadWithoutSource(t *testing.T) {
	s, _, _ := running(t, Config{API: parse(t, carsYAML)})
	if err := s.Reload(context.Background()); !errors.Is(err, ErrNoReload) {
		t.Fatalf("Reload: %v", err)
	}
}

// waitFor polls cond until it holds, for up to a minute (a loaded CI machine).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const switchesYAML = `
capabilities:
  v2_people: {enabled: false, description: "The new people API."}
  v1_writes: true
apis:
  - base: /v1
    resources:
      people:
        key: id
        fields: {id: {type: integer}, name: {type: string}}
        collection: [GET, {verb: POST, capability: v1_writes}]
        item: [GET, {verb: PUT, capability: v1_writes}, {verb: DELETE, capability: v1_writes}]
  - base: /v2
    capability: v2_people
    resources:
      people: {key: id, fields: {id: {type: integer}, name: {type: string}, email: {type: string}}}
`

// TestCapabilitySwitches: PUT /_admin/capabilities/{name} flips a switch at once,
// refuses what is not {"enabled": bool}, keeps an audit, and the state survives a
// restart and a reload.
func TestCapabilitySwitches(t *testing.T) {
	data := t.TempDir()
	path := configFile(t, switchesYAML)
	cfg := Config{API: parse(t, switchesYAML), ConfigPath: path, Source: []byte(switchesYAML), Data: data}
	s, url, stop := running(t, cfg)

	if code, _ := get(t, url+"/v2/people"); code != 404 {
		t.Fatalf("/v2/people while v2_people is off: %d", code)
	}
	for _, c := range []struct {
		name, ctype, body string
		want              int
	}{
		{"v2_people", "application/json", `{"enabled": "yes"}`, 400},
		{"v2_people", "application/json", `{"enable": true}`, 400},
		{"v2_people", "application/json", `{}`, 400},
		{"v2_people", "application/json", `{"enabled": true} {"enabled": false}`, 400},
		{"v2_people", "text/plain", `{"enabled": true}`, 415},
		{"v2_people", "application/json", `{"enabled": true}}`, 400},
		{"v2_people", "application/json", `{"Enabled": true}`, 400},
		{"v2_people", "application/json", `{"enabled": false, "enabled": true}`, 400},
		{"v2_people", "application/json", `{"enabled": true, "x": ` + strings.Repeat(" ", 2000) + `1}`, 413},
		{"nope", "application/json", `{"enabled": true}`, 404},
	} {
		if code, body := call(t, "PUT", url+"/_admin/capabilities/"+c.name, c.body, "Content-Type", c.ctype); code != c.want {
			t.Errorf("PUT %s %s: %d %s, want %d", c.name, c.body, code, body, c.want)
		}
	}
	if code, _ := get(t, url+"/v2/people"); code != 404 {
		t.Fatal("a refused PUT switched v2_people on")
	}

	code, body := call(t, "PUT", url+"/_admin/capabilities/v2_people", `{"enabled": true}`)
	if code != 200 || !strings.Contains(body, `"enabled": true`) || !strings.Contains(body, `"by": "anonymous (127.0.0.1)"`) {
		t.Fatalf("PUT v2_people on: %d %s", code, body)
	}
	if code, _ := get(t, url+"/v2/people"); code != 200 {
		t.Fatalf("/v2/people after switching it on: %d", code)
	}
	if _, doc := get(t, url+"/openapi.json"); !strings.Contains(doc, `"/v2/people"`) {
		t.Fatal("/openapi.json leaves /v2/people out after it was switched on")
	}
	// /v1 read-only: its write verbs go, reads stay.
	call(t, "PUT", url+"/_admin/capabilities/v1_writes", `{"enabled": false}`)
	req, _ := http.NewRequest("POST", url+"/v1/people", strings.NewReader(`{"id": 1}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Fatalf("POST /v1/people with v1_writes off: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
	// read_only: every write is a 503 with Retry-After; the admin routes still work.
	call(t, "PUT", url+"/_admin/capabilities/read_only", `{"enabled": true}`)
	if code, _ := call(t, "POST", url+"/v2/people", `{"id": 1}`); code != 503 {
		t.Fatalf("POST under read_only: %d", code)
	}
	call(t, "PUT", url+"/_admin/capabilities/read_only", `{"enabled": false}`)

	code, body = get(t, url+"/_admin/capabilities")
	var list struct {
		Capabilities []capabilityView
		Audit        []capabilityFlip
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil || code != 200 {
		t.Fatalf("GET /_admin/capabilities: %d %s", code, body)
	}
	if len(list.Audit) != 4 || list.Audit[0].Name != "read_only" || list.Audit[0].Enabled || list.Audit[3].Name != "v2_people" {
		t.Fatalf("audit: %+v", list.Audit)
	}
	if len(list.Capabilities) != 3 || toJSON(list.Capabilities[1].UsedBy) != `["DELETE /v1/people/{id}","POST /v1/people","PUT /v1/people/{id}"]` ||
		toJSON(list.Capabilities[0].UsedBy) != `["api /v2/"]` {
		t.Fatalf("capabilities: %+v", list.Capabilities)
	}

	// A reload keeps the switched states.
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, url+"/v2/people"); code != 200 {
		t.Fatalf("/v2/people after a reload: %d", code)
	}
	// So does a restart.
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	cfg.API = parse(t, switchesYAML)
	_, url, _ = running(t, cfg)
	if code, _ := get(t, url+"/v2/people"); code != 200 {
		t.Fatalf("/v2/people after a restart: %d", code)
	}
	if code, _ := call(t, "POST", url+"/v1/people", `{"id": 1}`); code != 405 {
		t.Fatalf("POST /v1/people after a restart: %d", code)
	}
}

// TestCapabilitiesAcrossNodes: two nodes on one PostgreSQL; a switch flipped on one
// is served by the other within the poll interval (waited on, not timed).
func TestCapabilitiesAcrossNodes(t *testing.T) {
	pg, drop, err := postgres.NewTestSchema(context.Background(), testenv.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { drop(context.Background()) })
	_, a, _ := running(t, Config{API: parse(t, switchesYAML), Postgres: pg})
	_, b, _ := running(t, Config{API: parse(t, switchesYAML), Postgres: pg})
	if code, _ := get(t, b+"/v2/people"); code != 404 {
		t.Fatalf("B before: %d", code)
	}
	start := time.Now()
	if code, body := call(t, "PUT", a+"/_admin/capabilities/v2_people", `{"enabled": true}`); code != 200 {
		t.Fatalf("PUT on A: %d %s", code, body)
	}
	waitFor(t, "B to serve /v2/people", func() bool { c, _ := get(t, b+"/v2/people"); return c == 200 })
	t.Logf("a switch on A reached B after %v", time.Since(start))
	if code, body := get(t, b+"/_admin/capabilities/v2_people"); code != 200 || !strings.Contains(body, `"enabled": true`) {
		t.Fatalf("B's view: %d %s", code, body)
	}
}

// TestReloadRefuses: a reload whose config has a syntax error, names an undeclared
// capability, relates to a resource it removes or needs a destructive migration is
// refused, and the old config serves on, its data whole.
func TestReloadRefuses(t *testing.T) {
	path := configFile(t, carsYAML)
	s, url, _ := running(t, Config{API: parse(t, carsYAML), ConfigPath: path, Source: []byte(carsYAML)})
	if code, body := call(t, "POST", url+"/cars", `{"id": 1, "model": "Golf"}`); code != 201 {
		t.Fatalf("POST: %d %s", code, body)
	}
	for name, c := range map[string]struct{ yaml, want string }{
		"syntax": {"apis: [\n", "api.yaml:"},
		"unknown capability": {`
apis:
  - resources:
      cars: {key: id, capability: nope, fields: {id: {type: integer}, model: {type: string}}}
`, `capability "nope"`},
		"relation to a removed resource": {`
apis:
  - resources:
      books: {key: id, fields: {id: {type: integer}, car: {type: relation, to: cars}}}
`, "cars"},
		"destructive": {`
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}}}
`, "restkit migrate"},
		"retyped": {`
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}, model: {type: integer}}}
`, "restkit migrate"},
	} {
		os.WriteFile(path, []byte(c.yaml), 0o644)
		err := s.Reload(context.Background())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Reload = %v, want an error naming %q", name, err, c.want)
		}
		if code, body := get(t, url+"/cars/1"); code != 200 || !strings.Contains(body, `"model":"Golf"`) {
			t.Fatalf("%s: after the refused reload GET /cars/1 = %d %s", name, code, body)
		}
		if m := adminConfig(t, url); m["sha256"] != sumOf(carsYAML) || m["reloads"] != 0.0 {
			t.Fatalf("%s: /_admin/config %v", name, m)
		}
	}
}

// TestCapabilityNeedsAdmin: with auth, only an admin role may read or flip a
// switch; a reader gets 403, an anonymous caller 401, and nothing is switched.
func TestCapabilityNeedsAdmin(t *testing.T) {
	hash := func(pw string) string {
		h, err := auth.HashPassword(pw, 4)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	yaml := `
capabilities: {v2: false}
auth:
  users:
    alice: {password: "` + hash("alice-secret") + `", roles: [admin]}
    bob: {password: "` + hash("bob-secret") + `", roles: [reader]}
  access: {read: [admin, reader], write: [admin], delete: [admin], anonymous: none}
apis:
  - base: /v2
    capability: v2
    resources:
      people: {key: id, fields: {id: {type: integer}}}
`
	_, url, _ := running(t, Config{API: parse(t, yaml)})
	basic := func(u, p string) string {
		req, _ := http.NewRequest("GET", "/", nil)
		req.SetBasicAuth(u, p)
		return req.Header.Get("Authorization")
	}
	for _, c := range []struct {
		who, authz string
		want       int
	}{{"anonymous", "", 401}, {"bob", basic("bob", "bob-secret"), 403}, {"wrong password", basic("alice", "nope"), 401}} {
		h := []string{"Content-Type", "application/json"}
		if c.authz != "" {
			h = append(h, "Authorization", c.authz)
		}
		if code, body := call(t, "PUT", url+"/_admin/capabilities/v2", `{"enabled": true}`, h...); code != c.want {
			t.Errorf("%s: PUT %d %s, want %d", c.who, code, body, c.want)
		}
		if code, _ := call(t, "GET", url+"/_admin/capabilities", "", h...); code != c.want {
			t.Errorf("%s: GET %d, want %d", c.who, code, c.want)
		}
		// Loopback is no admin once auth is on, and X-Forwarded-For changes nothing.
		if code, _ := call(t, "PUT", url+"/_admin/capabilities/v2", `{"enabled": true}`, append(h, "X-Forwarded-For", "127.0.0.1")...); code != c.want {
			t.Errorf("%s via X-Forwarded-For: %d, want %d", c.who, code, c.want)
		}
	}
	alice := basic("alice", "alice-secret")
	if code, _ := call(t, "GET", url+"/v2/people", "", "Authorization", alice); code != 404 {
		t.Fatalf("a refused flip switched v2 on: %d", code)
	}
	code, body := call(t, "PUT", url+"/_admin/capabilities/v2", `{"enabled": true}`, "Authorization", alice)
	if code != 200 || !strings.Contains(body, `"by": "alice"`) {
		t.Fatalf("alice: %d %s", code, body)
	}
	if code, _ := call(t, "GET", url+"/v2/people", "", "Authorization", alice); code != 200 {
		t.Fatalf("/v2/people after alice's flip: %d", code)
	}
}

// TestFlipsRacingFlipsAndReloads: switches flipped concurrently with each other and
// with reloads are applied exactly as stored once each PUT has answered — on one
// node, where nothing polls to repair a flip applied out of order.
func TestFlipsRacingFlipsAndReloads(t *testing.T) {
	const yaml = `
capabilities: {a: true, b: true, c: true, d: true}
apis:
  - resources:
      cars: {key: id, capability: a, fields: {id: {type: integer}}}
`
	path := configFile(t, yaml)
	s, url, _ := running(t, Config{API: parse(t, yaml), ConfigPath: path, Source: []byte(yaml)})
	stop := make(chan struct{})
	reloaded := make(chan struct{})
	go func() {
		defer close(reloaded)
		for {
			select {
			case <-stop:
				return
			default:
				s.Reload(context.Background())
			}
		}
	}()
	for round := 0; round < 20; round++ {
		want := round%2 == 1
		var wg sync.WaitGroup
		for _, name := range []string{"a", "b", "c", "d"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, body := call(t, "PUT", url+"/_admin/capabilities/"+name, fmt.Sprintf(`{"enabled": %v}`, want)); code != 200 {
					t.Errorf("PUT %s: %d %s", name, code, body)
				}
			}()
		}
		wg.Wait()
		for _, name := range []string{"a", "b", "c", "d"} {
			if got := s.current().api.Schema.Enabled(name); got != want {
				t.Fatalf("round %d: %s is served %v after every PUT answered %v", round, name, got, want)
			}
		}
	}
	close(stop)
	<-reloaded
}

// TestReloadDropsArtefacts: a reload whose config no longer has artefacts: stops
// serving the repository (no restart needed) — and the server lives on.
func TestReloadDropsArtefacts(t *testing.T) {
	with := carsYAML + "artefacts: {}\n"
	path := configFile(t, with)
	s, url, _ := running(t, Config{API: parse(t, with), ConfigPath: path, Source: []byte(with)})
	if code, _ := get(t, url+"/artefacts"); code != 200 {
		t.Fatalf("/artefacts before: %d", code)
	}
	os.WriteFile(path, []byte(carsYAML), 0o644)
	if err := s.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, url+"/artefacts"); code != 404 {
		t.Fatalf("/artefacts after: %d", code)
	}
	if m := adminConfig(t, url); toJSON(m["restart_needed"]) != "[]" {
		t.Fatalf("restart_needed: %v", m["restart_needed"])
	}
}
