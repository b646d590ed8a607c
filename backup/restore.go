package backup

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/restkit/restkit/internal/datadir"
)

// maxManifest bounds the manifest member (about 7 million blobs).
const maxManifest = 1 << 30

// Restore reads a backup from r into the data directory dir, which must not exist or
// be empty, and takes the directory's lock while it works (a server must not start
// on it halfway). It checks every member against the manifest before anything is
// moved into place (see the package documentation); a backup that is truncated,
// tampered with or not a restkit backup is refused with what is wrong, and dir is
// left as Restore found it.
func Restore(ctx context.Context, r io.Reader, dir string) (sum Summary, err error) {
	t, err := claim(dir)
	if err != nil {
		return sum, err
	}
	defer func() { err = errors.Join(err, t.release(err == nil)) }()
	stage, err := os.MkdirTemp(dir, ".restore-")
	if err != nil {
		return sum, err
	}
	t.stage = stage
	rs := &restoring{ctx: ctx, tr: tar.NewReader(r), stage: stage, buf: make([]byte, 256<<10)}
	if err := rs.read(); err != nil {
		return sum, fmt.Errorf("the backup was not restored: %w; nothing was written to %s", err, dir)
	}
	if err := t.commit(); err != nil {
		return sum, err
	}
	return rs.sum, nil
}

// target is the directory a restore writes, held under its lock.
type target struct {
	dir          string
	made, locked bool // Restore made the directory / the lock file
	lock         *datadir.Dir
	stage        string
}

// claim checks that dir is new or empty, takes its lock and checks again.
func claim(dir string) (*target, error) {
	t := &target{dir: dir}
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		t.made = true
	case err != nil:
		return nil, err
	case !fi.IsDir():
		return nil, fmt.Errorf("%s is not a directory", dir)
	}
	if err := empty(dir); err != nil {
		return nil, err
	}
	_, err := os.Stat(filepath.Join(dir, datadir.LockName))
	t.locked = errors.Is(err, fs.ErrNotExist)
	if t.lock, err = datadir.Open(dir); err != nil {
		return nil, err
	}
	if err := empty(dir); err != nil { // another restore got there between the two looks
		_ = t.release(false)
		return nil, err
	}
	return t, nil
}

// empty refuses a directory that holds anything but its lock file.
func empty(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.Name() != datadir.LockName {
			names = append(names, e.Name())
		}
	}
	if len(names) > 0 {
		if len(names) > 3 {
			names = append(names[:3], "…")
		}
		return fmt.Errorf("%s is not empty (it holds %s): restore writes only into a new or empty directory, so that it never mixes two data directories", dir, strings.Join(names, ", "))
	}
	return nil
}

// commit moves the staged files into place and makes them durable.
func (t *target) commit() error {
	entries, err := os.ReadDir(t.stage)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.Name() == ManifestName {
			continue
		}
		if err := os.Rename(filepath.Join(t.stage, e.Name()), filepath.Join(t.dir, e.Name())); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(t.stage); err != nil {
		return err
	}
	t.stage = ""
	return syncDir(t.dir)
}

// release drops the stage and the lock; after a failure it also removes what
// Restore made (the directory, or the lock file), leaving dir as it was.
func (t *target) release(ok bool) error {
	if t.stage != "" {
		_ = os.RemoveAll(t.stage)
	}
	err := t.lock.Close()
	switch {
	case ok:
	case t.made:
		err = errors.Join(err, os.RemoveAll(t.dir))
	case t.locked:
		err = errors.Join(err, os.Remove(filepath.Join(t.dir, datadir.LockName)))
	}
	return err
}

// restoring is one archive being read into a stage.
type restoring struct {
	ctx      context.Context
	tr       *tar.Reader
	stage    string
	manifest *manifestReader
	sum      Summary
	members  int
	buf      []byte
}

// read reads the manifest, then each member in the manifest's order, and checks that
// the archive ends where the manifest does.
func (rs *restoring) read() error {
	hdr, err := rs.tr.Next()
	switch {
	case errors.Is(err, io.EOF):
		return errors.New("it is empty")
	case err != nil:
		return fmt.Errorf("it is not a tar archive (%v)", err)
	case hdr.Name != ManifestName:
		return fmt.Errorf("it is not a restkit backup: its first member is %q, not %s", hdr.Name, ManifestName)
	case hdr.Typeflag != tar.TypeReg || hdr.Size > maxManifest:
		return fmt.Errorf("its %s is not a manifest", ManifestName)
	}
	path := filepath.Join(rs.stage, ManifestName)
	if _, err := rs.writeFile(path, hdr.Name); err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rs.manifest = newManifestReader(f)
	for {
		want, more, err := rs.manifest.next()
		if err != nil {
			return err
		}
		if err := rs.member(want, more); err != nil || !more {
			return err
		}
	}
}

// member reads the member the manifest lists next (more false: the manifest has
// ended, and so must the archive).
func (rs *restoring) member(want entry, more bool) error {
	if err := rs.ctx.Err(); err != nil {
		return err
	}
	hdr, err := rs.tr.Next()
	switch {
	case errors.Is(err, io.EOF) && !more:
		return nil
	case errors.Is(err, io.EOF):
		return fmt.Errorf("it is truncated: it ends after %d members, before %s, which its manifest lists", rs.members, want.name)
	case err != nil:
		return fmt.Errorf("it is truncated or damaged after %d members (%v)", rs.members, err)
	case !more:
		return fmt.Errorf("it holds %q, which its manifest does not list", hdr.Name)
	case hdr.Name != want.name:
		return fmt.Errorf("it holds %q where its manifest lists %s", hdr.Name, want.name)
	case hdr.Typeflag != tar.TypeReg:
		return fmt.Errorf("its member %s is not a regular file", hdr.Name)
	}
	path := filepath.Join(rs.stage, filepath.FromSlash(want.name))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	got, err := rs.writeFile(path, want.name)
	if err != nil {
		return err
	}
	if got != want.sum {
		return fmt.Errorf("it was altered: %s has sha256 %s, but its manifest says %s", want.name, got, want.sum)
	}
	rs.members++
	switch {
	case want.name == DatabaseName:
		rs.sum.DatabaseBytes = hdr.Size
	case strings.HasPrefix(want.name, "blobs/"):
		rs.sum.Blobs++
		rs.sum.BlobBytes += hdr.Size
	}
	return nil
}

// writeFile writes the current member to path (0600, fsynced) and returns its sum.
func (rs *restoring) writeFile(path, name string) (string, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	_, err = io.CopyBuffer(io.MultiWriter(f, h), rs.tr, rs.buf)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("it is truncated: it ends inside %s", name)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return hex.EncodeToString(h.Sum(nil)), err
}

// syncDir makes a directory's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
