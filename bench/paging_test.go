package bench_test

// BenchmarkPaging1M prices bench/paging.sh's requests in process (httptest, no sockets,
// no wrk), on the database and the deep cursor that paging.sh cached. It is the thing to
// profile when the deep page is slow:
//
//	bash bench/paging.sh   # once: seeds and caches bench/out/paging-cache/v*/
//	RESTKIT_PAGING=$(ls bench/out/paging-cache/v*/deep-year-1995-500000.path) \
//	  go test ./bench -run '^$' -bench Paging1M -benchtime 3s -cpuprofile cpu.out -o bench.test
//	go tool pprof -top -cum bench.test cpu.out
//
// Without RESTKIT_PAGING it is skipped.

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/restkit/restkit/bench/plain"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/sqlite"
)

type pagingServers struct {
	restkit, baseline http.Handler
	paths             map[string]string // "restkit/page1", "restkit/deep", "baseline/page1", "baseline/deep"
	err               error
}

var (
	pagingOnce sync.Once
	paging     pagingServers
)

// copyFile copies the file src to dst.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// pagingSetup opens copies of the cached database for both servers; restkit gets the
// cached cursor key, so the cached cursor is valid.
func pagingSetup(deepFile string) (pagingServers, error) {
	cache := filepath.Dir(deepFile)
	var sortField string
	var yearGte, deep int
	if _, err := fmt.Sscanf(strings.ReplaceAll(filepath.Base(deepFile), "-", " "), "deep %s %d %d.path", &sortField, &yearGte, &deep); err != nil {
		return pagingServers{}, fmt.Errorf("%s: not a deep-SORT-YEAR-DEEP.path file from bench/paging.sh: %v", deepFile, err)
	}
	rkDeep, err := os.ReadFile(deepFile)
	if err != nil {
		return pagingServers{}, err
	}
	key, err := os.ReadFile(filepath.Join(cache, "cursor.key"))
	if err != nil {
		return pagingServers{}, err
	}
	if dir == "" { // removed by TestMain
		if dir, err = os.MkdirTemp("", "restkit-bench-"); err != nil {
			return pagingServers{}, err
		}
	}
	rdb, bdb := filepath.Join(dir, "paging-restkit.db"), filepath.Join(dir, "paging-baseline.db")
	for _, dst := range []string{rdb, bdb} {
		if err := copyFile(dst, filepath.Join(cache, "restkit.db")); err != nil {
			return pagingServers{}, err
		}
	}
	cfg, err := config.Parse("demo.yaml", config.Demo())
	if err != nil {
		return pagingServers{}, err
	}
	store, err := sqlite.Open(rdb) // closed with the process
	if err != nil {
		return pagingServers{}, err
	}
	if err := store.Migrate(context.Background(), cfg.Schema); err != nil {
		return pagingServers{}, err
	}
	h, err := httpapi.New(httpapi.Options{Schema: cfg.Schema, Store: store, CursorKey: key})
	if err != nil {
		return pagingServers{}, err
	}
	s := pagingServers{restkit: h}
	p, err := plain.Open(bdb)
	if err != nil {
		return pagingServers{}, err
	}
	s.baseline = p
	// The baseline's cursor: the sort values of row `deep`, as paging.sh finds them.
	db, err := sql.Open("sqlite", bdb+"?_pragma=query_only(1)")
	if err != nil {
		return pagingServers{}, err
	}
	defer db.Close()
	var v any
	var id int64
	q := fmt.Sprintf(`SELECT %q, "id" FROM "cars" WHERE "year" >= ? ORDER BY %q, "id" LIMIT 1 OFFSET ?`, sortField, sortField)
	if err := db.QueryRow(q, yearGte, deep-1).Scan(&v, &id); err != nil {
		return pagingServers{}, err
	}
	s.paths = map[string]string{
		"restkit/page1":  fmt.Sprintf("/cars?year%%5Bgte%%5D=%d&sort=%s&limit=20", yearGte, sortField),
		"restkit/deep":   strings.TrimSpace(string(rkDeep)),
		"baseline/page1": fmt.Sprintf("/keyset/cars?year_gte=%d&sort=%s&limit=20", yearGte, sortField),
		"baseline/deep":  fmt.Sprintf("/keyset/cars?year_gte=%d&sort=%s&after_%s=%v&after_id=%d&limit=20", yearGte, sortField, sortField, v, id),
	}
	for _, page := range []string{"page1", "deep"} {
		a := do(s.restkit, http.MethodGet, s.paths["restkit/"+page], nil)
		b := do(s.baseline, http.MethodGet, s.paths["baseline/"+page], nil)
		if a.Code != http.StatusOK || !bytes.Equal(a.Body.Bytes(), b.Body.Bytes()) {
			return pagingServers{}, fmt.Errorf("%s: restkit (%d) and the baseline differ (a stale cursor? run bench/paging.sh):\nrestkit  %.200s\nbaseline %.200s",
				page, a.Code, a.Body, b.Body)
		}
	}
	return s, nil
}

// BenchmarkPaging1M: page 1 and the deep page of bench/paging.sh, on both servers.
func BenchmarkPaging1M(b *testing.B) {
	deepFile := os.Getenv("RESTKIT_PAGING")
	if deepFile == "" {
		b.Skip("set RESTKIT_PAGING to a deep-*.path file cached by bench/paging.sh (see paging_test.go)")
	}
	if _, err := os.Stat(deepFile); err != nil && !filepath.IsAbs(deepFile) {
		deepFile = filepath.Join("..", deepFile) // relative to the module root; tests run in bench/
	}
	pagingOnce.Do(func() { paging, paging.err = pagingSetup(deepFile) })
	if paging.err != nil {
		b.Fatal(paging.err)
	}
	for _, name := range []string{"restkit/page1", "restkit/deep", "baseline/page1", "baseline/deep"} {
		h := paging.restkit
		if strings.HasPrefix(name, "baseline/") {
			h = paging.baseline
		}
		target := paging.paths[name]
		b.Run(name, func(b *testing.B) {
			parallel(b, h, http.MethodGet, func(*rand.Rand) (string, []byte) { return target, nil }, http.StatusOK)
		})
	}
}
