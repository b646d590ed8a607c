package fsblob

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/restkit/restkit"
)

// Resumable uploads (restkit.PartStore). An upload's bytes are one file,
// DIR/uploads/<upload>, outside tmp/ so that Clean leaves it across restarts. A part
// is written by cutting the file back to the part's offset (dropping whatever a
// failed or unrecorded write left after it) and appending, then fsynced: the bytes up
// to the offset the metadata store recorded are always on disk. Only one part of an
// upload is written at a time: the repository serialises them in this process, and a
// data directory belongs to one process. Staging the parts moves the file into tmp/
// (Abort moves it back), so a complete upload becomes its blob without a copy.

var _ restkit.PartStore = (*Store)(nil)

// uploadPath is the file of an upload, whose id must pass checkUploadID.
func (s *Store) uploadPath(upload string) string { return filepath.Join(s.uploads, upload) }

// checkUploadID refuses ids that are not 1 to 64 letters, digits, - or _.
func checkUploadID(id string) error {
	ok := id != "" && len(id) <= 64
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_'
	}
	if !ok {
		return restkit.Errorf(restkit.Invalid, "an upload id is 1 to 64 letters, digits, - or _")
	}
	return nil
}

// WritePart writes r to the upload's file from offset on and fsyncs it. A read error
// of r cuts the file back to offset and is returned.
func (s *Store) WritePart(ctx context.Context, upload string, offset int64, r io.Reader) (string, int64, error) {
	const op = "fsblob.WritePart"
	if err := checkUploadID(upload); err != nil {
		return "", 0, err
	}
	f, err := os.OpenFile(s.uploadPath(upload), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return "", 0, writeError(op, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", 0, restkit.Wrap(op, err)
	}
	if fi.Size() < offset {
		return "", 0, restkit.Errorf(restkit.NotFound, "the bytes this upload received are gone; start it again")
	}
	if err := f.Truncate(offset); err != nil {
		return "", 0, writeError(op, err)
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return "", 0, restkit.Wrap(op, err)
	}
	n, _, err := copyHashed(ctx, f, r, 0)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		_ = f.Truncate(offset)
		return "", 0, writeError(op, err)
	}
	return strconv.FormatInt(offset, 10), n, nil
}

// DeletePart does nothing: the next write or the staging cuts the file back.
func (s *Store) DeletePart(ctx context.Context, upload, part string) error { return nil }

// StageParts moves the upload's file, cut to size, into tmp/ as a stage of the blob
// with the digest the caller computed; Abort moves it back.
func (s *Store) StageParts(ctx context.Context, upload string, parts []string, size int64, sha256 string) (restkit.StagedBlob, error) {
	const op = "fsblob.StageParts"
	if err := checkUploadID(upload); err != nil {
		return nil, err
	}
	if err := checkDigest(sha256); err != nil {
		return nil, err
	}
	src := s.uploadPath(upload)
	fi, err := os.Stat(src)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && fi.Size() < size) {
		return nil, restkit.Errorf(restkit.NotFound, "the bytes this upload received are gone; start it again")
	}
	if err != nil {
		return nil, restkit.Wrap(op, err)
	}
	if err := os.Truncate(src, size); err != nil {
		return nil, writeError(op, err)
	}
	dst := filepath.Join(s.tmp, "upload-"+upload)
	if err := os.Rename(src, dst); err != nil {
		return nil, restkit.Wrap(op, err)
	}
	return &staged{s: s, path: dst, digest: sha256, size: size, restore: src}, nil
}

// DeleteParts removes the upload's file.
func (s *Store) DeleteParts(ctx context.Context, upload string) error {
	if err := checkUploadID(upload); err != nil {
		return err
	}
	if err := os.Remove(s.uploadPath(upload)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return restkit.Wrap("fsblob.DeleteParts", err)
	}
	return nil
}
