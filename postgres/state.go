package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/restkit/restkit"
)

// The server's own state (restkit.StateStore): one row per name, shared by every node.
const stateSQL = `
CREATE TABLE IF NOT EXISTS _restkit_state (name text COLLATE "C" PRIMARY KEY, value bytea NOT NULL);
`

var _ restkit.StateStore = (*Store)(nil)

// ReadState returns the value called name (restkit.StateStore).
func (s *Store) ReadState(ctx context.Context, name string) ([]byte, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM _restkit_state WHERE name = $1`, name).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return v, wrap("postgres.ReadState", err)
}

// WriteState changes the value called name in one transaction holding the name's
// advisory lock, so that writers on every node run one after the other even while
// the row does not exist yet.
func (s *Store) WriteState(ctx context.Context, name string, change func(cur []byte) ([]byte, error)) ([]byte, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.WriteState"
	return retried(ctx, func() ([]byte, error) {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return nil, wrap(op, err)
		}
		defer tx.Rollback(ctx)
		if err := lock(ctx, tx, s.lockKey("state", name)); err != nil {
			return nil, wrap(op, err)
		}
		var cur []byte
		if err := tx.QueryRow(ctx, `SELECT value FROM _restkit_state WHERE name = $1`, name).Scan(&cur); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, wrap(op, err)
		}
		next, err := change(cur)
		if err != nil {
			return nil, err
		}
		if next == nil {
			_, err = tx.Exec(ctx, `DELETE FROM _restkit_state WHERE name = $1`, name)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO _restkit_state (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, next)
		}
		if err != nil {
			return nil, wrap(op, err)
		}
		return next, wrap(op, tx.Commit(ctx))
	})
}
