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
	// Properties are the version's key/value strings (build=142). Stores fill them
	// only where a method says so (LoadProperties); nil means none, or not loaded.
	Properties map[string]string
}

// Path is the artefact's whole path: its directory, a slash, its id.
func (a *Artefact) Path() string { return a.Directory + "/" + a.ID }

// DirectoryInfo summarises one directory of the repository and everything below it.
type DirectoryInfo struct {
	Name      string    // its last segment
	Path      string    // its whole path ("org/app"); Name at the top level
	Artefacts int64     // artefacts (not versions) in it and below it
	Size      int64     // bytes of their latest versions
	Updated   time.Time // the newest version stored in it or below it
}

// SubdirectoryQuery lists the immediate subdirectories of a directory, by name.
type SubdirectoryQuery struct {
	Prefix string // only names starting with it
	Desc   bool   // by name, descending
	After  string // the name after which the page starts (keyset), "" for the first page
	Limit  int    // 0: no limit
}

// SubdirectoryPage is one page of subdirectory names.
type SubdirectoryPage struct {
	Names []string
	More  bool
}

// VersionKey names one version: the keyset position of searches and of a walk.
type VersionKey struct {
	Directory, ID string
	Version       int64
}

// PropertyQuery finds the versions whose properties hold every pair of Match.
type PropertyQuery struct {
	Match map[string]string
	After *VersionKey // the last version of the previous page; nil for the first
	Limit int         // 0: no limit
}

// VersionUse is a version with the last time it was downloaded (zero: never, as far
// as the store knows), for cleanup policies.
type VersionUse struct {
	*Artefact
	Downloaded time.Time
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
	//
	// A path names an artefact or a directory, never both: Conflict when a.Path() is
	// a directory (an artefact is stored below it) or when an ancestor of it is an
	// artefact.
	AddVersion(ctx context.Context, a *Artefact, check ArtefactCheck, keep int) (*Artefact, []string, error)

	// FindArtefact returns one version; version 0 means the latest.
	FindArtefact(ctx context.Context, dir, id string, version int64) (*Artefact, error)

	// ListVersions returns every version of an artefact, newest first.
	ListVersions(ctx context.Context, dir, id string) ([]*Artefact, error)

	// ListArtefacts returns a page of the latest versions in a directory.
	ListArtefacts(ctx context.Context, dir string, q ArtefactQuery) (*ArtefactPage, error)

	// ListDirectories returns the top-level directories, by name, each with the totals
	// of everything below it.
	ListDirectories(ctx context.Context) ([]*DirectoryInfo, error)

	// ListSubdirectories returns a page of the names of the immediate subdirectories
	// of dir ("" for the top level): the directories that hold an artefact somewhere
	// below them.
	ListSubdirectories(ctx context.Context, dir string, q SubdirectoryQuery) (*SubdirectoryPage, error)

	// SetProperties replaces the properties of one version (0: the latest) and returns
	// it with them. NotFound when the version does not exist.
	SetProperties(ctx context.Context, dir, id string, version int64, props map[string]string) (*Artefact, error)

	// LoadProperties fills the Properties of each version (an empty map for none).
	LoadProperties(ctx context.Context, as []*Artefact) error

	// FindByProperties returns a page of the versions, in any directory, whose
	// properties hold every pair of q.Match, by directory, id and version.
	FindByProperties(ctx context.Context, q PropertyQuery) ([]*Artefact, bool, error)

	// RecordDownload notes that a version was downloaded at t (for cleanup by last
	// download). A version that does not exist (any more) is not an error.
	RecordDownload(ctx context.Context, dir, id string, version int64, t time.Time) error

	// WalkVersions returns a page of every version of the repository, by directory and
	// id and then newest first, after the version after (nil: from the start), each with
	// its last download.
	WalkVersions(ctx context.Context, after *VersionKey, limit int) ([]*VersionUse, error)

	// FindByDigest returns every version, in any directory, with that content.
	FindByDigest(ctx context.Context, sha256 string) ([]*Artefact, error)

	// DeleteArtefacts deletes one version (version > 0), a whole artefact (id != "",
	// version 0) or a whole directory with everything below it (id == ""), and returns
	// the digests no version references any more.
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

// PendingUpload is a resumable upload (tus 1.0) under way: what was declared when it
// was created, and how far it has come. Its bytes are parts in a PartStore; its state
// is in an UploadStore, so any node can continue it and a restart keeps its offset.
type PendingUpload struct {
	ID         string // random, URL-safe
	Owner      string // who created it ("" when authentication is off): only they may continue it
	Directory  string
	ArtefactID string
	Length     int64    // the declared length (Upload-Length)
	Offset     int64    // the bytes received and kept
	Parts      []string // the PartStore's names of the parts received, in order
	Hash       []byte   // the SHA-256 state (encoding.BinaryMarshaler) of the first Offset bytes
	SHA256     string   // the digest the creator claimed for the whole content, or ""
	// ContentType and Filename are the creator's (Upload-Metadata filetype, filename).
	ContentType string
	Filename    string
	Metadata    string    // the Upload-Metadata header as sent, echoed by HEAD
	Version     int64     // the version stored when complete; 0 while under way
	Created     time.Time // when it was created
	Expires     time.Time // when it is collected unless it moves on
}

// UploadStore keeps the state of resumable uploads. Errors are *Error: NotFound for
// an unknown upload; Conflict for an offset that is no longer the upload's.
type UploadStore interface {
	CreateUpload(ctx context.Context, u *PendingUpload) error
	FindUpload(ctx context.Context, id string) (*PendingUpload, error)
	// AdvanceUpload records a part of n bytes received at offset from, with the hash
	// state after it, and moves the expiry: Conflict unless the upload is still at
	// from and not complete.
	AdvanceUpload(ctx context.Context, id string, from int64, part string, n int64, hash []byte, expires time.Time) (*PendingUpload, error)
	// CompleteUpload adds a as a version (as AddVersion does, with check and keep) and
	// marks the upload complete with it, in one transaction: Conflict unless the
	// upload is still at from and not complete.
	CompleteUpload(ctx context.Context, id string, from int64, a *Artefact, check ArtefactCheck, keep int) (*Artefact, []string, error)
	DeleteUpload(ctx context.Context, id string) error
	// ExpiredUploads returns up to limit uploads whose expiry is before t.
	ExpiredUploads(ctx context.Context, t time.Time, limit int) ([]*PendingUpload, error)
}

// PartStore is a BlobStore that also keeps the parts of resumable uploads until
// they are complete (an optional ability, found by type assertion).
type PartStore interface {
	// WritePart stores what r yields, to its end, as the part of upload that starts
	// at offset (the upload's bytes from offset on are replaced), and returns the
	// part's name and length. A failure keeps nothing of the part.
	WritePart(ctx context.Context, upload string, offset int64, r io.Reader) (part string, n int64, err error)
	// DeletePart throws away a part that was written but not recorded.
	DeletePart(ctx context.Context, upload, part string) error
	// StageParts stages the parts, in order (size bytes whose SHA-256 is sha256,
	// as the caller hashed them on the way in), as a blob to commit.
	StageParts(ctx context.Context, upload string, parts []string, size int64, sha256 string) (StagedBlob, error)
	// DeleteParts removes every part of an upload (an absent upload is no error).
	DeleteParts(ctx context.Context, upload string) error
}
