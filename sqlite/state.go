package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/restkit/restkit"
)

// The server's own state (restkit.StateStore): one row per name.
const stateSQL = `
CREATE TABLE IF NOT EXISTS _restkit_state (
	name  TEXT PRIMARY KEY,
	value BLOB NOT NULL
) STRICT, WITHOUT ROWID;
`

var _ restkit.StateStore = (*Store)(nil)

// ReadState returns the value called name (restkit.StateStore).
func (s *Store) ReadState(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.r.QueryRowContext(ctx, `SELECT value FROM _restkit_state WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, wrap("sqlite.ReadState", err)
}

// WriteState changes the value called name in one write transaction (the single
// writer connection serialises them).
func (s *Store) WriteState(ctx context.Context, name string, change func(cur []byte) ([]byte, error)) ([]byte, error) {
	const op = "sqlite.WriteState"
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer tx.Rollback()
	var cur []byte
	if err := tx.QueryRowContext(ctx, `SELECT value FROM _restkit_state WHERE name = ?`, name).Scan(&cur); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, wrap(op, err)
	}
	next, err := change(cur)
	if err != nil {
		return nil, err
	}
	if next == nil {
		_, err = tx.ExecContext(ctx, `DELETE FROM _restkit_state WHERE name = ?`, name)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO _restkit_state (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, next)
	}
	if err != nil {
		return nil, wrap(op, err)
	}
	return next, wrap(op, tx.Commit())
}
