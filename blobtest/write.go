package blobtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/restkit/restkit"
)

func testStagedInvisible(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	content := []byte("not yet")
	b := stage(t, s, content)
	absent(t, s, "staged, not committed", b.SHA256())
	listed(t, s, "staged, not committed")
	if err := b.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	sameContent(t, s, b.SHA256(), content)
	listed(t, s, "committed", b.SHA256())
}

func testAbort(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	b := stage(t, s, []byte("thrown away"))
	if err := b.Abort(); err != nil {
		t.Fatalf("Abort: %v", err)
	}
	absent(t, s, "after Abort", b.SHA256())
	listed(t, s, "after Abort")
	if err := b.Abort(); err != nil {
		t.Errorf("second Abort: %v, want nil", err)
	}
	if err := s.Clean(ctx); err != nil {
		t.Fatalf("Clean: %v", err)
	}
	listed(t, s, "after Abort and Clean")
}

func testIdempotent(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	content := []byte("committed twice")
	b := stage(t, s, content)
	for i := range 2 {
		if err := b.Commit(ctx); err != nil {
			t.Fatalf("Commit %d: %v", i+1, err)
		}
	}
	if err := b.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v, want nil", err)
	}
	sameContent(t, s, b.SHA256(), content)

	other := stage(t, s, []byte("aborted, then committed"))
	if err := other.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := other.Commit(ctx); err == nil {
		t.Errorf("Commit after Abort succeeded, want an error")
	}
	absent(t, s, "Commit after Abort", other.SHA256())
	listed(t, s, "after Commit after Abort", b.SHA256())
}

func testDedup(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	content := pattern(300_000, 9) // more than one chunk of most implementations
	d := put(t, s, content)
	if d2 := put(t, s, content); d2 != d {
		t.Fatalf("same content, digests %s and %s", d, d2)
	}
	listed(t, s, "the same content committed twice", d)
	sameContent(t, s, d, content)

	// Two stages of the same content, interleaved.
	b1, b2 := stage(t, s, content), stage(t, s, content)
	if err := b1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b2.Commit(ctx); err != nil {
		t.Fatalf("second Commit of the same content: %v", err)
	}
	listed(t, s, "interleaved stages of the same content", d)

	// Aborting a duplicate stage leaves the committed blob alone.
	b3 := stage(t, s, content)
	if err := b3.Abort(); err != nil {
		t.Fatal(err)
	}
	sameContent(t, s, d, content)
	listed(t, s, "after aborting a duplicate", d)
}

func testLimit(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	var kept []string
	for _, c := range []struct {
		limit, size int64
		ok          bool
	}{
		{100, 100, true},
		{100, 99, true},
		{100, 101, false},
		{100, 1 << 20, false},
		{1, 0, true},
		{1, 2, false},
		{300_000, 300_000, true}, // limits across chunk boundaries
		{300_000, 300_001, false},
		{256 << 10, 256<<10 + 1, false},
		{256 << 10, 256 << 10, true},
	} {
		content := pattern(int(c.size), byte(c.limit))
		b, err := s.Stage(ctx, bytes.NewReader(content), c.limit)
		if !c.ok {
			if b != nil {
				t.Errorf("limit %d, %d bytes: Stage returned a blob with the error", c.limit, c.size)
			}
			wantKind(t, "Stage over the limit", err, restkit.TooLarge)
			continue
		}
		if err != nil {
			t.Fatalf("limit %d, %d bytes: %v", c.limit, c.size, err)
		}
		if b.Size() != c.size || b.SHA256() != hexSHA256(content) {
			t.Fatalf("limit %d, %d bytes: staged %d bytes, %s", c.limit, c.size, b.Size(), b.SHA256())
		}
		if err := b.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, b.SHA256())
	}
	listed(t, s, "after stages over the limit", kept...)
	if err := s.Clean(ctx); err != nil {
		t.Fatalf("Clean: %v", err)
	}
	listed(t, s, "after Clean", kept...)
}

// failingReader gives n bytes, then err.
type failingReader struct {
	n   int
	err error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, r.err
	}
	n := min(len(p), r.n)
	clear(p[:n])
	r.n -= n
	return n, nil
}

func testReaderError(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	// A truncated body must not be taken for a short one.
	b, err := s.Stage(ctx, &failingReader{n: 1000, err: io.ErrUnexpectedEOF}, 0)
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Stage of a truncated body = %v, %v; want an error wrapping io.ErrUnexpectedEOF", b, err)
	}
	// A reader's own restkit error keeps its kind and message (an HTTP body limit).
	tooBig := restkit.Errorf(restkit.TooLarge, "the body is larger than 1000 bytes")
	_, err = s.Stage(ctx, &failingReader{n: 1000, err: tooBig}, 0)
	wantKind(t, "Stage of a reader failing with TooLarge", err, restkit.TooLarge)
	if restkit.ErrorMessage(err) != tooBig.Message {
		t.Errorf("message = %q, want the reader's %q", restkit.ErrorMessage(err), tooBig.Message)
	}
	listed(t, s, "after failed stages")
	if err := s.Clean(ctx); err != nil {
		t.Fatal(err)
	}
	listed(t, s, "after failed stages and Clean")
}

// cancelReader cancels its context once it has given its first chunk, and keeps
// giving bytes: a stage that does not watch its context reads all of it.
type cancelReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.cancel()
	return n, err
}

// blockingReader gives its first chunk, then blocks until its context ends, as a
// request body does when the client stalls and the request is cancelled.
type blockingReader struct {
	ctx     context.Context
	first   bool
	blocked chan struct{}
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if !b.first {
		b.first = true
		n := min(len(p), 1000)
		clear(p[:n])
		return n, nil
	}
	close(b.blocked)
	<-b.ctx.Done()
	return 0, b.ctx.Err()
}

func testCancel(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	wantCanceled := func(what string, b restkit.StagedBlob, err error) {
		t.Helper()
		if err == nil || !errors.Is(err, context.Canceled) {
			t.Errorf("%s: Stage = %v, %v; want an error wrapping context.Canceled", what, b, err)
		}
		if b != nil {
			t.Errorf("%s: Stage returned a blob with the error", what)
		}
	}

	// Cancelled before the call.
	c, cancel := context.WithCancel(ctx)
	cancel()
	b, err := s.Stage(c, bytes.NewReader([]byte("never")), 0)
	wantCanceled("cancelled before Stage", b, err)

	// Cancelled after the first chunk, with the reader still giving data.
	c, cancel = context.WithCancel(ctx)
	b, err = s.Stage(c, &cancelReader{r: newGenerator(16<<20, 3), cancel: cancel}, 0)
	wantCanceled("cancelled during Stage", b, err)

	// Cancelled while the reader blocks.
	c, cancel = context.WithCancel(ctx)
	blocked := make(chan struct{})
	go func() {
		<-blocked
		cancel()
	}()
	b, err = s.Stage(c, &blockingReader{ctx: c, blocked: blocked}, 0)
	wantCanceled("cancelled while the reader blocks", b, err)

	listed(t, s, "after cancelled stages")
	if err := s.Clean(ctx); err != nil {
		t.Fatal(err)
	}
	listed(t, s, "after cancelled stages and Clean")
	put(t, s, []byte("still works"))
}

func testClean(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	if err := s.Clean(ctx); err != nil {
		t.Fatalf("Clean of an empty store: %v", err)
	}
	kept := []byte("committed before Clean")
	dk := put(t, s, kept)
	left := pattern(300_000, 5)
	b := stage(t, s, left) // neither committed nor aborted: a crash's leftover
	if err := s.Clean(ctx); err != nil {
		t.Fatalf("Clean: %v", err)
	}
	listed(t, s, "after Clean", dk)
	absent(t, s, "a stage after Clean", b.SHA256())
	sameContent(t, s, dk, kept)

	// Committing a cleaned stage fails, or publishes the whole blob; never a part.
	want := []string{dk}
	if err := b.Commit(ctx); err == nil {
		sameContent(t, s, b.SHA256(), left)
		want = append(want, b.SHA256())
	} else {
		absent(t, s, "Commit of a cleaned stage failed", b.SHA256())
	}
	listed(t, s, "after Commit of a cleaned stage", want...)
	if err := b.Abort(); err != nil {
		t.Errorf("Abort of a cleaned stage: %v", err)
	}

	// The store still works.
	more := []byte("after Clean")
	want = append(want, put(t, s, more))
	sameContent(t, s, want[len(want)-1], more)
	if err := s.Clean(ctx); err != nil {
		t.Fatalf("second Clean: %v", err)
	}
	listed(t, s, "after a second Clean", want...)
}
