package e2e

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesPublicAddress: without authentication, serve listens only on loopback
// unless told otherwise, and says why.
func TestServeRefusesPublicAddress(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "example.com:0"} {
		dir := t.TempDir()
		out, err := runCLI(t, nil, "serve", "--addr", addr, "--data", dir)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("serve --addr %s: %v, want exit 1\n%s", addr, err, out)
		}
		for _, want := range []string{"refusing to listen on " + addr, "not a loopback address", "the config has no auth: section", "--insecure-public"} {
			if !strings.Contains(out, want) {
				t.Errorf("serve --addr %s: output lacks %q:\n%s", addr, want, out)
			}
		}
	}
	out, err := runCLI(t, []string{"RESTKIT_INSECURE_PUBLIC=maybe"}, "serve", "--addr", "0.0.0.0:0", "--data", t.TempDir())
	if err == nil || !strings.Contains(out, "RESTKIT_INSECURE_PUBLIC must be true or false") {
		t.Fatalf("RESTKIT_INSECURE_PUBLIC=maybe: %v\n%s", err, out)
	}
}

// TestServeInsecurePublic: --insecure-public (or its variable) lets serve bind every interface.
func TestServeInsecurePublic(t *testing.T) {
	for _, how := range [][]string{{"--insecure-public"}, nil} {
		port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
		cmd := exec.Command(binary, append([]string{"serve", "--addr", "0.0.0.0:" + port, "--data", t.TempDir()}, how...)...)
		cmd.Env = cleanEnv()
		if how == nil {
			cmd.Env = append(cmd.Env, "RESTKIT_INSECURE_PUBLIC=true")
		}
		logs := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ok := false
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !ok; time.Sleep(20 * time.Millisecond) {
			if resp, err := http.Get("http://" + net.JoinHostPort("127.0.0.1", port) + "/healthz"); err == nil {
				resp.Body.Close()
				ok = resp.StatusCode == 200
			}
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if !ok {
			t.Fatalf("serve %v on 0.0.0.0 did not become healthy:\n%s", how, logs.String())
		}
	}
}

// TestSecurityHeaders: every response, of every kind, says nosniff and no-referrer
// (run checks both on each step); the HTML reference also carries a strict CSP, and
// nothing else does.
func TestSecurityHeaders(t *testing.T) {
	s := startServer(t, "")
	const csp = "default-src 'none'; style-src 'unsafe-inline'"
	s.run(t, []step{
		{name: "health", method: "GET", path: "/healthz", status: 200, wantHeader: map[string]string{"Content-Security-Policy": "!"}},
		{name: "docs", method: "GET", path: "/docs", status: 200, wantHeader: map[string]string{"Content-Security-Policy": csp, "Referrer-Policy": "no-referrer"}},
		{name: "docs head", method: "HEAD", path: "/docs", status: 200, wantHeader: map[string]string{"Content-Security-Policy": csp}},
		{name: "openapi", method: "GET", path: "/openapi.json", status: 200},
		{name: "index", method: "GET", path: "/", status: 200},
		{name: "list", method: "GET", path: "/cars", status: 200},
		{name: "created", method: "POST", path: "/cars", body: `{"id":7,"model":"Golf","color":"red"}`, status: 201},
		{name: "invalid", method: "POST", path: "/cars", body: `{"id":"x"}`, status: 400},
		{name: "not found", method: "GET", path: "/nowhere", status: 404},
		{name: "wrong verb", method: "DELETE", path: "/healthz", status: 405},
		{name: "options", method: "OPTIONS", path: "/cars", status: 204},
	})
}

// TestCORSAllowList: with server.cors, listed origins get preflights and readable
// responses; others get nothing, and without the section nobody does.
func TestCORSAllowList(t *testing.T) {
	demo, err := os.ReadFile("../config/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(demo), "server:\n", "server:\n  cors:\n    origins: [https://app.example]\n    max_age: 300\n", 1)
	s := startServer(t, "", "--config", writeConfig(t, cfg))
	const app, evil = "https://app.example", "https://evil.example"
	pre := func(origin, method, headers string) []string {
		return []string{"Origin", origin, "Access-Control-Request-Method", method, "Access-Control-Request-Headers", headers}
	}
	s.run(t, []step{
		{name: "preflight POST", method: "OPTIONS", path: "/cars", headers: pre(app, "POST", "Content-Type"), status: 204,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": app, "Access-Control-Allow-Methods": "GET, HEAD, POST",
				"Access-Control-Allow-Headers": "Content-Type, If-Match, If-None-Match, Authorization", "Access-Control-Max-Age": "300"}},
		{name: "preflight artefact PUT", method: "OPTIONS", path: "/artefacts/docs/a.txt", headers: pre(app, "PUT", "If-Match"), status: 204,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": app, "Access-Control-Allow-Methods": "*"}},
		{name: "preflight unlisted", method: "OPTIONS", path: "/cars", headers: pre(evil, "POST", "Content-Type"), status: 204,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "!", "Access-Control-Allow-Methods": "!"}},
		{name: "preflight bad verb", method: "OPTIONS", path: "/cars", headers: pre(app, "PATCH", ""), status: 204,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "!"}},
		{name: "POST listed", method: "POST", path: "/cars", body: `{"id":1,"model":"Golf","color":"red"}`, headers: []string{"Origin", app}, status: 201,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": app, "Vary": "Origin, Accept", "Access-Control-Expose-Headers": "*", "Location": "/cars/1"}},
		{name: "GET unlisted", method: "GET", path: "/cars/1", headers: []string{"Origin", evil}, status: 200,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "!", "Vary": "Origin, Accept"}},
	})
	off := startServer(t, "")
	off.run(t, []step{
		{name: "off: preflight", method: "OPTIONS", path: "/cars", headers: pre(app, "POST", "Content-Type"), status: 204,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "!", "Access-Control-Allow-Methods": "!"}},
		{name: "off: GET", method: "GET", path: "/cars", headers: []string{"Origin", app}, status: 200,
			wantHeader: map[string]string{"Access-Control-Allow-Origin": "!"}},
	})
}
