package bench_test

// In-process benchmarks: restkit's handler and the baseline's (bench/plain) called
// directly with httptest, without wrk and without the network, over the same 10,000
// cars. They price the code rather than the whole machine, and are what to profile:
//
//	go test ./bench -run '^$' -bench . -benchtime 2s
//	go test ./bench -run '^$' -bench 'GetByID/restkit' -cpuprofile cpu.out && go tool pprof -top cpu.out
//
// Nothing here runs without -bench: there are no tests, and the data is made on first use.
// Besides ns/op each reports cpu-ns/op, the process's CPU time per request, which is the
// number to compare on a machine where other work competes for the CPUs.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/restkit/restkit/bench/plain"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/internal/logbuf"
	"github.com/restkit/restkit/metrics"
	"github.com/restkit/restkit/sqlite"
)

const cars = 10000

var (
	models = []string{"Corolla", "Civic", "Golf", "Model 3", "Mustang", "Clio", "Polo", "Focus", "Panda", "Yaris", "Octavia", "Fiesta"}
	colors = []string{"red", "blue", "green", "black", "white", "silver", "yellow"}
)

// carJSON is the body bench/seed posts for car id.
func carJSON(id int) []byte {
	model, color := models[id%len(models)], colors[(id/3)%len(colors)]
	if id%7 == 0 {
		return fmt.Appendf(nil, `{"id":%d,"model":%q,"color":%q}`, id, model, color)
	}
	return fmt.Appendf(nil, `{"id":%d,"model":%q,"color":%q,"year":%d}`, id, model, color, 1990+id%35)
}

type servers struct {
	restkit, baseline http.Handler
	// served is restkit over the same store with what `restkit serve` adds around the
	// handler: Prometheus metrics and a request log (formatted off the request path by
	// internal/logbuf, as serve does, into io.Discard).
	served       http.Handler
	deepRestkit  string // the 20 cars after row 9000, by restkit's cursor
	deepBaseline string
	err          error
}

var (
	setupOnce sync.Once
	srv       servers
	dir       string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if dir != "" {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// newRestkit serves the built-in demo from dataDir, as `restkit serve` does but
// without a request log.
func newRestkit(dataDir string) (http.Handler, *sqlite.Store, error) {
	cfg, err := config.Parse("demo.yaml", config.Demo())
	if err != nil {
		return nil, nil, err
	}
	store, err := sqlite.Open(filepath.Join(dataDir, "restkit.db"))
	if err != nil {
		return nil, nil, err
	}
	if err := store.Migrate(context.Background(), cfg.Schema); err != nil {
		store.Close()
		return nil, nil, err
	}
	h, err := httpapi.New(httpapi.Options{Schema: cfg.Schema, Store: store, CursorKey: bytes.Repeat([]byte{7}, 32)})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return h, store, nil
}

// newServed is restkit's handler over store with metrics and a request log, as
// `restkit serve` builds it (cmd/restkit/serve.go: a text log through logbuf).
func newServed(store *sqlite.Store) (http.Handler, error) {
	cfg, err := config.Parse("demo.yaml", config.Demo())
	if err != nil {
		return nil, err
	}
	log := slog.New(logbuf.New(io.Discard, func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }, logbuf.Options{}))
	return httpapi.New(httpapi.Options{Schema: cfg.Schema, Store: store, CursorKey: bytes.Repeat([]byte{7}, 32),
		Logger: log, Metrics: metrics.New()})
}

func do(h http.Handler, method, target string, body []byte) *httptest.ResponseRecorder {
	var r *http.Request
	if body != nil {
		r = httptest.NewRequest(method, target, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var nextLink = regexp.MustCompile(`<([^>]*)>;\s*rel="next"`)

func setup() (servers, error) {
	var err error
	if dir, err = os.MkdirTemp("", "restkit-bench-"); err != nil {
		return servers{}, err
	}
	rdir, bdir := filepath.Join(dir, "restkit"), filepath.Join(dir, "baseline")
	for _, d := range []string{rdir, bdir} {
		if err := os.Mkdir(d, 0o750); err != nil {
			return servers{}, err
		}
	}
	// Seed through restkit's own POST, close it (checkpointing the WAL), copy the file.
	h, store, err := newRestkit(rdir)
	if err != nil {
		return servers{}, err
	}
	for id := 1; id <= cars; id++ {
		if w := do(h, http.MethodPost, "/cars", carJSON(id)); w.Code != http.StatusCreated {
			store.Close()
			return servers{}, fmt.Errorf("seeding car %d: %d %s", id, w.Code, w.Body)
		}
	}
	if err := store.Close(); err != nil {
		return servers{}, err
	}
	data, err := os.ReadFile(filepath.Join(rdir, "restkit.db"))
	if err != nil {
		return servers{}, err
	}
	if err := os.WriteFile(filepath.Join(bdir, "restkit.db"), data, 0o600); err != nil {
		return servers{}, err
	}
	s := servers{deepBaseline: "/cars?after=9000&limit=20"}
	var rstore *sqlite.Store
	if s.restkit, rstore, err = newRestkit(rdir); err != nil { // closed with the process
		return servers{}, err
	}
	if s.served, err = newServed(rstore); err != nil {
		return servers{}, err
	}
	p, err := plain.Open(filepath.Join(bdir, "restkit.db"))
	if err != nil {
		return servers{}, err
	}
	s.baseline = p
	// Walk restkit's next links to row 9000.
	path := "/cars?limit=100"
	for range 90 {
		w := do(s.restkit, http.MethodGet, path, nil)
		m := nextLink.FindStringSubmatch(w.Header().Get("Link"))
		if w.Code != http.StatusOK || m == nil {
			return servers{}, fmt.Errorf("GET %s: %d, Link %q", path, w.Code, w.Header().Get("Link"))
		}
		path = m[1]
	}
	u, err := url.Parse(path)
	if err != nil {
		return servers{}, err
	}
	q := u.Query()
	q.Set("limit", "20")
	u.RawQuery = q.Encode()
	s.deepRestkit = u.RequestURI()
	a := do(s.restkit, http.MethodGet, s.deepRestkit, nil).Body.String()
	b := do(s.baseline, http.MethodGet, s.deepBaseline, nil).Body.String()
	if a != b {
		return servers{}, fmt.Errorf("the deep pages differ:\nrestkit  %.200s\nbaseline %.200s", a, b)
	}
	return s, nil
}

func get(b *testing.B) servers {
	b.Helper()
	setupOnce.Do(func() {
		srv, srv.err = setup()
	})
	if srv.err != nil {
		b.Fatal(srv.err)
	}
	return srv
}

// each runs fn as a sub-benchmark for the baseline, then restkit, then restkit with
// metrics and a request log ("served", named restkit to fn).
func each(b *testing.B, fn func(b *testing.B, h http.Handler, name string)) {
	s := get(b)
	b.Run("baseline", func(b *testing.B) { fn(b, s.baseline, "baseline") })
	b.Run("restkit", func(b *testing.B) { fn(b, s.restkit, "restkit") })
	b.Run("served", func(b *testing.B) { fn(b, s.served, "restkit") })
}

func parallel(b *testing.B, h http.Handler, method string, next func(r *rand.Rand) (string, []byte), want int) {
	b.ReportAllocs()
	if method != http.MethodGet {
		// Writes: 16 clients per CPU, about wrk's 32 connections on 2 CPUs, so that
		// writes meet as they do under load (and restkit's SQLite store can group them).
		b.SetParallelism(16)
	}
	var seed atomic.Uint64
	cpu0 := processCPU()
	defer func() {
		// CPU time per request (all goroutines, GC included): unlike ns/op it hardly
		// moves when other processes compete for the CPUs.
		if cpu := processCPU() - cpu0; cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}()
	b.RunParallel(func(pb *testing.PB) {
		r := rand.New(rand.NewPCG(seed.Add(1), 42))
		for pb.Next() {
			target, body := next(r)
			if w := do(h, method, target, body); w.Code != want {
				b.Errorf("%s %s: %d %s", method, target, w.Code, w.Body)
				return
			}
		}
	})
}

// BenchmarkGetByID: GET /cars/{random id}.
func BenchmarkGetByID(b *testing.B) {
	each(b, func(b *testing.B, h http.Handler, _ string) {
		parallel(b, h, http.MethodGet, func(r *rand.Rand) (string, []byte) {
			return "/cars/" + strconv.Itoa(1+r.IntN(cars)), nil
		}, http.StatusOK)
	})
}

// BenchmarkDeepPage: the 20 cars after row 9000 (restkit by cursor, the baseline by after=).
func BenchmarkDeepPage(b *testing.B) {
	s := get(b)
	each(b, func(b *testing.B, h http.Handler, name string) {
		target := s.deepBaseline
		if name == "restkit" {
			target = s.deepRestkit
		}
		parallel(b, h, http.MethodGet, func(*rand.Rand) (string, []byte) { return target, nil }, http.StatusOK)
	})
}

// BenchmarkPost: POST /cars with new ids (each server has its own copy of the data).
func BenchmarkPost(b *testing.B) {
	each(b, func(b *testing.B, h http.Handler, _ string) {
		var next atomic.Int64
		base := postBase.Add(100_000_000) // well above the seeded ids, new for every run
		parallel(b, h, http.MethodPost, func(*rand.Rand) (string, []byte) {
			id := base + next.Add(1)
			return "/cars", fmt.Appendf(nil, `{"id":%d,"model":"Bench","color":"red","year":2020}`, id)
		}, http.StatusCreated)
	})
}

// postBase separates the id ranges of successive runs (b.Run calls the function
// several times with growing b.N).
var postBase atomic.Int64

// BenchmarkPut: PUT /cars/{random id} of the whole car, as lua/put.lua sends it (the
// baseline's durable PUT: read, update, history row, in a transaction of its own).
func BenchmarkPut(b *testing.B) {
	each(b, func(b *testing.B, h http.Handler, _ string) {
		parallel(b, h, http.MethodPut, func(r *rand.Rand) (string, []byte) {
			id := 1 + r.IntN(cars)
			return "/cars/" + strconv.Itoa(id), fmt.Appendf(nil, `{"id":%d,"model":"Bench","color":"red","year":%d}`, id, 1990+r.IntN(35))
		}, http.StatusOK)
	})
}
