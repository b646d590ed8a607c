package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The generic resource client (restkit get/post/put/patch/delete) runs as the real
// binary against a real server. stdout is a pipe, so bodies are printed exactly as
// received.

type genericCLI struct {
	t   *testing.T
	url string
}

// run runs `restkit --server URL args…` with stdin, returning stdout, stderr and
// the exit status.
func (c genericCLI) run(stdin string, args ...string) (stdout, stderr string, code int) {
	c.t.Helper()
	consultOnce.Do(func() { consultSources("..") })
	cmd := exec.Command(binary, append([]string{"--server", c.url}, args...)...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		c.t.Fatalf("restkit %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

// ok runs a command that must exit 0 with nothing on stderr and returns its stdout.
func (c genericCLI) ok(stdin string, args ...string) string {
	c.t.Helper()
	out, stderr, code := c.run(stdin, args...)
	if code != 0 || stderr != "" {
		c.t.Fatalf("restkit %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, stderr)
	}
	return out
}

// fails runs a command that must exit 1 with nothing on stdout and returns its stderr.
func (c genericCLI) fails(stdin string, args ...string) string {
	c.t.Helper()
	out, stderr, code := c.run(stdin, args...)
	if code != 1 || out != "" {
		c.t.Fatalf("restkit %s: exit %d, want 1\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, stderr)
	}
	return stderr
}

func TestCLIGeneric(t *testing.T) {
	s := startServer(t, "")
	c := genericCLI{t, s.URL}

	const civic = `{"id":1,"model":"Civic","color":"red","year":2010}`
	if got := c.ok("", "post", "/cars", civic); got != civic+"\n" {
		t.Errorf("post: %q, want %q", got, civic)
	}
	if got := c.ok("", "get", "cars/1"); got != civic+"\n" {
		t.Errorf("get: %q, want %q", got, civic)
	}
	if got := c.ok("", "get", "/cars/1?fields=model"); got != `{"model":"Civic"}`+"\n" {
		t.Errorf("get with a query: %q", got)
	}
	const blue = `{"id":1,"model":"Civic","color":"blue","year":2011}`
	if got := c.ok("", "put", "/cars/1", blue); got != blue+"\n" {
		t.Errorf("put: %q, want %q", got, blue)
	}
	if got := c.ok("", "patch", "/cars/1", `{"color":"green","year":null}`); got != `{"id":1,"model":"Civic","color":"green"}`+"\n" {
		t.Errorf("patch (merge patch): %q", got)
	}

	// -i prints the status line and headers; a stale If-Match is a 412.
	head := c.ok("", "get", "/cars/1", "-i")
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK\n") || !strings.Contains(head, "\nEtag: \"") ||
		!strings.HasSuffix(head, "\n\n"+`{"id":1,"model":"Civic","color":"green"}`+"\n") {
		t.Errorf("get -i:\n%s", head)
	}
	stderr := c.fails("", "put", "/cars/1", blue, "-H", `If-Match: "1-stale"`)
	if !strings.HasPrefix(stderr, "restkit: the record has changed") {
		t.Errorf("stale If-Match: stderr %q", stderr)
	}
	if got := c.ok("", "get", "/cars/1"); !strings.Contains(got, `"green"`) {
		t.Errorf("after the refused put: %q", got)
	}

	// Validation errors list each field on stderr.
	stderr = c.fails("", "post", "/cars", `{"id":2,"year":"old"}`)
	for _, want := range []string{"restkit: ", "\n  model: ", "\n  color: ", "\n  year: "} {
		if !strings.Contains(stderr, want) {
			t.Errorf("validation error: stderr %q lacks %q", stderr, want)
		}
	}

	// Invalid JSON is refused before anything is sent.
	stderr = c.fails("", "post", "/cars", `{"id":3,"model":"Golf"`)
	if !strings.Contains(stderr, "not valid JSON") || !strings.Contains(stderr, "nothing was sent") {
		t.Errorf("invalid JSON: stderr %q", stderr)
	}
	if r := s.do("GET", "/cars/3", ""); r.Status != 404 {
		t.Errorf("GET /cars/3 after the invalid post: %d", r.Status)
	}

	// Bodies from a file and from stdin.
	file := filepath.Join(t.TempDir(), "golf.json")
	const golf = `{"id":3,"model":"Golf","color":"blue"}`
	if err := os.WriteFile(file, []byte(golf+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := c.ok("", "post", "/cars", "@"+file); got != golf+"\n" {
		t.Errorf("post @file: %q", got)
	}
	if got := c.ok(`{"id":4,"model":"Polo","color":"white","year":2020}`, "post", "cars", "-"); got != `{"id":4,"model":"Polo","color":"white","year":2020}`+"\n" {
		t.Errorf("post -: %q", got)
	}

	// Delete prints nothing; the record is gone after.
	if got := c.ok("", "delete", "/cars/1"); got != "" {
		t.Errorf("delete printed %q", got)
	}
	if stderr := c.fails("", "get", "/cars/1"); !strings.Contains(stderr, "no car with id 1") {
		t.Errorf("get after delete: stderr %q", stderr)
	}

	// The v1 API's envelope is printed as received.
	c.ok("", "put", "/v1/people/fred", `{"email":"fred@example.com"}`)
	got := c.ok("", "get", "/v1/people/fred")
	if want := string(s.do("GET", "/v1/people/fred", "").Body); got != want || !strings.HasPrefix(got, `{"status":"ok","result":{`) {
		t.Errorf("get /v1/people/fred: %q, want %q", got, want)
	}
	if stderr := c.fails("", "get", "/v1/people/bob"); !strings.Contains(stderr, "no person with name bob") {
		t.Errorf("get a missing person: stderr %q", stderr)
	}
}

func TestCLIGenericUnreachable(t *testing.T) {
	c := genericCLI{t, "http://" + freeAddr(t)}
	stderr := c.fails("", "get", "/cars")
	if !strings.HasPrefix(stderr, "restkit: GET http://") {
		t.Errorf("unreachable server: stderr %q", stderr)
	}
}
