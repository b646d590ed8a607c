package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"restkit"
	"restkit/internal/sqlstore"
)

// FindNoun returns the stored state of a noun, NotFound when never written.
// Members whose field is no longer declared, or whose value no longer fits the
// field's type, are left out (the noun falls back to unset for them).
func (s *Store) FindNoun(ctx context.Context, n *restkit.Noun) (*restkit.Record, error) {
	rec, err := readNoun(s.nounFind.QueryRowContext(ctx, n.StoreName), n)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, restkit.Errorf(restkit.NotFound, "%s has no stored state", n.Name)
		}
		return nil, restkit.Wrap("sqlite.FindNoun", err)
	}
	return rec, nil
}

// readNoun scans and decodes a row of _restkit_nouns.
func readNoun(row *sql.Row, n *restkit.Noun) (*restkit.Record, error) {
	var state, created, updated string
	rec := &restkit.Record{}
	if err := row.Scan(&state, &rec.Rev, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if rec.Values, err = sqlstore.DecodeState(state, n.Field); err != nil {
		return nil, fmt.Errorf("noun %s: state: %w", n.Name, err)
	}
	if rec.Created, err = sqlstore.ParseTime(created); err != nil {
		return nil, err
	}
	if rec.Updated, err = sqlstore.ParseTime(updated); err != nil {
		return nil, err
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
		return nil, restkit.Wrap(op, err)
	}
	defer tx.Rollback()
	cur, err := readNoun(tx.StmtContext(ctx, s.nounRead).QueryRowContext(ctx, n.StoreName), n)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		cur = nil
	case err != nil:
		return nil, restkit.Wrap(op, err)
	}
	var curRev int64
	var curCreated time.Time
	if cur != nil {
		curRev, curCreated = cur.Rev, cur.Created
	}
	next, err := change(cur)
	if err != nil {
		return nil, err
	}
	if next == nil {
		return nil, restkit.Wrap(op, fmt.Errorf("noun %s: the change returned no state", n.Name))
	}
	rec := &restkit.Record{Values: make(map[string]any, len(next.Values)), Created: next.Created, Updated: next.Updated}
	rec.Stamp(curRev, curCreated)
	for name, v := range next.Values {
		f := n.Field(name)
		if f == nil {
			return nil, restkit.Wrap(op, fmt.Errorf("noun %s: value for undeclared field %q", n.Name, name))
		}
		cv, verr := f.Canonical(v)
		if verr != nil {
			return nil, restkit.Wrap(op, fmt.Errorf("noun %s: field %q: %T value %s", n.Name, name, v, verr.Message))
		}
		if cv == nil {
			continue
		}
		rec.Values[name] = cv
	}
	data, err := sqlstore.EncodeState(rec.Values)
	if err != nil {
		return nil, restkit.Wrap(op, err)
	}
	if _, err := tx.StmtContext(ctx, s.nounWrite).ExecContext(ctx, n.StoreName, data, rec.Rev, sqlstore.FormatTime(rec.Created), sqlstore.FormatTime(rec.Updated)); err != nil {
		return nil, restkit.Wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, restkit.Wrap(op, err)
	}
	return rec, nil
}
