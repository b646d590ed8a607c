package blobtest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/restkit/restkit"
)

// RunParts runs the conformance suite of restkit.PartStore (resumable uploads)
// against the stores open returns, which must implement it:
//
//   - parts written from successive offsets stage as one blob, with the caller's
//     digest, that commits and reads back whole; a part written again from an
//     earlier offset replaces what followed it;
//   - a part whose reader fails keeps nothing;
//   - Abort of a staged upload leaves its parts as they were (the client may send
//     its last part again); DeleteParts removes them (twice is no error).
func RunParts(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	t.Run("PartsMakeABlob", func(t *testing.T) { testPartsMakeABlob(t, open(t)) })
	t.Run("FailedPartKeepsNothing", func(t *testing.T) { testFailedPart(t, open(t)) })
}

func partStore(t *testing.T, s restkit.BlobStore) restkit.PartStore {
	t.Helper()
	ps, ok := s.(restkit.PartStore)
	if !ok {
		t.Fatalf("%T is not a restkit.PartStore", s)
	}
	return ps
}

// bigParts are 6 MiB and 1 MiB of patterned bytes: the first at least S3's least
// multipart part, so that an S3 store may compose them.
func bigParts() (a, b []byte) {
	a, b = make([]byte, 6<<20), make([]byte, 1<<20+7)
	for i := range a {
		a[i] = byte(i * 31)
	}
	for i := range b {
		b[i] = byte(i*17 + 3)
	}
	return a, b
}

func testPartsMakeABlob(t *testing.T, s restkit.BlobStore) {
	ps := partStore(t, s)
	a, b := bigParts()
	p1, n, err := ps.WritePart(ctx, "up-1", 0, bytes.NewReader(a))
	if err != nil || n != int64(len(a)) {
		t.Fatalf("first part: %d %v", n, err)
	}
	// A part sent again from its offset (its first write was never recorded).
	stale, _, err := ps.WritePart(ctx, "up-1", int64(len(a)), bytes.NewReader(b[:100]))
	if err != nil {
		t.Fatal(err)
	}
	if err := ps.DeletePart(ctx, "up-1", stale); err != nil {
		t.Fatal(err)
	}
	p2, n, err := ps.WritePart(ctx, "up-1", int64(len(a)), bytes.NewReader(b))
	if err != nil || n != int64(len(b)) {
		t.Fatalf("second part: %d %v", n, err)
	}
	whole := append(append([]byte{}, a...), b...)
	size := int64(len(whole))
	staged, err := ps.StageParts(ctx, "up-1", []string{p1, p2}, size, hexSHA256(whole))
	if err != nil {
		t.Fatal(err)
	}
	if err := staged.Abort(); err != nil { // the parts stay
		t.Fatal(err)
	}
	staged, err = ps.StageParts(ctx, "up-1", []string{p1, p2}, size, hexSHA256(whole))
	if err != nil {
		t.Fatalf("staging again after an abort: %v", err)
	}
	if staged.SHA256() != hexSHA256(whole) || staged.Size() != size {
		t.Fatalf("staged %s %d", staged.SHA256(), staged.Size())
	}
	if err := staged.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	sameContent(t, s, hexSHA256(whole), whole)
	if err := ps.DeleteParts(ctx, "up-1"); err != nil {
		t.Fatal(err)
	}
	if err := ps.DeleteParts(ctx, "up-1"); err != nil {
		t.Fatalf("deleting the parts twice: %v", err)
	}
	sameContent(t, s, hexSHA256(whole), whole) // the blob does not go with them
}

type brokenPartReader struct{ n int }

func (f *brokenPartReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("the client went away")
	}
	m := min(len(p), f.n)
	f.n -= m
	return m, nil
}

func testFailedPart(t *testing.T, s restkit.BlobStore) {
	ps := partStore(t, s)
	p1, _, err := ps.WritePart(ctx, "up-2", 0, bytes.NewReader([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ps.WritePart(ctx, "up-2", 5, &brokenPartReader{n: 3}); err == nil {
		t.Fatal("a failing reader's part was kept")
	}
	staged, err := ps.StageParts(ctx, "up-2", []string{p1}, 5, hexSHA256([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	if err := staged.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, hexSHA256([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, _ := io.ReadAll(r); string(b) != "hello" {
		t.Fatalf("the blob: %q", b)
	}
	if err := ps.DeleteParts(ctx, "up-2"); err != nil {
		t.Fatal(err)
	}
}
