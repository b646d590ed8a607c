package s3blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/blobtest"
	"github.com/restkit/restkit/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m, testenv.InstallS3) }

// testConfig returns the configuration of the test S3 server (RESTKIT_TEST_S3, or a
// versitygw started for the tests: testenv.S3) with a prefix of its own, so that
// tests and test runs sharing the server never meet; it skips the test when there
// is no server. Clean takes every stage, as fsblob's does.
func testConfig(tb testing.TB) Config {
	tb.Helper()
	raw := testenv.S3(tb)
	cfg, err := ParseURL(raw)
	if err != nil {
		tb.Fatalf("RESTKIT_TEST_S3: %v", err)
	}
	cfg.Prefix = path.Join(cfg.Prefix, "test-"+randomName()[:12])
	cfg.StaleAfter = -1
	return cfg
}

// mustOpen opens a store on cfg and removes everything under its prefix when the
// test ends.
func mustOpen(tb testing.TB, cfg Config) *Store {
	tb.Helper()
	s, err := New(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("New(%s): %v", cfg, err)
	}
	tb.Cleanup(func() { removeAll(tb, s) })
	return s
}

func removeAll(tb testing.TB, s *Store) {
	prefix := strings.TrimSuffix(s.blobs, "blobs/")
	for _, key := range keys(tb, s, prefix) {
		if err := s.client.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
			tb.Errorf("cleaning up %s: %v", key, err)
		}
	}
	for _, up := range uploads(tb, s) {
		_ = s.core.AbortMultipartUpload(ctx, s.cfg.Bucket, up.Key, up.UploadID)
	}
}

var ctx = context.Background()

// keys lists the keys under a prefix, relative to the store's prefix.
func keys(tb testing.TB, s *Store, prefix string) []string {
	tb.Helper()
	var ks []string
	for obj := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			tb.Fatalf("listing %s: %v", prefix, obj.Err)
		}
		ks = append(ks, obj.Key)
	}
	return ks
}

// uploads lists the multipart uploads in progress under the staging prefix.
func uploads(tb testing.TB, s *Store) []minio.ObjectMultipartInfo {
	tb.Helper()
	var ups []minio.ObjectMultipartInfo
	for up := range s.client.ListIncompleteUploads(ctx, s.cfg.Bucket, s.staging, true) {
		if up.Err != nil {
			tb.Fatalf("listing uploads: %v", up.Err)
		}
		ups = append(ups, up)
	}
	return ups
}

// stagingIsEmpty fails unless no staging object or upload is left.
func stagingIsEmpty(tb testing.TB, s *Store, what string) {
	tb.Helper()
	if ks := keys(tb, s, s.staging); len(ks) != 0 {
		tb.Errorf("%s: staging objects %q are left", what, ks)
	}
	if ups := uploads(tb, s); len(ups) != 0 {
		tb.Errorf("%s: %d multipart uploads are left", what, len(ups))
	}
}

func mustPut(tb testing.TB, s restkit.BlobStore, content []byte) string {
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

func mustRead(tb testing.TB, s restkit.BlobStore, digest string) []byte {
	tb.Helper()
	r, err := s.Open(ctx, digest)
	if err != nil {
		tb.Fatalf("Open(%s): %v", digest, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		tb.Fatalf("reading %s: %v", digest, err)
	}
	return b
}

func listAll(tb testing.TB, s restkit.BlobStore) []string {
	tb.Helper()
	var got []string
	if err := s.List(ctx, func(d string) error { got = append(got, d); return nil }); err != nil {
		tb.Fatalf("List: %v", err)
	}
	return got
}

// pattern returns n bytes that differ from their neighbours.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i/251) ^ seed
	}
	return b
}

func TestBlobStore(t *testing.T) {
	cfg := testConfig(t)
	blobtest.Run(t, func(t *testing.T) restkit.BlobStore {
		c := cfg
		c.Prefix = path.Join(path.Dir(cfg.Prefix), "test-"+randomName()[:12])
		return mustOpen(t, c)
	})
}

// TestBlobStoreMultipart runs the suite again with parts of S3's least size,
// 5 MiB, so that its large blob is staged in parts and committed with a multipart
// copy.
func TestBlobStoreMultipart(t *testing.T) {
	if testing.Short() {
		t.Skip("the suite again, in parts")
	}
	cfg := testConfig(t)
	cfg.PartSize = minPartSize
	blobtest.Run(t, func(t *testing.T) restkit.BlobStore {
		c := cfg
		c.Prefix = path.Join(path.Dir(cfg.Prefix), "test-"+randomName()[:12])
		s := mustOpen(t, c)
		// Parts of the copy must be 5 MiB at least, and minio-go splits evenly.
		s.copyMax, s.composePart = minPartSize, 6<<20
		s.listPage = 7
		return s
	})
}

func TestLayout(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	d := mustPut(t, s, []byte("abc"))
	const want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
	if d != want {
		t.Fatalf("digest %s, want %s", d, want)
	}
	prefix := s.cfg.Prefix + "/"
	if got := keys(t, s, prefix); !slices.Equal(got, []string{prefix + "blobs/ba/78/" + want}) {
		t.Errorf("keys after one commit: %q", got)
	}
	obj, err := s.client.GetObject(ctx, s.cfg.Bucket, prefix+"blobs/ba/78/"+want, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(obj); err != nil || string(b) != "abc" {
		t.Errorf("the blob's object holds %q, %v", b, err)
	}

	// While staged, one object under staging/; none once aborted.
	b, err := s.Stage(ctx, strings.NewReader("staged"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if ks := keys(t, s, s.staging); len(ks) != 1 || len(ks[0]) != len(s.staging)+32 {
		t.Errorf("while staged: staging holds %q, want one object with a random name", ks)
	}
	if err := b.Abort(); err != nil {
		t.Fatal(err)
	}
	stagingIsEmpty(t, s, "after Abort")

	// Stores on the same bucket with other prefixes do not see each other.
	other := testConfig(t)
	other.Prefix = path.Join(s.cfg.Prefix, "nested")
	o := mustOpen(t, other)
	if got := listAll(t, o); len(got) != 0 {
		t.Errorf("a store on another prefix lists %q", got)
	}
	mustPut(t, o, []byte("nested"))
	if got := listAll(t, s); !slices.Equal(got, []string{want}) {
		t.Errorf("List = %q, want only %s: keys of another prefix leaked in", got, want)
	}
}

// TestNothingLeft checks that no outcome of a stage leaves a staging object or an
// upload, in one PUT and in parts.
func TestNothingLeft(t *testing.T) {
	cfg := testConfig(t)
	cfg.PartSize = minPartSize
	s := mustOpen(t, cfg)
	for _, size := range []int{1000, firstSize, firstSize + 1, 12 << 20} {
		content := pattern(size, 1)
		mustPut(t, s, content)
		stagingIsEmpty(t, s, "after Commit")
		mustPut(t, s, content)
		stagingIsEmpty(t, s, "after Commit of content already there")

		_, err := s.Stage(ctx, bytes.NewReader(content), int64(size-1))
		if !restkit.IsKind(err, restkit.TooLarge) {
			t.Fatalf("%d bytes over the limit: %v, want TooLarge", size, err)
		}
		stagingIsEmpty(t, s, "after TooLarge")

		c, cancel := context.WithCancel(ctx)
		_, err = s.Stage(c, &cancelAfter{r: bytes.NewReader(content), n: int64(size - 10), cancel: cancel}, 0)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Stage of %d bytes: %v", size, err)
		}
		stagingIsEmpty(t, s, "after a cancelled Stage")

		truncated := io.MultiReader(bytes.NewReader(content[:size-10]), errReader{io.ErrUnexpectedEOF})
		if _, err := s.Stage(ctx, truncated, 0); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("Stage of %d bytes, truncated: %v, want io.ErrUnexpectedEOF", size, err)
		}
		stagingIsEmpty(t, s, "after a truncated body")
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// cancelAfter cancels its context once it has given n bytes, and keeps giving.
type cancelAfter struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= int64(k); c.n <= 0 {
		c.cancel()
	}
	return k, err
}

// TestSharedAcrossNodes: stores on the same prefix are nodes sharing content.
func TestSharedAcrossNodes(t *testing.T) {
	cfg := testConfig(t)
	a, b := mustOpen(t, cfg), mustOpen(t, cfg)
	content := pattern(300_000, 3)
	d := mustPut(t, a, content)
	if got := mustRead(t, b, d); !bytes.Equal(got, content) {
		t.Fatalf("node b reads %d bytes of node a's blob, want %d", len(got), len(content))
	}

	// Both nodes upload the same content at once: it is stored once.
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b, a, b} {
		wg.Go(func() {
			st, err := s.Stage(ctx, bytes.NewReader(content), 0)
			if err == nil {
				err = st.Commit(ctx)
			}
			if err != nil {
				t.Errorf("concurrent commit: %v", err)
			}
		})
	}
	wg.Wait()
	if got := listAll(t, b); !slices.Equal(got, []string{d}) {
		t.Errorf("List on node b = %q, want [%s]", got, d)
	}
	stagingIsEmpty(t, a, "after concurrent commits")

	if err := b.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Open(ctx, d); !restkit.IsKind(err, restkit.NotFound) {
		t.Errorf("node a opens a blob node b deleted: %v, want NotFound", err)
	}
}

// TestCleanSparesYoungStages: Clean leaves the stages of uploads that may still be
// in progress on other nodes, and removes them once they are stale.
func TestCleanSparesYoungStages(t *testing.T) {
	cfg := testConfig(t)
	cfg.StaleAfter = time.Hour
	cfg.PartSize = minPartSize
	s := mustOpen(t, cfg)
	young, err := s.Stage(ctx, strings.NewReader("young"), 0)
	if err != nil {
		t.Fatal(err)
	}
	// And an upload in parts that a crash interrupted.
	upKey := s.staging + randomName()
	up, err := s.core.NewMultipartUpload(ctx, s.cfg.Bucket, upKey, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	part := pattern(minPartSize, 2)
	if _, err := s.core.PutObjectPart(ctx, s.cfg.Bucket, upKey, up, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Clean(ctx); err != nil {
		t.Fatal(err)
	}
	if ks, ups := keys(t, s, s.staging), uploads(t, s); len(ks) != 1 || len(ups) != 1 {
		t.Fatalf("after Clean of young stages: %q and %d uploads, want both kept", ks, len(ups))
	}

	s.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := s.Clean(ctx); err != nil {
		t.Fatal(err)
	}
	stagingIsEmpty(t, s, "after Clean of stale stages")
	if err := young.Commit(ctx); err == nil {
		t.Error("Commit of a stage Clean removed succeeded")
	}
	if got := listAll(t, s); len(got) != 0 {
		t.Errorf("List after the failed Commit = %q", got)
	}
}

// countingTransport records the Range of every GET and counts the body bytes the
// client reads.
type countingTransport struct {
	mu     sync.Mutex
	ranges []string
	bytes  int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || req.URL.Query().Has("list-type") || req.URL.Query().Has("location") {
		return res, err
	}
	c.mu.Lock()
	c.ranges = append(c.ranges, req.Header.Get("Range"))
	c.mu.Unlock()
	res.Body = &countingBody{ReadCloser: res.Body, c: c}
	return res, nil
}

func (c *countingTransport) take() ([]string, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, n := c.ranges, c.bytes
	c.ranges, c.bytes = nil, 0
	return r, n
}

type countingBody struct {
	io.ReadCloser
	c *countingTransport
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.mu.Lock()
	b.c.bytes += int64(n)
	b.c.mu.Unlock()
	return n, err
}

// TestRangedReads: a reader fetches what is read, with ranged GETs, not the blob.
func TestRangedReads(t *testing.T) {
	cfg := testConfig(t)
	tr := &countingTransport{}
	cfg.Transport = tr
	s := mustOpen(t, cfg)
	const size = 8 << 20
	content := pattern(size, 4)
	d := mustPut(t, s, content)
	tr.take()

	// Open, the size, a seek to the end and Close ask for no byte (a HEAD).
	r, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.Seek(0, io.SeekEnd); n != size || err != nil {
		t.Fatalf("Seek to the end: %d, %v", n, err)
	}
	r.Close()
	if ranges, n := tr.take(); len(ranges) != 0 || n != 0 {
		t.Errorf("Open and Seek fetched %d bytes with %q, want nothing", n, ranges)
	}

	// A small range in the middle: one GET of one window, from the offset.
	r, err = s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Seek(4<<20, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 100)
	if _, err := io.ReadFull(r, got); err != nil || !bytes.Equal(got, content[4<<20:4<<20+100]) {
		t.Fatalf("range at 4 MiB: %v", err)
	}
	r.Close()
	ranges, n := tr.take()
	if !slices.Equal(ranges, []string{"bytes=4194304-5242879"}) || n > minWindow {
		t.Errorf("a 100-byte range fetched %d bytes with %q", n, ranges)
	}

	// ReadAt asks for exactly what it reads.
	r, err = s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	ra := r.(io.ReaderAt)
	if k, err := ra.ReadAt(got[:10], size-5); k != 5 || err != io.EOF || !bytes.Equal(got[:5], content[size-5:]) {
		t.Errorf("ReadAt across the end = %d, %v", k, err)
	}
	if ranges, n := tr.take(); !slices.Equal(ranges, []string{"bytes=8388603-8388607"}) || n != 5 {
		t.Errorf("ReadAt fetched %d bytes with %q", n, ranges)
	}

	// A whole read: a first window, then all the rest in one GET.
	all, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(all, content) {
		t.Fatalf("reading all: %d bytes, %v", len(all), err)
	}
	r.Close()
	ranges, n = tr.take()
	want := []string{"bytes=0-1048575", "bytes=1048576-8388607"}
	if !slices.Equal(ranges, want) || n != size {
		t.Errorf("a whole read fetched %d bytes with %q, want %d with %q", n, ranges, size, want)
	}

	// http.ServeContent, as the artefact download uses it: a Range is a 206 that
	// fetches one window at most.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r, err := s.Open(req.Context(), d)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer r.Close()
		w.Header().Set("Content-Type", "application/octet-stream") // else it sniffs 512 bytes
		http.ServeContent(w, req, "", time.Time{}, r)
	}))
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Range", "bytes=1000-1999")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || !bytes.Equal(body, content[1000:2000]) {
		t.Errorf("ServeContent of a range: %d, %d bytes", res.StatusCode, len(body))
	}
	if ranges, n := tr.take(); len(ranges) != 1 || n > minWindow {
		t.Errorf("ServeContent of 1000 bytes fetched %d bytes with %q", n, ranges)
	}
}

// generator streams n bytes without holding them.
type generator struct{ n, off int64 }

func (g *generator) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.n-g.off)]
	for i := range p {
		p[i] = byte((g.off + int64(i)) * 2654435761 >> 13)
	}
	g.off += int64(len(p))
	return len(p), nil
}

// heapSampler is a generator that, every 8 MiB it gives, collects garbage and
// records the live heap: what an upload holds, not what it has thrown away.
type heapSampler struct {
	generator
	next uint64
	peak uint64
}

func (h *heapSampler) Read(p []byte) (int, error) {
	if h.off >= int64(h.next) {
		h.next += 8 << 20
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		h.peak = max(h.peak, m.HeapAlloc)
	}
	return h.generator.Read(p)
}

// TestMemoryBounded stages and reads back 200 MiB and checks that the live heap
// meanwhile stays within a couple of parts of where it started: memory does not
// grow with the blob. (TotalAlloc does, a little, over http: minio-go signs every
// 64 KiB chunk of the body, and each signature allocates. It is logged.)
func TestMemoryBounded(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	size := int64(200 << 20)
	if testing.Short() {
		size = 48 << 20
	}
	mustPut(t, s, []byte("warm up the pools and the connections"))
	const bound = 2*DefaultPartSize + 8<<20 // minio-go's part, our first buffer, slack
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g := &heapSampler{generator: generator{n: size}}
	b, err := s.Stage(ctx, g, 0)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if b.Size() != size {
		t.Fatalf("Size %d, want %d", b.Size(), size)
	}
	if grew := g.peak - before.HeapAlloc; g.peak > before.HeapAlloc && grew > bound {
		t.Errorf("staging %d MiB grew the live heap by %d MiB, want < %d MiB", size>>20, grew>>20, bound>>20)
	}
	t.Logf("staging %d MiB: live heap %.1f MiB at most (%.1f MiB before), %.1f MiB allocated in all",
		size>>20, mib(g.peak), mib(before.HeapAlloc), mib(after.TotalAlloc-before.TotalAlloc))
	if err := b.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	r, err := s.Open(ctx, b.SHA256())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	runtime.GC()
	runtime.ReadMemStats(&before)
	h := sha256.New()
	n, err := io.Copy(h, r)
	runtime.ReadMemStats(&after)
	if err != nil || n != size || hex.EncodeToString(h.Sum(nil)) != b.SHA256() {
		t.Fatalf("read back %d bytes, %v", n, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("reading %d MiB allocated %d bytes, want < 1 MiB", size>>20, alloc)
	}
	t.Logf("reading %d MiB allocated %.2f MiB", size>>20, mib(after.TotalAlloc-before.TotalAlloc))
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// TestBucketAndPing: New creates a missing bucket, a second New takes it as it
// is, and Ping fails with Unavailable once it is gone.
func TestBucketAndPing(t *testing.T) {
	cfg := testConfig(t)
	cfg.Bucket = "restkit-test-" + randomName()[:12]
	cfg.Prefix = ""
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New with a missing bucket: %v", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	again, err := New(ctx, cfg)
	if err != nil {
		t.Fatalf("New with the bucket there: %v", err)
	}
	if err := s.client.RemoveBucket(ctx, cfg.Bucket); err != nil {
		t.Fatal(err)
	}
	if err := again.Ping(ctx); !restkit.IsKind(err, restkit.Unavailable) {
		t.Errorf("Ping without the bucket: %v, want Unavailable", err)
	}
}

// TestUnreachable: a server that does not answer fails New without hanging past
// its context, and the error does not hold the secret.
func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	c, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := Open(c, "s3://AK:topsecret@"+addr+"/bucket?insecure=true")
	if err == nil {
		t.Fatal("New on a closed port succeeded")
	}
	if strings.Contains(err.Error(), "topsecret") {
		t.Errorf("the error holds the secret: %v", err)
	}
}

// TestErrorKinds: what the server says becomes the kind a client can act on.
func TestErrorKinds(t *testing.T) {
	s := &Store{}
	for _, c := range []struct {
		err  error
		kind restkit.Kind
	}{
		{minio.ErrorResponse{Code: "InsufficientStorage", StatusCode: 507}, restkit.InsufficientStorage},
		{minio.ErrorResponse{Code: "XMinioStorageFull", StatusCode: 507}, restkit.InsufficientStorage},
		{minio.ErrorResponse{Code: "QuotaExceeded", StatusCode: 403}, restkit.InsufficientStorage},
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, restkit.Unavailable},
		{&netError{}, restkit.Unavailable},
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, restkit.Internal},
		{restkit.Errorf(restkit.TooLarge, "too large"), restkit.TooLarge},
		{errors.New("anything"), restkit.Internal},
	} {
		err := s.fail("s3blob.Test", ctx, c.err)
		if k := restkit.ErrorKind(err); k != c.kind {
			t.Errorf("%v: kind %s, want %s", c.err, k, c.kind)
		}
		if !errors.Is(err, c.err) && !errors.As(err, new(minio.ErrorResponse)) {
			t.Errorf("%v: the cause is lost: %v", c.err, err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	err := s.fail("s3blob.Test", cancelled, &netError{})
	if !errors.Is(err, context.Canceled) || !restkit.IsKind(err, restkit.Internal) {
		t.Errorf("a failure after ctx ended: %v, want Internal wrapping context.Canceled", err)
	}
}

type netError struct{}

func (*netError) Error() string   { return "dial tcp: connection refused" }
func (*netError) Timeout() bool   { return false }
func (*netError) Temporary() bool { return false }

// TestReadSurvivesDelete: a download under way is not cut off when another node
// deletes the blob (a newer version pruned it): the rest is one GET begun before.
func TestReadSurvivesDelete(t *testing.T) {
	s := mustOpen(t, testConfig(t))
	content := pattern(12<<20, 7)
	digest := mustPut(t, s, content)
	r, err := s.Open(context.Background(), digest)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := make([]byte, 2<<20) // past the first window: the rest is being fetched
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(context.Background(), digest); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(append(head, rest...), content) {
		t.Fatalf("after the delete: %d more bytes, %v", len(rest), err)
	}
}

// TestClaim: the first store to claim a prefix owns it; the same owner may claim it
// again; another is refused with a message that says what to do.
func TestClaim(t *testing.T) {
	cfg := testConfig(t)
	a, b := mustOpen(t, cfg), mustOpen(t, cfg)
	if err := a.Claim(context.Background(), "store-a"); err != nil {
		t.Fatal(err)
	}
	if err := a.Claim(context.Background(), "store-a"); err != nil {
		t.Fatalf("claimed again by its owner: %v", err)
	}
	err := b.Claim(context.Background(), "store-b")
	if !restkit.IsKind(err, restkit.Invalid) || !strings.Contains(restkit.ErrorMessage(err), "owner store-a") || !strings.Contains(restkit.ErrorMessage(err), "--postgres") {
		t.Fatalf("another owner: %v", err)
	}
}

func TestPartStore(t *testing.T) {
	cfg := testConfig(t)
	blobtest.RunParts(t, func(t *testing.T) restkit.BlobStore {
		c := cfg
		c.Prefix = path.Join(path.Dir(cfg.Prefix), "test-"+randomName()[:12])
		return mustOpen(t, c)
	})
}
