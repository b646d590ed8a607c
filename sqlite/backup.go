package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/restkit/restkit"
)

var _ restkit.BlobReferrer = (*Store)(nil)

// Snapshot writes a consistent copy of the database file src to dst, which must not
// exist, with VACUUM INTO: the copy is made inside one read transaction of a
// connection of its own, so it is the database as one commit left it, while a live
// server (another process, which Snapshot neither locks out nor waits for: WAL lets
// readers and the writer go on together) keeps writing. No sqlite3 binary is needed.
// dst is made 0600 and is an ordinary rollback-journal database file.
//
// Errors: NotFound when src does not exist; Invalid for a path holding '?' (read as
// URI parameters); Internal otherwise.
func Snapshot(ctx context.Context, src, dst string) error {
	const op = "sqlite.Snapshot"
	if strings.ContainsRune(src, '?') || strings.HasPrefix(src, "file:") {
		return restkit.Errorf(restkit.Invalid, "sqlite: %q is not a database file path", src)
	}
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return restkit.Errorf(restkit.NotFound, "there is no database at %s", src)
	}
	db, err := sql.Open("sqlite", src+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return wrap(op, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		_ = os.Remove(dst)
		return wrap(op, fmt.Errorf("VACUUM INTO: %w", err))
	}
	if err := os.Chmod(dst, 0o600); err != nil {
		return wrap(op, err)
	}
	return nil
}

// ReferencedBlobs lists the blobs artefact versions reference (see
// restkit.BlobReferrer), a page at a time from the reader pool.
func (s *Store) ReferencedBlobs(ctx context.Context, after string, limit int) ([]restkit.BlobRef, error) {
	return referencedBlobs(ctx, s.r, after, limit)
}

// SnapshotFile is a database file opened read-only and immutable: a Snapshot, which
// nothing writes. Reading it changes none of its bytes.
type SnapshotFile struct{ db *sql.DB }

var _ restkit.BlobReferrer = (*SnapshotFile)(nil)

// OpenSnapshot opens a snapshot file (see SnapshotFile). NotFound when it does not
// exist.
func OpenSnapshot(path string) (*SnapshotFile, error) {
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, restkit.Errorf(restkit.NotFound, "there is no database at %s", path)
		}
		return nil, wrap("sqlite.OpenSnapshot", err)
	}
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) + "?mode=ro&immutable=1"
	db, err := sql.Open("sqlite", uri)
	if err != nil {
		return nil, wrap("sqlite.OpenSnapshot", err)
	}
	return &SnapshotFile{db: db}, nil
}

// ReferencedBlobs lists the blobs the snapshot's artefact versions reference.
func (f *SnapshotFile) ReferencedBlobs(ctx context.Context, after string, limit int) ([]restkit.BlobRef, error) {
	return referencedBlobs(ctx, f.db, after, limit)
}

// Close closes the file.
func (f *SnapshotFile) Close() error { return f.db.Close() }

func referencedBlobs(ctx context.Context, db *sql.DB, after string, limit int) ([]restkit.BlobRef, error) {
	rows, err := db.QueryContext(ctx, `SELECT sha256, max(size) FROM _restkit_artefact_versions
		WHERE sha256 > ? GROUP BY sha256 ORDER BY sha256 LIMIT ?`, after, limit)
	if err != nil {
		return nil, wrap("sqlite.ReferencedBlobs", err)
	}
	defer rows.Close()
	var out []restkit.BlobRef
	for rows.Next() {
		var b restkit.BlobRef
		if err := rows.Scan(&b.SHA256, &b.Size); err != nil {
			return nil, wrap("sqlite.ReferencedBlobs", err)
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("sqlite.ReferencedBlobs", err)
	}
	return out, nil
}
