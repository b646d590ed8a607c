//go:build !unix && !windows

package datadir

import (
	"errors"
	"os"
)

// lockFile cannot lock on this platform: refuse rather than run unprotected.
func lockFile(*os.File) error {
	return errors.New("this platform has no file locks; restkit cannot guard its data directory here")
}

// lockShared succeeds: without locks, nothing can hold one exclusively either.
func lockShared(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
