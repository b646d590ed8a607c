// Package fsblob is the embedded restkit.BlobStore: content-addressed blobs as plain
// files under one directory of the data directory, no service to run.
//
// # Layout
//
//	DIR/blobs/ab/cd/abcd…(64 hex digits)   a committed blob, named by its SHA-256
//	DIR/tmp/stage-*                        a blob being staged, or left by a crash
//	DIR/uploads/<upload>                   the bytes a resumable upload received (parts.go)
//
// The two fan-out levels (the first two byte pairs of the digest) keep every
// directory small: 65,536 leaf directories hold millions of blobs with a few dozen
// entries each. tmp/ and blobs/ are under the same directory, hence on the same
// filesystem, so moving a stage into place is a rename, never a copy. Directories
// are created 0700 and files 0600: only the server's user reads artefacts, which may
// be access-controlled at the HTTP layer.
//
// # Writing: stage, commit, abort
//
// Stage creates a temporary file in tmp/ and copies the reader into it through a
// SHA-256 hasher, one 256 KiB chunk at a time with a buffer taken from a pool, so a
// stage uses the same memory whether the upload is 1 KiB or 1 TiB. Between chunks it
// checks the context, and it reads at most limit+1 bytes: one byte over the limit is
// enough to refuse the upload with TooLarge. On any failure — a reader error, a
// cancelled context, the limit, a full disk (InsufficientStorage) — the temporary
// file is closed and removed before Stage returns, so a failed stage keeps nothing.
// Once the reader is exhausted the file is fsynced and closed; the returned
// StagedBlob knows its path, digest and size.
//
// Commit makes the blob visible under its digest:
//
//  1. create blobs/ab and blobs/ab/cd if needed, fsyncing the parent of each
//     directory it creates, so the path survives a crash;
//  2. if blobs/ab/cd/<digest> exists, the content is already there — the file name
//     is the hash of its bytes — so remove the temporary file (this is the
//     deduplication: identical content is stored once, however often it is
//     uploaded); otherwise rename the temporary file onto that path;
//  3. fsync blobs/ab/cd, so the directory entry, and with it the blob, is durable
//     before Commit returns. (On the dedup path too: the existing file may have
//     been renamed in by a concurrent commit that has not fsynced yet.)
//
// A Delete that empties blobs/ab/cd removes that directory; a commit whose rename
// fails because the directory vanished in between recreates it and tries again.
//
// Abort removes the temporary file. Commit and Abort are idempotent; Abort after
// Commit does nothing, Commit after Abort is an error.
//
// # Crash safety
//
// A reader finds a blob only through its final name, and that name appears in one
// step: rename(2) is atomic, so the name refers either to nothing or to the whole
// file. The file's bytes were fsynced before the rename, so after a power loss the
// name cannot refer to a file whose data blocks never reached the disk; the fsync of
// the directory after the rename makes the name itself durable before Commit
// reports success, and so before the caller records a reference to it. A crash
// therefore leaves, for any digest, either no blob or the whole one:
//
//   - during Stage or before the rename: only a file in tmp/, invisible to Open and
//     List, removed by Clean at the next start;
//   - after the rename but before the directory fsync: the blob is there whole, or,
//     if the rename did not reach the disk, absent (and its temporary file may be
//     back in tmp/, for Clean);
//   - after Commit, before the caller recorded a reference: a whole blob that nothing
//     references, which the artefact repository's collection finds with List and
//     deletes.
//
// # Reading, deleting, listing
//
// Open validates the digest — exactly 64 lowercase hex digits, else Invalid —
// before it builds a path, so no input reaches the filesystem unchecked; an absent
// blob is NotFound. The reader is an *os.File behind a small type (Read, Seek, ReadAt,
// Close, Size), so ranges are a seek and concurrent readers share nothing. A blob
// deleted while open stays readable through the open reader (the inode lives until
// it is closed).
//
// Delete removes the file (an absent one is not an error), then tries to remove the
// now possibly empty fan-out directories, ignoring failures: a directory still in use
// is simply not empty.
//
// List walks blobs/ level by level, in ascending digest order, and reports every file
// whose name is a valid digest in the right fan-out directory; anything else is
// skipped. It reads each directory before calling fn for its entries, so fn may
// Delete the blobs it is given.
//
// Clean removes everything in tmp/. It is meant for start-up, before stages begin: a
// stage it removes fails at Commit and publishes nothing.
//
// # Errors
//
// Client-facing errors are *restkit.Error with kinds Invalid, NotFound, TooLarge and
// InsufficientStorage, and messages that never contain a path or an operating-system
// error. Anything else is Internal (restkit.Wrap), with the cause kept for the log. A
// cancelled context gives an Internal error that wraps ctx.Err(), so
// errors.Is(err, context.Canceled) holds.
package fsblob
