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
// transaction on the writer connection and stores the result, as WriteRecord does.
// The state is kept as a JSON object; datetimes as RFC 3339 strings.
//
// Errors: a Change's error, unchanged; Internal for a nil result, a value of an
// undeclared field or of the wrong type, and database failures.
func (s *Store) WriteNoun(ctx context.Context, n *restkit.Noun, change restkit.Change) (*restkit.Record, error) {
	const op = "sqlite.WriteNoun"
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer tx.Rollback()
	cur, err := sqlstore.ScanNoun(tx.StmtContext(ctx, s.nounRead).QueryRowContext(ctx, n.StoreName), n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
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
		return nil, wrap(op, err)
	}
	if _, err := tx.StmtContext(ctx, s.nounWrite).ExecContext(ctx, n.StoreName, data, rec.Rev, sqlstore.FormatTime(rec.Created), sqlstore.FormatTime(rec.Updated)); err != nil {
		return nil, wrap(op, err)
	}
	if err := s.appendEvent(ctx, tx, n.StoreName, n.Name, cur, rec); err != nil {
		return nil, wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, wrap(op, err)
	}
	s.notify.Notify()
	return rec, nil
}
