package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

var _ restkit.UploadStore = (*Store)(nil)

// CreateUpload records a new resumable upload.
func (s *Store) CreateUpload(ctx context.Context, u *restkit.PendingUpload) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO _restkit_artefact_uploads (`+sqlstore.UploadColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, sqlstore.UploadValues(u)...)
	return wrap("sqlite.CreateUpload", err)
}

// FindUpload returns an upload.
func (s *Store) FindUpload(ctx context.Context, id string) (*restkit.PendingUpload, error) {
	u, err := sqlstore.ScanUpload(s.r.QueryRowContext(ctx, `SELECT `+sqlstore.UploadColumns+` FROM _restkit_artefact_uploads WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sqlstore.UploadNotFound(id)
	}
	return u, wrap("sqlite.FindUpload", err)
}

// AdvanceUpload records a part, if the upload is still at from.
func (s *Store) AdvanceUpload(ctx context.Context, id string, from int64, part string, n int64, hash []byte, expires time.Time) (*restkit.PendingUpload, error) {
	const op = "sqlite.AdvanceUpload"
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer tx.Rollback()
	u, err := uploadAt(ctx, tx, id, from)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE _restkit_artefact_uploads SET received = ?, parts = ?, hash = ?, expires = ? WHERE id = ?`,
		from+n, sqlstore.AppendPart(u.Parts, part), hash, sqlstore.FormatTime(expires), id); err != nil {
		return nil, wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, wrap(op, err)
	}
	u.Offset, u.Parts, u.Hash, u.Expires = from+n, append(u.Parts, part), hash, expires
	return u, nil
}

// uploadAt reads an upload in tx: Conflict unless it is at from and not complete.
func uploadAt(ctx context.Context, tx *sql.Tx, id string, from int64) (*restkit.PendingUpload, error) {
	u, err := sqlstore.ScanUpload(tx.QueryRowContext(ctx, `SELECT `+sqlstore.UploadColumns+` FROM _restkit_artefact_uploads WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, sqlstore.UploadNotFound(id)
	}
	if err != nil {
		return nil, wrap("sqlite.uploadAt", err)
	}
	if u.Offset != from || u.Version != 0 {
		return nil, sqlstore.UploadConflict(id)
	}
	return u, nil
}

// CompleteUpload adds the version and marks the upload complete, in one transaction.
func (s *Store) CompleteUpload(ctx context.Context, id string, from int64, a *restkit.Artefact, check restkit.ArtefactCheck, keep int) (*restkit.Artefact, []string, error) {
	const op = "sqlite.CompleteUpload"
	tx, release, err := s.durableTx(ctx)
	if err != nil {
		return nil, nil, wrap(op, err)
	}
	defer release()
	defer tx.Rollback()
	u, err := uploadAt(ctx, tx, id, from)
	if err != nil {
		return nil, nil, err
	}
	out, freed, err := s.addVersionTx(ctx, tx, a, check, keep)
	if err != nil {
		return nil, nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE _restkit_artefact_uploads SET received = length, version = ?, parts = '[]', hash = x'' WHERE id = ?`,
		out.Version, u.ID); err != nil {
		return nil, nil, wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, wrap(op, err)
	}
	s.notify.Notify()
	return out, freed, nil
}

// DeleteUpload forgets an upload.
func (s *Store) DeleteUpload(ctx context.Context, id string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM _restkit_artefact_uploads WHERE id = ?`, id)
	return wrap("sqlite.DeleteUpload", err)
}

// ExpiredUploads returns up to limit uploads that expired before t.
func (s *Store) ExpiredUploads(ctx context.Context, t time.Time, limit int) ([]*restkit.PendingUpload, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+sqlstore.UploadColumns+` FROM _restkit_artefact_uploads WHERE expires < ? ORDER BY expires LIMIT ?`,
		sqlstore.FormatTime(t), limit)
	if err != nil {
		return nil, wrap("sqlite.ExpiredUploads", err)
	}
	defer rows.Close()
	out, err := sqlstore.Collect(rows, nil, sqlstore.ScanUpload)
	return out, wrap("sqlite.ExpiredUploads", err)
}
