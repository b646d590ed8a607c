package s3blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/restkit/restkit"
)

// cleanupTimeout bounds the requests that clean up after a stage whose context may
// have ended: Abort, and removing a staging object that failed a check.
const cleanupTimeout = time.Minute

// Store keeps blobs in an S3 bucket under a key prefix. It is safe for concurrent
// use, and any number of Stores, in any number of processes, may share a prefix.
type Store struct {
	client *minio.Client
	core   minio.Core // the same client, for the calls Client does not offer
	cfg    Config
	name   string // the URL without credentials, as configured

	blobs      string // "PREFIX/blobs/": committed blobs, blobs/ab/cd/<digest>
	staging    string // "PREFIX/staging/": stages
	uploads    string // "PREFIX/uploads/": the parts of resumable uploads (parts.go)
	partSize   int64
	staleAfter time.Duration // < 0: every stage is stale
	now        func() time.Time

	// copyMax is the largest blob Commit copies with one CopyObject; a larger one
	// is copied part by part (ComposeObject), composePart bytes a part (0: minio-go
	// picks). listPage is the number of keys per ListObjects request (0: the
	// server's 1000). Tests lower all three.
	copyMax     int64
	composePart uint64
	listPage    int
}

var _ restkit.BlobStore = (*Store)(nil)

// Open parses rawURL (see ParseURL for its form) and returns the store it names,
// creating the bucket if it is missing.
func Open(ctx context.Context, rawURL string) (*Store, error) {
	cfg, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg)
}

// New returns the store cfg names, creating the bucket if it is missing. It fails
// with Invalid for a bad configuration and Unavailable when the server does not
// answer; like fsblob.Open it does not Clean.
func New(ctx context.Context, cfg Config) (*Store, error) {
	const op = "s3blob.New"
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	name := cfg.String()
	if cfg.PartSize == 0 {
		cfg.PartSize = DefaultPartSize
	}
	if cfg.StaleAfter == 0 {
		cfg.StaleAfter = DefaultStaleAfter
	}
	lookup := minio.BucketLookupPath
	if cfg.VirtualHost {
		lookup = minio.BucketLookupDNS
	}
	client, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		Secure:       cfg.Secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    cfg.Transport,
	})
	if err != nil {
		return nil, &restkit.Error{Kind: restkit.Invalid, Message: "s3: the endpoint is not usable", Op: op, Err: err}
	}
	prefix := ""
	if cfg.Prefix != "" {
		prefix = cfg.Prefix + "/"
	}
	s := &Store{
		client: client, core: minio.Core{Client: client}, cfg: cfg, name: name,
		blobs: prefix + "blobs/", staging: prefix + "staging/", uploads: prefix + "uploads/",
		partSize: cfg.PartSize, staleAfter: cfg.StaleAfter, now: time.Now,
		copyMax: maxPartSize,
	}
	if err := s.ensureBucket(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// ensureBucket creates the bucket unless it exists. Several nodes may start at
// once: a bucket another one created meanwhile is as good as our own.
func (s *Store) ensureBucket(ctx context.Context) error {
	const op = "s3blob.New"
	ok, err := s.client.BucketExists(ctx, s.cfg.Bucket)
	if err != nil {
		return s.fail(op, ctx, err)
	}
	if ok {
		return nil
	}
	err = s.client.MakeBucket(ctx, s.cfg.Bucket, minio.MakeBucketOptions{Region: s.cfg.Region})
	if err == nil || errorCode(err) == "BucketAlreadyOwnedByYou" {
		return nil
	}
	if ok, _ := s.client.BucketExists(ctx, s.cfg.Bucket); ok {
		return nil
	}
	return s.fail(op, ctx, err)
}

// String names the store for logs: its URL without the credentials.
func (s *Store) String() string { return s.name }

// Ping checks that the server answers and the bucket exists, for readiness checks:
// Unavailable if not.
func (s *Store) Ping(ctx context.Context) error {
	const op = "s3blob.Ping"
	ok, err := s.client.BucketExists(ctx, s.cfg.Bucket)
	if err == nil && !ok {
		err = errors.New("bucket " + s.cfg.Bucket + " does not exist")
	}
	if err != nil {
		return &restkit.Error{Kind: restkit.Unavailable, Message: "the object storage is unavailable", Op: op, Err: err}
	}
	return nil
}

// firstSize is the most a stage sends in one PUT: it reads up to a byte more into
// a pooled buffer first, and only content that goes on past it is uploaded in parts.
const firstSize = 1 << 20

// firstBuffers recycles the buffers of first reads.
var firstBuffers = sync.Pool{New: func() any { b := make([]byte, firstSize+1); return &b }}

// Stage streams r into a new staging object while hashing it. Content up to 1 MiB
// goes up in one PUT; more as a multipart upload, one part at a time. It returns
// TooLarge beyond limit bytes (limit > 0) or beyond what 10,000 parts hold; the
// reader's own *restkit.Error with its kind; an error wrapping the reader's error
// or ctx.Err(); InsufficientStorage or Unavailable when the server says so. In
// every such case nothing is kept.
func (s *Store) Stage(ctx context.Context, r io.Reader, limit int64) (restkit.StagedBlob, error) {
	b, err := s.stageAt(ctx, r, limit, s.staging+randomName())
	if err != nil {
		return nil, err // not a nil *staged in a non-nil interface
	}
	return b, nil
}

// stageAt is Stage into the object key.
func (s *Store) stageAt(ctx context.Context, r io.Reader, limit int64, key string) (*staged, error) {
	const op = "s3blob.Stage"
	if err := ctx.Err(); err != nil {
		return nil, restkit.Wrap(op, err)
	}
	partSize := s.partSize
	if limit > partSize*maxParts {
		// A limit beyond what 10,000 parts of the usual size hold: larger parts, so
		// that an upload up to the limit fits.
		partSize = min((limit+maxParts-1)/maxParts, maxPartSize)
	}
	hr := &hashingReader{ctx: ctx, r: r, h: sha256.New(), limit: limit, most: partSize * maxParts}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", PartSize: uint64(partSize)}

	bp := firstBuffers.Get().(*[]byte)
	buf := *bp
	n, _ := io.ReadFull(hr, buf)
	var info minio.UploadInfo
	var err error
	uploaded := false
	switch {
	case hr.err != nil:
	case n <= firstSize:
		// The content ends within the first buffer: one PUT of a known size.
		err = retryDirRace(ctx, func() error {
			info, err = s.client.PutObject(ctx, s.cfg.Bucket, key, bytes.NewReader(buf[:n]), int64(n), opts)
			return err
		})
		uploaded = err == nil
	default:
		// minio-go reads part after part into a buffer of its own (partSize bytes)
		// and uploads each before reading the next; it aborts the upload when the
		// reader fails.
		body := io.MultiReader(bytes.NewReader(buf), hr)
		info, err = s.client.PutObject(ctx, s.cfg.Bucket, key, body, -1, opts)
		uploaded = err == nil
	}
	if err == nil {
		// After a failed request the transport may still be reading the buffer as
		// a request body: it goes back to the pool only after a success.
		firstBuffers.Put(bp)
	}
	if err == nil && hr.err == nil && info.Size != hr.n {
		err = fmt.Errorf("the server stored %d bytes of the %d sent", info.Size, hr.n)
	}
	if uploaded && (err != nil || hr.err != nil) {
		s.removeQuietly(ctx, key)
	}
	if hr.err != nil {
		// What the reader said is the cause, whatever the upload made of it.
		return nil, readerError(op, ctx, hr.err)
	}
	if err != nil {
		return nil, s.fail(op, ctx, err)
	}
	return &staged{s: s, key: key, etag: info.ETag, digest: hex.EncodeToString(hr.h.Sum(nil)), size: hr.n}, nil
}

// hashingReader reads r through a SHA-256 hasher, counting, and stops for good at
// the first of: the end of r, an error of r, ctx ending, more than limit (> 0) or
// most bytes. It tells its consumer (minio-go) about a failure with errStopped,
// never with r's own error: minio-go takes io.ErrUnexpectedEOF for the end of
// the stream, and a truncated body must not pass for a short one.
type hashingReader struct {
	ctx   context.Context
	r     io.Reader
	h     hash.Hash
	n     int64
	limit int64 // > 0: the most bytes the caller takes
	most  int64 // the most bytes the upload takes
	err   error // why reading stopped early
	eof   bool
	idle  int
}

var errStopped = errors.New("s3blob: the stage's reader stopped")

func (hr *hashingReader) Read(p []byte) (int, error) {
	switch {
	case hr.err != nil:
		return 0, errStopped
	case hr.eof:
		return 0, io.EOF
	case len(p) == 0:
		return 0, nil
	}
	if err := hr.ctx.Err(); err != nil {
		hr.err = err
		return 0, errStopped
	}
	bound := hr.most
	if hr.limit > 0 {
		bound = min(bound, hr.limit)
	}
	if room := bound + 1 - hr.n; int64(len(p)) > room { // one byte over is enough to refuse
		p = p[:room]
	}
	n, err := hr.r.Read(p)
	hr.n += int64(n)
	switch {
	case hr.limit > 0 && hr.n > hr.limit:
		hr.err = restkit.Errorf(restkit.TooLarge, "the file is larger than the limit of %d bytes", hr.limit)
	case hr.n > hr.most:
		hr.err = restkit.Errorf(restkit.TooLarge, "the file is larger than the %d bytes the object storage takes in one upload", hr.most)
	case err == io.EOF:
		hr.h.Write(p[:n])
		hr.eof = true
		return n, io.EOF
	case err != nil:
		if cerr := hr.ctx.Err(); cerr != nil {
			err = cerr // the reader failed because the request ended
		}
		hr.err = err
	case n == 0:
		if hr.idle++; hr.idle >= 100 {
			hr.err = io.ErrNoProgress
		}
	default:
		hr.idle = 0
	}
	if hr.err != nil {
		return 0, errStopped
	}
	hr.h.Write(p[:n])
	return n, nil
}

// readerError classifies a failure of a stage's reader: its *restkit.Error keeps
// its kind, anything else is Internal with the cause in the chain.
func readerError(op string, ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return restkit.Wrap(op, err)
}

// stage states
const (
	staging = iota
	committed
	aborted
)

// staged is a completed staging object.
type staged struct {
	s      *Store
	key    string // PREFIX/staging/<random>
	etag   string
	digest string
	size   int64
	keep   bool // the source is an upload's part: neither Commit nor Abort deletes it

	mu    sync.Mutex
	state int
}

func (b *staged) SHA256() string { return b.digest }
func (b *staged) Size() int64    { return b.size }

// Commit publishes the blob under its digest with a server-side copy of the staging
// object, unless the blob is there already, and then deletes the staging object. A
// second Commit does nothing; Commit after Abort is an error, as is a ctx already
// ended (the stage stays, for Abort). A stage that Clean removed fails to commit
// and publishes nothing, unless its content was committed meanwhile.
func (b *staged) Commit(ctx context.Context) error {
	const op = "s3blob.Commit"
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case committed:
		return nil
	case aborted:
		return restkit.Wrap(op, errors.New("commit of an aborted stage"))
	}
	if err := ctx.Err(); err != nil {
		return restkit.Wrap(op, err)
	}
	if err := b.s.publish(ctx, b); err != nil {
		return b.s.fail(op, ctx, err)
	}
	b.state = committed
	return nil
}

// publish copies the staging object to the blob's key, unless a blob of its size
// is there (its key is the hash of its content), then deletes the staging object.
func (s *Store) publish(ctx context.Context, b *staged) error {
	dst := s.blobKey(b.digest)
	info, err := s.client.StatObject(ctx, s.cfg.Bucket, dst, minio.StatObjectOptions{})
	switch {
	case err == nil && info.Size == b.size:
		// Already there, whole.
	case err == nil || isNotFound(err):
		// Absent (or, if its size is wrong, damaged: replaced).
		if err := s.copy(ctx, b, dst); err != nil {
			return err
		}
	default:
		return err
	}
	// The blob is published: a staging object left by a failure here is garbage
	// for Clean, not an error of the commit.
	if !b.keep {
		s.removeQuietly(ctx, b.key)
	}
	return nil
}

// copy copies the staging object to dst on the server: in one request up to
// S3's 5 GiB limit for one, else part by part. MatchETag makes sure the source is
// the object this stage uploaded.
func (s *Store) copy(ctx context.Context, b *staged, dst string) error {
	src := minio.CopySrcOptions{Bucket: s.cfg.Bucket, Object: b.key, MatchETag: b.etag}
	to := minio.CopyDestOptions{Bucket: s.cfg.Bucket, Object: dst}
	return retryDirRace(ctx, func() error {
		var err error
		if b.size <= s.copyMax {
			_, err = s.client.CopyObject(ctx, to, src)
		} else {
			to.PartSize = s.composePart
			_, err = s.client.ComposeObject(ctx, to, src)
		}
		return err
	})
}

// retryDirRace calls put until it does not fail with versitygw's
// ExistingObjectIsDirectory, 10 times at most. That gateway's posix backend
// keeps keys as files in directories, removes a directory that a delete empties,
// and answers so when such a removal races the creation of the directory for a
// new key (say blobs/ab/cd/ for one blob while another in it is deleted). No key
// of a store is a prefix of another, so here the code means only that race. S3
// itself never answers with it.
func retryDirRace(ctx context.Context, put func() error) error {
	for attempt := 0; ; attempt++ {
		err := put()
		if errorCode(err) != "ExistingObjectIsDirectory" || attempt == 9 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(1<<attempt) * time.Millisecond):
		}
	}
}

// Abort deletes the staging object. It does nothing after Commit or a first Abort.
func (b *staged) Abort() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != staging {
		return nil
	}
	if b.keep {
		b.state = aborted
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	err := b.s.client.RemoveObject(ctx, b.s.cfg.Bucket, b.key, minio.RemoveObjectOptions{})
	if err != nil && !isNotFound(err) {
		return b.s.fail("s3blob.Abort", ctx, err)
	}
	b.state = aborted
	return nil
}

// removeQuietly deletes an object that is garbage, even after ctx ended; a
// failure leaves it for Clean.
func (s *Store) removeQuietly(ctx context.Context, key string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	_ = s.client.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{})
}

// Open returns a reader of the blob: Invalid for a malformed digest, NotFound when
// no such blob is committed. The reader fetches bytes with ranged GETs under ctx,
// so it is good while ctx lasts.
func (s *Store) Open(ctx context.Context, digest string) (restkit.BlobReader, error) {
	const op = "s3blob.Open"
	if err := checkDigest(digest); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, restkit.Wrap(op, err)
	}
	key := s.blobKey(digest)
	info, err := s.client.StatObject(ctx, s.cfg.Bucket, key, minio.StatObjectOptions{})
	if isNotFound(err) {
		return nil, restkit.Errorf(restkit.NotFound, "no blob with sha256 %s", digest)
	}
	if err != nil {
		return nil, s.fail(op, ctx, err)
	}
	return &reader{s: s, ctx: ctx, key: key, size: info.Size, window: minWindow}, nil
}

// Delete removes the blob, if it exists. A malformed digest is Invalid.
func (s *Store) Delete(ctx context.Context, digest string) error {
	const op = "s3blob.Delete"
	if err := checkDigest(digest); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return restkit.Wrap(op, err)
	}
	err := s.client.RemoveObject(ctx, s.cfg.Bucket, s.blobKey(digest), minio.RemoveObjectOptions{})
	if err != nil && !isNotFound(err) {
		return s.fail(op, ctx, err)
	}
	return nil
}

// List calls fn with the digest of every committed blob, in ascending order,
// skipping any key that is not a blob. It stops at fn's first error and returns
// it as is. fn may Delete the blob it is given: listing resumes after the last key
// seen, not at a count.
func (s *Store) List(ctx context.Context, fn func(sha256 string) error) error {
	const op = "s3blob.List"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opts := minio.ListObjectsOptions{Prefix: s.blobs, Recursive: true, MaxKeys: s.listPage}
	for obj := range s.client.ListObjectsIter(ctx, s.cfg.Bucket, opts) {
		if obj.Err != nil {
			return s.fail(op, ctx, obj.Err)
		}
		d, ok := s.digestOf(obj.Key)
		if !ok {
			continue
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	// The listing ends quietly when ctx does: then it is incomplete.
	if err := ctx.Err(); err != nil {
		return restkit.Wrap(op, err)
	}
	return nil
}

// Clean removes the stages older than the store's StaleAfter (every stage when it
// is negative): staging objects that were neither committed nor aborted, and
// multipart uploads that never completed. A stage it removes fails at Commit and
// publishes nothing. Younger stages may belong to uploads in progress on other
// nodes sharing the prefix, and are left alone.
func (s *Store) Clean(ctx context.Context) error {
	const op = "s3blob.Clean"
	stale := func(t time.Time) bool { return s.staleAfter < 0 || t.Before(s.now().Add(-s.staleAfter)) }
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = s.fail(op, ctx, err)
		}
	}
	for obj := range s.client.ListObjectsIter(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.staging, Recursive: true}) {
		if obj.Err != nil {
			keep(obj.Err)
			break
		}
		if stale(obj.LastModified) {
			if err := s.client.RemoveObject(ctx, s.cfg.Bucket, obj.Key, minio.RemoveObjectOptions{}); !isNotFound(err) {
				keep(err)
			}
		}
	}
	for up := range s.client.ListIncompleteUploads(ctx, s.cfg.Bucket, s.staging, true) {
		// The channel is drained to its end, so that its goroutine ends too.
		if up.Err != nil {
			keep(up.Err)
			continue
		}
		if stale(up.Initiated) {
			if err := s.core.AbortMultipartUpload(ctx, s.cfg.Bucket, up.Key, up.UploadID); errorCode(err) != "NoSuchUpload" {
				keep(err)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return restkit.Wrap(op, err)
	}
	return first
}

// blobKey is the key of the blob with a valid digest.
func (s *Store) blobKey(digest string) string {
	return s.blobs + digest[:2] + "/" + digest[2:4] + "/" + digest
}

// digestOf returns the digest of a blob's key, or false for a key that is not
// PREFIX/blobs/ab/cd/abcd… with a valid digest.
func (s *Store) digestOf(key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, s.blobs)
	if !ok || len(rest) != 6+2*sha256.Size || rest[2] != '/' || rest[5] != '/' {
		return "", false
	}
	d := rest[6:]
	if !validDigest(d) || rest[:2] != d[:2] || rest[3:5] != d[2:4] {
		return "", false
	}
	return d, true
}

// randomName is a staging object's name: 128 random bits, so that stages of any
// number of nodes never meet.
func randomName() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// fail classifies an error of the server or of the way to it: the server's storage
// full is InsufficientStorage; no answer, or an answer that it is overloaded, is
// Unavailable; a *restkit.Error keeps its kind; anything else is Internal. When
// ctx has ended, the error wraps ctx.Err(), so errors.Is(err, context.Canceled)
// holds whatever minio-go made of it.
func (s *Store) fail(op string, ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return restkit.Wrap(op, err)
	}
	var re *restkit.Error
	if errors.As(err, &re) {
		return err
	}
	code, status := errorCode(err), 0
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		status = er.StatusCode
	}
	var ne net.Error
	switch {
	case code == "InsufficientStorage" || code == "XMinioStorageFull" || code == "QuotaExceeded" ||
		status == http.StatusInsufficientStorage:
		return &restkit.Error{Kind: restkit.InsufficientStorage,
			Message: "the repository's storage is too full to take this upload", Op: op, Err: err}
	case code == "SlowDown" || code == "ServiceUnavailable" || status == http.StatusServiceUnavailable ||
		errors.As(err, &ne):
		return &restkit.Error{Kind: restkit.Unavailable,
			Message: "the repository's storage is unavailable; try again later", Op: op, Err: err}
	}
	return restkit.Wrap(op, err)
}

// errorCode is the S3 error code in err's chain, or "".
func errorCode(err error) string {
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return er.Code
	}
	return ""
}

func isNotFound(err error) bool {
	switch errorCode(err) {
	case "NoSuchKey", "NotFound":
		return true
	}
	return false
}

// checkDigest returns Invalid unless d is a SHA-256 in lowercase hex. Every key is
// built from a digest that passed it.
func checkDigest(d string) error {
	if validDigest(d) {
		return nil
	}
	const rule = "must be 64 lowercase hexadecimal digits"
	return &restkit.Error{Kind: restkit.Invalid, Message: "a sha256 digest " + rule,
		Fields: []restkit.FieldError{{Field: "sha256", Message: rule}}}
}

func validDigest(d string) bool {
	if len(d) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(d); i++ {
		if c := d[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
