package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/memory"
)

// demoServer serves the built-in demo config (config.Demo: /cars with history,
// /v1/people keyed from the URL, /led) over a memory store, without artefacts.
// configure, when not nil, changes the options before the server is built.
func demoServer(t testing.TB, configure func(*httpapi.Options)) http.Handler {
	t.Helper()
	return configServer(t, string(config.Demo()), configure)
}

// configServer serves the APIs of a YAML config over a memory store.
func configServer(t testing.TB, yaml string, configure func(*httpapi.Options)) http.Handler {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	if err := st.Migrate(context.Background(), cfg.Schema); err != nil {
		t.Fatal(err)
	}
	opts := httpapi.Options{Schema: cfg.Schema, Store: st}
	if configure != nil {
		configure(&opts)
	}
	return newServer(t, opts)
}

// reply is what one in-process request answered.
type reply struct {
	status int
	header http.Header
	body   string
}

// vary is the whole Vary header, its field lines joined.
func (r reply) vary() string { return strings.Join(r.header.Values("Vary"), ", ") }

// serve sends one request to h. A non-empty body is sent as application/json unless
// headers (name, value pairs) set another Content-Type; a value "" removes the header.
func serve(t testing.TB, h http.Handler, method, path, body string, headers ...string) reply {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
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
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return reply{status: w.Code, header: w.Header(), body: w.Body.String()}
}

// mustServe is serve that fails the test unless the status is want.
func mustServe(t testing.TB, h http.Handler, want int, method, path, body string, headers ...string) reply {
	t.Helper()
	r := serve(t, h, method, path, body, headers...)
	if r.status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

// newServer is httpapi.New for tests: it fails the test when New refuses its options.
func newServer(tb testing.TB, opts httpapi.Options) *httpapi.Server {
	tb.Helper()
	s, err := httpapi.New(opts)
	if err != nil {
		tb.Fatalf("httpapi.New: %v", err)
	}
	return s
}
