package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Regression tests for defects found in review; each names what used to go wrong.

const notesConfig = `
apis:
  - resources:
      notes:
        key: k
        timestamps: true
        fields:
          k: {type: string}
          text: {type: string, filterable: true}
          due: {type: datetime, nullable: true}
`

func TestKeysAndValuesThatUsedToBreakRecords(t *testing.T) {
	s := startServer(t, "", "--config", writeConfig(t, notesConfig))
	s.run(t, []step{
		// A datetime in year 9999 with a negative offset is year 10000 in UTC: it was
		// stored, and then every read of the table failed with a 500.
		{name: "year 10000 in UTC", method: "POST", path: "/notes", body: `{"k":"a","due":"9999-12-31T23:59:59-05:00"}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "due", "must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")},
		{name: "year 0 in UTC", method: "POST", path: "/notes", body: `{"k":"a","due":"0001-01-01T00:00:00+01:00"}`, status: 400},
		{name: "the table still reads", method: "GET", path: "/notes", status: 200, wantJSON: `[]`},
		// Keys accepted in a body that no URL could reach again.
		{name: "control character in a body key", method: "POST", path: "/notes", body: `{"k":"a\nb"}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "k", "must be valid UTF-8 without control characters")},
		{name: "empty body key", method: "POST", path: "/notes", body: `{"k":""}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "k", "must not be empty")},
		{name: "dot-dot body key", method: "POST", path: "/notes", body: `{"k":".."}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "k", `must not be "." or ".."`)},
		{name: "dot-dot URL key", method: "PUT", path: "/notes/%2e%2e", body: `{"text":"x"}`, status: 400,
			wantJSON: problemJSON(400, "invalid key in the URL", "k", `must not be "." or ".."`)},
		{name: "CSV formula injection", method: "POST", path: "/notes", body: `{"k":"x","text":"=HYPERLINK(\"http://evil\")"}`, status: 201},
		{method: "GET", path: "/notes?fields=k,text", headers: []string{"Accept", "text/csv"}, status: 200,
			check: func(t testing.TB, r *response) {
				if want := "k,text\nx,\"'=HYPERLINK(\"\"http://evil\"\")\"\n"; string(r.Body) != want {
					t.Fatalf("csv %q, want %q", r.Body, want)
				}
			}},
	})
	// timestamps: true — a GET body can be PUT back as it is; fields= may name them.
	got := s.do("GET", "/notes/x", "")
	s.run(t, []step{
		{name: "GET then PUT round trip", method: "PUT", path: "/notes/x", body: string(got.Body), status: 200},
		{name: "fields may name the timestamps", method: "GET", path: "/notes/x?fields=k,created", status: 200,
			check: func(t testing.TB, r *response) {
				if !strings.HasPrefix(string(r.Body), `{"k":"x","created":"`) || strings.Contains(string(r.Body), "updated") {
					t.Fatalf("%s", r.Body)
				}
			}},
	})
}

func TestHTTPEdgesThatUsedToBeWrong(t *testing.T) {
	s := startServer(t, "")
	s.do("POST", "/cars", `{"id":1,"model":"Golf","color":"red"}`)
	etag := s.do("GET", "/cars/1", "").Header.Get("ETag")
	led := s.do("GET", "/led", "").Header.Get("ETag")
	s.run(t, []step{
		{name: "page number overflow", method: "GET", path: "/cars?page=922337203685477582", status: 400,
			wantJSON: problemJSON(400, "invalid query parameters", "page", "is too deep for offset paging (more than 10000 rows); follow the cursor in the Link header's next instead")},
		{name: "one URL per integer key", method: "GET", path: "/cars/01", status: 400,
			wantJSON: problemJSON(400, "invalid key in the URL", "id", `"01" is not written as a plain integer; use 1`)},
		{method: "GET", path: "/cars/1e0", status: 400},
		{method: "GET", path: "/cars/+1", status: 400},
		{name: "weak If-None-Match on a write", method: "PUT", path: "/cars/1", body: `{"model":"X","color":"red"}`, headers: []string{"If-None-Match", "W/" + etag}, status: 412},
		{name: "If-Match on a never-written noun", method: "PUT", path: "/led", body: `{"brightness":1}`, headers: []string{"If-Match", led}, status: 200,
			wantJSON: `{"state":"off","brightness":1}`},
		{name: "empty text/plain body: no body, so no 415", method: "POST", path: "/cars", headers: []string{"Content-Type", "text/plain"}, status: 400,
			wantJSON: problemJSON(400, "the body is empty; send a JSON object")},
		{name: "JSON Patch is not Merge Patch", method: "PATCH", path: "/cars/1", body: `[{"op":"remove","path":"/year"}]`,
			headers: []string{"Content-Type", "application/json-patch+json"}, status: 415,
			wantJSON: problemJSON(415, "JSON Patch (RFC 6902) is not supported; send a JSON Merge Patch as application/merge-patch+json")},
		{name: "fields twice on an item", method: "GET", path: "/cars/1?fields=id&fields=model", status: 400,
			wantJSON: problemJSON(400, "invalid query parameters", "fields", "is given more than once")},
		{name: "healthz with a slash", method: "GET", path: "/healthz/", status: 200, wantJSON: `{"status":"ok"}`},
		{name: "OPTIONS healthz", method: "OPTIONS", path: "/healthz", status: 204, wantHeader: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{name: "POST healthz", method: "POST", path: "/healthz", status: 405, wantHeader: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{name: "unknown route under an envelope API", method: "GET", path: "/v1/nope", status: 404,
			wantJSON: `{"status":"error","message":"no route for /v1/nope","errors":[]}`},
	})
}

// TestNounSchemaChanges: a field added to a noun reads as its default at once; a
// stored value that no longer fits refuses the start instead of vanishing.
func TestNounSchemaChanges(t *testing.T) {
	dir := t.TempDir()
	v1 := "apis:\n  - nouns:\n      counter:\n        fields:\n          n: {type: integer, default: 0}\n        update: increment n\n"
	s := startServer(t, dir, "--config", writeConfig(t, v1))
	s.do("POST", "/counter", "")
	s.stop()

	v2 := strings.Replace(v1, "          n: {type: integer, default: 0}\n", "          n: {type: integer, default: 0}\n          step: {type: integer, default: 7}\n", 1)
	s = startServer(t, dir, "--config", writeConfig(t, v2))
	s.run(t, []step{{name: "a new field reads as its default", method: "GET", path: "/counter", status: 200, wantJSON: `{"n":1,"step":7}`},
		{method: "POST", path: "/counter", status: 200, wantJSON: `{"n":2,"step":7}`}})
	s.stop()

	v3 := strings.Replace(v2, "n: {type: integer, default: 0}", "n: {type: enum, values: [a, b], default: a}", 1)
	v3 = strings.Replace(v3, "update: increment n", "update: toggle n", 1)
	out, err := runCLI(t, nil, "serve", "--addr", freeAddr(t), "--data", dir, "--config", writeConfig(t, v3))
	if err == nil || !strings.Contains(out, `noun counter: field "n" no longer fits the declaration`) {
		t.Fatalf("a retyped noun field must refuse to start: %v\n%s", err, out)
	}
}

// TestShutdownWithAStalledRequest: a client that stops sending its body must not keep
// the server from exiting 0 after SIGTERM.
func TestShutdownWithAStalledRequest(t *testing.T) {
	s := startServer(t, "", "--shutdown-timeout", "500ms")
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /cars HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":")
	// Wait until the server is in the request (reading its body): /metrics counts
	// it and itself in flight.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(string(s.do("GET", "/metrics", "").Body), "\nrestkit_http_requests_in_flight 2\n"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the stalled request never reached the server")
		}
	}
	start := time.Now()
	s.stop() // fails the test unless the server exits 0 within 30s
	t.Logf("stop took %v", time.Since(start))
	if !strings.Contains(s.logs.String(), "closing their connections") {
		t.Fatalf("the forced close is not logged:\n%s", s.logs.String())
	}
}

// TestSettingsPrecedence: flag beats RESTKIT_* beats the config file's server section.
func TestSettingsPrecedence(t *testing.T) {
	fileAddr, envAddr, flagAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	cfg := writeConfig(t, "server:\n  addr: "+fileAddr+"\napis:\n  - nouns:\n      x: {fields: {a: {type: integer, default: 1}}}\n")
	for _, tt := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"file", nil, nil, fileAddr},
		{"env beats file", []string{"RESTKIT_ADDR=" + envAddr}, nil, envAddr},
		{"flag beats env", []string{"RESTKIT_ADDR=" + envAddr}, []string{"--addr", flagAddr}, flagAddr},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary, append([]string{"serve", "--config", cfg, "--data", t.TempDir(), "--log-format", "json"}, tt.args...)...)
			cmd.Env = append(cleanEnv(), tt.env...)
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Wait()
			defer cmd.Process.Signal(syscall.SIGTERM)
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				if strings.Contains(sc.Text(), `"msg":"restkit serving"`) {
					if !strings.Contains(sc.Text(), `"addr":"`+tt.want+`"`) {
						t.Fatalf("listening as %s, want %s", sc.Text(), tt.want)
					}
					go func() {
						for sc.Scan() {
						}
					}()
					return
				}
			}
			t.Fatal("no serving line in the log")
		})
	}
}

// TestSortAfterTheKey: fields sorted after the key used to make every cursor of that
// sort "not a cursor this server issued".
func TestSortAfterTheKey(t *testing.T) {
	s := startServer(t, "")
	for i := 1; i <= 3; i++ {
		s.do("POST", "/cars", fmt.Sprintf(`{"id":%d,"model":"M","color":"red","year":2000}`, i))
	}
	r := s.do("GET", "/cars?sort=id,year&limit=2&fields=id", "")
	next := parseLinks(r.Header.Get("Link"))["next"]
	s.run(t, []step{{name: "follow next", method: "GET", path: next, status: 200, wantJSON: `[{"id":3}]`}})
}

// TestTextIsTextInEveryStore: NUL in a string field and invalid UTF-8 in a filter are
// 400s, so SQLite and PostgreSQL (which cannot store them) answer alike.
func TestTextIsTextInEveryStore(t *testing.T) {
	s := startServer(t, "")
	s.run(t, []step{
		{name: "NUL in a field", method: "POST", path: "/cars", body: `{"id":1,"model":"a\u0000b","color":"red"}`, status: 400,
			wantIn: []string{`"field":"model"`, "NUL"}},
		{name: "invalid UTF-8 in a filter", method: "GET", path: "/cars?model=%FF", status: 400, wantIn: []string{`"field":"model"`, "UTF-8"}},
		{name: "NUL in a filter", method: "GET", path: "/cars?model=a%00", status: 400},
		{name: "nothing was stored", method: "GET", path: "/cars", status: 200, wantJSON: `[]`},
	})
}
