package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/restkit/restkit"
)

// Resumable uploads (restkit.PartStore). Each part is an object of its own,
// PREFIX/uploads/<upload>/<offset, 20 digits>-<random>, written like a stage (one
// pass, nothing buffered whole), so that any node can write the next part and two
// PATCHes racing at one offset never write the same object: the metadata store
// records one of them. Clean does not touch uploads/: the repository deletes an
// upload's parts when it completes, is terminated or expires.
//
// Staging the parts makes the blob without bringing the bytes back through the node
// when S3 allows it: one part is copied as it is at Commit; several are put together
// with a multipart copy (ComposeObject), which needs every part but the last to be
// at least 5 MiB. Smaller parts are read back and staged anew (constant memory, but
// the bytes cross the node once more).

var _ restkit.PartStore = (*Store)(nil)

// minComposePart is S3's smallest part of a multipart upload, the last one excepted.
const minComposePart = 5 << 20

func (s *Store) partKey(upload, part string) string { return s.uploads + upload + "/" + part }

// WritePart stores what r yields as a new part object.
func (s *Store) WritePart(ctx context.Context, upload string, offset int64, r io.Reader) (string, int64, error) {
	if err := checkUploadID(upload); err != nil {
		return "", 0, err
	}
	part := fmt.Sprintf("%020d-%s", offset, randomName()[:16])
	b, err := s.stageAt(ctx, r, 0, s.partKey(upload, part))
	if err != nil {
		return "", 0, err
	}
	return part, b.size, nil
}

// DeletePart removes a part that was not recorded.
func (s *Store) DeletePart(ctx context.Context, upload, part string) error {
	if err := checkUploadID(upload); err != nil {
		return err
	}
	s.removeQuietly(ctx, s.partKey(upload, part))
	return nil
}

// StageParts returns a stage of the parts put together (see the file's comment).
func (s *Store) StageParts(ctx context.Context, upload string, parts []string, size int64, digest string) (restkit.StagedBlob, error) {
	const op = "s3blob.StageParts"
	if err := checkUploadID(upload); err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, restkit.Wrap(op, errors.New("no parts"))
	}
	srcs := make([]minio.CopySrcOptions, len(parts))
	composable := len(parts) <= maxParts
	for i, p := range parts {
		srcs[i] = minio.CopySrcOptions{Bucket: s.cfg.Bucket, Object: s.partKey(upload, p)}
		if i < len(parts)-1 {
			info, err := s.client.StatObject(ctx, s.cfg.Bucket, srcs[i].Object, minio.StatObjectOptions{})
			if err != nil {
				return nil, s.fail(op, ctx, err)
			}
			composable = composable && info.Size >= minComposePart
		}
	}
	if len(parts) == 1 {
		info, err := s.client.StatObject(ctx, s.cfg.Bucket, srcs[0].Object, minio.StatObjectOptions{})
		if err != nil {
			return nil, s.fail(op, ctx, err)
		}
		return &staged{s: s, key: srcs[0].Object, etag: info.ETag, digest: digest, size: size, keep: true}, nil
	}
	key := s.staging + randomName()
	if composable {
		info, err := s.client.ComposeObject(ctx, minio.CopyDestOptions{Bucket: s.cfg.Bucket, Object: key}, srcs...)
		if err != nil {
			return nil, s.fail(op, ctx, err)
		}
		return &staged{s: s, key: key, etag: info.ETag, digest: digest, size: size}, nil
	}
	b, err := s.stageAt(ctx, &partsReader{ctx: ctx, s: s, srcs: srcs}, 0, key)
	if err != nil {
		return nil, err
	}
	if b.digest != digest || b.size != size {
		_ = b.Abort()
		return nil, restkit.Wrap(op, fmt.Errorf("the parts of upload %s hold %d bytes with sha256 %s, not %d with %s", upload, b.size, b.digest, size, digest))
	}
	return b, nil
}

// partsReader reads the parts one after the other, opening each when it comes.
type partsReader struct {
	ctx  context.Context
	s    *Store
	srcs []minio.CopySrcOptions
	cur  io.ReadCloser
}

func (p *partsReader) Read(b []byte) (int, error) {
	for {
		if p.cur == nil {
			if len(p.srcs) == 0 {
				return 0, io.EOF
			}
			obj, err := p.s.client.GetObject(p.ctx, p.s.cfg.Bucket, p.srcs[0].Object, minio.GetObjectOptions{})
			if err != nil {
				return 0, err
			}
			p.cur, p.srcs = obj, p.srcs[1:]
		}
		n, err := p.cur.Read(b)
		if err == io.EOF {
			p.cur.Close()
			p.cur = nil
			if n == 0 {
				continue
			}
			err = nil
		}
		return n, err
	}
}

// DeleteParts removes every part of an upload.
func (s *Store) DeleteParts(ctx context.Context, upload string) error {
	if err := checkUploadID(upload); err != nil {
		return err
	}
	for obj := range s.client.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.uploads + upload + "/", Recursive: true}) {
		if obj.Err != nil {
			return s.fail("s3blob.DeleteParts", ctx, obj.Err)
		}
		if err := s.client.RemoveObject(ctx, s.cfg.Bucket, obj.Key, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
			return s.fail("s3blob.DeleteParts", ctx, err)
		}
	}
	return nil
}

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
