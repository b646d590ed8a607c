package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRestartKeepsAcknowledgedWrites stops the server with SIGTERM (it must exit 0)
// and starts a new one on the same data directory.
func TestRestartKeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	for _, st := range []step{
		{method: "POST", path: "/cars", body: `{"id":1,"model":"Golf","color":"red","year":2010}`, status: 201},
		{method: "POST", path: "/cars", body: `{"id":2,"model":"Zoe","color":"blue"}`, status: 201},
		{method: "PATCH", path: "/cars/2", body: `{"year":2021}`, status: 200},
		{method: "PUT", path: "/v1/people/fred", body: `{"email":"a@b.c","comment":"ünïcödé ✓"}`, status: 201},
		{method: "PUT", path: "/led", body: `{"state":"on","brightness":7}`, status: 200},
	} {
		if r := s.do(st.method, st.path, st.body); r.Status != st.status {
			t.Fatalf("%s %s: %d %s", st.method, st.path, r.Status, r.Body)
		}
	}
	etag := s.do("GET", "/cars/2", "").Header.Get("ETag")
	next := parseLinks(s.do("GET", "/cars?limit=1", "").Header.Get("Link"))["next"]
	s.stop()
	if !strings.Contains(s.logs.String(), "restkit stopped") {
		t.Fatalf("no clean stop in the log:\n%s", s.logs.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "restkit.db")); err != nil {
		t.Fatalf("data dir: %v", err)
	}

	s2 := startServer(t, dir)
	s2.run(t, []step{
		{method: "GET", path: "/cars", status: 200, wantJSON: `[{"id":1,"model":"Golf","color":"red","year":2010},{"id":2,"model":"Zoe","color":"blue","year":2021}]`},
		{name: "etag survives", method: "GET", path: "/cars/2", headers: []string{"If-None-Match", etag}, status: 304},
		{name: "cursor survives", method: "GET", path: next, status: 200, wantJSON: `[{"id":2,"model":"Zoe","color":"blue","year":2021}]`},
		{method: "GET", path: "/v1/people/fred", status: 200, wantJSON: `{"status":"ok","result":{"comment":"ünïcödé ✓","name":"fred","email":"a@b.c"}}`},
		{method: "GET", path: "/led", status: 200, wantJSON: `{"state":"on","brightness":7}`},
	})
	s2.stop()
}

func TestServeFlagsAndEnv(t *testing.T) {
	// --print-config prints the embedded demo and exits.
	out, err := runCLI(t, nil, "serve", "--print-config")
	if err != nil || !strings.Contains(out, "apis:") || !strings.Contains(out, "people:") {
		t.Fatalf("--print-config: %v\n%s", err, out)
	}
	// A broken config refuses to start and names the line.
	cfg := filepath.Join(t.TempDir(), "api.yaml")
	os.WriteFile(cfg, []byte("apis:\n  - base: \"\"\n    resources:\n      cars:\n        key: id\n        fields:\n          id: {type: integr}\n"), 0o644)
	out, err = runCLI(t, nil, "check", cfg)
	if err == nil || !strings.Contains(out, cfg+":7:") {
		t.Fatalf("check of a broken config: %v\n%s", err, out)
	}
	out, err = runCLI(t, []string{"RESTKIT_CONFIG=" + cfg}, "serve", "--data", t.TempDir())
	if err == nil || !strings.Contains(out, cfg+":7:") {
		t.Fatalf("serve with RESTKIT_CONFIG of a broken config: %v\n%s", err, out)
	}
	// The demo config checks clean.
	demo := filepath.Join(t.TempDir(), "demo.yaml")
	printed, _ := runCLI(t, nil, "serve", "--print-config")
	os.WriteFile(demo, []byte(printed), 0o644)
	if out, err := runCLI(t, nil, "check", demo); err != nil || !strings.Contains(out, "ok") {
		t.Fatalf("check demo: %v %s", err, out)
	}
}
