package restkit

import (
	"context"
	"io"
	"time"
)

// Artefact is one immutable version of a stored file in a directory of the artefact
// repository. Content lives in a BlobStore under its SHA-256; the metadata here lives
// in an ArtefactStore.
type Artefact struct {
	Directory   string
	ID          string
	Version     int64 // 1, 2, 3…; never reused, even after the artefact is deleted and made again
	Size        int64
	SHA256      string // lowercase hex
	ContentType string
	Filename    string    // the client's file name (multipart uploads), else ""
	Created     time.Time // when the artefact's first version was stored
	Updated     time.Time // when this version was stored
}

// DirectoryInfo summarises one directory of the repository.
type DirectoryInfo struct {
	Name      string
	Artefacts int64     // artefacts (not versions) in it
	Size      int64     // bytes of their latest versions
	Updated   time.Time // the newest version stored in it
}

// ArtefactQuery lists the latest versions of a directory's artefacts.
type ArtefactQuery struct {
	Prefix string // only ids starting with it
	Sort   string // "name" (default), "updated" or "size"; "-" prefix for descending
	Limit  int    // 0: no limit
	After  *ArtefactCursor
}

// ArtefactCursor is the keyset position of a listing: the sort value and id of the
// last artefact seen.
type ArtefactCursor struct {
	Value any // string for name, time.Time for updated, int64 for size
	ID    string
}

// ArtefactPage is one page of a directory listing.
type ArtefactPage struct {
	Artefacts []*Artefact
	More      bool
}

// ArtefactCheck decides whether a new version may be added, given the latest version
// (nil when the artefact does not exist): it returns nil to go on, or the error to
// answer with (Conflict for a create-only push, PreconditionFailed for a stale If-Match).
type ArtefactCheck func(latest *Artefact) error

// ArtefactStore keeps artefact metadata. Every method is atomic. Errors are *Error:
// NotFound for an absent directory, artefact or version; what a check returned;
// Internal for anything else.
type ArtefactStore interface {
	// AddVersion stores a as the next version of a.Directory/a.ID (setting Version,
	// and Created from the first version) after check passed against the latest
	// version, inside one transaction. With keep > 0 it then deletes the oldest
	// versions beyond keep. It returns the stored version and the digests that no
	// version references any more (pruned content), for the caller to free.
	AddVersion(ctx context.Context, a *Artefact, check ArtefactCheck, keep int) (*Artefact, []string, error)

	// FindArtefact returns one version; version 0 means the latest.
	FindArtefact(ctx context.Context, dir, id string, version int64) (*Artefact, error)

	// ListVersions returns every version of an artefact, newest first.
	ListVersions(ctx context.Context, dir, id string) ([]*Artefact, error)

	// ListArtefacts returns a page of the latest versions in a directory.
	ListArtefacts(ctx context.Context, dir string, q ArtefactQuery) (*ArtefactPage, error)

	// ListDirectories returns every directory, by name.
	ListDirectories(ctx context.Context) ([]*DirectoryInfo, error)

	// FindByDigest returns every version, in any directory, with that content.
	FindByDigest(ctx context.Context, sha256 string) ([]*Artefact, error)

	// DeleteArtefacts deletes one version (version > 0), a whole artefact (id != "",
	// version 0) or a whole directory (id == ""), and returns the digests no version
	// references any more.
	DeleteArtefacts(ctx context.Context, dir, id string, version int64) ([]string, error)

	// Referenced reports whether any version has the digest.
	Referenced(ctx context.Context, sha256 string) (bool, error)
}

// BlobStore keeps content-addressed blobs: bytes named by their SHA-256, so
// identical content is stored once.
//
// Writing is two-phase so that a caller can hold a lock on the digest between making
// a blob visible and recording a reference to it: Stage streams into a temporary
// place while hashing, Commit publishes the blob under its digest (atomically: a
// reader sees all of it or nothing), Abort throws it away.
type BlobStore interface {
	// Stage reads r to its end into a temporary blob, hashing it. Beyond limit bytes
	// (limit > 0) it stops and returns TooLarge, keeping nothing.
	Stage(ctx context.Context, r io.Reader, limit int64) (StagedBlob, error)

	// Open returns the blob with the digest for reading at any offset; NotFound
	// when absent.
	Open(ctx context.Context, sha256 string) (BlobReader, error)

	// Delete removes a blob; deleting an absent blob is not an error.
	Delete(ctx context.Context, sha256 string) error

	// List calls fn with the digest of every committed blob.
	List(ctx context.Context, fn func(sha256 string) error) error

	// Clean removes what interrupted stages left behind (after a crash).
	Clean(ctx context.Context) error
}

// StagedBlob is a blob written and hashed but not yet visible.
type StagedBlob interface {
	SHA256() string // lowercase hex
	Size() int64
	Commit(ctx context.Context) error
	Abort() error
}

// BlobReader reads one blob.
type BlobReader interface {
	io.ReadSeekCloser
	Size() int64
}
