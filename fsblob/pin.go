package fsblob

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/datadir"
)

// PinName is the lock file, beside blobs/, that orders deletions against Pin.
const PinName = "blobs.lock"

// Pin stops every Delete on the directory — of this Store and of any other process
// that opened it — until release is called, and waits for deletions already under
// way to finish. A backup pins the blobs before it snapshots the database: a blob the
// snapshot references then stays on disk until the backup has copied it, however the
// live server deletes and collects meanwhile.
//
// A Delete refused by a pin is Unavailable and deletes nothing: the artefact
// repository logs it and leaves the blob for the next start's collection (an
// unreferenced blob costs only its space), so a backup never blocks a request.
// The lock is an advisory file lock (internal/datadir), released by the kernel if
// the holder dies.
func (s *Store) Pin(ctx context.Context) (release func(), err error) {
	const op = "fsblob.Pin"
	f, err := datadir.OpenLockFile(s.pin)
	if err != nil {
		return nil, restkit.Wrap(op, err)
	}
	if err := datadir.Exclusive(ctx, f); err != nil {
		_ = f.Close()
		return nil, restkit.Wrap(op, err)
	}
	return func() {
		_ = datadir.Unlock(f)
		_ = f.Close()
	}, nil
}

// unpinned takes the pin lock shared, for one deletion: Unavailable while a Pin holds
// it.
//
// Why the lock around the unlink alone is enough (the caller decided the blob is
// unreferenced before, under its digest lock, which also keeps any upload from
// referencing it again until the unlink is done): the one deletion a backup must not
// see is of a blob its snapshot references, which means the reference was dropped
// after the snapshot, hence after the Pin, so the unlink finds the lock held. A
// deletion that took the lock first ends before Pin returns, so before the snapshot,
// which then cannot reference the blob. Without a lock file no Pin was ever taken
// (Pin makes it and never removes it), and the same argument lets the deletion go on
// unguarded — which also keeps deletes working on a full disk, where the file could
// not be made.
func (s *Store) unpinned() (done func(), err error) {
	const op = "fsblob.Delete"
	f, err := os.OpenFile(s.pin, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, restkit.Wrap(op, err)
	}
	if err := datadir.TryShared(f); err != nil {
		_ = f.Close()
		if errors.Is(err, datadir.ErrLocked) {
			return nil, &restkit.Error{Kind: restkit.Unavailable, Op: op, Message: "a backup is copying the blobs; nothing is deleted until it ends"}
		}
		return nil, restkit.Wrap(op, err)
	}
	return func() { _ = f.Close() }, nil // closing releases the lock
}
