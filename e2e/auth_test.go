package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/restkit/restkit/internal/testenv"
)

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

var (
	alice = basic("alice", "alice-secret")
	bob   = basic("bob", "bob-secret")
)

// TestSecureExample walks examples/secure.yaml: who may do what, the answers to bad
// credentials, and the per-caller rate limit of /cars.
func TestSecureExample(t *testing.T) {
	s := startServer(t, "", "--config", "../examples/secure.yaml")
	s.contractAuth = alice
	problem := func(status int, detail string) string { return problemJSON(status, detail) }
	s.run(t, []step{
		{name: "healthz is open", method: "GET", path: "/healthz", status: 200},
		{name: "anonymous read", method: "GET", path: "/cars", status: 401,
			wantHeader: map[string]string{"Content-Type": "application/problem+json"},
			wantJSON:   problem(401, "credentials are required: HTTP Basic (user and password) or a Bearer API key")},
		{name: "docs need a caller", method: "GET", path: "/docs", status: 401},
		{name: "openapi needs a caller", method: "GET", path: "/openapi.json", status: 401},
		{name: "index needs a caller", method: "GET", path: "/", status: 401},
		{name: "docs for bob", method: "GET", path: "/docs", headers: []string{"Authorization", bob}, status: 200},
		{name: "alice creates", method: "POST", path: "/cars", body: `{"id":1,"model":"T","color":"black"}`, headers: []string{"Authorization", alice}, status: 201},
		{name: "bob reads", method: "GET", path: "/cars/1", headers: []string{"Authorization", bob}, status: 200, wantJSON: `{"id":1,"model":"T","color":"black"}`},
		{name: "bob may not write", method: "PATCH", path: "/cars/1", body: `{"color":"red"}`, headers: []string{"Authorization", bob}, status: 403,
			wantJSON: problem(403, "bob may not write here")},
		{name: "bob may not delete", method: "DELETE", path: "/cars/1", headers: []string{"Authorization", bob}, status: 403},
		{name: "bob may not toggle the led", method: "POST", path: "/led", headers: []string{"Authorization", bob}, status: 403},
		{name: "bob may not upload", method: "PUT", path: "/artefacts/docs/a.txt", body: "x", headers: []string{"Authorization", bob, "Content-Type", "text/plain"}, status: 403},
		{name: "nothing changed", method: "GET", path: "/cars/1", headers: []string{"Authorization", bob}, status: 200, wantJSON: `{"id":1,"model":"T","color":"black"}`},
		{name: "the envelope API refuses in its style", method: "PUT", path: "/v1/people/fred", body: `{"email":"f@example.com"}`, headers: []string{"Authorization", bob}, status: 403,
			wantJSON: `{"status":"error","message":"bob may not write here","errors":[]}`},
		{name: "wrong password", method: "GET", path: "/cars", headers: []string{"Authorization", basic("alice", "alice-secreT")}, status: 401,
			wantJSON: problem(401, "the credentials are not valid")},
		{name: "unknown user: the same answer", method: "GET", path: "/cars", headers: []string{"Authorization", basic("mallory", "alice-secret")}, status: 401,
			wantJSON: problem(401, "the credentials are not valid")},
		{name: "unknown key", method: "GET", path: "/cars", headers: []string{"Authorization", "Bearer rk_nope"}, status: 401,
			wantHeader: map[string]string{"WWW-Authenticate": `Basic realm="restkit", charset="UTF-8"`}},
		{name: "healthz ignores bad credentials", method: "GET", path: "/healthz", headers: []string{"Authorization", "Bearer rk_nope"}, status: 200},
		{name: "OPTIONS needs credentials: it would map the routes", method: "OPTIONS", path: "/cars/1/revisions/5", status: 401,
			wantHeader: map[string]string{"Allow": "!"}, wantJSON: problem(401, "credentials are required: HTTP Basic (user and password) or a Bearer API key")},
		{name: "OPTIONS for bob", method: "OPTIONS", path: "/cars", headers: []string{"Authorization", bob}, status: 204, wantHeader: map[string]string{"Allow": "GET, HEAD, POST, OPTIONS"}},
	})
	// Both challenges on every 401, an error code on a refused token.
	r := s.do("GET", "/cars", "", "Authorization", "Bearer rk_nope")
	if got := r.Header.Values("WWW-Authenticate"); len(got) != 2 || got[1] != `Bearer realm="restkit", error="invalid_token"` {
		t.Fatalf("challenges: %q", got)
	}
	// Malformed headers are 401s that say so, never 500s.
	for _, h := range []string{"Basic", "Basic !!!", "Basic " + base64.StdEncoding.EncodeToString([]byte("nocolon")), "Digest x", "Bearer a b",
		"Basic " + base64.StdEncoding.EncodeToString([]byte("a\x00b:c")), "Bearer " + strings.Repeat("a", 5000)} {
		r := s.do("GET", "/cars", "", "Authorization", h)
		if r.Status != 401 || !strings.Contains(string(r.Body), "malformed") {
			t.Errorf("Authorization %.40q: %d %s", h, r.Status, r.Body)
		}
	}
}

// TestRateLimitPerCaller: /cars of examples/secure.yaml allows each caller 20/s in
// bursts of 40; callers are told apart by who they are, not by address. The test
// runs the example with 1/h in place of 20/s, so that no token comes back while it
// runs, however slowly (at 20/s, a slow loop never empties the bucket).
func TestRateLimitPerCaller(t *testing.T) {
	example, err := os.ReadFile("../examples/secure.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const limit = "ratelimit: {rate: 20/s, burst: 40}"
	if !bytes.Contains(example, []byte(limit)) {
		t.Fatalf("examples/secure.yaml no longer says %s (the README does)", limit)
	}
	hourly := bytes.Replace(example, []byte(limit), []byte("ratelimit: {rate: 1/h, burst: 40}"), 1)
	s := startServer(t, "", "--config", writeConfig(t, string(hourly)))
	s.contractAuth = alice
	// A password seen for the first time is counted by address (it is checked only
	// after the limit): bob signs in once where nothing is limited.
	if r := s.do("GET", "/led", "", "Authorization", bob); r.Status != 200 {
		t.Fatalf("/led: %d", r.Status)
	}
	for i := 0; i < 40; i++ {
		if r := s.do("GET", "/cars", "", "Authorization", bob); r.Status != 200 || r.Header.Get("RateLimit-Remaining") != strconv.Itoa(39-i) {
			t.Fatalf("bob's request %d: %d, remaining %s", i, r.Status, r.Header.Get("RateLimit-Remaining"))
		}
	}
	refused := s.do("GET", "/cars", "", "Authorization", bob)
	if h := refused.Header; refused.Status != 429 || h.Get("RateLimit-Limit") != "40" || h.Get("RateLimit-Remaining") != "0" || h.Get("Retry-After") == "" {
		t.Fatalf("bob past the burst: %d %v", refused.Status, h)
	}
	// alice's bucket is her own, though she calls from the same address.
	if r := s.do("GET", "/cars", "", "Authorization", alice); r.Status != 200 || r.Header.Get("RateLimit-Remaining") != "39" {
		t.Fatalf("alice after bob's burst: %d remaining %s", r.Status, r.Header.Get("RateLimit-Remaining"))
	}
	// Another resource is not limited.
	if r := s.do("GET", "/led", "", "Authorization", bob); r.Status != 200 || r.Header.Get("RateLimit-Limit") != "" {
		t.Fatalf("/led: %d %v", r.Status, r.Header)
	}
}

// Password hashes (cost 4) of the users of the tests below: admin-pw, reader-pw, guest-pw.
const (
	hashAdmin  = "$2a$04$b6X67idHSvdCO.HeH07RU.54O.OJWkscuGHyOJOknqE8igFPdlwga"
	hashReader = "$2a$04$ZqGqlXVT9NtlBdtAqw2tL.0myqTUhiqhWTB3UmCwxmA4cW0LwdSMW"
	hashGuest  = "$2a$04$vlP94q3V5rBlQkLURBhntONF4r3Z1T6wJujq.PAC5GHVkOMrO7ggi"
)

// The start of an auth: section (cost-4 hashes, for speed): root is admin (admin-pw);
// writersAuth adds ann and ben, role writer (reader-pw, guest-pw).
const (
	rootAuth = `auth:
  bcrypt_cost: 4
  users:
    root: {password: "` + hashAdmin + `", roles: [admin]}
`
	writersAuth = rootAuth + `    ann: {password: "` + hashReader + `", roles: [writer]}
    ben: {password: "` + hashGuest + `", roles: [writer]}
`
)

// TestOwnerField: the creator owns a record; only they or an admin may change it.
func TestOwnerField(t *testing.T) {
	cfg := writeConfig(t, `
`+writersAuth+`  access: {read: ["*"], write: ["*"]}
apis:
  - resources:
      notes:
        key: id
        key_from: generated
        owner_field: owner
        fields:
          id: {type: string}
          text: {type: string, required: true}
`)
	s := startServer(t, "", "--config", cfg)
	root, ann, ben := basic("root", "admin-pw"), basic("ann", "reader-pw"), basic("ben", "guest-pw")
	s.contractAuth = root
	r := s.do("POST", "/notes", `{"text":"ann's"}`, "Authorization", ann)
	var note map[string]any
	if r.Status != 201 || json.Unmarshal(r.Body, &note) != nil || note["owner"] != "ann" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	loc := r.Header.Get("Location")
	s.run(t, []step{
		{name: "a client may not choose the owner", method: "POST", path: "/notes", body: `{"text":"x","owner":"ann"}`, headers: []string{"Authorization", ben}, status: 400,
			wantIn: []string{`"field":"owner"`, "read-only"}},
		{name: "ben may read ann's note", method: "GET", path: loc, headers: []string{"Authorization", ben}, status: 200},
		{name: "ben may not change it", method: "PATCH", path: loc, body: `{"text":"ben's now"}`, headers: []string{"Authorization", ben}, status: 403,
			wantIn: []string{"belongs to another user"}},
		{name: "ben may not delete it", method: "DELETE", path: loc, headers: []string{"Authorization", ben}, status: 403},
		{name: "ann may change it", method: "PATCH", path: loc, body: `{"text":"edited"}`, headers: []string{"Authorization", ann}, status: 200,
			wantIn: []string{`"owner":"ann"`, `"text":"edited"`}},
		{name: "echoing the owner back is fine", method: "PUT", path: loc, body: `{"text":"again","owner":"ann"}`, headers: []string{"Authorization", ann}, status: 200},
		{name: "ann may not give it away", method: "PATCH", path: loc, body: `{"owner":"ben"}`, headers: []string{"Authorization", ann}, status: 400},
		{name: "filter by owner", method: "GET", path: "/notes?owner=ann", headers: []string{"Authorization", ben}, status: 200, wantIn: []string{`"owner":"ann"`}},
		{name: "an admin may delete it", method: "DELETE", path: loc, headers: []string{"Authorization", root}, status: 204},
	})
}

// TestArtefactAccess: directory rules by glob; listings show only what the caller may read.
func TestArtefactAccess(t *testing.T) {
	cfg := writeConfig(t, `
`+rootAuth+`    rita: {password: "`+hashReader+`", roles: [reader]}
  access: {read: [admin, reader], write: [admin]}
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}}}
artefacts:
  directories:
    "public-*": {access: {anonymous: read}}
    secret: {access: {read: [admin]}}
    "café*": {access: {read: [admin]}}
`)
	s := startServer(t, "", "--config", cfg)
	root, rita := basic("root", "admin-pw"), basic("rita", "reader-pw")
	s.contractAuth = root
	for _, dir := range []string{"public-docs", "secret", "team", "caf%C3%A9"} {
		if r := s.do("PUT", "/artefacts/"+dir+"/a.txt", "hello "+dir, "Authorization", root, "Content-Type", "text/plain"); r.Status != 201 {
			t.Fatalf("upload to %s: %d %s", dir, r.Status, r.Body)
		}
	}
	names := func(auth string) []string {
		var headers []string
		if auth != "" {
			headers = []string{"Authorization", auth}
		}
		r := s.do("GET", "/artefacts", "", headers...)
		var dirs []struct{ Name string }
		if r.Status != 200 || json.Unmarshal(r.Body, &dirs) != nil {
			t.Fatalf("listing as %q: %d %s", auth, r.Status, r.Body)
		}
		var out []string
		for _, d := range dirs {
			out = append(out, d.Name)
		}
		return out
	}
	if got := strings.Join(names(root), ","); got != "café,public-docs,secret,team" {
		t.Errorf("root sees %s", got)
	}
	if got := strings.Join(names(rita), ","); got != "public-docs,team" {
		t.Errorf("rita sees %s", got)
	}
	if got := strings.Join(names(""), ","); got != "public-docs" {
		t.Errorf("anonymous sees %s", got)
	}
	s.run(t, []step{
		{name: "anonymous download of a public directory", method: "GET", path: "/artefacts/public-docs/a.txt", status: 200},
		{name: "anonymous upload is still refused", method: "PUT", path: "/artefacts/public-docs/b.txt", body: "x", headers: []string{"Content-Type", "text/plain"}, status: 401},
		{name: "anonymous read elsewhere", method: "GET", path: "/artefacts/team/a.txt", status: 401},
		{name: "rita reads team", method: "GET", path: "/artefacts/team/a.txt", headers: []string{"Authorization", rita}, status: 200},
		{name: "rita may not read secret", method: "GET", path: "/artefacts/secret/a.txt", headers: []string{"Authorization", rita}, status: 403},
		{name: "nor list it", method: "GET", path: "/artefacts/secret", headers: []string{"Authorization", rita}, status: 403},
		{name: "nor through the alias", method: "GET", path: "/artefact/secret/a.txt", headers: []string{"Authorization", rita}, status: 403},
		{name: "nor escaped", method: "GET", path: "/artefacts/secre%74/a.txt", headers: []string{"Authorization", rita}, status: 403},
		{name: "an admin-only directory (NFC)", method: "GET", path: "/artefacts/caf%C3%A9/a.txt", headers: []string{"Authorization", rita}, status: 403},
		{name: "nor spelled in NFD", method: "GET", path: "/artefacts/cafe%CC%81/a.txt", headers: []string{"Authorization", rita}, status: 403},
		{name: "root reads it in NFD", method: "GET", path: "/artefacts/cafe%CC%81/a.txt", headers: []string{"Authorization", root}, status: 200},
	})
	// Find-by-digest hides artefacts of directories the caller may not read.
	r := s.do("GET", "/artefacts/secret/a.txt", "", "Authorization", root)
	sum := strings.TrimSuffix(strings.TrimPrefix(r.Header.Get("ETag"), `"`), `"`)
	for _, c := range []struct {
		auth string
		n    int
	}{{root, 1}, {rita, 0}} {
		r := s.do("GET", "/artefacts?sha256="+sum, "", "Authorization", c.auth)
		var list []any
		if r.Status != 200 || json.Unmarshal(r.Body, &list) != nil || len(list) != c.n {
			t.Errorf("find by digest: %d %s (want %d results)", r.Status, r.Body, c.n)
		}
	}
}

// TestAuditLog: one line per write and per refusal, naming who and never a secret.
func TestAuditLog(t *testing.T) {
	s := startServer(t, "", "--config", "../examples/secure.yaml")
	s.contractAuth = alice
	s.do("POST", "/cars", `{"id":5,"model":"T","color":"black"}`, "Authorization", alice)
	s.do("DELETE", "/cars/5", "", "Authorization", bob)
	s.do("GET", "/cars", "", "Authorization", basic("bob", "not-bobs-password"))
	s.do("GET", "/cars/5", "", "Authorization", bob) // a read: no audit line
	var lines []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && len(lines) < 3; time.Sleep(20 * time.Millisecond) {
		lines = nil
		for _, l := range strings.Split(s.logs.String(), "\n") {
			if strings.Contains(l, "msg=audit") {
				lines = append(lines, l)
			}
		}
	}
	want := [][]string{
		{"outcome=allowed", "action=write", "method=POST", "path=/cars", "status=201", "user=alice", "scheme=basic"},
		{"outcome=forbidden", "action=delete", "path=/cars/5", "status=403", "user=bob"},
		{`outcome="invalid credentials"`, "action=read", "status=401", `user=""`},
	}
	if len(lines) != len(want) {
		t.Fatalf("audit lines:\n%s", strings.Join(lines, "\n"))
	}
	for i, l := range lines {
		for _, w := range want[i] {
			if !strings.Contains(l, w) {
				t.Errorf("audit line %d lacks %s: %s", i, w, l)
			}
		}
	}
	if logs := s.logs.String(); strings.Contains(logs, "secret") || strings.Contains(logs, "not-bobs-password") || strings.Contains(logs, "black") {
		t.Fatalf("a secret or a body reached the log:\n%s", logs)
	}
}

// TestCORSWithAuth: a browser's preflight carries no credentials and still passes;
// the actual request then needs them.
func TestCORSWithAuth(t *testing.T) {
	cfg := writeConfig(t, `
server:
  cors: {origins: ["https://app.example"]}
auth:
  bcrypt_cost: 4
  users:
    root: {password: "`+hashAdmin+`", roles: [admin]}
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}}}
`)
	s := startServer(t, "", "--config", cfg)
	s.contractAuth = basic("root", "admin-pw")
	s.run(t, []step{
		{name: "preflight", method: "OPTIONS", path: "/cars", status: 204,
			headers:    []string{"Origin", "https://app.example", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization, content-type"},
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": "GET, HEAD, POST"}},
		{name: "the request without credentials", method: "POST", path: "/cars", body: `{"id":1}`, headers: []string{"Origin", "https://app.example"}, status: 401,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "https://app.example"}},
		{name: "with them", method: "POST", path: "/cars", body: `{"id":1}`, headers: []string{"Origin", "https://app.example", "Authorization", basic("root", "admin-pw")}, status: 201},
	})
}

// TestPublicAddressWithAuth: with auth: configured, serve may listen on every interface.
func TestPublicAddressWithAuth(t *testing.T) {
	port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	cmd := exec.Command(binary, "serve", "--addr", "0.0.0.0:"+port, "--data", t.TempDir(), "--config", "../examples/secure.yaml")
	cmd.Env = cleanEnv()
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://127.0.0.1:" + port + "/cars"); err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("/cars on a public address: %d", resp.StatusCode)
			}
			return
		}
	}
	t.Fatalf("serve on 0.0.0.0 with auth did not come up:\n%s", logs.String())
}

// TestCreateKeyFlow: create-key prints a key once and the entry to configure; the
// CLI's --token then acts as the key's user, and without it the server says why not.
func TestCreateKeyFlow(t *testing.T) {
	cmd := exec.Command(binary, "create-key", "--user", "alice", "--role", "admin", "--id", "ci")
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	key := strings.TrimSpace(string(out))
	if err != nil || !strings.HasPrefix(key, "rk_") || strings.Contains(stderr.String(), key) {
		t.Fatalf("create-key: %v %q %s", err, key, stderr.String())
	}
	var entry string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "  - ") {
			entry = strings.TrimPrefix(l, "  - ")
		}
	}
	secure, err := os.ReadFile("../examples/secure.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, strings.Replace(string(secure), "  keys: []", "  keys:\n    - "+entry, 1))
	s := startServer(t, "", "--config", cfg)
	file := filepath.Join(t.TempDir(), "f.txt")
	if err := os.WriteFile(file, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, nil, "push", "--server", s.URL, "--token", key, "docs/f.txt", file); err != nil || !strings.Contains(out, `"version": 1`) {
		t.Fatalf("push with the key: %v\n%s", err, out)
	}
	if out, err := runCLI(t, []string{"RESTKIT_TOKEN=" + key, "RESTKIT_SERVER=" + s.URL}, "ls", "docs"); err != nil || !strings.Contains(out, `"id":"f.txt"`) {
		t.Fatalf("ls with RESTKIT_TOKEN: %v\n%s", err, out)
	}
	if out, err := runCLI(t, nil, "ls", "--server", s.URL, "docs"); err == nil || !strings.Contains(out, "credentials are required") {
		t.Fatalf("ls without a key: %v\n%s", err, out)
	}
	if !strings.Contains(s.logs.String(), "user=alice scheme=bearer key=ci") {
		t.Fatalf("no audit line names the key:\n%s", s.logs.String())
	}
}

// TestAccessLevelsAreWholes (from a review): a level that narrows read is not opened
// again by a parent's anonymous: read, and a level that narrows write narrows delete.
func TestAccessLevelsAreWholes(t *testing.T) {
	cfg := writeConfig(t, `
`+rootAuth+`    ed: {password: "`+hashReader+`", roles: [editor]}
  access: {read: ["*"], write: [admin, editor], delete: [admin, editor]}
apis:
  - base: /v1
    access: {anonymous: read}
    resources:
      secrets:
        key: id
        fields: {id: {type: integer}}
        access: {read: [admin], write: [admin]}
      notes:
        key: id
        fields: {id: {type: integer}}
artefacts:
  access: {anonymous: read}
  directories:
    secret: {access: {read: [admin]}}
`)
	s := startServer(t, "", "--config", cfg)
	root, ed := basic("root", "admin-pw"), basic("ed", "reader-pw")
	s.contractAuth = root
	s.run(t, []step{
		{name: "root writes a secret", method: "POST", path: "/v1/secrets", body: `{"id":1}`, headers: []string{"Authorization", root}, status: 201},
		{name: "anonymous may not read it", method: "GET", path: "/v1/secrets/1", status: 401},
		{name: "nor list", method: "GET", path: "/v1/secrets", status: 401},
		{name: "ed may not read it", method: "GET", path: "/v1/secrets/1", headers: []string{"Authorization", ed}, status: 403},
		{name: "ed may not delete it (write narrowed, so delete too)", method: "DELETE", path: "/v1/secrets/1", headers: []string{"Authorization", ed}, status: 403},
		{name: "notes stay anonymous-readable", method: "GET", path: "/v1/notes", status: 200},
		{name: "root uploads a secret file", method: "PUT", path: "/artefacts/secret/k.txt", body: "k", headers: []string{"Authorization", root, "Content-Type", "text/plain"}, status: 201},
		{name: "anonymous may not read the secret directory", method: "GET", path: "/artefacts/secret/k.txt", status: 401},
		{name: "nor see it listed", method: "GET", path: "/artefacts", status: 200, wantJSON: `[]`},
	})
}

// TestOwnerRefusalsAndPurge (from a review): an owner check's 403 is audited as
// forbidden, and on a resource with owners only an admin purges history (a re-created
// key would otherwise let its new owner erase the old owner's revisions).
func TestOwnerRefusalsAndPurge(t *testing.T) {
	cfg := writeConfig(t, `
`+writersAuth+`  access: {read: ["*"], write: ["*"]}
apis:
  - resources:
      notes:
        key: id
        history: true
        owner_field: owner
        fields: {id: {type: integer}, text: {type: string}}
`)
	s := startServer(t, "", "--config", cfg)
	root, ann, ben := basic("root", "admin-pw"), basic("ann", "reader-pw"), basic("ben", "guest-pw")
	s.contractAuth = root
	s.run(t, []step{
		{name: "ann creates", method: "POST", path: "/notes", body: `{"id":6,"text":"ann's"}`, headers: []string{"Authorization", ann}, status: 201},
		{name: "ben may not change it", method: "PATCH", path: "/notes/6", body: `{"text":"x"}`, headers: []string{"Authorization", ben}, status: 403},
		{name: "ann deletes it", method: "DELETE", path: "/notes/6", headers: []string{"Authorization", ann}, status: 204},
		{name: "ben takes the key", method: "POST", path: "/notes", body: `{"id":6,"text":"ben's"}`, headers: []string{"Authorization", ben}, status: 201},
		{name: "ben may not purge the history", method: "DELETE", path: "/notes/6/revisions", headers: []string{"Authorization", ben}, status: 403},
		{name: "ann's revisions are still there", method: "GET", path: "/notes/6/revisions/1", headers: []string{"Authorization", root}, status: 200, wantIn: []string{"ann's"}},
		{name: "an admin may purge", method: "DELETE", path: "/notes/6/revisions", headers: []string{"Authorization", root}, status: 204},
	})
	var forbidden int
	for _, l := range strings.Split(s.logs.String(), "\n") {
		if strings.Contains(l, "msg=audit") && strings.Contains(l, "status=403") {
			if !strings.Contains(l, "outcome=forbidden") {
				t.Errorf("a 403 audited as: %s", l)
			}
			forbidden++
		}
	}
	if forbidden != 2 {
		t.Errorf("%d audited 403s, want 2", forbidden)
	}
}

// TestPublicPages: auth.public opens /docs (and the index), /openapi.json and
// /metrics to callers without credentials; without it they need a signed-in caller.
func TestPublicPages(t *testing.T) {
	base := `
auth:
  bcrypt_cost: 4
  users:
    root: {password: "` + hashAdmin + `", roles: [admin]}
%s
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}}}
`
	open := startServer(t, "", "--config", writeConfig(t, fmt.Sprintf(base, "  public: {docs: true, openapi: true, metrics: true}")))
	closed := startServer(t, "", "--config", writeConfig(t, fmt.Sprintf(base, "")))
	closed.contractAuth = basic("root", "admin-pw")
	for _, p := range []string{"/docs", "/", "/openapi.json", "/metrics"} {
		if r := open.do("GET", p, ""); r.Status != 200 {
			t.Errorf("public %s: %d", p, r.Status)
		}
		if r := closed.do("GET", p, ""); r.Status != 401 {
			t.Errorf("not public %s: %d", p, r.Status)
		}
		if r := closed.do("GET", p, "", "Authorization", basic("root", "admin-pw")); r.Status != 200 {
			t.Errorf("signed in, %s: %d", p, r.Status)
		}
	}
	if r := open.do("GET", "/cars", ""); r.Status != 401 {
		t.Errorf("public pages do not open the API: /cars %d", r.Status)
	}
}

// TestOpenAPIOptionalCredentialsForArtefacts: with an anonymous-readable directory,
// the repository's reads list credentials as optional ({} among the requirements).
func TestOpenAPIOptionalCredentialsForArtefacts(t *testing.T) {
	cfg := writeConfig(t, `
`+rootAuth+`  public: {openapi: true}
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}}}
artefacts:
  directories:
    "public-*": {access: {anonymous: read}}
`)
	s := startServer(t, "", "--config", cfg)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(s.do("GET", "/openapi.json", "").Body, &doc); err != nil {
		t.Fatal(err)
	}
	var get struct {
		Security *[]map[string][]string `json:"security"`
	}
	if err := json.Unmarshal(doc.Paths["/artefacts/{dir}/{id}"]["get"], &get); err != nil || get.Security == nil || len(*get.Security) != 3 || len((*get.Security)[0]) != 0 {
		t.Fatalf("artefact download security: %v %v", get.Security, err)
	}
	var put struct {
		Security *[]map[string][]string `json:"security"`
	}
	if err := json.Unmarshal(doc.Paths["/artefacts/{dir}/{id}"]["put"], &put); err != nil || put.Security != nil {
		t.Fatalf("artefact upload must need credentials: %v %v", put.Security, err)
	}
	if r := s.do("GET", "/artefacts/public-docs/x", ""); r.Status != 404 {
		t.Fatalf("anonymous read of a public directory: %d", r.Status)
	}
}

// signInLimitConfig is a server with auth on: user (admin; password alice-secret,
// API key aliceKey), behind a trusted proxy (127.0.0.1) so that X-Forwarded-For
// names a different client address for each request.
func signInLimitConfig(t *testing.T, user string) string {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("alice-secret"), 4)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(aliceKey))
	return writeConfig(t, fmt.Sprintf(`auth:
  bcrypt_cost: 4
  users:
    %s: {password: %q, roles: [admin]}
  keys:
    - {id: alice-ci, sha256: %s, user: %[1]s, roles: [admin]}
ratelimit: {rate: 1000/s, burst: 1000, trusted_proxies: [127.0.0.1/32]}
apis:
  - resources:
      cars:
        key: id
        fields: {id: {type: integer}}
`, user, hash, hex.EncodeToString(sum[:])))
}

const aliceKey = "rk_e2e-alice-key"

var signInAddr atomic.Int64 // a new client address for each attempt

func nextAddr() string {
	n := signInAddr.Add(1)
	return fmt.Sprintf("198.51.%d.%d", 100+n/250%50, 1+n%250)
}

// lockAccount sends wrong passwords for user, spread over the nodes and from a new
// address each time, until one is refused with 429 and at least 3 s to wait (a
// token comes back every 12 s; a refusal with less is waited out and the guessing
// goes on). It returns that refusal, when the request for it was sent, and how many
// guesses were checked (401) before it.
func lockAccount(t *testing.T, user string, nodes ...*server) (r *response, sent time.Time, failures int) {
	t.Helper()
	start := time.Now()
	defer func() {
		// 5 at once, then one more every 12 s: more means a limit per node.
		if most := 5 + 1 + int(time.Since(start)/(12*time.Second)); failures > most {
			t.Fatalf("%s: %d guesses checked in %v, want at most %d", user, failures, time.Since(start), most)
		}
	}()
	for i := 0; ; i++ {
		if i == 200 {
			t.Fatalf("%s: no 429 with Retry-After ≥ 3 after 200 guesses", user)
		}
		sent = time.Now()
		r = nodes[i%len(nodes)].do("GET", "/cars", "", "Authorization", basic(user, fmt.Sprint("guess", i)), "X-Forwarded-For", nextAddr())
		switch r.Status {
		case 401:
			failures++
			continue
		case 429:
		default:
			t.Fatalf("%s, guess %d: %d %s", user, i, r.Status, r.Body)
		}
		retry, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || retry < 1 || retry > 12 {
			t.Fatalf("%s: 429 with Retry-After %q, want 1…12 s", user, r.Header.Get("Retry-After"))
		}
		assertJSON(t, "429", r.Body, problemJSON(429, fmt.Sprintf("too many failed sign-ins to this account; its password sign-ins are refused, even with the right password, for %ds (its API keys still work)", retry)))
		if retry >= 3 {
			return r, sent, failures
		}
		time.Sleep(time.Duration(retry) * time.Second) // until the next guess is checked
	}
}

// TestAccountSignInLimit: after 5 failed password checks for an account, from
// addresses all different, a password sign-in to that account is refused with 429
// from any address — the right password too — while its API key keeps working; an
// unknown user name is limited alike; the refusals are audited. The limit gives a
// token back every 12 s, so the test does not assume how fast it runs: the right
// password is judged only when it was answered before the 429's Retry-After ran
// out, and the attempt is made again otherwise.
func TestAccountSignInLimit(t *testing.T) {
	s := startServer(t, "", "--config", signInLimitConfig(t, "alice"))
	key := "Bearer " + aliceKey
	s.contractAuth = key
	right := basic("alice", "alice-secret")
	for attempt := 0; ; attempt++ {
		if attempt == 5 {
			t.Fatal("5 attempts, none answered the right password within the 429's Retry-After")
		}
		locked, sent, failures := lockAccount(t, "alice", s)
		if attempt == 0 && failures < 5 {
			t.Fatalf("refused after %d failures, want at least 5", failures)
		}
		r := s.do("GET", "/cars", "", "Authorization", right, "X-Forwarded-For", nextAddr())
		retry, _ := strconv.Atoi(locked.Header.Get("Retry-After"))
		if time.Since(sent) >= time.Duration(retry-1)*time.Second {
			continue // a token may have come back meanwhile: inconclusive
		}
		if r.Status != 429 || !strings.Contains(string(r.Body), "even with the right password") {
			t.Fatalf("the right password while alice is limited: %d %s", r.Status, r.Body)
		}
		break
	}
	if r := s.do("GET", "/cars", "", "Authorization", key, "X-Forwarded-For", nextAddr()); r.Status != 200 {
		t.Fatalf("alice's API key while her password is limited: %d %s", r.Status, r.Body)
	}
	if _, _, failures := lockAccount(t, "mallory", s); failures < 5 {
		t.Fatalf("an unknown name refused after %d failures, want at least 5", failures)
	}
	var audit []string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		audit = nil
		for _, l := range strings.Split(s.logs.String(), "\n") {
			if strings.Contains(l, `outcome="too many failed sign-ins"`) {
				audit = append(audit, l)
			}
		}
		if len(audit) >= 3 {
			break
		}
	}
	if len(audit) < 3 || !strings.Contains(audit[0], "account=alice") || !strings.Contains(audit[0], "status=429") ||
		!strings.Contains(audit[0], "client=198.51.") || !strings.Contains(audit[len(audit)-1], `account=""`) {
		t.Fatalf("audit lines:\n%s", strings.Join(audit, "\n"))
	}
	if strings.Contains(s.logs.String(), "mallory") {
		t.Fatal("an unknown user name reached the log")
	}
	if m := string(s.do("GET", "/metrics", "", "Authorization", key).Body); !strings.Contains(m, `restkit_ratelimit_denied_total{scope="sign-in:account"} `) {
		t.Fatalf("the refusals are not counted:\n%s", grepLines(m, "restkit_ratelimit_denied_total"))
	}
}

// TestAccountSignInLimitAcrossNodes: with --redis, failures on one node count on the
// other: guesses spread over two nodes are refused after 5 in all, on both nodes,
// and the right password is refused on either. (A user name of its own, as Redis
// outlives the test.)
func TestAccountSignInLimitAcrossNodes(t *testing.T) {
	redisURL := testenv.Redis(t)
	user := "alice-" + randomHex(4)
	cfg := signInLimitConfig(t, user)
	a, b := startServer(t, "", "--config", cfg, "--redis", redisURL), startServer(t, "", "--config", cfg, "--redis", redisURL)
	a.contractAuth, b.contractAuth = "Bearer "+aliceKey, "Bearer "+aliceKey
	right := basic(user, "alice-secret")
	for attempt := 0; ; attempt++ {
		if attempt == 5 {
			t.Fatal("5 attempts, none answered the right password within the 429's Retry-After")
		}
		locked, sent, failures := lockAccount(t, user, a, b)
		if attempt == 0 && failures < 5 {
			t.Fatalf("refused after %d failures on two nodes, want at least 5", failures)
		}
		ra := a.do("GET", "/cars", "", "Authorization", right, "X-Forwarded-For", nextAddr())
		rb := b.do("GET", "/cars", "", "Authorization", right, "X-Forwarded-For", nextAddr())
		retry, _ := strconv.Atoi(locked.Header.Get("Retry-After"))
		if time.Since(sent) >= time.Duration(retry-1)*time.Second {
			continue // a token may have come back meanwhile: inconclusive
		}
		if ra.Status != 429 || rb.Status != 429 {
			t.Fatalf("the right password while %s is limited: node a %d, node b %d", user, ra.Status, rb.Status)
		}
		break
	}
}
