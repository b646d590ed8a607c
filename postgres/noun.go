package postgres

import (
	"context"
	"errors"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
)

// A noun's state is restkit.EncodeState's JSON object, kept as text, not jsonb:
// JSON's escapes keep any string storable (jsonb refuses \u0000), and the store reads
// the object whole anyway.
const (
	nounFind  = `SELECT ` + sqlstore.NounColumns + ` FROM _restkit_nouns WHERE name = $1`
	nounWrite = `INSERT INTO _restkit_nouns (name, state, rev, created, updated) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (name) DO UPDATE SET state = excluded.state, rev = excluded.rev, created = excluded.created, updated = excluded.updated`
)

// FindNoun returns the stored state of a noun, NotFound when never written.
// Members whose field is no longer declared, or whose value no longer fits the
// field's type, are left out (the noun falls back to unset for them).
func (s *Store) FindNoun(ctx context.Context, n *restkit.Noun) (*restkit.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	rec, err := sqlstore.ScanNoun(s.pool.QueryRow(ctx, nounFind, n.StoreName), n)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, restkit.Errorf(restkit.NotFound, "%s has no stored state", n.Name)
		}
		return nil, wrap("postgres.FindNoun", err)
	}
	return rec, nil
}

// WriteNoun runs change on the noun's state (nil when never written) inside a
// transaction holding the noun's advisory lock, and stores the result, as
// WriteRecord does: concurrent writers on any node run one after the other, the
// first write included. The state is kept as a JSON object; datetimes as RFC 3339
// strings.
//
// Errors: a Change's error, unchanged; Unavailable when the database is busy;
// Internal for a nil result, a value of an undeclared field or of the wrong type, and
// database failures.
func (s *Store) WriteNoun(ctx context.Context, n *restkit.Noun, change restkit.Change) (*restkit.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.WriteNoun"
	tx, err := s.begin(ctx)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer tx.Rollback(ctx)
	tx.lockLater(s.lockKey("noun", n.StoreName)) // sent with the SELECT
	cur, err := sqlstore.ScanNoun(tx.QueryRow(ctx, nounFind+` FOR UPDATE`, n.StoreName), n)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		cur = nil
	case err != nil:
		return nil, wrap(op, err)
	}
	rec, err := sqlstore.ChangeNoun(op, n, cur, change)
	if err != nil {
		return nil, err
	}
	data, err := restkit.EncodeState(rec.Values)
	if err != nil {
		return nil, restkit.Wrap(op, err)
	}
	tx.later(func(err error) error { return wrap(op, err) }, nounWrite, n.StoreName, data, rec.Rev, sqlstore.FormatTime(rec.Created), sqlstore.FormatTime(rec.Updated))
	tx.noteState(n.StoreName, n.Name, cur, rec, data)
	if err := s.commit(ctx, tx); err != nil {
		return nil, wrap(op, err)
	}
	return rec, nil
}
