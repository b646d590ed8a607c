// Package artefact is restkit's artefact repository: directories of files with
// immutable versions, SHA-256 checksums and de-duplicated storage, on two small
// interfaces of the root package — a restkit.BlobStore for content (fsblob now, S3
// later) and a restkit.ArtefactStore for metadata (the SQLite store, beside the
// resources it already keeps).
//
// # Content-addressed blobs
//
// Content is stored once per distinct SHA-256, under its digest. A version's metadata
// row names its digest; many versions, in any directories, may name the same one. So
// a replace with unchanged bytes costs no disk, and "which artefacts contain this
// file?" is an index lookup (FindByDigest).
//
// # Writing a version (Repository.Put)
//
//  1. Limits are checked first: a declared length over max_size (413), a disk below
//     min_free (507), and the precondition (409/412) — so a refused upload reads
//     nothing of its file (a multipart body's form fields before the file are read,
//     bounded, to find it). Without a declared length, the free-space floor is
//     checked again every 8 MiB while the bytes arrive.
//  2. The body streams into BlobStore.Stage through a SHA-256 hasher, a fixed buffer at
//     a time: memory does not grow with the file. The first 3 KiB are kept to detect
//     the content type. Over max_size the stage stops (413) and keeps nothing.
//  3. A digest the client claimed (X-Checksum-Sha256, Content-Digest) that differs, or
//     a body shorter or longer than declared, aborts the stage: nothing is stored.
//  4. Under the digest's lock, the stage is committed (fsync, rename into place: the
//     blob appears whole or not at all) and the version row is added in one
//     transaction that re-checks the precondition and prunes beyond keep_versions.
//
// A crash before step 4's commit leaves only a temporary file; between the blob's
// rename and the row's commit, an unreferenced blob. Collect, run at start, removes
// both. Readers only ever find versions whose rows were committed, and those rows name
// blobs that were complete before the row existed: no reader can see a partial file.
//
// # Freeing content
//
// Deleting (or pruning) versions returns the digests no row references any more; each
// is then deleted under its lock after checking again that nothing references it. The
// lock is what makes this safe: without it, an upload of the same bytes could commit
// its blob (finding it already there) and then its row, just after the check and just
// before the delete, leaving a version whose content is gone. A blob kept by mistake
// (a failed delete) is only disk space, collected at the next start.
//
// The locks are in-process. Several nodes sharing one blob store need the check and
// the delete coordinated through the metadata store instead (the scale-out issue).
//
// # Names and paths
//
// CheckName is the one place names are judged (DESIGN §4): valid UTF-8, normalised to
// NFC so that a name typed on macOS (NFD) and on Linux (NFC) is the same artefact, 1 to
// 255 bytes, no slash, backslash, NUL or control characters, and not "." or "..".
// A directory is a path of 1 to MaxDepth (8) such names (CheckDirectory, DESIGN §14);
// an artefact's id is a name that is not one of the Reserved last segments (CheckID).
// A path names an artefact or a directory, never both: the stores refuse the second.
// Directory rules, retention and cleanup policies match globs over the whole path,
// covering the subtree below what they match (restkit.MatchDirectory).
//
// # The second level (DESIGN §14)
//
// Deploy makes a version of content the repository holds, by its digest, under the
// digest's lock, and only from versions the caller may read (deploy.go). Resumable
// uploads (uploads.go) keep their bytes as parts in a restkit.PartStore and their
// state, with the SHA-256 state of the bytes so far, in a restkit.UploadStore; the
// last part commits the blob and adds the version in one transaction with the
// upload's completion. Properties are key/value strings on a version (browse.go).
// Cleanup policies (cleanup.go) walk every version and delete what they select, one
// node at a time (JobLocker).
//
// # Where versions are written
//
// Every version is added by the store's AddVersion (or CompleteUpload, which wraps
// the same transaction), pruning included; every delete on request — DELETE, cleanup
// policies — goes through deleteAndFree and the store's DeleteArtefacts. A change log
// written in those two transactions sees every change of the repository's versions.
package artefact
