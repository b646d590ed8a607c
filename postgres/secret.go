package postgres

import (
	"context"
	"crypto/rand"
)

// Secret returns the secret called name, making it (size random bytes) the first
// time any node asks: every node that shares the database gets the same value. It
// keeps what must agree across nodes and is no record, such as the key that signs
// paging cursors (a cursor made by one node must be accepted by the next).
func (s *Store) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.Secret"
	fresh := make([]byte, size)
	_, _ = rand.Read(fresh)
	// The first insert wins; everyone then reads the winner's value.
	if _, err := s.pool.Exec(ctx, `INSERT INTO _restkit_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, fresh); err != nil {
		return nil, wrap(op, err)
	}
	var value []byte
	if err := s.pool.QueryRow(ctx, `SELECT value FROM _restkit_secrets WHERE name = $1`, name).Scan(&value); err != nil {
		return nil, wrap(op, err)
	}
	return value, nil
}
