package metrics

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// newServer serves h behind m.Middleware, with /metrics on the same mux when mux
// is given, as restkit serves it.
func newServer(t *testing.T, m *Metrics, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(m.Middleware(h))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the panic test's "http: panic serving"
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// scrape GETs /metrics over HTTP and parses the text format.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %s, Content-Type %q", res.Status, res.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return fams
}

// series returns the metrics of family name whose labels include want.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) []*dto.Metric {
	var out []*dto.Metric
	f := fams[name]
	if f == nil {
		return nil
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

// value returns the value of the one series of name with labels (counter, gauge,
// or a histogram's count).
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	s := series(fams, name, labels)
	if len(s) != 1 {
		t.Fatalf("%s%v: %d series, want 1", name, labels, len(s))
	}
	switch m := s[0]; {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	t.Fatalf("%s: no value", name)
	return 0
}

func get(t *testing.T, method, url string, body io.Reader) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func TestRequestsByRoute(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /cars/{key}", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "car "+r.PathValue("key"))
	})
	mux.HandleFunc("/people/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") == "ghost" {
			http.Error(w, "no such person", http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /upload", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, "got %d bytes", len(b))
	})
	srv := newServer(t, m, mux)

	var carBytes int
	for i := 0; i < 50; i++ {
		status, body := get(t, "GET", fmt.Sprintf("%s/cars/%d", srv.URL, i), nil)
		if status != 200 || body != fmt.Sprintf("car %d", i) {
			t.Fatalf("GET /cars/%d: %d %q", i, status, body)
		}
		carBytes += len(body)
	}
	for _, name := range []string{"fred", "wilma", "ghost"} {
		get(t, "DELETE", srv.URL+"/people/"+name, nil)
	}
	upload := strings.Repeat("x", 12345)
	if status, body := get(t, "POST", srv.URL+"/upload", strings.NewReader(upload)); status != 201 || body != "got 12345 bytes" {
		t.Fatalf("POST /upload: %d %q", status, body)
	}
	get(t, "GET", srv.URL+"/nowhere/1", nil)    // no pattern: 404
	get(t, "POST", srv.URL+"/cars/1", nil)      // pattern for GET only: 405
	get(t, "FROB", srv.URL+"/people/fred", nil) // any method matches; its label is bounded

	fams := scrape(t, srv.URL)
	if s := series(fams, "restkit_http_requests_total", map[string]string{"route": "GET /cars/{key}"}); len(s) != 1 {
		t.Fatalf("%d series for GET /cars/{key}, want 1 for 50 keys", len(s))
	}
	for _, tc := range []struct {
		route, method, status string
		want                  float64
	}{
		{"GET /cars/{key}", "GET", "200", 50},
		{"/people/{name}", "DELETE", "204", 2},
		{"/people/{name}", "DELETE", "404", 1},
		{"/people/{name}", "OTHER", "204", 1},
		{"POST /upload", "POST", "201", 1},
		{Unmatched, "GET", "404", 1},
		{Unmatched, "POST", "405", 1},
	} {
		labels := map[string]string{"route": tc.route, "method": tc.method, "status": tc.status}
		if got := value(t, fams, "restkit_http_requests_total", labels); got != tc.want {
			t.Errorf("requests %v: %g, want %g", labels, got, tc.want)
		}
	}
	for _, f := range fams["restkit_http_requests_total"].Metric {
		for _, l := range f.Label {
			if l.GetName() == "route" && strings.ContainsAny(l.GetValue(), "0123456789") {
				t.Errorf("a path in a route label: %v", f.Label)
			}
		}
	}
	cars := map[string]string{"route": "GET /cars/{key}", "method": "GET"}
	if got := value(t, fams, "restkit_http_request_duration_seconds", cars); got != 50 {
		t.Errorf("duration observations: %g, want 50", got)
	}
	if got := value(t, fams, "restkit_http_response_bytes_total", cars); got != float64(carBytes) {
		t.Errorf("response bytes: %g, want %d", got, carBytes)
	}
	up := map[string]string{"route": "POST /upload", "method": "POST"}
	if got := value(t, fams, "restkit_http_request_bytes_total", up); got != 12345 {
		t.Errorf("request bytes: %g, want 12345", got)
	}
	if got := value(t, fams, "restkit_http_response_bytes_total", up); got != float64(len("got 12345 bytes")) {
		t.Errorf("upload response bytes: %g", got)
	}
	// The scrape itself is in flight while it is served.
	if got := value(t, fams, "restkit_http_requests_in_flight", nil); got != 1 {
		t.Errorf("in flight: %g, want 1 (the scrape)", got)
	}
	for _, name := range []string{"go_goroutines", "go_memstats_alloc_bytes", "go_gc_duration_seconds", "go_info",
		"process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds"} {
		if fams[name] == nil || len(fams[name].Metric) == 0 {
			t.Errorf("%s missing", name)
		}
	}
	if got := value(t, fams, "go_goroutines", nil); got < 2 {
		t.Errorf("go_goroutines %g", got)
	}
}

func TestInFlight(t *testing.T) {
	m := New()
	started, release := make(chan struct{}), make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	})
	srv := newServer(t, m, mux)
	done := make(chan struct{})
	for i := 0; i < 2; i++ {
		go func() { get(t, "GET", srv.URL+"/slow", nil); done <- struct{}{} }()
		<-started
	}
	fams := scrape(t, srv.URL)
	close(release)
	<-done
	<-done
	if got := value(t, fams, "restkit_http_requests_in_flight", nil); got != 3 {
		t.Errorf("in flight: %g, want 3 (two slow requests and the scrape)", got)
	}
	fams = scrape(t, srv.URL)
	if got := value(t, fams, "restkit_http_requests_in_flight", nil); got != 1 {
		t.Errorf("in flight after: %g, want 1", got)
	}
	if got := value(t, fams, "restkit_http_requests_total", map[string]string{"route": "GET /slow"}); got != 2 {
		t.Errorf("slow requests: %g", got)
	}
}

// TestStreaming: sendfile through ReadFrom, Flush reaching the client before the
// handler ends, and http.ResponseController through Unwrap.
func TestStreaming(t *testing.T) {
	m := New()
	content := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	path := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	firstSeen := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(io.ReaderFrom); !ok {
			t.Error("the ResponseWriter lost io.ReaderFrom")
		}
		f, err := os.Open(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		if n, err := io.Copy(w, f); err != nil || n != int64(len(content)) {
			t.Errorf("io.Copy: %d %v", n, err)
		}
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			t.Errorf("ResponseController through the wrapper: %v", err)
		}
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select { // the client reads the first line while the handler still runs
		case <-firstSeen:
		case <-time.After(60 * time.Second):
			t.Error("the first line never reached the client: Flush lost")
		}
		io.WriteString(w, "second\n")
		if err := rc.Flush(); err != nil {
			t.Errorf("ResponseController.Flush: %v", err)
		}
	})
	srv := newServer(t, m, mux)

	if status, body := get(t, "GET", srv.URL+"/file", nil); status != 200 || body != string(content) {
		t.Fatalf("GET /file: %d, %d bytes", status, len(body))
	}
	res, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(res.Body)
	if line, err := br.ReadString('\n'); line != "first\n" {
		t.Fatalf("first line %q %v", line, err)
	}
	close(firstSeen)
	rest, _ := io.ReadAll(br)
	res.Body.Close()
	if string(rest) != "second\n" {
		t.Fatalf("rest %q", rest)
	}

	fams := scrape(t, srv.URL)
	if got := value(t, fams, "restkit_http_response_bytes_total", map[string]string{"route": "GET /file"}); got != float64(len(content)) {
		t.Errorf("file bytes: %g, want %d", got, len(content))
	}
	if got := value(t, fams, "restkit_http_response_bytes_total", map[string]string{"route": "GET /stream"}); got != 13 {
		t.Errorf("stream bytes: %g, want 13", got)
	}
}

// readerFromWriter is a ResponseWriter that records whether ReadFrom was used.
type readerFromWriter struct {
	*httptest.ResponseRecorder
	readFrom bool
}

func (w *readerFromWriter) ReadFrom(r io.Reader) (int64, error) {
	w.readFrom = true
	return io.Copy(w.ResponseRecorder, r)
}

func TestReadFromDelegates(t *testing.T) {
	under := &readerFromWriter{ResponseRecorder: httptest.NewRecorder()}
	w := &Recorder{rw: under}
	// (io.Copy from a source without WriteTo, as an *os.File ends up doing.)
	if n, err := io.Copy(w, struct{ io.Reader }{strings.NewReader("hello")}); n != 5 || err != nil {
		t.Fatal(n, err)
	}
	if !under.readFrom || w.bytes != 5 || w.status != 200 || under.Body.String() != "hello" {
		t.Fatalf("ReadFrom not handed down: %+v, %d bytes, status %d", under.readFrom, w.bytes, w.status)
	}
	// Under a writer without ReadFrom, it copies (and does not recurse).
	rec := httptest.NewRecorder()
	w = &Recorder{rw: struct{ http.ResponseWriter }{rec}}
	if n, err := w.ReadFrom(strings.NewReader("hello")); n != 5 || err != nil || rec.Body.String() != "hello" || w.bytes != 5 {
		t.Fatal(n, err, rec.Body.String())
	}
}

// TestPatternThroughCopies: the mux sets Pattern on the request it is given. When a
// middleware between Middleware and the mux copies the request, Middleware cannot
// see it (the route is unmatched) unless Route or SetRoute reports it.
func TestPatternThroughCopies(t *testing.T) {
	type userKey struct{}
	copying := func(next http.Handler) http.Handler { // as an auth middleware would
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, "user")))
		})
	}
	car := func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "car") }
	for _, tc := range []struct {
		name  string
		build func(m *Metrics) http.Handler
		want  string
	}{
		{"mux right under Middleware", func(m *Metrics) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("/cars/{key}", car)
			return mux
		}, "/cars/{key}"},
		{"a copy in between hides it", func(m *Metrics) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("/cars/{key}", car)
			return copying(mux)
		}, Unmatched},
		{"Route around the mux", func(m *Metrics) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("/cars/{key}", car)
			return copying(Route(mux))
		}, "/cars/{key}"},
		{"Route around the handler", func(m *Metrics) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/cars/{key}", Route(http.HandlerFunc(car)))
			return copying(mux)
		}, "/cars/{key}"},
		{"nested muxes: the innermost pattern", func(m *Metrics) http.Handler {
			inner := http.NewServeMux()
			inner.Handle("/api/cars/{key}", Route(http.HandlerFunc(car)))
			outer := http.NewServeMux()
			outer.Handle("/api/", copying(inner))
			return Route(outer)
		}, "/api/cars/{key}"},
		{"Route around an inner mux, no copy", func(m *Metrics) http.Handler {
			inner := http.NewServeMux()
			inner.HandleFunc("/api/cars/{key}", car)
			outer := http.NewServeMux()
			outer.Handle("/api/", Route(inner))
			return copying(outer)
		}, "/api/cars/{key}"},
		{"SetRoute wins", func(m *Metrics) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				SetRoute(r, "/cars/{key}") // a catch-all that routes itself
				car(w, r)
			})
			return copying(Route(mux))
		}, "/cars/{key}"},
		{"a catch-all says unmatched", func(m *Metrics) http.Handler {
			mux := http.NewServeMux()
			mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
				SetRoute(r, Unmatched)
				http.NotFound(w, r)
			})
			return Route(mux)
		}, Unmatched},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New()
			path := "/cars/7"
			if strings.HasPrefix(tc.want, "/api/") {
				path = "/api/cars/7"
			}
			m.Middleware(tc.build(m)).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
			got := routesOf(t, m)
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("routes %q, want [%q]", got, tc.want)
			}
		})
	}
}

// routesOf gathers the route labels of the requests counted.
func routesOf(t *testing.T, m *Metrics) []string {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, f := range fams {
		if f.GetName() != "restkit_http_requests_total" {
			continue
		}
		for _, s := range f.Metric {
			for _, l := range s.Label {
				if l.GetName() == "route" {
					routes = append(routes, l.GetValue())
				}
			}
		}
	}
	return routes
}

func TestPanicCounted(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { panic("boom") })
	srv := newServer(t, m, mux)
	if _, err := http.Get(srv.URL + "/boom"); err == nil {
		t.Fatal("the panic did not reach net/http (which drops the connection)")
	}
	fams := scrape(t, srv.URL)
	if got := value(t, fams, "restkit_http_requests_total", map[string]string{"route": "GET /boom", "status": "500"}); got != 1 {
		t.Errorf("panics: %g", got)
	}
	if got := value(t, fams, "restkit_http_requests_in_flight", nil); got != 1 {
		t.Errorf("in flight after a panic: %g, want 1 (the scrape)", got)
	}
}

func TestCounters(t *testing.T) {
	m := New()
	m.StoreError("sqlite.WriteRecord")
	m.StoreError("sqlite.WriteRecord")
	m.StoreError("postgres.ListRecords")
	m.BlobError("fsblob.Put")
	m.LimiterDenied("")
	m.LimiterDenied("resource:/cars")
	m.LimiterDenied("resource:/cars")
	m.LimiterError()
	srv := newServer(t, m, m.Handler())
	fams := scrape(t, srv.URL)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"restkit_store_errors_total", map[string]string{"op": "sqlite.WriteRecord"}, 2},
		{"restkit_store_errors_total", map[string]string{"op": "postgres.ListRecords"}, 1},
		{"restkit_blob_errors_total", map[string]string{"op": "fsblob.Put"}, 1},
		{"restkit_ratelimit_denied_total", map[string]string{"scope": "default"}, 1},
		{"restkit_ratelimit_denied_total", map[string]string{"scope": "resource:/cars"}, 2},
		{"restkit_ratelimit_errors_total", nil, 1},
	} {
		if got := value(t, fams, tc.name, tc.labels); got != tc.want {
			t.Errorf("%s%v: %g, want %g", tc.name, tc.labels, got, tc.want)
		}
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.StoreError("op")
	m.BlobError("op")
	m.LimiterDenied("scope")
	m.LimiterError()
	if m.Registry() != nil {
		t.Error("a registry from nil")
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r, "/x") // no Middleware: nothing to do
		w.WriteHeader(http.StatusTeapot)
	})
	rec := httptest.NewRecorder()
	m.Middleware(Route(h)).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("through a nil Middleware: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil Handler: %d", rec.Code)
	}
}

func TestRouteLabelsBounded(t *testing.T) {
	m := New()
	seen := map[string]bool{}
	for i := 0; i < MaxRoutes+100; i++ {
		seen[m.routeLabel(fmt.Sprintf("/r%d", i))] = true
	}
	if len(seen) != MaxRoutes+1 || !seen[OtherRoute] {
		t.Fatalf("%d distinct labels, want %d routes and %q", len(seen), MaxRoutes, OtherRoute)
	}
	if got := m.routeLabel("/r0"); got != "/r0" {
		t.Errorf("a known route became %q", got)
	}
}

func BenchmarkMiddleware(b *testing.B) {
	m := New()
	mux := http.NewServeMux()
	mux.HandleFunc("/cars/{key}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("{}")) })
	h := m.Middleware(mux)
	r := httptest.NewRequest("GET", "/cars/42", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
}

func BenchmarkWithoutMiddleware(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("/cars/{key}", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("{}")) })
	r := httptest.NewRequest("GET", "/cars/42", nil)
	b.ReportAllocs()
	for b.Loop() {
		mux.ServeHTTP(httptest.NewRecorder(), r)
	}
}
