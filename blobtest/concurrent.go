package blobtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/restkit/restkit"
)

// putErr stages and commits content and checks its digest, for goroutines (which
// must not call t.Fatal).
func putErr(s restkit.BlobStore, content []byte) (string, error) {
	b, err := s.Stage(ctx, bytes.NewReader(content), 0)
	if err != nil {
		return "", fmt.Errorf("staging: %w", err)
	}
	if b.SHA256() != hexSHA256(content) || b.Size() != int64(len(content)) {
		return "", fmt.Errorf("staged %s, %d bytes; want %s, %d", b.SHA256(), b.Size(), hexSHA256(content), len(content))
	}
	if err := b.Commit(ctx); err != nil {
		return "", fmt.Errorf("committing: %w", err)
	}
	return b.SHA256(), nil
}

func testConcurrent(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	const n = 20
	same := pattern(300_000, 42)
	distinct := make([][]byte, n)
	for i := range distinct {
		distinct[i] = pattern(10_000+i, byte(i))
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := putErr(s, same); err != nil {
				t.Errorf("same content, writer %d: %v", i, err)
			}
		})
		wg.Go(func() {
			if _, err := putErr(s, distinct[i]); err != nil {
				t.Errorf("distinct content %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	want := []string{hexSHA256(same)}
	sameContent(t, s, want[0], same)
	for _, c := range distinct {
		want = append(want, hexSHA256(c))
		sameContent(t, s, want[len(want)-1], c)
	}
	listed(t, s, "after 40 concurrent commits", want...)

	// Concurrent readers of one blob.
	for i := range n {
		wg.Go(func() {
			r, err := s.Open(ctx, want[0])
			if err != nil {
				t.Errorf("reader %d: %v", i, err)
				return
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if err != nil || !bytes.Equal(got, same) {
				t.Errorf("reader %d: %d bytes, %v", i, len(got), err)
			}
		})
	}
	wg.Wait()
}

// samePrefix returns two contents whose digests share their first four hex digits,
// so that a store fanning out by digest prefix keeps them side by side.
func samePrefix() (a, b []byte) {
	seen := map[string][]byte{}
	for i := 0; ; i++ {
		c := fmt.Appendf(nil, "neighbour %d", i)
		p := hexSHA256(c)[:4]
		if o, ok := seen[p]; ok {
			return o, c
		}
		seen[p] = c
	}
}

func testDeleteWhileCommitting(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	a, b := samePrefix()
	da, db := hexSHA256(a), hexSHA256(b)
	const rounds = 200
	var wg sync.WaitGroup
	for _, c := range []struct {
		content []byte
		digest  string
	}{{a, da}, {b, db}} {
		wg.Go(func() {
			for i := range rounds {
				if _, err := putErr(s, c.content); err != nil {
					t.Errorf("round %d, %s: %v", i, c.digest, err)
					return
				}
				r, err := s.Open(ctx, c.digest)
				if err != nil {
					t.Errorf("round %d: Open(%s) after its Commit: %v", i, c.digest, err)
					return
				}
				got, err := io.ReadAll(r)
				r.Close()
				if err != nil || !bytes.Equal(got, c.content) {
					t.Errorf("round %d: read %q, %v; want %q", i, got, err, c.content)
				}
				if err := s.Delete(ctx, c.digest); err != nil {
					t.Errorf("round %d: Delete(%s): %v", i, c.digest, err)
					return
				}
			}
		})
	}
	wg.Wait()
	listed(t, s, "after every blob was deleted")
}

func testLarge(t *testing.T, open func(t *testing.T) restkit.BlobStore) {
	s := open(t)
	size := int64(64 << 20)
	if testing.Short() {
		size = 8 << 20
	}
	h := sha256.New()
	if _, err := io.Copy(h, newGenerator(size, 7)); err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(h.Sum(nil))

	b, err := s.Stage(ctx, newGenerator(size, 7), size) // exactly at the limit
	if err != nil {
		t.Fatalf("Stage of %d bytes: %v", size, err)
	}
	if b.SHA256() != want || b.Size() != size {
		t.Fatalf("staged %s, %d bytes; want %s, %d", b.SHA256(), b.Size(), want, size)
	}
	if err := b.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}

	r, err := s.Open(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Size() != size {
		t.Errorf("Size = %d, want %d", r.Size(), size)
	}
	h.Reset()
	n, err := io.Copy(h, r)
	if err != nil || n != size {
		t.Fatalf("reading back: %d bytes, %v; want %d", n, err, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Fatalf("read back digest %s, want %s", got, want)
	}

	// A range near the end.
	const tail = 300_000
	off := size - tail - 12345
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, tail)
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatal(err)
	}
	g := newGenerator(size, 7)
	g.off = off
	exp := make([]byte, tail)
	if _, err := io.ReadFull(g, exp); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, exp) {
		t.Errorf("range at %d of the large blob differs", off)
	}
	listed(t, s, "after the large blob", want)
}

// genBlock is the period of a generator's pattern.
const genBlock = 64 << 10

// generator streams n pseudo-random bytes without holding them: a fixed block,
// repeated, each repetition starting with its index, so no two blocks are equal.
type generator struct {
	n, off int64
	block  []byte
}

func newGenerator(n int64, seed byte) *generator {
	block := make([]byte, genBlock)
	x := uint64(seed)*0x9E3779B97F4A7C15 + 1
	for i := range block {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		block[i] = byte(x >> 32)
	}
	return &generator{n: n, block: block}
}

func (g *generator) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	total := 0
	for len(p) > 0 && g.off < g.n {
		k, j := g.off/genBlock, g.off%genBlock
		m := copy(p, g.block[j:min(genBlock, j+g.n-g.off)])
		for i := j; i < 8 && i < j+int64(m); i++ {
			p[i-j] = byte(k >> (8 * i))
		}
		p = p[m:]
		g.off += int64(m)
		total += m
	}
	return total, nil
}
