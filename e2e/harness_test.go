package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/restkit/restkit/internal/testenv"
)

// binary is the restkit binary built once for the whole package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "restkit-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "restkit")
	build := exec.Command("go", "build", "-o", binary, "github.com/restkit/restkit/cmd/restkit")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building restkit: %v\n%s", err, out)
		os.Exit(1)
	}
	code := testenv.Run(m, testenv.InstallS3)
	os.RemoveAll(dir)
	os.Exit(code)
}

var consultOnce sync.Once

// consultSources stats every source file of the module, once per run; tests call it
// (through startServer and runCLI) because only calls made while tests run count. The binary under test is
// built by a subprocess, which Go's test cache cannot see; files a test consults are
// part of the cache key, so this makes `go test ./...` rerun these tests whenever any
// source changes instead of reporting a stale "(cached)" pass.
func consultSources(root string) {
	_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "out") {
			return filepath.SkipDir
		}
		if ext := filepath.Ext(path); ext == ".go" || ext == ".yaml" || ext == ".md" || path == filepath.Join(root, "go.mod") {
			_, _ = os.Stat(path)
		}
		return nil
	})
}

// server is one running restkit process.
type server struct {
	t    testing.TB
	cmd  *exec.Cmd
	URL  string
	Data string
	logs *syncBuffer
	done chan error
	// contract validates every response of do against this server's /openapi.json
	// (specvalidate_test.go); loaded on first use.
	contractMu sync.Mutex
	contract   *contract
	// contractAuth, when set, is the Authorization header that fetches /openapi.json
	// from a server with auth on (else each request's own header is tried).
	contractAuth string
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs `restkit serve` on a free port with data in dir (a new temp dir
// when empty) and extra arguments, and waits until /healthz answers.
func startServer(t testing.TB, dir string, args ...string) *server {
	t.Helper()
	return startServerAt(t, freeAddr(t), dir, args...)
}

// startServerAt is startServer on a given address (a node restarted where it was).
func startServerAt(t testing.TB, addr, dir string, args ...string) *server {
	t.Helper()
	consultOnce.Do(func() { consultSources("..") })
	if dir == "" {
		dir = t.TempDir()
	}
	cmd := exec.Command(binary, append([]string{"serve", "--addr", addr, "--data", dir}, args...)...)
	cmd.Env = cleanEnv()
	s := &server{t: t, cmd: cmd, URL: "http://" + addr, Data: dir, logs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout = s.logs
	cmd.Stderr = s.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-s.done
		}
		if t.Failed() {
			t.Logf("server log:\n%s", tail(s.logs.String(), 4000))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		select {
		case err := <-s.done:
			t.Fatalf("restkit exited during start: %v\n%s", err, s.logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("restkit did not become healthy:\n%s", s.logs.String())
	return nil
}

// stop sends SIGTERM and requires a clean exit with status 0.
func (s *server) stop() {
	s.t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Fatalf("restkit exited with %v after SIGTERM\n%s", err, s.logs.String())
		}
	case <-time.After(30 * time.Second):
		s.t.Fatal("restkit did not stop within 30s of SIGTERM")
	}
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RESTKIT_") {
			env = append(env, kv)
		}
	}
	return env
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// response is what a request returned.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

var client = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// do sends one request. A body that is not empty is sent as application/json unless
// headers set another Content-Type ("" in headers removes it).
func (s *server) do(method, path, body string, headers ...string) *response {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var b []byte
	if resp.Header.Get("Content-Type") == "text/event-stream" && method != http.MethodHead {
		// An event stream does not end: read its opening block (up to the first
		// blank line) and hang up.
		br := bufio.NewReader(resp.Body)
		for {
			line, err := br.ReadBytes('\n')
			b = append(b, line...)
			if err != nil || len(line) == 1 {
				break
			}
		}
	} else if b, err = io.ReadAll(resp.Body); err != nil {
		s.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	s.checkContract(req, resp.StatusCode, resp.Header, b)
	return &response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// step is one row of a scenario table: a request and what its response must be.
type step struct {
	name    string
	method  string
	path    string
	body    string
	headers []string // request headers as name, value pairs

	status     int
	wantHeader map[string]string // exact values; "*" only requires presence; "!" requires absence
	wantJSON   string            // the body must equal this JSON (key order ignored)
	wantIn     []string          // substrings the body must contain
	wantNotIn  []string          // substrings it must not contain
	check      func(t testing.TB, r *response)
}

// run executes the steps in order, failing with the step's name on any mismatch.
func (s *server) run(t *testing.T, steps []step) {
	t.Helper()
	for i, st := range steps {
		name := st.name
		if name == "" {
			name = fmt.Sprintf("%d %s %s", i, st.method, st.path)
		}
		r := s.do(st.method, st.path, st.body, st.headers...)
		if r.Status != st.status {
			t.Fatalf("%s: status %d, want %d\nbody: %s", name, r.Status, st.status, r.Body)
		}
		if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Fatalf("%s: X-Content-Type-Options = %q", name, got)
		}
		if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Fatalf("%s: Referrer-Policy = %q", name, got)
		}
		for k, v := range st.wantHeader {
			got, present := r.Header.Get(k), len(r.Header.Values(k)) > 0
			switch {
			case v == "*" && !present:
				t.Fatalf("%s: header %s missing", name, k)
			case v == "!" && present:
				t.Fatalf("%s: header %s = %q, want none", name, k, got)
			case v != "*" && v != "!" && got != v:
				t.Fatalf("%s: header %s = %q, want %q", name, k, got, v)
			}
		}
		if st.wantJSON != "" {
			assertJSON(t, name, r.Body, st.wantJSON)
		}
		for _, sub := range st.wantIn {
			if !bytes.Contains(r.Body, []byte(sub)) {
				t.Fatalf("%s: body lacks %q\nbody: %s", name, sub, r.Body)
			}
		}
		for _, sub := range st.wantNotIn {
			if bytes.Contains(r.Body, []byte(sub)) {
				t.Fatalf("%s: body contains %q\nbody: %s", name, sub, r.Body)
			}
		}
		if st.check != nil {
			st.check(t, r)
		}
	}
}

func assertJSON(t testing.TB, name string, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", name, err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: bad expectation %q: %v", name, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: body\n%s\nwant\n%s", name, got, want)
	}
}

// problemJSON is the RFC 9457 body for a status and detail, with field errors.
func problemJSON(status int, detail string, fieldErrs ...string) string {
	m := map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail}
	if len(fieldErrs) > 0 {
		var errs []map[string]string
		for i := 0; i+1 < len(fieldErrs); i += 2 {
			errs = append(errs, map[string]string{"field": fieldErrs[i], "message": fieldErrs[i+1]})
		}
		m["errors"] = errs
	}
	b, _ := json.Marshal(m)
	return string(b)
}
