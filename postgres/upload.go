package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

var _ restkit.UploadStore = (*Store)(nil)

// CreateUpload records a new resumable upload.
func (s *Store) CreateUpload(ctx context.Context, u *restkit.PendingUpload) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(u.Owner, u.Directory, u.ArtefactID, u.ContentType, u.Filename, u.Metadata) {
		return restkit.Errorf(restkit.Invalid, "upload names and metadata must be valid UTF-8 without NUL characters")
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO _restkit_artefact_uploads (`+sqlstore.UploadColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`, sqlstore.UploadValues(u)...)
	return wrap("postgres.CreateUpload", err)
}

// FindUpload returns an upload.
func (s *Store) FindUpload(ctx context.Context, id string) (*restkit.PendingUpload, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(id) {
		return nil, sqlstore.UploadNotFound(id)
	}
	u, err := sqlstore.ScanUpload(s.pool.QueryRow(ctx, `SELECT `+sqlstore.UploadColumns+` FROM _restkit_artefact_uploads WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, sqlstore.UploadNotFound(id)
	}
	return u, wrap("postgres.FindUpload", err)
}

// uploadAt reads and locks an upload in tx: Conflict unless it is at from and not
// complete.
func uploadAt(ctx context.Context, tx querier, id string, from int64) (*restkit.PendingUpload, error) {
	u, err := sqlstore.ScanUpload(tx.QueryRow(ctx, `SELECT `+sqlstore.UploadColumns+` FROM _restkit_artefact_uploads WHERE id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, sqlstore.UploadNotFound(id)
	}
	if err != nil {
		return nil, wrap("postgres.uploadAt", err)
	}
	if u.Offset != from || u.Version != 0 {
		return nil, sqlstore.UploadConflict(id)
	}
	return u, nil
}

// AdvanceUpload records a part, if the upload is still at from (on any node: the
// row is locked).
func (s *Store) AdvanceUpload(ctx context.Context, id string, from int64, part string, n int64, hash []byte, expires time.Time) (*restkit.PendingUpload, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.AdvanceUpload"
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer tx.Rollback(ctx)
	u, err := uploadAt(ctx, tx, id, from)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE _restkit_artefact_uploads SET received = $1, parts = $2, hash = $3, expires = $4 WHERE id = $5`,
		from+n, sqlstore.AppendPart(u.Parts, part), hash, sqlstore.FormatTime(expires), id); err != nil {
		return nil, wrap(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, wrap(op, err)
	}
	u.Offset, u.Parts, u.Hash, u.Expires = from+n, append(u.Parts, part), hash, expires
	return u, nil
}

// CompleteUpload adds the version and marks the upload complete, in one transaction.
func (s *Store) CompleteUpload(ctx context.Context, id string, from int64, a *restkit.Artefact, check restkit.ArtefactCheck, keep int) (*restkit.Artefact, []string, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.CompleteUpload"
	if !storable(a.Directory, a.ID, a.SHA256, a.ContentType, a.Filename) {
		return nil, nil, restkit.Errorf(restkit.Invalid, "artefact names and types must be valid UTF-8 without NUL characters")
	}
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	defer tx.Rollback(ctx)
	if _, err := uploadAt(ctx, tx, id, from); err != nil {
		return nil, nil, err
	}
	out, pruned, err := s.addVersionTx(ctx, tx, a, check, keep)
	if err != nil {
		return nil, nil, err
	}
	if _, err := tx.Exec(ctx, `UPDATE _restkit_artefact_uploads SET received = length, version = $1, parts = '[]', hash = '\x' WHERE id = $2`,
		out.Version, id); err != nil {
		return nil, nil, wrap(op, err)
	}
	if err := s.commit(ctx, tx); err != nil {
		return nil, nil, wrap(op, err)
	}
	freed, _ := unreferenced(context.WithoutCancel(ctx), s.pool, pruned)
	return out, freed, nil
}

// DeleteUpload forgets an upload.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	if !storable(id) {
		return nil
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM _restkit_artefact_uploads WHERE id = $1`, id)
	return wrap("postgres.DeleteUpload", err)
}

// ExpiredUploads returns up to limit uploads that expired before t.
func (s *Store) ExpiredUploads(ctx context.Context, t time.Time, limit int) ([]*restkit.PendingUpload, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rows, err := s.pool.Query(ctx, `SELECT `+sqlstore.UploadColumns+` FROM _restkit_artefact_uploads WHERE expires < $1 ORDER BY expires LIMIT $2`,
		sqlstore.FormatTime(t), int64(limit))
	if err != nil {
		return nil, wrap("postgres.ExpiredUploads", err)
	}
	defer rows.Close()
	out, err := sqlstore.Collect(rows, nil, sqlstore.ScanUpload)
	return out, wrap("postgres.ExpiredUploads", err)
}

// TryLockJob takes the cluster-wide lock of a job (the artefact cleanup) unless
// another node holds it: ok is false then. The lock is a session advisory lock on a
// connection of the lock pool, released by unlock, or by PostgreSQL if the node dies.
func (s *Store) TryLockJob(ctx context.Context, job string) (unlock func(), ok bool, err error) {
	const op = "postgres.TryLockJob"
	pool, err := s.lockPool(ctx)
	if err != nil {
		return nil, false, wrap(op, err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, false, wrap(op, err)
	}
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, s.lockKey("job", job)).Scan(&ok); err != nil || !ok {
		if err != nil {
			_ = conn.Conn().Close(context.Background())
		}
		conn.Release()
		return nil, false, wrap(op, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var released bool
		if err := conn.QueryRow(ctx, `SELECT pg_advisory_unlock($1)`, s.lockKey("job", job)).Scan(&released); err != nil || !released {
			_ = conn.Conn().Close(context.Background())
		}
		conn.Release()
	}, true, nil
}
