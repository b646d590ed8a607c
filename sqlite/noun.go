package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

// FindNoun returns the stored state of a noun, NotFound when never written.
// Members whose field is no longer declared, or whose value no longer fits the
// field's type, are left out (the noun falls back to unset for them).
func (s *Store) FindNoun(ctx context.Context, n *restkit.Noun) (*restkit.Record, error) {
	rec, err := sqlstore.ScanNoun(s.nounFind.QueryRowContext(ctx, n.StoreName), n)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, restkit.Errorf(restkit.NotFound, "%s has no stored state", n.Name)
		}
		return nil, wrap("sqlite.FindNoun", err)
	}
	return rec, nil
}

// WriteNoun runs change on the noun's state (nil when never written) inside a
// write transaction and stores the result, as WriteRecord does (group commit included).
// The state is kept as a JSON object; datetimes as RFC 3339 strings.
//
// Errors: a Change's error, unchanged; Internal for a nil result, a value of an
// undeclared field or of the wrong type, and database failures.
func (s *Store) WriteNoun(ctx context.Context, n *restkit.Noun, change restkit.Change) (*restkit.Record, error) {
	const op = "sqlite.WriteNoun"
	var rec *restkit.Record
	if err := s.submit(ctx, op, func(ctx context.Context, tx *sql.Tx) error {
		cur, err := sqlstore.ScanNoun(tx.StmtContext(ctx, s.nounRead).QueryRowContext(ctx, n.StoreName), n)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			cur = nil
		case err != nil:
			return wrap(op, err)
		}
		next, err := sqlstore.ChangeNoun(op, n, cur, change)
		if err != nil {
			return err
		}
		data, err := restkit.EncodeState(next.Values)
		if err != nil {
			return wrap(op, err)
		}
		if _, err := tx.StmtContext(ctx, s.nounWrite).ExecContext(ctx, n.StoreName, data, next.Rev, sqlstore.FormatTime(next.Created), sqlstore.FormatTime(next.Updated)); err != nil {
			return wrap(op, err)
		}
		if err := s.appendEventState(ctx, tx, n.StoreName, n.Name, cur, next, data); err != nil {
			return wrap(op, err)
		}
		rec = next
		return nil
	}); err != nil {
		return nil, err
	}
	return rec, nil
}
