package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/memory"
	"github.com/restkit/restkit/metrics"
)

// TestExchange: the outermost layer of every request (one writer and one context
// value shared by the metrics, the request log and the guards) keeps what the layers
// it replaced did: the request id and security headers, a panic turned into a logged
// 500 that /metrics counts, an aborted handler re-panicking unlogged, flushing and
// http.ResponseController through the writer, and the request bytes counted.
func TestExchange(t *testing.T) {
	cfg, err := config.Parse("flask.yaml", []byte(flaskConfig))
	if err != nil {
		t.Fatal(err)
	}
	st := memory.New()
	if err := st.Migrate(context.Background(), cfg.Schema); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ui/panic":
			panic("boom")
		case "/ui/abort":
			panic(http.ErrAbortHandler)
		case "/ui/flush":
			body, _ := io.ReadAll(r.Body)
			rc := http.NewResponseController(w)
			if _, err := w.Write(body); err != nil {
				t.Error(err)
			}
			if err := rc.Flush(); err != nil {
				t.Errorf("ResponseController.Flush: %v", err)
			}
			if _, ok := w.(http.Flusher); !ok {
				t.Error("the writer is not a Flusher")
			}
			if httpapi.RequestID(r.Context()) != w.Header().Get("X-Request-ID") {
				t.Errorf("RequestID %q, header %q", httpapi.RequestID(r.Context()), w.Header().Get("X-Request-ID"))
			}
		}
	})
	m := metrics.New()
	srv := newServer(t, httpapi.Options{Schema: cfg.Schema, Store: st, Metrics: m, Console: console,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	do := func(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w
	}

	w := do("POST", "/ui/flush", "twelve bytes", "X-Request-ID", "lb-77")
	if w.Code != 200 || w.Body.String() != "twelve bytes" || !w.Flushed {
		t.Fatalf("flush: %d %q flushed %v", w.Code, w.Body, w.Flushed)
	}
	for h, want := range map[string]string{"X-Request-Id": "lb-77", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
		if got := w.Result().Header.Values(h); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if got := do("GET", "/ui/flush", "", "X-Request-ID", "bad id").Header().Get("X-Request-ID"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(got) {
		t.Errorf("a bad request id was not replaced: %q", got)
	}

	w = do("GET", "/ui/panic", "")
	if w.Code != 500 || strings.Contains(w.Body.String(), "boom") {
		t.Errorf("panic: %d %s", w.Code, w.Body)
	}
	func() {
		defer func() {
			if p := recover(); p != http.ErrAbortHandler {
				t.Errorf("an aborted handler: recovered %v, want http.ErrAbortHandler", p)
			}
		}()
		do("GET", "/ui/abort", "")
	}()
	log := logs.String()
	for _, want := range []string{
		`msg=request method=POST path=/ui/flush status=200 bytes=12`,
		`msg=panic error=boom`,
		`msg=request method=GET path=/ui/panic status=500`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "/ui/abort") {
		t.Errorf("an aborted request was logged:\n%s", log)
	}
	if !strings.Contains(log, "request_id=lb-77") {
		t.Errorf("the log does not name the request id:\n%s", log)
	}

	w = do("GET", "/metrics", "")
	for _, want := range []string{
		`restkit_http_requests_total{method="POST",route="/ui/",status="200"} 1`,
		`restkit_http_requests_total{method="GET",route="/ui/",status="500"} 2`, // the panic and the abort
		`restkit_http_request_bytes_total{method="POST",route="/ui/"} 12`,
		`restkit_http_response_bytes_total{method="POST",route="/ui/"} 12`,
		`restkit_http_requests_in_flight 1`, // this scrape
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
