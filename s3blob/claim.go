package s3blob

import (
	"bytes"
	"context"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/restkit/restkit"
)

// Claim marks the prefix as the blob store of one metadata store, named by owner
// (an id the metadata store keeps), or checks that it already is. The collection of
// unreferenced blobs at start asks the metadata store which blobs are referenced:
// a node whose metadata is another (its own SQLite, say, while the other nodes
// share PostgreSQL) would find every other node's blob unreferenced and delete it.
// So a prefix another store has claimed is refused, with the way out in the message.
func (s *Store) Claim(ctx context.Context, owner string) error {
	const op = "s3blob.Claim"
	key := strings.TrimSuffix(s.blobs, "blobs/") + "owner" // PREFIX/owner
	obj, err := s.client.GetObject(ctx, s.cfg.Bucket, key, minio.GetObjectOptions{})
	if err == nil {
		var got []byte
		got, err = io.ReadAll(io.LimitReader(obj, 256))
		obj.Close()
		if err == nil {
			if have := strings.TrimSpace(string(got)); have != owner {
				return &restkit.Error{Kind: restkit.Invalid, Op: op,
					Message: "the S3 prefix " + s.cfg.String() + " holds the blobs of another restkit store (owner " + have + ", this node's store is " + owner + "): " +
						"give every node that shares a prefix the same --postgres, or give this one a prefix of its own"}
			}
			return nil
		}
	}
	if !isNotFound(err) {
		return s.fail(op, ctx, err)
	}
	if _, err := s.client.PutObject(ctx, s.cfg.Bucket, key, bytes.NewReader([]byte(owner+"\n")), int64(len(owner)+1),
		minio.PutObjectOptions{ContentType: "text/plain"}); err != nil {
		return s.fail(op, ctx, err)
	}
	return nil
}
