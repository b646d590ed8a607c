package postgres

import (
	"context"

	"github.com/restkit/restkit"
)

var _ restkit.BlobReferrer = (*Store)(nil)

// ReferencedBlobs lists the blobs artefact versions reference (see
// restkit.BlobReferrer), a page at a time.
func (s *Store) ReferencedBlobs(ctx context.Context, after string, limit int) ([]restkit.BlobRef, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT sha256, max(size) FROM _restkit_artefact_versions
		WHERE sha256 > $1 GROUP BY sha256 ORDER BY sha256 LIMIT $2`, after, limit)
	if err != nil {
		return nil, wrap("postgres.ReferencedBlobs", err)
	}
	defer rows.Close()
	var out []restkit.BlobRef
	for rows.Next() {
		var b restkit.BlobRef
		if err := rows.Scan(&b.SHA256, &b.Size); err != nil {
			return nil, wrap("postgres.ReferencedBlobs", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("postgres.ReferencedBlobs", err)
	}
	return out, nil
}
