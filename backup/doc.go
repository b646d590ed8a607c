// Package backup writes, restores and verifies backups of a restkit data directory
// (SQLite and files), and verifies the blobs of any deployment.
//
// # The archive
//
// A backup is one tar stream (POSIX ustar), members in this order:
//
//	MANIFEST.sha256            "<sha256>  <name>" per following member, in order
//	restkit.db                 a snapshot of the database
//	cursor.key, store.id       the data directory's keys, when present
//	blobs/ab/cd/<sha256>       every blob the snapshot's artefact versions reference
//
// The manifest comes first, in the format sha256sum writes, so that `tar x` then
// `sha256sum -c MANIFEST.sha256` checks an extracted backup without restkit, and so
// that Restore knows, before it writes a byte, what each member must hash to and
// which members must follow: it checks every member against the manifest as it
// streams by, and a tar cut short ends before the manifest's last member, which is
// how truncation is told from a complete backup. First is possible because every sum
// is known before the members are written: a blob's name is its digest, and the
// snapshot is a local file hashed once before it is sent. The manifest lists the
// blobs in digest order, the order Write sends them and the store pages them in, so
// both Write and Restore need memory for one page of digests, whatever the size of
// the backup: Write streams each member from disk through a fixed buffer, and
// Restore compares the tar with the manifest in lockstep.
//
// # Consistency while the server writes
//
// Write takes no lock on the data directory: the server goes on serving and writing.
// The database is copied with SQLite's VACUUM INTO (sqlite.Snapshot), which reads in
// one transaction: the snapshot is the database as one commit left it. The blobs are
// those the snapshot references, not the live database: an artefact deleted after
// the snapshot is still in the backup, with its content.
//
// That content must still be on disk when Write gets to it, although the live server
// deletes the blobs nothing references any more, at once and at every start. So
// Write pins the blob store (fsblob.Store.Pin, an exclusive file lock) before the
// snapshot and releases it after the last blob: a deletion that began before the pin
// ends before the snapshot, which therefore does not reference its blob (the server
// deletes a blob only after the commit that stopped referencing it, under a digest
// lock that also keeps uploads from referencing it again meanwhile), and every
// deletion during the pin is refused and left to the next start's collection. A blob
// the snapshot references is therefore on disk from the snapshot to its copy.
// Uploads go on meanwhile: they add blobs, which the snapshot does not reference.
//
// # Restore
//
// Restore writes only into a new or empty directory, under the directory's lock (the
// one serve takes, internal/datadir), and stages everything in a hidden directory
// inside it, hashing each member as it is written; only when every member matched
// the manifest and the stream ended where the manifest does are the files moved into
// place. A truncated, tampered or foreign archive is refused with what is wrong and
// leaves the directory as it found it (a directory Restore made is removed again).
//
// # Verify
//
// Verify reads every blob the metadata store references from the blob store — files
// or S3 — hashes it and compares digest and size, reporting each that is missing or
// corrupt. A blob found missing is looked up again before it is reported: a live
// server may have deleted its last version meanwhile.
package backup
