// Package blobtest is the conformance suite every restkit.BlobStore passes.
//
// A blob store's own tests call Run with a function that opens a fresh, empty store:
//
//	func TestBlobStore(t *testing.T) {
//		blobtest.Run(t, func(t *testing.T) restkit.BlobStore {
//			s, err := fsblob.Open(t.TempDir())
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// A new backend is done when the suite passes. The suite checks exact bytes, sizes,
// digests and error kinds, and streams its large blob from a generator, so it runs in
// little memory. What it pins down, beyond the words of restkit.BlobStore, so that
// stores agree:
//
//   - A digest is 64 lowercase hex digits. Open and Delete refuse anything else with
//     Invalid, before touching storage. An absent blob is NotFound for Open, and
//     nothing for Delete.
//   - A staged blob is invisible (Open NotFound, not listed) until Commit. Its
//     SHA256 and Size are known as soon as Stage returns.
//   - Commit and Abort are idempotent; Abort after Commit does nothing; Commit after
//     Abort is an error that publishes nothing. Committing content already stored
//     succeeds and leaves one blob.
//   - Stage with limit > 0 accepts exactly limit bytes and refuses limit+1 with
//     TooLarge. A reader's *restkit.Error comes back with its kind; any other reader
//     error comes back in the chain (errors.Is). A context that ends before or
//     during Stage gives an error for which errors.Is(err, context.Canceled) holds.
//     A failed Stage keeps nothing.
//   - A reader Seeks anywhere at or past the end; reading there gives 0, io.EOF.
//   - Clean removes stages not committed; their Commit then either fails and
//     publishes nothing, or publishes the whole blob — never part of it.
//   - Committing one blob while another, possibly sharing its storage prefix, is
//     deleted succeeds.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/restkit/restkit"
)

// Run runs the conformance suite against the stores open returns. open is called
// once per subtest and must return a new, empty store.
func Run(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open) })
	t.Run("Empty", func(t *testing.T) { testEmpty(t, open) })
	t.Run("Ranges", func(t *testing.T) { testRanges(t, open) })
	t.Run("StagedIsInvisible", func(t *testing.T) { testStagedInvisible(t, open) })
	t.Run("Abort", func(t *testing.T) { testAbort(t, open) })
	t.Run("CommitAbortIdempotent", func(t *testing.T) { testIdempotent(t, open) })
	t.Run("Dedup", func(t *testing.T) { testDedup(t, open) })
	t.Run("Limit", func(t *testing.T) { testLimit(t, open) })
	t.Run("ReaderError", func(t *testing.T) { testReaderError(t, open) })
	t.Run("Cancel", func(t *testing.T) { testCancel(t, open) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open) })
	t.Run("InvalidDigest", func(t *testing.T) { testInvalidDigest(t, open) })
	t.Run("List", func(t *testing.T) { testList(t, open) })
	t.Run("Clean", func(t *testing.T) { testClean(t, open) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open) })
	t.Run("DeleteWhileCommitting", func(t *testing.T) { testDeleteWhileCommitting(t, open) })
	t.Run("Large", func(t *testing.T) { testLarge(t, open) })
}

var ctx = context.Background()

// emptySHA256 is the digest of no bytes.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// stage stages content, failing the test on error or on a wrong digest or size.
func stage(t testing.TB, s restkit.BlobStore, content []byte) restkit.StagedBlob {
	t.Helper()
	b, err := s.Stage(ctx, bytes.NewReader(content), 0)
	if err != nil {
		t.Fatalf("Stage of %d bytes: %v", len(content), err)
	}
	if got, want := b.SHA256(), hexSHA256(content); got != want {
		t.Fatalf("staged SHA256 = %q, want %q", got, want)
	}
	if b.Size() != int64(len(content)) {
		t.Fatalf("staged Size = %d, want %d", b.Size(), len(content))
	}
	return b
}

// put stages and commits content and returns its digest.
func put(t testing.TB, s restkit.BlobStore, content []byte) string {
	t.Helper()
	b := stage(t, s, content)
	if err := b.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return b.SHA256()
}

// read opens a blob and returns its whole content, checking Size against it.
func read(t testing.TB, s restkit.BlobStore, digest string) []byte {
	t.Helper()
	r, err := s.Open(ctx, digest)
	if err != nil {
		t.Fatalf("Open(%s): %v", digest, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %s: %v", digest, err)
	}
	if r.Size() != int64(len(b)) {
		t.Errorf("Size of %s = %d, but %d bytes were read", digest, r.Size(), len(b))
	}
	return b
}

// sameContent fails unless the blob holds exactly want.
func sameContent(t testing.TB, s restkit.BlobStore, digest string, want []byte) {
	t.Helper()
	if got := read(t, s, digest); !bytes.Equal(got, want) {
		t.Errorf("blob %s: read %d bytes %q, want %d bytes %q", digest, len(got), clip(got), len(want), clip(want))
	}
}

// absent fails unless Open says NotFound for the digest.
func absent(t testing.TB, s restkit.BlobStore, what, digest string) {
	t.Helper()
	r, err := s.Open(ctx, digest)
	if err == nil {
		r.Close()
		t.Errorf("%s: Open(%s) succeeded, want NotFound", what, digest)
		return
	}
	wantKind(t, what+": Open", err, restkit.NotFound)
}

// list returns the digests List reports, sorted.
func list(t testing.TB, s restkit.BlobStore) []string {
	t.Helper()
	var got []string
	if err := s.List(ctx, func(d string) error { got = append(got, d); return nil }); err != nil {
		t.Fatalf("List: %v", err)
	}
	slices.Sort(got)
	return got
}

// listed fails unless List reports exactly want, in any order.
func listed(t testing.TB, s restkit.BlobStore, what string, want ...string) {
	t.Helper()
	want = slices.Clone(want)
	slices.Sort(want)
	if got := list(t, s); !slices.Equal(got, want) {
		t.Errorf("%s: List = %q, want %q", what, got, want)
	}
}

func wantKind(t testing.TB, what string, err error, kind restkit.Kind) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %s", what, kind)
		return
	}
	if k := restkit.ErrorKind(err); k != kind {
		t.Errorf("%s: error %v of kind %s, want %s", what, err, k, kind)
	}
	var e *restkit.Error
	if errors.As(err, &e) && e.Kind == kind && e.Message == "" {
		t.Errorf("%s: %s error without a message", what, kind)
	}
}

// clip shortens b for messages.
func clip(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}

// pattern returns n bytes that differ from their neighbours, seeded so that two
// patterns of different seeds differ.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i/251) ^ seed
	}
	return b
}
