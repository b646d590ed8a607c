package fsblob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/restkit/restkit"
)

// chunkSize is the size of the one buffer a stage copies through.
const chunkSize = 256 << 10

// buffers recycles stage buffers, so concurrent uploads do not each allocate one.
var buffers = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

// Store keeps blobs as files under a directory. It is safe for concurrent use.
type Store struct {
	blobs   string // DIR/blobs: committed blobs, blobs/ab/cd/<digest>
	tmp     string // DIR/tmp: stages
	pin     string // DIR/blobs.lock: held shared by each Delete, exclusively by Pin
	uploads string // DIR/uploads: the bytes of resumable uploads (parts.go)
}

var _ restkit.BlobStore = (*Store)(nil)

// Open returns the store in dir, creating dir, dir/blobs and dir/tmp as needed. It
// does not clean dir/tmp: call Clean at start-up, before stages begin.
func Open(dir string) (*Store, error) {
	const op = "fsblob.Open"
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, restkit.Wrap(op, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, restkit.Wrap(op, err)
	}
	s := &Store{blobs: filepath.Join(abs, "blobs"), tmp: filepath.Join(abs, "tmp"), pin: filepath.Join(abs, PinName), uploads: filepath.Join(abs, "uploads")}
	for _, d := range []string{s.blobs, s.tmp, s.uploads} {
		if err := mkdirDurable(d, abs); err != nil {
			return nil, restkit.Wrap(op, err)
		}
	}
	return s, nil
}

// Stage copies r into a temporary file while hashing it. It returns TooLarge when r
// holds more than limit bytes (limit > 0), InsufficientStorage when the disk is full,
// an error wrapping ctx.Err() when ctx ends first, the reader's own error when it
// fails; in every such case nothing is kept.
func (s *Store) Stage(ctx context.Context, r io.Reader, limit int64) (restkit.StagedBlob, error) {
	const op = "fsblob.Stage"
	if err := ctx.Err(); err != nil {
		return nil, restkit.Wrap(op, err)
	}
	f, err := os.CreateTemp(s.tmp, "stage-*")
	if err != nil {
		return nil, writeError(op, err)
	}
	size, digest, err := copyHashed(ctx, f, r, limit)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return nil, writeError(op, err)
	}
	return &staged{s: s, path: f.Name(), digest: digest, size: size}, nil
}

// copyHashed copies r to f through a SHA-256 hasher, one chunk at a time, checking
// ctx between chunks and reading at most limit+1 bytes (limit > 0).
func copyHashed(ctx context.Context, f *os.File, r io.Reader, limit int64) (int64, string, error) {
	bp := buffers.Get().(*[]byte)
	defer buffers.Put(bp)
	h := sha256.New()
	w := io.MultiWriter(f, h)
	var size int64
	for {
		if err := ctx.Err(); err != nil {
			return 0, "", err
		}
		p := *bp
		if limit > 0 && limit+1-size < int64(len(p)) {
			p = p[:limit+1-size]
		}
		n, rerr := readChunk(r, p)
		size += int64(n)
		if limit > 0 && size > limit {
			return 0, "", restkit.Errorf(restkit.TooLarge, "the file is larger than the limit of %d bytes", limit)
		}
		if n > 0 {
			if _, err := w.Write(p[:n]); err != nil {
				return 0, "", err
			}
		}
		switch {
		case rerr == io.EOF:
			return size, hex.EncodeToString(h.Sum(nil)), nil
		case rerr != nil:
			if err := ctx.Err(); err != nil {
				return 0, "", err // the reader failed because the request ended
			}
			return 0, "", rerr
		}
	}
}

// readChunk reads until p is full or r fails. Unlike io.ReadFull it returns r's
// error as is: a truncated body's io.ErrUnexpectedEOF must not pass for a short
// last chunk.
func readChunk(r io.Reader, p []byte) (int, error) {
	n, idle := 0, 0
	for n < len(p) {
		m, err := r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m > 0 {
			idle = 0
		} else if idle++; idle >= 100 {
			return n, io.ErrNoProgress
		}
	}
	return n, nil
}

// writeError classifies an error of a stage: a full disk is InsufficientStorage,
// an *restkit.Error (TooLarge, or one the reader returned) keeps its kind, anything
// else is Internal.
func writeError(op string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return &restkit.Error{Kind: restkit.InsufficientStorage,
			Message: "the repository's disk is too full to take this upload", Op: op, Err: err}
	}
	return restkit.Wrap(op, err)
}

// stage states
const (
	staging = iota
	committed
	aborted
)

// staged is a stage's temporary file, fsynced and closed.
type staged struct {
	s       *Store
	path    string
	digest  string
	size    int64
	restore string // where Abort moves the file back to (an upload's), "" to remove it

	mu    sync.Mutex
	state int
}

func (b *staged) SHA256() string { return b.digest }
func (b *staged) Size() int64    { return b.size }

// Commit publishes the blob under its digest, durably, or finds it already there and
// drops the stage. A second Commit does nothing; Commit after Abort is an error, as
// is a ctx already ended (the stage stays, for Abort).
func (b *staged) Commit(ctx context.Context) error {
	const op = "fsblob.Commit"
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
	if err := b.s.publish(b.path, b.digest); err != nil {
		return writeError(op, err)
	}
	b.state = committed
	return nil
}

// Abort removes the stage. It does nothing after Commit or a first Abort.
func (b *staged) Abort() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != staging {
		return nil
	}
	if b.restore != "" {
		if err := os.Rename(b.path, b.restore); err != nil {
			return restkit.Wrap("fsblob.Abort", err)
		}
		b.state = aborted
		return nil
	}
	if err := os.Remove(b.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return restkit.Wrap("fsblob.Abort", err)
	}
	b.state = aborted
	return nil
}

// publish moves the temporary file tmp to the blob's path (see the package doc for
// why each step is there).
func (s *Store) publish(tmp, digest string) error {
	ab := filepath.Join(s.blobs, digest[:2])
	cd := filepath.Join(ab, digest[2:4])
	final := filepath.Join(cd, digest)
	for attempt := 0; ; attempt++ {
		err := place(tmp, ab, cd, final, s.blobs)
		if err == nil {
			break
		}
		if errors.Is(err, fs.ErrNotExist) && attempt < 100 {
			if _, serr := os.Lstat(tmp); serr == nil {
				continue // a concurrent Delete removed an emptied fan-out directory
			}
		}
		return err
	}
	// Make the name durable, and the fan-out directories on the way to it: a
	// concurrent commit may have created them without having fsynced their parents
	// yet. A directory fsync with nothing to write is cheap.
	for _, d := range []string{cd, ab, s.blobs} {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// place creates the fan-out directories ab and cd and moves tmp to final, or drops
// tmp if final exists.
func place(tmp, ab, cd, final, blobs string) error {
	if err := mkdirDurable(ab, blobs); err != nil {
		return err
	}
	if err := mkdirDurable(cd, ab); err != nil {
		return err
	}
	_, err := os.Lstat(final)
	if err == nil {
		// Already there, whole: its name is the hash of its content.
		if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Rename(tmp, final)
}

// mkdirDurable creates dir unless it exists, and then fsyncs its parent so that
// the new entry survives a crash.
func mkdirDurable(dir, parent string) error {
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return syncDir(parent)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Open returns a reader of the blob: Invalid for a malformed digest, NotFound when
// no such blob is committed.
func (s *Store) Open(ctx context.Context, digest string) (restkit.BlobReader, error) {
	const op = "fsblob.Open"
	if err := checkDigest(digest); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, restkit.Wrap(op, err)
	}
	f, err := os.Open(s.path(digest))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, restkit.Errorf(restkit.NotFound, "no blob with sha256 %s", digest)
	}
	if err != nil {
		return nil, restkit.Wrap(op, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errors.New("not a regular file: " + f.Name())
	}
	if err != nil {
		_ = f.Close()
		return nil, restkit.Wrap(op, err)
	}
	return &reader{f: f, size: fi.Size()}, nil
}

// reader reads one blob file. Its errors are restkit errors (io.EOF aside), so no
// path or system error text can reach a client through it.
type reader struct {
	f    *os.File
	size int64
}

func (r *reader) Size() int64 { return r.size }

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	return n, readError("fsblob.Read", err)
}

// ReadAt reads at an offset without moving the reader, so ranges can be served
// concurrently from one reader.
func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.f.ReadAt(p, off)
	return n, readError("fsblob.ReadAt", err)
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	n, err := r.f.Seek(offset, whence)
	return n, readError("fsblob.Seek", err)
}

func (r *reader) Close() error { return readError("fsblob.Close", r.f.Close()) }

func readError(op string, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	return restkit.Wrap(op, err)
}

// Delete removes the blob, if it exists, and the fan-out directories it leaves
// empty. A malformed digest is Invalid.
func (s *Store) Delete(ctx context.Context, digest string) error {
	const op = "fsblob.Delete"
	if err := checkDigest(digest); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return restkit.Wrap(op, err)
	}
	unpinned, err := s.unpinned()
	if err != nil {
		return err
	}
	defer unpinned()
	if err := os.Remove(s.path(digest)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return restkit.Wrap(op, err)
	}
	// Fails harmlessly while a directory holds other blobs.
	ab := filepath.Join(s.blobs, digest[:2])
	if os.Remove(filepath.Join(ab, digest[2:4])) == nil {
		_ = os.Remove(ab)
	}
	return nil
}

// List calls fn with the digest of every committed blob, in ascending order,
// skipping any file that is not a blob. It stops at fn's first error and returns it
// as is. fn may Delete the blob it is given.
func (s *Store) List(ctx context.Context, fn func(sha256 string) error) error {
	const op = "fsblob.List"
	tops, err := os.ReadDir(s.blobs)
	if err != nil {
		return restkit.Wrap(op, err)
	}
	for _, top := range tops {
		if !top.IsDir() || !hexPair(top.Name()) {
			continue
		}
		mids, err := os.ReadDir(filepath.Join(s.blobs, top.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue // emptied and removed by a Delete meanwhile
		}
		if err != nil {
			return restkit.Wrap(op, err)
		}
		for _, mid := range mids {
			if !mid.IsDir() || !hexPair(mid.Name()) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return restkit.Wrap(op, err)
			}
			files, err := os.ReadDir(filepath.Join(s.blobs, top.Name(), mid.Name()))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return restkit.Wrap(op, err)
			}
			prefix := top.Name() + mid.Name()
			for _, f := range files {
				name := f.Name()
				if !f.Type().IsRegular() || !validDigest(name) || name[:4] != prefix {
					continue
				}
				if err := fn(name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Clean removes every stage in tmp/: what crashes left behind, and any stage not yet
// committed or aborted (whose Commit then fails). Call it before stages begin.
func (s *Store) Clean(ctx context.Context) error {
	const op = "fsblob.Clean"
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return restkit.Wrap(op, err)
	}
	var first error
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return restkit.Wrap(op, err)
		}
		if err := os.RemoveAll(filepath.Join(s.tmp, e.Name())); err != nil && first == nil {
			first = restkit.Wrap(op, err)
		}
	}
	return first
}

// path is where the blob with a valid digest lives.
func (s *Store) path(digest string) string {
	return filepath.Join(s.blobs, digest[:2], digest[2:4], digest)
}

// checkDigest returns Invalid unless d is a SHA-256 in lowercase hex. Every path is
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
		if !isLowerHex(d[i]) {
			return false
		}
	}
	return true
}

func hexPair(s string) bool { return len(s) == 2 && isLowerHex(s[0]) && isLowerHex(s[1]) }

func isLowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
