package blobtest

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

func testRoundTrip(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	// The FIPS 180-2 example: the digest is SHA-256 itself, in lowercase hex.
	abc := put(t, s, []byte("abc"))
	if want := "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; abc != want {
		t.Fatalf("digest of abc = %s, want %s", abc, want)
	}
	sameContent(t, s, abc, []byte("abc"))

	content := []byte("hello, blob\n\x00\xff — 日本\n")
	digest := put(t, s, content)
	if digest != hexSHA256(content) {
		t.Fatalf("digest = %s, want %s", digest, hexSHA256(content))
	}
	sameContent(t, s, digest, content)
	listed(t, s, "after two commits", abc, digest)

	// A second, different blob does not disturb the first.
	other := pattern(100_000, 1)
	d2 := put(t, s, other)
	if d2 == digest {
		t.Fatal("two contents, one digest")
	}
	sameContent(t, s, digest, content)
	sameContent(t, s, d2, other)
	listed(t, s, "after three commits", abc, digest, d2)
}

func testEmpty(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	b, err := s.Stage(ctx, strings.NewReader(""), 0)
	if err != nil {
		t.Fatalf("Stage of nothing: %v", err)
	}
	if b.SHA256() != emptySHA256 || b.Size() != 0 {
		t.Fatalf("empty stage: SHA256 %s, Size %d; want %s, 0", b.SHA256(), b.Size(), emptySHA256)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	r, err := s.Open(ctx, emptySHA256)
	if err != nil {
		t.Fatalf("Open of the empty blob: %v", err)
	}
	defer r.Close()
	if r.Size() != 0 {
		t.Errorf("Size = %d, want 0", r.Size())
	}
	n, err := r.Read(make([]byte, 10))
	if n != 0 || err != io.EOF {
		t.Errorf("Read of the empty blob = %d, %v; want 0, EOF", n, err)
	}
	listed(t, s, "after committing the empty blob", emptySHA256)
}

func testRanges(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	const size = 1000
	content := pattern(size, 0)
	digest := put(t, s, content)
	r, err := s.Open(ctx, digest)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Size() != size {
		t.Fatalf("Size = %d, want %d", r.Size(), size)
	}

	seek := func(offset int64, whence int, want int64) {
		t.Helper()
		got, err := r.Seek(offset, whence)
		if err != nil || got != want {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d, nil", offset, whence, got, err, want)
		}
	}
	readN := func(n int, want []byte) {
		t.Helper()
		got := make([]byte, n)
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("reading %d bytes: %v", n, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("read %v, want %v", clip(got), clip(want))
		}
	}
	atEOF := func(what string) {
		t.Helper()
		n, err := r.Read(make([]byte, 10))
		if n != 0 || err != io.EOF {
			t.Fatalf("%s: Read = %d, %v; want 0, EOF", what, n, err)
		}
	}

	readN(10, content[:10]) // from the start, without seeking
	seek(500, io.SeekStart, 500)
	readN(100, content[500:600])
	seek(-50, io.SeekCurrent, 550)
	readN(50, content[550:600])
	seek(0, io.SeekStart, 0)
	readN(size, content)
	atEOF("after reading everything")
	seek(size-1, io.SeekStart, size-1) // the last byte
	readN(1, content[size-1:])
	atEOF("after the last byte")
	seek(-1, io.SeekEnd, size-1)
	readN(1, content[size-1:])
	seek(-size, io.SeekEnd, 0)
	readN(3, content[:3])
	seek(0, io.SeekEnd, size) // at the end
	atEOF("at the end")
	seek(size+10, io.SeekStart, size+10) // past the end
	atEOF("past the end")
	seek(3, io.SeekStart, 3) // and back
	readN(4, content[3:7])

	// A second reader has its own position.
	r2, err := s.Open(ctx, digest)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	got := make([]byte, 5)
	if _, err := io.ReadFull(r2, got); err != nil || !bytes.Equal(got, content[:5]) {
		t.Fatalf("second reader: %v, %v; want %v", got, err, content[:5])
	}
	readN(3, content[7:10])
}

func testDelete(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	a, b := []byte("delete me"), []byte("keep me")
	da, db := put(t, s, a), put(t, s, b)
	if err := s.Delete(ctx, da); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	absent(t, s, "after Delete", da)
	sameContent(t, s, db, b)
	listed(t, s, "after Delete", db)
	if err := s.Delete(ctx, da); err != nil {
		t.Errorf("second Delete: %v, want nil", err)
	}
	if err := s.Delete(ctx, hexSHA256([]byte("never stored"))); err != nil {
		t.Errorf("Delete of a blob never stored: %v, want nil", err)
	}
	// The same content can be stored again.
	if d := put(t, s, a); d != da {
		t.Fatalf("digest changed: %s, %s", d, da)
	}
	sameContent(t, s, da, a)
	if err := s.Delete(ctx, da); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, db); err != nil {
		t.Fatal(err)
	}
	listed(t, s, "after deleting everything")
	put(t, s, b) // and the store still works
	sameContent(t, s, db, b)
}

// invalidDigests are names Open and Delete must refuse before touching storage.
var invalidDigests = []string{
	"",
	"../x",
	"..",
	"/etc/passwd",
	"../../../../../../../../../../../../../../../../../../../etc/passwd", // 64 bytes
	strings.ToUpper(emptySHA256),
	"E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	emptySHA256[:63],
	emptySHA256 + "0",
	emptySHA256[:62] + "g5",
	"e3/b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
	"e3\\b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
	emptySHA256[:63] + "\x00",
	" " + emptySHA256[1:],
	"sha256:" + emptySHA256,
}

func testInvalidDigest(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	put(t, s, nil) // so that a prefix of its digest could find something
	for _, d := range invalidDigests {
		r, err := s.Open(ctx, d)
		if err == nil {
			r.Close()
		}
		wantKind(t, "Open("+quote(d)+")", err, restkit.Invalid)
		wantKind(t, "Delete("+quote(d)+")", s.Delete(ctx, d), restkit.Invalid)
	}
	listed(t, s, "after refusing invalid digests", emptySHA256)
}

func quote(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\x00", `\x00`), "\n", `\n`)
}

func testList(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	listed(t, s, "an empty store")
	var want []string
	for i := range 30 {
		want = append(want, put(t, s, pattern(i*37, byte(i))))
	}
	listed(t, s, "30 blobs", want...)

	// fn's error stops List and comes back.
	stop := errors.New("stop")
	calls := 0
	err := s.List(ctx, func(string) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List with a failing fn = %v after %d calls, want stop after 1", err, calls)
	}

	// fn may delete what it is given.
	if err := s.List(ctx, func(d string) error { return s.Delete(ctx, d) }); err != nil {
		t.Fatalf("List deleting every blob: %v", err)
	}
	listed(t, s, "after List deleted every blob")
}
