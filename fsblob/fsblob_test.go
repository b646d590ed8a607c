package fsblob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/blobtest"
)

func TestBlobStore(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) restkit.BlobStore { return mustOpen(t, t.TempDir()) })
}

// mustOpen opens a store and fails the test if it cannot.
func mustOpen(tb testing.TB, dir string) *Store {
	tb.Helper()
	s, err := Open(dir)
	if err != nil {
		tb.Fatalf("Open(%q): %v", dir, err)
	}
	return s
}

var ctx = context.Background()

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func mustPut(tb testing.TB, s *Store, content []byte) string {
	tb.Helper()
	b, err := s.Stage(ctx, bytes.NewReader(content), 0)
	if err != nil {
		tb.Fatalf("Stage: %v", err)
	}
	if err := b.Commit(ctx); err != nil {
		tb.Fatalf("Commit: %v", err)
	}
	return b.SHA256()
}

// tmpEntries returns the names in dir/tmp.
func tmpEntries(tb testing.TB, dir string) []string {
	tb.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestLayout(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	content := []byte("abc")
	d := mustPut(t, s, content)
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if d != want {
		t.Fatalf("digest %s, want %s", d, want)
	}
	path := filepath.Join(dir, "blobs", "ba", "78", want)
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("%s: %q, %v; want %q", path, got, err, content)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("blob mode %v, want 0600", perm)
	}
	for _, d := range []string{"blobs", "tmp", "blobs/ba", "blobs/ba/78"} {
		fi, err := os.Stat(filepath.Join(dir, d))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v, %v; want a directory with mode 0700", d, fi, err)
		}
	}

	// Delete removes the fan-out directories it empties, and only those.
	other := mustPut(t, s, []byte("other"))
	if err := s.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "ba")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("blobs/ba after deleting its only blob: %v, want it gone", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", other[:2], other[2:4], other)); err != nil {
		t.Errorf("the other blob: %v", err)
	}

	// A store opened again on the directory sees the blob.
	again := mustOpen(t, dir)
	r, err := again.Open(ctx, other)
	if err != nil {
		t.Fatalf("Open after reopening: %v", err)
	}
	r.Close()
}

// TestTmpIsEmpty checks that no outcome of a stage leaves a file in tmp/.
func TestTmpIsEmpty(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	check := func(what string) {
		t.Helper()
		if names := tmpEntries(t, dir); len(names) != 0 {
			t.Errorf("%s: tmp/ holds %q", what, names)
		}
	}
	content := bytes.Repeat([]byte("x"), 1000)

	mustPut(t, s, content)
	check("after Commit")
	mustPut(t, s, content)
	check("after a Commit of content already there")

	b, err := s.Stage(ctx, bytes.NewReader([]byte("aborted")), 0)
	if err != nil {
		t.Fatal(err)
	}
	if names := tmpEntries(t, dir); len(names) != 1 || !strings.HasPrefix(names[0], "stage-") {
		t.Errorf("while staged: tmp/ holds %q, want one stage-* file", names)
	}
	if err := b.Abort(); err != nil {
		t.Fatal(err)
	}
	check("after Abort")

	_, err = s.Stage(ctx, bytes.NewReader(content), 999)
	if !restkit.IsKind(err, restkit.TooLarge) {
		t.Fatalf("Stage over the limit: %v, want TooLarge", err)
	}
	check("after TooLarge")

	c, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Stage(c, bytes.NewReader(content), 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Stage: %v", err)
	}
	check("after a cancelled Stage")

	if _, err := s.Stage(ctx, io.MultiReader(bytes.NewReader(content), iotest{}), 0); err == nil {
		t.Fatal("Stage of a failing reader succeeded")
	}
	check("after a reader error")
}

type iotest struct{}

func (iotest) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestCleanCrashLeftovers simulates a crash in the middle of a stage.
func TestCleanCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	kept := mustPut(t, s, []byte("kept"))
	tmp := filepath.Join(dir, "tmp")
	if err := os.WriteFile(filepath.Join(tmp, "stage-123456"), []byte("half an upl"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "odd", "deeper"), 0o700); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir) // as after a restart
	if err := s.Clean(ctx); err != nil {
		t.Fatalf("Clean: %v", err)
	}
	if names := tmpEntries(t, dir); len(names) != 0 {
		t.Errorf("after Clean: tmp/ holds %q", names)
	}
	var listed []string
	if err := s.List(ctx, func(d string) error { listed = append(listed, d); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0] != kept {
		t.Errorf("List = %q, want [%s]", listed, kept)
	}
	mustPut(t, s, []byte("works"))
}

// TestListSkipsStrays puts files that are not blobs among the blobs.
func TestListSkipsStrays(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	d := mustPut(t, s, []byte("real"))
	blobs := filepath.Join(dir, "blobs")
	fake := hexSHA256([]byte("misplaced"))
	for _, p := range []string{
		"README",
		"zz/00/" + fake,
		d[:2] + "/" + d[2:4] + "/notes.txt",
		d[:2] + "/" + d[2:4] + "/" + strings.ToUpper(fake),
		d[:2] + "/" + d[2:4] + "/" + fake, // a valid name in the wrong directory
		d[:2] + "/" + d[2:4] + "/" + d + ".tmp",
		"ab/" + fake,
	} {
		path := filepath.Join(blobs, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("stray"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A directory with a blob's name.
	if err := os.MkdirAll(filepath.Join(blobs, fake[:2], fake[2:4], fake), 0o700); err != nil {
		t.Fatal(err)
	}
	var listed []string
	if err := s.List(ctx, func(d string) error { listed = append(listed, d); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0] != d {
		t.Errorf("List = %q, want [%s]", listed, d)
	}
	if _, err := s.Open(ctx, fake); err == nil || restkit.IsKind(err, restkit.NotFound) {
		t.Errorf("Open of a directory with a blob's name: %v, want Internal", err)
	}
}

// TestOpenReaderOutlivesDelete: a download in progress finishes when its blob is
// deleted meanwhile.
func TestOpenReaderOutlivesDelete(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	content := bytes.Repeat([]byte("0123456789"), 10_000)
	d := mustPut(t, s, content)
	r, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := s.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, content) {
		t.Errorf("reading a deleted blob through an open reader: %d bytes, %v", len(got), err)
	}
	ra, ok := r.(io.ReaderAt)
	if !ok {
		t.Fatal("the reader is not an io.ReaderAt")
	}
	p := make([]byte, 5)
	if n, err := ra.ReadAt(p, 99_995); n != 5 || err != nil || string(p) != "56789" {
		t.Errorf("ReadAt(99995) = %d, %v, %q", n, err, p)
	}
	if n, err := ra.ReadAt(p, 99_998); n != 2 || err != io.EOF {
		t.Errorf("ReadAt across the end = %d, %v; want 2, EOF", n, err)
	}
}

// TestErrorsHidePaths: client-facing messages never hold a path or a system error;
// internal errors keep them for the log.
func TestErrorsHidePaths(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	d := hexSHA256([]byte("absent"))
	_, err := s.Open(ctx, d)
	if !restkit.IsKind(err, restkit.NotFound) || strings.Contains(restkit.ErrorMessage(err), dir) {
		t.Errorf("Open of an absent blob: %v", err)
	}
	_, err = s.Open(ctx, "../../etc/passwd")
	if !restkit.IsKind(err, restkit.Invalid) || strings.Contains(restkit.ErrorMessage(err), "passwd") {
		t.Errorf("Open of a path: %v (message %q)", err, restkit.ErrorMessage(err))
	}
	if f := restkit.ErrorFields(err); len(f) != 1 || f[0].Field != "sha256" {
		t.Errorf("fields %+v, want one for sha256", f)
	}

	// Break the store: tmp/ is gone.
	if err := os.RemoveAll(filepath.Join(dir, "tmp")); err != nil {
		t.Fatal(err)
	}
	_, err = s.Stage(ctx, strings.NewReader("x"), 0)
	if !restkit.IsKind(err, restkit.Internal) || restkit.ErrorMessage(err) != "internal error" {
		t.Errorf("Stage without tmp/: %v, want Internal", err)
	}
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("the log text %v should name the path", err)
	}
}

func TestFullDisk(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		err := writeError("fsblob.Stage", &fs.PathError{Op: "write", Path: "/data/tmp/stage-1", Err: errno})
		if !restkit.IsKind(err, restkit.InsufficientStorage) || strings.Contains(restkit.ErrorMessage(err), "/data") {
			t.Errorf("%v: %v (message %q), want InsufficientStorage", errno, err, restkit.ErrorMessage(err))
		}
		if !errors.Is(err, errno) {
			t.Errorf("%v: the cause is lost", errno)
		}
	}
}

// repeater gives n bytes of a repeated block without holding them.
type repeater struct {
	n     int64
	block []byte
}

func (r *repeater) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	n := copy(p, r.block)
	for n < len(p) {
		n += copy(p[n:], r.block)
	}
	r.n -= int64(n)
	return n, nil
}

// TestMemoryDoesNotGrow stages 256 MiB and checks that it allocates far less than
// that: memory use does not grow with the size of the upload.
func TestMemoryDoesNotGrow(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	size := int64(256 << 20)
	if testing.Short() {
		size = 32 << 20
	}
	mustPut(t, s, []byte("warm the buffer pool"))
	block := bytes.Repeat([]byte("restkit!"), 4096)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b, err := s.Stage(ctx, &repeater{n: size, block: block}, 0)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if b.Size() != size {
		t.Fatalf("Size %d, want %d", b.Size(), size)
	}
	if err := b.Abort(); err != nil {
		t.Fatal(err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("staging %d MiB allocated %d bytes, want < 1 MiB", size>>20, alloc)
	}
}

func BenchmarkStageCommit(b *testing.B) {
	s := mustOpen(b, b.TempDir())
	content := make([]byte, 1<<20)
	b.SetBytes(int64(len(content)))
	for i := 0; b.Loop(); i++ {
		content[0], content[1], content[2] = byte(i), byte(i>>8), byte(i>>16)
		mustPut(b, s, content)
	}
}

func TestPartStore(t *testing.T) {
	blobtest.RunParts(t, func(t *testing.T) restkit.BlobStore { return mustOpen(t, t.TempDir()) })
}
