package artefact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/fnv"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/restkit/restkit"
)

// Repository is the artefact repository: content in a BlobStore, metadata in an
// ArtefactStore, and the rules that keep the two consistent.
type Repository struct {
	blobs  restkit.BlobStore
	meta   restkit.ArtefactStore
	parts  restkit.PartStore   // nil: no resumable uploads
	ustore restkit.UploadStore // nil: no resumable uploads
	policy Policy
	log    *slog.Logger
	now    func() time.Time
	// freeSpace reports the bytes available to the data directory (nil: unchecked).
	freeSpace func() (int64, error)

	// locks serialise, per digest, "publish a blob and record a reference to it"
	// against "find a blob unreferenced and delete it". Without them a delete could
	// remove a blob between an upload's commit and its metadata row, leaving a version
	// whose content is gone. Striped: digests hash onto a fixed set of mutexes.
	locks  [64]sync.Mutex
	locker DigestLocker // across processes; nil: this process is alone

	downloads downloads // when each version's last download was written down
	uploads   uploads   // the resumable uploads this process is writing to
	jobs      jobs      // cleanup runs: one at a time
}

// Options configure a Repository.
type Options struct {
	Blobs  restkit.BlobStore
	Meta   restkit.ArtefactStore
	Policy Policy
	Logger *slog.Logger
	// DataDir is where free space is measured for Policy.MinFree; "" skips the check.
	DataDir string
	Now     func() time.Time
	// Locker, when set, also locks digests across processes: needed when several
	// nodes share the blob store and the metadata store (postgres.Store is one).
	Locker DigestLocker
	// Jobs, when set, lets one node at a time run the cleanup policies (postgres.Store
	// is one); nil: this process is alone.
	Jobs JobLocker
	// OnCleanup, when set, is told of every cleanup run (for metrics).
	OnCleanup func(*CleanupReport)
}

// DigestLocker takes a lock on a blob digest that holds across every process that
// uses the same locker; unlock releases it.
type DigestLocker interface {
	LockDigest(ctx context.Context, digest string) (unlock func(), err error)
}

// New returns a repository over opts.
func New(opts Options) *Repository {
	r := &Repository{blobs: opts.Blobs, meta: opts.Meta, policy: opts.Policy, log: opts.Logger, now: opts.Now, locker: opts.Locker}
	r.parts, _ = opts.Blobs.(restkit.PartStore)
	r.ustore, _ = opts.Meta.(restkit.UploadStore)
	r.jobs.locker, r.jobs.report = opts.Jobs, opts.OnCleanup
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	if opts.DataDir != "" && opts.Policy.MinFree > 0 {
		dir := opts.DataDir
		r.freeSpace = func() (int64, error) { return freeBytes(dir) }
	}
	return r
}

// Policy returns the repository's policy.
func (r *Repository) Policy() Policy { return r.policy }

// lock takes the digest's lock: its stripe in this process, then, with a Locker, the
// cluster's. The stripe comes first so that a node sends the cluster at most one
// waiter per stripe.
func (r *Repository) lock(ctx context.Context, digest string) (unlock func(), err error) {
	h := fnv.New32a()
	h.Write([]byte(digest))
	mu := &r.locks[h.Sum32()%uint32(len(r.locks))]
	mu.Lock()
	if r.locker == nil {
		return mu.Unlock, nil
	}
	release, err := r.locker.LockDigest(ctx, digest)
	if err != nil {
		mu.Unlock()
		return nil, err
	}
	return func() { release(); mu.Unlock() }, nil
}

// Upload is one incoming file.
type Upload struct {
	Directory, ID string // already checked with CheckName
	Body          io.Reader
	Length        int64  // declared length, -1 when unknown
	ContentType   string // the client's type when specific, else "" to detect
	Filename      string
	SHA256        string // the digest the client claims (hex), or ""
	Check         restkit.ArtefactCheck
}

// Put stores an upload as a new version. The body streams into a staged blob while
// being hashed; a claimed digest that differs, a body over the size limit, a failed
// check or a full disk abort the stage, so nothing is stored. Otherwise the blob is
// committed under its digest and the version recorded, under the digest's lock.
func (r *Repository) Put(ctx context.Context, u Upload) (*restkit.Artefact, error) {
	if err := checkPath(u.Directory, u.ID); err != nil {
		return nil, err
	}
	pol := r.policy.For(u.Directory)
	if pol.MaxSize > 0 && u.Length > pol.MaxSize {
		return nil, restkit.Errorf(restkit.TooLarge, "the file is larger than the limit of %d bytes", pol.MaxSize)
	}
	if r.freeSpace != nil {
		free, err := r.freeSpace()
		if err != nil {
			return nil, restkit.Wrap("artefact.Put", err)
		}
		if free-max(u.Length, 0) < r.policy.MinFree {
			return nil, restkit.Errorf(restkit.InsufficientStorage, "the repository's disk is too full to take this upload")
		}
	}
	// Check the precondition before reading the body, so a refused upload costs
	// nothing; it is checked again atomically when the version is recorded.
	if u.Check != nil {
		latest, err := r.meta.FindArtefact(ctx, u.Directory, u.ID, 0)
		if err != nil && !restkit.IsKind(err, restkit.NotFound) {
			return nil, err
		}
		if err := u.Check(latest); err != nil {
			return nil, err
		}
	}
	sniff := &sniffer{}
	body := io.Reader(io.TeeReader(u.Body, sniff))
	if r.freeSpace != nil && u.Length < 0 {
		// No declared length to check up front: watch the floor while the bytes arrive.
		body = &floorReader{r: body, free: r.freeSpace, floor: r.policy.MinFree}
	}
	staged, err := r.blobs.Stage(ctx, body, pol.MaxSize)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) && ctx.Err() == nil { // the client stopped sending mid-body
			return nil, &restkit.Error{Kind: restkit.Invalid, Message: "the upload ended before all of its bytes arrived; nothing was stored", Op: "artefact.Put", Err: err}
		}
		return nil, err
	}
	committed := false
	defer func() {
		if !committed {
			_ = staged.Abort()
		}
	}()
	digest := staged.SHA256()
	if u.SHA256 != "" && u.SHA256 != digest {
		return nil, &restkit.Error{Kind: restkit.Invalid, Message: "the content does not match the checksum sent with it; nothing was stored",
			Fields: []restkit.FieldError{{Field: "sha256", Message: "expected " + u.SHA256 + ", received content has " + digest}}}
	}
	if u.Length >= 0 && staged.Size() != u.Length {
		return nil, restkit.Errorf(restkit.Invalid, "the body was %d bytes, not the %d declared; nothing was stored", staged.Size(), u.Length)
	}
	a := &restkit.Artefact{
		Directory: u.Directory, ID: u.ID, Size: staged.Size(), SHA256: digest,
		ContentType: contentType(u.ContentType, u.ID, u.Filename, sniff.head), Filename: u.Filename,
		Updated: r.now().UTC(),
	}
	// The whole body has arrived and checked out: finish storing it even if the client
	// now hangs up (a client that half-closes after sending cancels the request's
	// context, yet still waits for the answer).
	ctx = context.WithoutCancel(ctx)
	unlock, err := r.lock(ctx, digest)
	if err != nil {
		return nil, err // the deferred abort throws the staged blob away
	}
	if err := staged.Commit(ctx); err != nil {
		unlock()
		return nil, err
	}
	committed = true
	stored, freed, err := r.meta.AddVersion(ctx, a, u.Check, pol.KeepVersions)
	if err != nil {
		// The blob may now be unreferenced; free it unless another version uses it.
		r.freeLocked(ctx, digest)
	}
	// Unlock before freeing pruned content: free takes each digest's lock, and the
	// locks are striped and not reentrant, so holding this one could deadlock.
	unlock()
	if err != nil {
		return nil, err
	}
	r.freeAll(ctx, freed, digest) // never the new version's own content
	return stored, nil
}

// floorReadEvery is how many bytes an upload of unknown length may take between two
// looks at the free disk space.
const floorReadEvery = 8 << 20

// floorReader stops an upload with InsufficientStorage once the disk's free space
// drops below the floor.
type floorReader struct {
	r     io.Reader
	free  func() (int64, error)
	floor int64
	since int64
}

func (f *floorReader) Read(p []byte) (int, error) {
	if f.since >= floorReadEvery {
		f.since = 0
		if n, err := f.free(); err == nil && n < f.floor {
			return 0, restkit.Errorf(restkit.InsufficientStorage, "the repository's disk is too full to take this upload")
		}
	}
	n, err := f.r.Read(p)
	f.since += int64(n)
	return n, err
}

// free deletes blobs that no version references any more.
// It reports whether it deleted the blob (it is kept while a version, perhaps one
// recorded since the caller looked, references it).
func (r *Repository) free(ctx context.Context, digest string) bool {
	unlock, err := r.lock(ctx, digest)
	if err != nil {
		r.log.Warn("freeing a blob failed: its lock could not be taken; it is collected at the next start", "sha256", digest, "error", err.Error())
		return false
	}
	defer unlock()
	return r.freeLocked(ctx, digest)
}

func (r *Repository) freeLocked(ctx context.Context, digest string) bool {
	used, err := r.meta.Referenced(ctx, digest)
	if err != nil || used {
		return false // a blob kept by mistake is collected at the next start
	}
	if err := r.blobs.Delete(ctx, digest); err != nil {
		r.log.Warn("freeing a blob failed; it is collected at the next start", "sha256", digest, "error", err.Error())
		return false
	}
	return true
}

// Delete removes a version (version > 0), an artefact (id != "") or a directory
// with its subtree, and frees the content nothing references any more.
func (r *Repository) Delete(ctx context.Context, dir, id string, version int64) error {
	_, err := r.deleteAndFree(ctx, dir, id, version)
	return err
}

// deleteAndFree is the one place versions are deleted on request (Delete, cleanup
// policies); pruning is AddVersion's. It returns the digests no version references
// any more, which it frees.
func (r *Repository) deleteAndFree(ctx context.Context, dir, id string, version int64) ([]string, error) {
	freed, err := r.meta.DeleteArtefacts(ctx, dir, id, version)
	if err != nil {
		return nil, err
	}
	for _, d := range freed {
		r.free(ctx, d)
	}
	return freed, nil
}

// Open returns the metadata and content of one version (0: the latest).
func (r *Repository) Open(ctx context.Context, dir, id string, version int64) (*restkit.Artefact, restkit.BlobReader, error) {
	a, err := r.meta.FindArtefact(ctx, dir, id, version)
	if err != nil {
		return nil, nil, err
	}
	blob, err := r.blobs.Open(ctx, a.SHA256)
	if restkit.IsKind(err, restkit.NotFound) {
		// Deleted between the two reads? Then the version is gone too: a 404, not a 500.
		if _, again := r.meta.FindArtefact(ctx, dir, id, version); restkit.IsKind(again, restkit.NotFound) {
			return nil, nil, again
		}
		return nil, nil, restkit.Wrap("artefact.Open", errors.New("blob "+a.SHA256+" of "+dir+"/"+id+" is missing"))
	}
	if err != nil {
		return nil, nil, err
	}
	return a, blob, nil
}

// Find returns the metadata of one version (0: the latest).
func (r *Repository) Find(ctx context.Context, dir, id string, version int64) (*restkit.Artefact, error) {
	return r.meta.FindArtefact(ctx, dir, id, version)
}

// Versions lists an artefact's versions, newest first.
func (r *Repository) Versions(ctx context.Context, dir, id string) ([]*restkit.Artefact, error) {
	return r.meta.ListVersions(ctx, dir, id)
}

// List returns a page of a directory's artefacts; NotFound when the directory has none.
func (r *Repository) List(ctx context.Context, dir string, q restkit.ArtefactQuery) (*restkit.ArtefactPage, error) {
	page, err := r.meta.ListArtefacts(ctx, dir, q)
	if err != nil {
		return nil, err
	}
	if len(page.Artefacts) == 0 && q.After == nil && q.Prefix == "" {
		return nil, restkit.Errorf(restkit.NotFound, "no directory %s", dir)
	}
	return page, nil
}

// Directories lists every directory.
func (r *Repository) Directories(ctx context.Context) ([]*restkit.DirectoryInfo, error) {
	return r.meta.ListDirectories(ctx)
}

// FindByDigest lists every version with the content.
func (r *Repository) FindByDigest(ctx context.Context, sha string) ([]*restkit.Artefact, error) {
	return r.meta.FindByDigest(ctx, sha)
}

// Collect removes what a crash can leave behind: staged temporary blobs, and blobs no
// version references (committed just before a crash stopped their metadata row).
// It runs at start, before the repository takes requests.
func (r *Repository) Collect(ctx context.Context) (int, error) {
	if err := r.blobs.Clean(ctx); err != nil {
		return 0, err
	}
	var orphans, page []string
	// A metadata store across the network answers for a page of digests at once.
	batch, batched := r.meta.(interface {
		Unreferenced(ctx context.Context, digests []string) ([]string, error)
	})
	flush := func() error {
		if len(page) == 0 {
			return nil
		}
		found, err := batch.Unreferenced(ctx, page)
		orphans, page = append(orphans, found...), page[:0]
		return err
	}
	err := r.blobs.List(ctx, func(d string) error {
		if batched {
			if page = append(page, d); len(page) == collectPage {
				return flush()
			}
			return nil
		}
		used, err := r.meta.Referenced(ctx, d)
		if err == nil && !used {
			orphans = append(orphans, d)
		}
		return err
	})
	if err == nil && batched {
		err = flush()
	}
	if err != nil {
		return 0, err
	}
	freed := 0
	for _, d := range orphans {
		if r.free(ctx, d) { // checks again, under the digest's lock
			freed++
		}
	}
	return freed, nil
}

// collectPage is how many digests Collect asks a batching metadata store about at once.
const collectPage = 1000

// SHA256Hex returns the hex digest of b (a helper for tests and clients).
func SHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// checkPath refuses a directory or an id that breaks the rules (CheckDirectory,
// CheckID), whoever calls: the HTTP layer has checked them, a library caller may not.
func checkPath(dir, id string) error {
	if _, err := CheckDirectory(dir); err != nil {
		return err
	}
	_, err := CheckID(id)
	return err
}
