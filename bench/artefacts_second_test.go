package bench_test

// The artefact repository's second level (issue 16), in process over real loopback
// HTTP (httptest.Server), SQLite and files:
//
//	go test ./bench -run '^$' -bench 'Artefact(Deploy|Resumed|Listing)' -benchtime 3x
//
// BenchmarkArtefactDeployByChecksum: a deploy by checksum of a known file of
// RESTKIT_BENCH_SIZE bytes (default 1 GiB) against a full upload of it.
// BenchmarkArtefactResumedUpload: a resumable upload of that file broken off at 50%
// and resumed; bytes-sent/op is every byte the client sent, both attempts together.
// BenchmarkArtefactListing: a tree of 100,000 artefacts in 1,000 directories six
// deep; p50 of a listing at the root and at depth 6.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/client"
	"github.com/restkit/restkit/fsblob"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/sqlite"
)

// benchSize is the size of the big file.
func benchSize() int64 {
	if s := os.Getenv("RESTKIT_BENCH_SIZE"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
			return n
		}
	}
	return 1 << 30
}

// repoHTTP serves a repository in dir over loopback HTTP.
func repoHTTP(b *testing.B, dir string) (*httptest.Server, *sqlite.Store) {
	b.Helper()
	meta, err := sqlite.Open(filepath.Join(dir, "restkit.db"))
	if err != nil {
		b.Fatal(err)
	}
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{{
		Name: "notes", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}}}}}
	if err := sc.Prepare(); err != nil {
		b.Fatal(err)
	}
	if err := meta.Migrate(context.Background(), sc); err != nil {
		b.Fatal(err)
	}
	blobs, err := fsblob.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	repo := artefact.New(artefact.Options{Blobs: blobs, Meta: meta})
	h, err := httpapi.New(httpapi.Options{Schema: sc, Store: meta, Artefacts: repo})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(func() { srv.Close(); meta.Close() })
	return srv, meta
}

// bigFile writes a file of n pseudo-random bytes and returns it open, with its SHA-256.
func bigFile(b *testing.B, dir string, n int64) (*os.File, string) {
	b.Helper()
	f, err := os.Create(filepath.Join(dir, "big.bin"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	h := sha256.New()
	block := make([]byte, 1<<20)
	for i := range block {
		block[i] = byte(i*7 + i>>8)
	}
	for written := int64(0); written < n; {
		block[0]++ // no two blocks alike
		m := min(int64(len(block)), n-written)
		_, _ = f.Write(block[:m])
		h.Write(block[:m])
		written += m
	}
	return f, hex.EncodeToString(h.Sum(nil))
}

func BenchmarkArtefactDeployByChecksum(b *testing.B) {
	dir := b.TempDir()
	srv, _ := repoHTTP(b, dir)
	size := benchSize()
	f, sum := bigFile(b, dir, size)
	cl := client.New(srv.URL)
	ctx := context.Background()
	if _, err := cl.Push(ctx, "known", "big.bin", io.NewSectionReader(f, 0, size), size, client.PushOptions{Replace: true, SHA256: sum}); err != nil {
		b.Fatal(err)
	}
	b.Run("full-upload", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, err := cl.Push(ctx, "full", "big.bin", io.NewSectionReader(f, 0, size), size, client.PushOptions{Replace: true, SHA256: sum}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(size), "bytes-sent/op")
	})
	b.Run("deploy-by-checksum", func(b *testing.B) {
		for b.Loop() {
			if _, err := cl.Push(ctx, "deployed", "big.bin", nil, 0, client.PushOptions{Replace: true, SHA256: sum, Deploy: true}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(0, "bytes-sent/op")
	})
}

// breakingReader fails once, the first time a read reaches at.
type breakingReader struct {
	f    io.ReaderAt
	at   int64
	once *sync.Once
}

var errBroken = errors.New("the network broke")

func (r breakingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.at {
		broke := false
		r.once.Do(func() { broke = true })
		if broke {
			n, _ := r.f.ReadAt(p[:max(r.at-off, 0)], off)
			if n > 0 {
				return n, nil
			}
			return 0, errBroken
		}
	}
	return r.f.ReadAt(p, off)
}

func BenchmarkArtefactResumedUpload(b *testing.B) {
	dir := b.TempDir()
	srv, _ := repoHTTP(b, dir)
	size := benchSize()
	f, sum := bigFile(b, dir, size)
	cl := client.New(srv.URL)
	var sent int64
	b.SetBytes(size)
	for b.Loop() {
		r := breakingReader{f: f, at: size / 2, once: new(sync.Once)}
		_, res, err := cl.PushResumable(context.Background(), "resumed", "big.bin", r, size, client.ResumableOptions{SHA256: sum})
		if err != nil {
			b.Fatal(err)
		}
		if !res.Resumed {
			b.Fatal("the upload was not resumed")
		}
		sent = res.Sent
	}
	b.ReportMetric(float64(sent), "bytes-sent/op")
	b.ReportMetric(float64(sent)/float64(size), "sent/size")
}

func BenchmarkArtefactListing(b *testing.B) {
	dir := b.TempDir()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir, _ = os.MkdirTemp("/dev/shm", "restkit-bench-") // seeding fsyncs every version
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	srv, meta := repoHTTP(b, dir)
	ctx := context.Background()
	dirs := make([]string, 1000)
	for i := range dirs {
		dirs[i] = fmt.Sprintf("t%d/a%d/b%d/c%d/d%d/e%d", i%10, i/10%10, i/100%10, i%7, i%3, i)
	}
	start := time.Now()
	for i := range 100_000 {
		d := dirs[i%len(dirs)]
		sum := sha256.Sum256([]byte(strconv.Itoa(i)))
		if _, _, err := meta.AddVersion(ctx, &restkit.Artefact{Directory: d, ID: fmt.Sprintf("file-%05d.bin", i), Size: int64(i % 4096),
			SHA256: hex.EncodeToString(sum[:]), ContentType: "application/octet-stream"}, nil, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded 100,000 artefacts in 1,000 directories in %v", time.Since(start).Round(time.Second))
	for _, tc := range []struct{ name, path string }{
		{"root", "/artefacts"},
		{"top-level-directory", "/artefacts/t3"},
		{"depth-6", "/artefacts/" + dirs[345]},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				resp, err := http.Get(srv.URL + tc.path)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				if resp.StatusCode != 200 || !bytes.HasPrefix(body, []byte("[{")) {
					b.Fatalf("%s: %d %s", tc.path, resp.StatusCode, body)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		})
	}
}
