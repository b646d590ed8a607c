package artefact

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"hash"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/restkit/restkit"
)

// Resumable uploads (tus 1.0, DESIGN §14). An upload is created with its path and
// length; each PATCH streams its bytes into a new part (restkit.PartStore) through
// the SHA-256 of the whole upload, whose state is saved with the offset
// (restkit.UploadStore), so the digest of a complete upload needs no second pass over
// its bytes, and any node can take the next PATCH. A PATCH that the client breaks off
// keeps what arrived (unless it carried a checksum, which cannot be checked then):
// tus clients resume from the offset a HEAD tells them. The last PATCH commits the
// blob and adds the version in one transaction with the upload's completion, so a
// complete upload makes exactly one version, even when the answer to its last PATCH
// is lost and the client asks again.

// UploadTTL is how long an upload lives after its last PATCH: then it is collected.
const UploadTTL = 24 * time.Hour

// uploads tracks the uploads a PATCH of this process is writing to.
type uploads struct {
	mu   sync.Mutex
	busy map[string]bool
}

// NewUpload is what the creation of a resumable upload declares.
type NewUpload struct {
	Directory, ID string // already checked
	Length        int64
	Owner         string
	ContentType   string
	Filename      string
	SHA256        string // the digest claimed for the whole content, or ""
	Metadata      string // Upload-Metadata as sent
}

// Chunk is the body of one PATCH.
type Chunk struct {
	Offset   int64     // Upload-Offset
	Body     io.Reader // the bytes; a read error ends the chunk (what arrived is kept)
	Length   int64     // Content-Length, -1 when unknown
	Checksum *Checksum // Upload-Checksum, or nil
}

// Checksum is a checksum of one chunk (tus checksum extension).
type Checksum struct {
	Algorithm string // sha1, sha256 or md5
	Sum       []byte
}

// ChecksumAlgorithms are the algorithms Upload-Checksum may name.
var ChecksumAlgorithms = []string{"sha1", "sha256", "md5"}

func newChecksumHash(alg string) hash.Hash {
	switch alg {
	case "sha1":
		return sha1.New()
	case "sha256":
		return sha256.New()
	case "md5":
		return md5.New()
	}
	return nil
}

// Resumable reports whether the repository takes resumable uploads: its blob store
// keeps parts and its metadata store keeps upload state.
func (r *Repository) Resumable() bool { return r.parts != nil && r.ustore != nil }

// CreateUpload starts a resumable upload: TooLarge beyond the directory's max_size,
// InsufficientStorage below min_free.
func (r *Repository) CreateUpload(ctx context.Context, n NewUpload) (*restkit.PendingUpload, error) {
	if !r.Resumable() {
		return nil, restkit.Errorf(restkit.NotFound, "this repository takes no resumable uploads")
	}
	if pol := r.policy.For(n.Directory); pol.MaxSize > 0 && n.Length > pol.MaxSize {
		return nil, restkit.Errorf(restkit.TooLarge, "the file is larger than the limit of %d bytes", pol.MaxSize)
	}
	if r.freeSpace != nil {
		free, err := r.freeSpace()
		if err != nil {
			return nil, restkit.Wrap("artefact.CreateUpload", err)
		}
		if free-n.Length < r.policy.MinFree {
			return nil, restkit.Errorf(restkit.InsufficientStorage, "the repository's disk is too full to take this upload")
		}
	}
	state, _ := sha256.New().(encoding.BinaryMarshaler).MarshalBinary()
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	now := r.now().UTC()
	u := &restkit.PendingUpload{ID: hex.EncodeToString(id), Owner: n.Owner, Directory: n.Directory, ArtefactID: n.ID, Length: n.Length,
		Parts: []string{}, Hash: state, SHA256: n.SHA256, ContentType: n.ContentType, Filename: n.Filename, Metadata: n.Metadata,
		Created: now, Expires: now.Add(UploadTTL)}
	if err := r.ustore.CreateUpload(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// FindUpload returns an upload of owner: NotFound when unknown or expired, Forbidden
// when another caller created it.
func (r *Repository) FindUpload(ctx context.Context, id, owner string) (*restkit.PendingUpload, error) {
	if !r.Resumable() {
		return nil, restkit.Errorf(restkit.NotFound, "no upload %s", id)
	}
	u, err := r.ustore.FindUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	if !u.Expires.After(r.now()) {
		return nil, restkit.Errorf(restkit.NotFound, "upload %s has expired", id)
	}
	if u.Owner != owner {
		return nil, restkit.Errorf(restkit.Forbidden, "upload %s belongs to another caller", id)
	}
	return u, nil
}

// claim marks an upload as written to by this process: Conflict when it already is.
func (r *Repository) claim(id string) (release func(), err error) {
	r.uploads.mu.Lock()
	defer r.uploads.mu.Unlock()
	if r.uploads.busy[id] {
		return nil, restkit.Errorf(restkit.Conflict, "another PATCH of upload %s is in progress", id)
	}
	if r.uploads.busy == nil {
		r.uploads.busy = map[string]bool{}
	}
	r.uploads.busy[id] = true
	return func() {
		r.uploads.mu.Lock()
		delete(r.uploads.busy, id)
		r.uploads.mu.Unlock()
	}, nil
}

// TerminateUpload throws an upload away (tus termination).
func (r *Repository) TerminateUpload(ctx context.Context, id, owner string) error {
	release, err := r.claim(id)
	if err != nil {
		return err
	}
	defer release()
	if _, err := r.FindUpload(ctx, id, owner); err != nil {
		return err
	}
	return r.dropUpload(ctx, id)
}

// dropUpload deletes an upload's parts, then its state.
func (r *Repository) dropUpload(ctx context.Context, id string) error {
	ctx = context.WithoutCancel(ctx)
	if err := r.parts.DeleteParts(ctx, id); err != nil {
		return err
	}
	return r.ustore.DeleteUpload(ctx, id)
}

// SweepUploads collects the uploads that expired: their parts and their state.
func (r *Repository) SweepUploads(ctx context.Context) (int, error) {
	if !r.Resumable() {
		return 0, nil
	}
	n := 0
	for {
		old, err := r.ustore.ExpiredUploads(ctx, r.now().UTC(), 100)
		if err != nil || len(old) == 0 {
			return n, err
		}
		for _, u := range old {
			if err := r.dropUpload(ctx, u.ID); err != nil {
				return n, err
			}
			n++
		}
	}
}

// chunkReader reads a PATCH body through the upload's SHA-256 and the chunk's
// checksum. It refuses to read past the upload's length (TooLarge: nothing of the
// chunk is kept), and ends at the client's read error as at EOF, noting it, so that
// what arrived is kept.
type chunkReader struct {
	r         io.Reader
	whole     hash.Hash
	sum       hash.Hash // nil without Upload-Checksum
	room      int64     // bytes the upload still takes
	n         int64
	cut       error // the client's read error
	overflown bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.cut != nil {
		return 0, io.EOF
	}
	if int64(len(p)) > c.room-c.n+1 {
		p = p[:c.room-c.n+1]
	}
	n, err := c.r.Read(p)
	if c.n+int64(n) > c.room {
		c.overflown = true
		return 0, restkit.Errorf(restkit.TooLarge, "the PATCH runs over the upload's declared length; nothing of it was kept")
	}
	c.n += int64(n)
	c.whole.Write(p[:n])
	if c.sum != nil {
		c.sum.Write(p[:n])
	}
	if err != nil && err != io.EOF {
		c.cut = err
		return n, io.EOF
	}
	return n, err
}

// WriteUpload takes one PATCH: Conflict when the offset is not the upload's (or a
// PATCH of it is in progress here), TooLarge when the chunk runs over the length,
// ChecksumMismatch when Upload-Checksum does not match. When the chunk completes the
// upload, the version is stored and returned too.
func (r *Repository) WriteUpload(ctx context.Context, id, owner string, c Chunk) (*restkit.PendingUpload, *restkit.Artefact, error) {
	release, err := r.claim(id)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	u, err := r.FindUpload(ctx, id, owner)
	if err != nil {
		return nil, nil, err
	}
	if u.Version != 0 || c.Offset != u.Offset {
		return nil, nil, &restkit.Error{Kind: restkit.Conflict, Message: "the upload is at offset " + strconv.FormatInt(u.Offset, 10) + ", not " + strconv.FormatInt(c.Offset, 10),
			Fields: []restkit.FieldError{{Field: "Upload-Offset", Message: "must be " + strconv.FormatInt(u.Offset, 10)}}}
	}
	room := u.Length - u.Offset
	if c.Length > room {
		return nil, nil, restkit.Errorf(restkit.TooLarge, "the PATCH is %d bytes; the upload takes %d more", c.Length, room)
	}
	whole := sha256.New()
	if err := whole.(encoding.BinaryUnmarshaler).UnmarshalBinary(u.Hash); err != nil {
		return nil, nil, restkit.Wrap("artefact.WriteUpload", err)
	}
	cr := &chunkReader{r: c.Body, whole: whole, room: room}
	if c.Checksum != nil {
		cr.sum = newChecksumHash(c.Checksum.Algorithm)
	}
	wctx := context.WithoutCancel(ctx) // what arrived is kept even when the client is gone
	part, n, err := r.parts.WritePart(wctx, u.ID, u.Offset, cr)
	if err != nil {
		return nil, nil, err
	}
	if err := r.checkChunk(cr, c); err != nil || (n == 0 && u.Length > 0) {
		_ = r.parts.DeletePart(wctx, u.ID, part)
		if err != nil {
			return nil, nil, err
		}
		return u, nil, nil // nothing arrived (an empty upload completes with an empty PATCH)
	}
	state, _ := whole.(encoding.BinaryMarshaler).MarshalBinary()
	if u.Offset+n < u.Length {
		next, err := r.ustore.AdvanceUpload(wctx, u.ID, u.Offset, part, n, state, r.now().UTC().Add(UploadTTL))
		if err != nil {
			_ = r.parts.DeletePart(wctx, u.ID, part)
			return nil, nil, err
		}
		return next, nil, nil
	}
	a, err := r.completeUpload(wctx, u, part, hex.EncodeToString(whole.Sum(nil)))
	if err != nil {
		return nil, nil, err
	}
	u.Offset, u.Version, u.Parts = u.Length, a.Version, nil
	return u, a, nil
}

// checkChunk checks a chunk that was read whole: its checksum, and that a chunk with
// a checksum arrived whole (a cut one cannot be checked).
func (r *Repository) checkChunk(cr *chunkReader, c Chunk) error {
	if c.Checksum == nil {
		return nil
	}
	if cr.cut != nil || (c.Length >= 0 && cr.n != c.Length) {
		return restkit.Errorf(restkit.Invalid, "the PATCH ended before all of its bytes arrived; nothing of it was kept")
	}
	if !bytes.Equal(cr.sum.Sum(nil), c.Checksum.Sum) {
		return restkit.Errorf(restkit.ChecksumMismatch, "the PATCH's bytes do not match its Upload-Checksum; nothing of it was kept")
	}
	return nil
}

// completeUpload commits the complete upload's blob and adds its version with the
// upload's completion. Before the commit a failure keeps the upload as it was (the
// client may send its last PATCH again); after it, the upload is thrown away, save
// when another PATCH completed it meanwhile.
func (r *Repository) completeUpload(ctx context.Context, u *restkit.PendingUpload, last, digest string) (*restkit.Artefact, error) {
	parts := append(append([]string{}, u.Parts...), last)
	if u.SHA256 != "" && u.SHA256 != digest {
		_ = r.dropUpload(ctx, u.ID)
		return nil, &restkit.Error{Kind: restkit.Invalid, Message: "the content does not match the checksum sent when the upload was created; nothing was stored",
			Fields: []restkit.FieldError{{Field: "sha256", Message: "expected " + u.SHA256 + ", received content has " + digest}}}
	}
	staged, err := r.parts.StageParts(ctx, u.ID, parts, u.Length, digest)
	if err != nil {
		_ = r.parts.DeletePart(ctx, u.ID, last)
		return nil, err
	}
	unlock, err := r.lock(ctx, digest)
	if err != nil {
		_ = staged.Abort()
		return nil, err
	}
	if err := staged.Commit(ctx); err != nil {
		unlock()
		_ = staged.Abort()
		return nil, err
	}
	name := u.Filename
	if name == "" {
		name = u.ArtefactID
	}
	ct := u.ContentType
	if !specific(ct) {
		if ct = typeByName(name); ct == "" {
			ct = "application/octet-stream"
		}
	}
	a := &restkit.Artefact{Directory: u.Directory, ID: u.ArtefactID, Size: u.Length, SHA256: digest, ContentType: ct, Filename: u.Filename, Updated: r.now().UTC()}
	stored, freed, err := r.ustore.CompleteUpload(ctx, u.ID, u.Offset, a, nil, r.policy.For(u.Directory).KeepVersions)
	if err != nil {
		r.freeLocked(ctx, digest)
	}
	unlock()
	if err != nil {
		// Unless another PATCH completed it meanwhile, the upload cannot go on: its
		// bytes may have become the blob, which nothing references.
		if cur, ferr := r.ustore.FindUpload(ctx, u.ID); ferr == nil && cur.Version == 0 {
			_ = r.dropUpload(ctx, u.ID)
		}
		return nil, err
	}
	r.freeAll(ctx, freed, digest)
	if err := r.parts.DeleteParts(ctx, u.ID); err != nil {
		r.log.Warn("deleting the parts of a complete upload failed; they go when it expires", "upload", u.ID, "error", err.Error())
	}
	return stored, nil
}
