package datadir

import (
	"context"
	"errors"
	"os"
	"time"
)

// ErrLocked is what TryShared returns while another holder has the lock exclusively.
var ErrLocked = errLocked

// OpenLockFile opens (creating, 0600) a file to lock with TryShared or Exclusive.
// It is not DATA/lock: these locks order work inside a directory (a backup's copy of
// the blobs against their deletion), they do not claim the directory.
func OpenLockFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}

// TryShared takes a shared lock on f without waiting: any number of holders may
// share it, and it is ErrLocked while one holds it exclusively. Release it with
// Unlock (or by closing f).
func TryShared(f *os.File) error { return lockShared(f) }

// Exclusive takes the exclusive lock on f, waiting while shared holders finish (they
// hold it for an instant: one file's deletion); it gives up with ctx's error.
func Exclusive(ctx context.Context, f *os.File) error {
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := lockFile(f)
		if !errors.Is(err, errLocked) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// Unlock releases a lock TryShared or Exclusive took.
func Unlock(f *os.File) error { return unlockFile(f) }
