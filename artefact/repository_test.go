package artefact_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
	"github.com/restkit/restkit/fsblob"
	"github.com/restkit/restkit/sqlite"
)

func newRepo(t *testing.T, pol artefact.Policy) *artefact.Repository {
	t.Helper()
	dir := t.TempDir()
	meta, err := sqlite.Open(filepath.Join(dir, "restkit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	blobs, err := fsblob.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return artefact.New(artefact.Options{Blobs: blobs, Meta: meta, Policy: pol})
}

func put(t *testing.T, repo *artefact.Repository, dir, id, content string) *restkit.Artefact {
	t.Helper()
	done := make(chan struct{})
	var a *restkit.Artefact
	var err error
	go func() {
		defer close(done)
		a, err = repo.Put(context.Background(), artefact.Upload{Directory: dir, ID: id, Body: strings.NewReader(content), Length: int64(len(content))})
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("Put %s/%s hung (deadlock?)", dir, id)
	}
	if err != nil {
		t.Fatalf("Put %s/%s: %v", dir, id, err)
	}
	return a
}

func stripe(content string) uint32 {
	sum := sha256.Sum256([]byte(content))
	h := fnv.New32a()
	h.Write([]byte(hex.EncodeToString(sum[:])))
	return h.Sum32() % 64
}

// TestPruneAcrossOneLockStripe: a replace that prunes content whose digest shares a
// lock stripe with the new content used to deadlock (the lock was held while freeing).
func TestPruneAcrossOneLockStripe(t *testing.T) {
	a, b := "content-0\n", "content-11\n"
	if stripe(a) != stripe(b) {
		t.Fatalf("the pair no longer shares a stripe (%d, %d): pick another", stripe(a), stripe(b))
	}
	repo := newRepo(t, artefact.Policy{KeepVersions: 1})
	put(t, repo, "d", "x", a)
	v := put(t, repo, "d", "x", b)
	if v.Version != 2 {
		t.Fatalf("version %d", v.Version)
	}
	put(t, repo, "d", "y", a) // the stripe is free again
}

// TestConcurrentReplacesWithRetention: many writers replacing one artefact under
// keep_versions all finish, the newest versions are kept and pruned content is freed.
func TestConcurrentReplacesWithRetention(t *testing.T) {
	repo := newRepo(t, artefact.Policy{KeepVersions: 3})
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				put(t, repo, "d", "x", fmt.Sprintf("writer %d version %d\n", w, i))
			}
		}(w)
	}
	wg.Wait()
	vs, err := repo.Versions(context.Background(), "d", "x")
	if err != nil || len(vs) != 3 || vs[0].Version != 200 {
		t.Fatalf("versions: %d %v", len(vs), err)
	}
	for _, v := range vs {
		_, blob, err := repo.Open(context.Background(), "d", "x", v.Version)
		if err != nil {
			t.Fatalf("v%d: %v", v.Version, err)
		}
		blob.Close()
	}
}

// TestPutChecksPaths: the repository refuses a path that breaks the rules whoever
// calls it (a library caller has no HTTP layer to check for it).
func TestPutChecksPaths(t *testing.T) {
	repo := newRepo(t, artefact.Policy{})
	for _, p := range [][2]string{{"a/b/c/d/e/f/g/h/i", "x"}, {"a//b", "x"}, {"a", "versions"}, {"", "x"}} {
		_, err := repo.Put(context.Background(), artefact.Upload{Directory: p[0], ID: p[1], Body: strings.NewReader("x"), Length: 1})
		if !restkit.IsKind(err, restkit.Invalid) {
			t.Errorf("Put %s/%s: %v, want Invalid", p[0], p[1], err)
		}
	}
	put(t, repo, "a/b/c/d/e/f/g/h", "x", "eight deep")
}
