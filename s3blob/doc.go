// Package s3blob is the scale-out restkit.BlobStore: content-addressed blobs as
// objects in an S3-compatible bucket (AWS S3, MinIO, versitygw, Ceph RGW, …),
// through github.com/minio/minio-go/v7, so that any number of restkit nodes share
// one store of artefact content.
//
// # Naming a store
//
//	s3://ACCESS:SECRET@HOST:PORT/BUCKET[/PREFIX…][?PARAMS]
//
//	s3://AKIA…:wJalr…@s3.eu-west-1.amazonaws.com/artefacts/prod?region=eu-west-1
//	s3://restkit:secret@127.0.0.1:7070/restkit?insecure=true
//
// The path is the bucket and, after it, an optional key prefix under which the
// store keeps everything, so that several stores (or other data) can share a
// bucket. The access and secret keys are percent-decoded: a secret holding '/',
// '+' or '@' must be written %2F, %2B, %40. A URL without them takes them from
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN). Parameters:
//
//	insecure=true       plain http (default https)
//	region=NAME         the bucket's region (default: asked of the server)
//	virtual_host=true   bucket.host addressing (default path style, host/bucket,
//	                    which every S3-compatible server and IP address takes)
//	part_size=16MiB     the part size of uploads (5MiB–5GiB, default 16MiB)
//	stale_after=24h     the age from which Clean removes a stage (0: any age)
//
// An unknown parameter is an error, not a silent default. Open creates the bucket
// when it is missing; Store.String gives the URL without the credentials, for logs;
// Store.Ping checks that the server answers and the bucket is there, for /readyz.
//
// # Layout
//
//	PREFIX/blobs/ab/cd/abcd…(64 hex digits)   a committed blob, named by its SHA-256
//	PREFIX/staging/<32 random hex digits>     a stage, or what a crash left of one
//	PREFIX/uploads/<upload>/<offset>-<random> a part of a resumable upload (parts.go)
//
// The layout is fsblob's, as keys: the name of a blob is the hash of its bytes, so
// every node that uploads the same content names it alike and it is stored once,
// whichever nodes uploaded it and however often. S3 has no directories to keep
// small, but the fan-out costs nothing, keeps listings in digest order, and lets
// a posix-backed gateway such as versitygw keep its directories small as fsblob
// does. No key is a prefix of another, which such gateways need too.
//
// # Writing: stage, commit, abort
//
// The S3 equivalent of fsblob's temporary file and rename is a staging object and
// a server-side copy.
//
// Stage streams the reader to a new staging object under a random name while
// hashing it, in the same pass: nothing is read twice, nothing is buffered whole.
// It first reads up to 1 MiB into a pooled buffer; content that ends there goes up
// in one PUT of known size. Longer content goes up with minio-go's PutObject of
// unknown size (-1): a multipart upload that reads one part (part_size, 16 MiB by
// default) into memory, uploads it, and reads the next. As in fsblob, the reader
// is read at most limit+1 bytes, the context is checked on every read, and a
// failure of any kind — the limit (TooLarge), a reader error, a cancelled context,
// a full store (InsufficientStorage) — keeps nothing: minio-go aborts the
// multipart upload, and a PUT that completed before the failure was found is
// deleted. (The reader's errors reach minio-go disguised, so that it cannot take a
// truncated body's io.ErrUnexpectedEOF for the end of the stream.) S3 takes at
// most 10,000 parts: at 16 MiB a stage takes 156 GiB at most (TooLarge beyond),
// and a Stage whose limit is larger uses larger parts for that upload.
//
// Commit publishes the blob under its digest:
//
//  1. a HEAD of PREFIX/blobs/ab/cd/<digest>: if a blob of the right size is there,
//     the content is already stored — by this node or another — and nothing is
//     copied (the deduplication); a blob of the wrong size is damaged and replaced;
//  2. otherwise a server-side CopyObject from the staging object to that key (the
//     bytes do not come back through the node), or, beyond S3's 5 GiB limit for
//     one copy, a multipart copy (ComposeObject, UploadPartCopy); the source must
//     still have the ETag the upload gave it;
//  3. the staging object is deleted; if that fails the blob is published anyway,
//     and Clean collects the staging object later.
//
// Two nodes committing the same content at once both copy; S3 keeps the last
// complete write, and both wrote the same bytes. Abort deletes the staging object.
// Commit and Abort are idempotent; Abort after Commit does nothing, Commit after
// Abort is an error.
//
// # Crash safety
//
// A reader finds a blob only through its content key, and S3 makes an object
// visible only once a PUT, a copy or a multipart completion has finished: the key
// refers to nothing or to the whole object, never to part of it. The copy's source
// is a staging object that was complete and hashed before Commit began. So a
// crash of a node at any instant leaves, for any digest, no blob or the whole one:
//
//   - during Stage: a multipart upload that never completed (invisible, but its
//     parts take space) or a staging object, both under PREFIX/staging/;
//   - during Commit: the same staging object, and the blob either absent or whole;
//   - after Commit, before the caller recorded a reference: a whole blob that
//     nothing references, which the artefact repository's collection finds with
//     List and deletes.
//
// Durability is the server's: S3 answers a PUT or a copy once the object is
// stored, so there is nothing to fsync.
//
// Clean removes the staging objects and the multipart uploads under
// PREFIX/staging/ that are older than stale_after (24h by default). Unlike
// fsblob's, the staging area is shared: when a node starts and cleans, others may
// be in the middle of uploads, and a young stage may be one of theirs. A stage
// older than any upload takes is garbage. (Ages are the server's timestamps
// against this node's clock: keep clocks within minutes.) Between restarts,
// garbage waits: a bucket lifecycle rule that aborts incomplete multipart uploads
// and expires PREFIX/staging/ after a few days collects it without restkit.
// stale_after=0 removes every stage, as fsblob does: only for a store that one
// node uses alone.
//
// # Reading, deleting, listing
//
// Open validates the digest — exactly 64 lowercase hex digits, else Invalid —
// before it builds a key, and asks for the object's size with a HEAD: NotFound
// when absent. The reader it returns fetches bytes only when they are read, with
// ranged GETs: the first after Open or a Seek asks for 1 MiB from the position,
// each following one, while reading goes on in order, twice as much as the last,
// up to 64 MiB. Seek asks nothing. So http.ServeContent answers a HEAD with no
// GET, a Range with one small GET, and a whole download with a handful of large
// ones (a 1 GiB blob: 22), each read through as it arrives; a window left unread
// closes its connection and the server stops sending. ReadAt asks for exactly the
// bytes it reads, and may be called concurrently. The requests run under the
// context given to Open: the reader is good while it lasts. Unlike fsblob's open
// file, a reader whose blob is deleted meanwhile fails at its next GET.
//
// Delete deletes the object (an absent one is not an error). List pages through
// ListObjects of PREFIX/blobs/, in key order and so in digest order, and reports
// every key that is a valid digest in the right fan-out; anything else is skipped.
// Each page continues after the last key of the one before, so fn may Delete the
// blobs it is given.
//
// # Memory
//
// A stage holds its pooled 1 MiB buffer and, for content longer than that,
// minio-go's one part buffer (16 MiB by default) for the length of the upload: the
// same for 2 MiB as for 100 GiB. Over plain http minio-go also signs each 64 KiB
// chunk of a part, which makes a little short-lived garbage per chunk (about a
// tenth of the bytes sent). A reader holds nothing but the response it is reading.
//
// # Several nodes
//
// Blobs are shared; the locks of the artefact repository, which keep a Delete of
// unreferenced content from racing a commit of the same content and the reference
// recorded after it, are per process. Two nodes can still race: node A commits
// content that is already there, while node B, finding it unreferenced, deletes
// it before A records its reference. Making that impossible needs a lock shared by
// the nodes (Redis) or a grace period before unreferenced content is deleted.
//
// # Errors
//
// Client-facing errors are *restkit.Error with kinds Invalid, NotFound, TooLarge,
// InsufficientStorage (the server's InsufficientStorage, XMinioStorageFull or
// QuotaExceeded) and Unavailable (no answer, or SlowDown / 503), with messages
// that never hold a key, a URL or a credential. Anything else is Internal
// (restkit.Wrap), with the cause kept for the log. A cancelled context gives an
// Internal error that wraps ctx.Err(), so errors.Is(err, context.Canceled) holds.
//
// versitygw's posix backend, which stores keys as files in directories and
// removes the directories that deletes leave empty, answers a PUT or a copy
// whose directory another request removed meanwhile with the non-S3 code
// ExistingObjectIsDirectory. No key here is a prefix of another, so the code
// means only that race: Stage and Commit retry such a request, a few times.
package s3blob
