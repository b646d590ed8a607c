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
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/fsblob"
	"github.com/restkit/restkit/sqlite"
)

// Progress is told the total number of bytes a backup or a verification will read
// once it knows it, and returns where to count them as they are read (nil: nowhere).
type Progress func(total int64) io.Writer

// WriteOptions configure Write.
type WriteOptions struct {
	Data     string   // the data directory: restkit.db and blobs/
	TempDir  string   // where the database snapshot is made; "" is os.TempDir()
	Progress Progress // nil: no progress
	Now      func() time.Time

	afterSnapshot func() // tests: runs between the snapshot and the copy
}

// Summary is what a backup holds.
type Summary struct {
	DatabaseBytes int64
	Blobs         int64
	BlobBytes     int64
}

// CheckData refuses a directory that holds no restkit database.
func CheckData(dir string) error {
	if fi, err := os.Stat(filepath.Join(dir, DatabaseName)); err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("%s holds no restkit database (%s)", dir, DatabaseName)
	}
	return nil
}

// pageSize is how many digests are read from the database at once.
const pageSize = 1000

// small is a member read whole before the archive is written: the keys.
type small struct {
	name string
	data []byte
}

// Write writes a backup of the data directory o.Data to w (see the package
// documentation for its form and for why it is consistent while a server writes).
// It fails, and w then holds no complete backup, when the directory holds no
// database, when a blob the database references is missing or does not hash to its
// name (the data directory is damaged: restkit verify says more), or when w fails.
func Write(ctx context.Context, w io.Writer, o WriteOptions) (Summary, error) {
	var sum Summary
	if err := CheckData(o.Data); err != nil {
		return sum, err
	}
	src := filepath.Join(o.Data, DatabaseName)
	blobs, err := fsblob.Open(o.Data)
	if err != nil {
		return sum, err
	}
	release, err := blobs.Pin(ctx) // before the snapshot: see the package documentation
	if err != nil {
		return sum, fmt.Errorf("pinning the blobs: %w", err)
	}
	defer release()
	tmp, err := os.MkdirTemp(o.TempDir, ".restkit-backup-")
	if err != nil {
		return sum, fmt.Errorf("making a place for the database snapshot: %w", err)
	}
	defer os.RemoveAll(tmp)
	snap := filepath.Join(tmp, DatabaseName)
	if err := sqlite.Snapshot(ctx, src, snap); err != nil {
		return sum, fmt.Errorf("taking a snapshot of the database: %w", err)
	}
	db, err := sqlite.OpenSnapshot(snap)
	if err != nil {
		return sum, err
	}
	defer db.Close()
	if o.afterSnapshot != nil {
		o.afterSnapshot()
	}
	a := &archive{ctx: ctx, tw: tar.NewWriter(w), blobs: blobs, db: db, now: time.Now}
	if o.Now != nil {
		a.now = o.Now
	}
	if err := a.plan(o.Data, snap); err != nil {
		return sum, err
	}
	if o.Progress != nil {
		a.count = o.Progress(a.sum.DatabaseBytes + a.sum.BlobBytes)
	}
	if err := a.write(snap); err != nil {
		return sum, err
	}
	return a.sum, nil
}

// archive is one backup being written.
type archive struct {
	ctx      context.Context
	tw       *tar.Writer
	blobs    *fsblob.Store
	db       *sqlite.SnapshotFile
	now      func() time.Time
	count    io.Writer // progress; nil: none
	sum      Summary
	dbSHA256 string
	keys     []small
	buf      []byte
}

// plan reads what the manifest needs before the archive starts: the snapshot's size
// and sum, the keys, and how many blobs the snapshot references (which fixes the
// manifest's length: every blob line is as long as the next).
func (a *archive) plan(data, snap string) error {
	var err error
	if a.dbSHA256, a.sum.DatabaseBytes, err = hashFile(snap); err != nil {
		return err
	}
	for _, name := range keyFiles {
		b, err := os.ReadFile(filepath.Join(data, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		a.keys = append(a.keys, small{name, b})
	}
	return a.eachBlob(func(b restkit.BlobRef) error {
		a.sum.Blobs++
		a.sum.BlobBytes += b.Size
		return nil
	})
}

// eachBlob calls fn with every blob the snapshot references, in digest order.
func (a *archive) eachBlob(fn func(restkit.BlobRef) error) error {
	return eachReferenced(a.ctx, a.db, fn)
}

func (a *archive) write(snap string) error {
	if err := a.writeManifest(); err != nil {
		return err
	}
	if err := a.writeFile(DatabaseName, snap, a.dbSHA256); err != nil {
		return err
	}
	for _, k := range a.keys {
		if err := a.header(k.name, int64(len(k.data))); err != nil {
			return err
		}
		if _, err := a.tw.Write(k.data); err != nil {
			return err
		}
	}
	a.buf = make([]byte, 256<<10)
	if err := a.eachBlob(a.writeBlob); err != nil {
		return err
	}
	return a.tw.Close()
}

func (a *archive) header(name string, size int64) error {
	return a.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o600,
		ModTime: a.now().UTC().Truncate(time.Second), Format: tar.FormatUSTAR})
}

// writeManifest writes the manifest, the blob lines streamed from the snapshot.
func (a *archive) writeManifest() error {
	var head strings.Builder
	head.WriteString(manifestLine(a.dbSHA256, DatabaseName))
	for _, k := range a.keys {
		s := sha256.Sum256(k.data)
		head.WriteString(manifestLine(hex.EncodeToString(s[:]), k.name))
	}
	if err := a.header(ManifestName, int64(head.Len())+a.sum.Blobs*blobLineLen); err != nil {
		return err
	}
	if _, err := io.WriteString(a.tw, head.String()); err != nil {
		return err
	}
	n := int64(0)
	err := a.eachBlob(func(b restkit.BlobRef) error {
		n++
		_, err := io.WriteString(a.tw, manifestLine(b.SHA256, blobMember(b.SHA256)))
		return err
	})
	if err == nil && n != a.sum.Blobs { // the snapshot is immutable: never
		err = fmt.Errorf("the snapshot listed %d blobs, then %d", a.sum.Blobs, n)
	}
	return err
}

// writeFile writes a local file (the snapshot) whose sum is known.
func (a *archive) writeFile(name, path, sum string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if err := a.header(name, fi.Size()); err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.Copy(a.out(h), f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return fmt.Errorf("the snapshot changed while it was copied")
	}
	return nil
}

// writeBlob copies one blob into the archive, checking that its content still
// hashes to its name.
func (a *archive) writeBlob(b restkit.BlobRef) error {
	if err := a.ctx.Err(); err != nil {
		return err
	}
	r, err := a.blobs.Open(a.ctx, b.SHA256)
	if restkit.IsKind(err, restkit.NotFound) {
		return fmt.Errorf("blob %s, which the database references, is missing from the data directory: it is damaged (restkit verify lists every missing and corrupt blob)", b.SHA256)
	}
	if err != nil {
		return err
	}
	defer r.Close()
	if err := a.header(blobMember(b.SHA256), r.Size()); err != nil {
		return err
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(a.out(h), io.LimitReader(r, r.Size()), a.buf); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != b.SHA256 {
		return fmt.Errorf("blob %s is corrupt on disk (its content hashes to %s): the data directory is damaged (restkit verify lists every missing and corrupt blob)", b.SHA256, got)
	}
	return nil
}

// out is where a member's bytes go: the archive, h, and the progress.
func (a *archive) out(h io.Writer) io.Writer {
	if a.count == nil {
		return io.MultiWriter(a.tw, h)
	}
	return io.MultiWriter(a.tw, h, a.count)
}

func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
