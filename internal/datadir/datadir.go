// Package datadir owns restkit's data directory: it makes it private (0700) and
// holds an exclusive lock on DATA/lock for as long as a process works in it.
//
// Why a lock: at start a server empties DATA/tmp (half-received uploads) and
// collects blobs no version references. A second server started on a directory a
// live one uses would delete that server's uploads in progress, and blobs it is just
// about to reference: acknowledged uploads were lost this way. So every process that
// writes to a data directory (serve, and the offline commands that change it) takes
// the lock first, before it touches anything, and a second one is refused with the
// pid of the holder.
//
// The lock is an advisory lock on an open file (flock on Unix, LockFileEx on
// Windows): the kernel releases it when the process ends, however it ends, so a
// kill -9 never leaves a stale lock behind. The file keeps the holder's pid, for the
// refusal's message and for `restkit reload`, which signals that pid; the pid is
// written in place, padded to a fixed width, so that rewriting it on a full disk
// needs no new block.
package datadir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockName is the lock file's name inside the data directory.
const LockName = "lock"

// pidWidth is the width the pid is padded to (with spaces, then a newline).
const pidWidth = 20

// InUseError is the refusal of a second process: the directory is locked by pid
// (0 when the holder's pid cannot be read).
type InUseError struct {
	Dir string
	PID int
}

func (e *InUseError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("%s is in use by pid %d (another restkit serves it); stop that one first, or give this one another --data", e.Dir, e.PID)
	}
	return fmt.Sprintf("%s is in use by another process (restkit holds %s); stop that one first, or give this one another --data", e.Dir, filepath.Join(e.Dir, LockName))
}

// Dir is a locked data directory.
type Dir struct {
	Path string
	f    *os.File
}

// Open makes path (and its parents) if missing, with mode 0700, and takes the
// exclusive lock on path/lock without waiting: a directory locked by another
// process is an *InUseError and nothing in it is changed. Release the lock with
// Close.
func Open(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	lockPath := filepath.Join(path, LockName)
	// O_RDWR without O_TRUNC: opening must not change the file, which may belong to
	// a live server.
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", lockPath, err)
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			pid, _ := readPID(lockPath)
			return nil, &InUseError{Dir: path, PID: pid}
		}
		return nil, fmt.Errorf("locking %s: %w", lockPath, err)
	}
	d := &Dir{Path: path, f: f}
	// The pid is information, not the lock: failing to write it (a full disk) must
	// not stop a server that holds the lock.
	_ = d.writePID(os.Getpid())
	return d, nil
}

// hupMark follows the pid in the lock file of a process that reloads on SIGHUP.
const hupMark = "hup"

// writePID writes pid at the start of the lock file, padded to pidWidth so that a
// rewrite fits in the block the file already has.
func (d *Dir) writePID(pid int) error { return d.writeLine(strconv.Itoa(pid)) }

// MarkReloadable records in the lock file that the holder reloads its config on
// SIGHUP, so that restkit reload signals it; a process without the mark (an embedder,
// restkit migrate) would be ended by the signal, and is left alone.
func (d *Dir) MarkReloadable() error {
	return d.writeLine(strconv.Itoa(os.Getpid()) + " " + hupMark)
}

func (d *Dir) writeLine(s string) error {
	line := s + strings.Repeat(" ", max(0, pidWidth-1-len(s))) + "\n"
	if _, err := d.f.WriteAt([]byte(line), 0); err != nil {
		return err
	}
	return d.f.Truncate(int64(len(line)))
}

// Close releases the lock. The file stays (removing it would race with a process
// that has just opened it to lock it).
func (d *Dir) Close() error {
	if d == nil || d.f == nil {
		return nil
	}
	err := unlockFile(d.f)
	if cerr := d.f.Close(); err == nil {
		err = cerr
	}
	d.f = nil
	return err
}

// Holder returns the pid recorded in path's lock file if a process holds the lock
// now, and 0 when none does (the directory is free). It takes the lock for an
// instant to find out, so it never reports a pid from a process long gone.
func Holder(path string) (int, error) {
	pid, _, err := holder(path)
	return pid, err
}

// ReloadableHolder is Holder, and whether the holder marked itself as reloading on
// SIGHUP (MarkReloadable).
func ReloadableHolder(path string) (int, bool, error) { return holder(path) }

func holder(path string) (int, bool, error) {
	lockPath := filepath.Join(path, LockName)
	f, err := os.OpenFile(lockPath, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		if errors.Is(err, errLocked) {
			return readLock(lockPath)
		}
		return 0, false, err
	}
	_ = unlockFile(f)
	return 0, false, nil
}

func readPID(lockPath string) (int, error) {
	pid, _, err := readLock(lockPath)
	return pid, err
}

// readLock reads the pid in the lock file, and whether it is marked reloadable.
func readLock(lockPath string) (int, bool, error) {
	b, err := os.ReadFile(lockPath)
	if err != nil {
		return 0, false, err
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false, fmt.Errorf("%s holds no pid", lockPath)
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return 0, false, fmt.Errorf("%s holds no pid", lockPath)
	}
	return pid, len(f) > 1 && f[1] == hupMark, nil
}

// errLocked is what lockFile returns when another process holds the lock.
var errLocked = errors.New("locked by another process")
