package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResourcePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/cars", "/cars"},
		{"cars", "/cars"},
		{"cars/1", "/cars/1"},
		{"/v1/people/fred?fields=email", "/v1/people/fred?fields=email"},
		{"v1/people?email[prefix]=f&limit=2", "/v1/people?email[prefix]=f&limit=2"},
	} {
		got, err := resourcePath(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("resourcePath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "  ", "http://x/cars", "https://x/cars", "/cars/a b"} {
		if got, err := resourcePath(bad); err == nil {
			t.Errorf("resourcePath(%q) = %q, want an error", bad, got)
		}
	}
}

func TestReadBody(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "car.json")
	if err := os.WriteFile(good, []byte(`{"id":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"id":`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		arg, stdin, want, wantErr string
	}{
		{arg: `{"id":1}`, want: `{"id":1}`},
		{arg: `[1,2]`, want: `[1,2]`},
		{arg: "@" + good, want: `{"id":1}` + "\n"},
		{arg: "-", stdin: `{"model":"Golf"}`, want: `{"model":"Golf"}`},
		{arg: `{"id":`, wantErr: "the body is not valid JSON"},
		{arg: `{"id":1} x`, wantErr: "not valid JSON"},
		{arg: "@" + bad, wantErr: "the body in " + bad + " is not valid JSON"},
		{arg: "@" + filepath.Join(dir, "none.json"), wantErr: "reading the body in"},
		{arg: "@", wantErr: "needs a file name"},
		{arg: "-", stdin: "nope", wantErr: "the body on stdin is not valid JSON"},
		{arg: "-", stdin: " \n", wantErr: "the body on stdin is empty"},
		{arg: "", wantErr: "the body is empty"},
	} {
		got, err := readBody(tc.arg, strings.NewReader(tc.stdin))
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("readBody(%q): error %v, want one containing %q", tc.arg, err, tc.wantErr)
			}
		case err != nil || string(got) != tc.want:
			t.Errorf("readBody(%q) = %q, %v; want %q", tc.arg, got, err, tc.want)
		}
	}
}

func TestParseHeaders(t *testing.T) {
	h, err := parseHeaders([]string{`If-Match: "3"`, "X-A:1", "x-a: 2"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Get("If-Match") != `"3"` || strings.Join(h.Values("X-A"), ",") != "1,2" {
		t.Errorf("headers = %v", h)
	}
	for _, bad := range []string{"If-Match", ": v", "Bad Name: v"} {
		if _, err := parseHeaders([]string{bad}); err == nil {
			t.Errorf("parseHeaders(%q): want an error", bad)
		}
	}
}

// TestGenericCommands runs the commands against a test server that echoes what it got.
func TestGenericCommands(t *testing.T) {
	var got struct{ method, uri, ct, ifMatch, body string }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.uri, got.ct, got.ifMatch, got.body = r.Method, r.RequestURI, r.Header.Get("Content-Type"), r.Header.Get("If-Match"), string(b)
		switch r.URL.Path {
		case "/gone":
			w.WriteHeader(http.StatusNoContent)
		case "/bad":
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"status":400,"detail":"validation failed","errors":[{"field":"color","message":"is required"}]}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Test", "yes")
			io.WriteString(w, `{"a": 1}`)
		}
	}))
	defer srv.Close()
	run := func(stdin string, args ...string) (string, string, error) {
		var out, errb bytes.Buffer
		root := newRoot(&out, &errb)
		root.SetIn(strings.NewReader(stdin))
		root.SetArgs(append([]string{"--server", srv.URL}, args...))
		err := root.Execute()
		return out.String(), errb.String(), err
	}

	out, _, err := run("", "get", "cars?limit=2")
	if err != nil || out != `{"a": 1}` || got.method != "GET" || got.uri != "/cars?limit=2" {
		t.Errorf("get: %q %v %+v", out, err, got)
	}
	out, _, err = run("", "patch", "/cars/1", `{"color":"red"}`, "-H", `If-Match: "2"`)
	if err != nil || got.method != "PATCH" || got.ct != "application/merge-patch+json" || got.ifMatch != `"2"` || got.body != `{"color":"red"}` {
		t.Errorf("patch: %q %v %+v", out, err, got)
	}
	_, _, err = run(`{"x":1}`, "put", "/cars/1", "-")
	if err != nil || got.method != "PUT" || got.ct != "application/json" || got.body != `{"x":1}` {
		t.Errorf("put -: %v %+v", err, got)
	}
	_, _, err = run("", "post", "/led")
	if err != nil || got.method != "POST" || got.ct != "" || got.body != "" {
		t.Errorf("post without a body: %v %+v", err, got)
	}
	out, _, err = run("", "delete", "/gone", "-i")
	if err != nil || !strings.HasPrefix(out, "HTTP/1.1 204 No Content\n") || !strings.HasSuffix(out, "\n\n") {
		t.Errorf("delete -i: %q %v", out, err)
	}
	out, _, err = run("", "get", "/x", "--include")
	if err != nil || !strings.HasPrefix(out, "HTTP/1.1 200 OK\n") || !strings.Contains(out, "X-Test: yes\n") || !strings.HasSuffix(out, "\n\n{\"a\": 1}") {
		t.Errorf("get -i: %q %v", out, err)
	}
	got.method = ""
	out, stderr, err := run("", "post", "/cars", `{"id":`)
	if err == nil || out != "" || got.method != "" || !strings.Contains(stderr, "not valid JSON") {
		t.Errorf("post invalid JSON: out %q stderr %q err %v, sent %q", out, stderr, err, got.method)
	}
	out, stderr, err = run("", "post", "/bad", `{}`)
	if err == nil || out != "" || stderr != "restkit: validation failed\n  color: is required\n" {
		t.Errorf("post /bad: out %q stderr %q err %v", out, stderr, err)
	}
}

func TestWriteResponsePretty(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	for _, tc := range []struct{ body, want string }{
		{`{"a":[1,2]}`, "{\n  \"a\": [\n    1,\n    2\n  ]\n}\n"},
		{"id,model\n", "id,model\n"},
	} {
		var w bytes.Buffer
		resp := &http.Response{StatusCode: 200, Request: req, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tc.body))}
		if err := writeResponse(&w, resp, false, true); err != nil || w.String() != tc.want {
			t.Errorf("pretty %q = %q, %v; want %q", tc.body, w.String(), err, tc.want)
		}
	}
}
