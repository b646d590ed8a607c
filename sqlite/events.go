package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

// The change log: _restkit_events, one row per record a write changed, inserted in
// the write's own transaction. Seq is an AUTOINCREMENT key, so it grows with every
// insert and is never reused (not even after the newest row is pruned); SQLite runs
// one writer at a time, so the order of Seq is the order of commits and a reader
// that follows the log from its last Seq misses nothing. Subscribe's wake-up comes
// from the store itself after each commit.

const eventsSQL = `
CREATE TABLE IF NOT EXISTS _restkit_events (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	source TEXT NOT NULL,
	key    TEXT NOT NULL,
	op     TEXT NOT NULL,
	rev    INTEGER NOT NULL,
	time   TEXT NOT NULL,
	state  TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS "_restkit_events:time" ON _restkit_events (time);
`

var _ restkit.EventLog = (*Store)(nil)

// prepareEvents prepares the change log's statements.
func (s *Store) prepareEvents(ctx context.Context) error {
	var err error
	if s.eventInsert, err = s.prepare(ctx, s.w, `INSERT INTO _restkit_events (source, key, op, rev, time, state) VALUES (?, ?, ?, ?, ?, ?)`); err != nil {
		return err
	}
	s.eventRead, err = s.prepare(ctx, s.r, `SELECT seq, source, key, op, rev, time, state FROM _restkit_events WHERE seq > ? ORDER BY seq LIMIT ?`)
	return err
}

// appendEvent appends the event of one record's write inside tx (cur nil: created;
// next nil: deleted, with cur's values as its state).
func (s *Store) appendEvent(ctx context.Context, tx *sql.Tx, source string, key any, cur, next *restkit.Record) error {
	e, err := restkit.EventOf(source, restkit.Format(key), cur, next, time.Now())
	if err != nil {
		return err
	}
	_, err = tx.StmtContext(ctx, s.eventInsert).ExecContext(ctx, e.Source, e.Key, string(e.Op), e.Rev, sqlstore.FormatTime(e.Time), e.State)
	return err
}

// Events returns up to limit events with Seq > after, in Seq order.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]restkit.Event, error) {
	const op = "sqlite.Events"
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.eventRead.QueryContext(ctx, after, limit)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer rows.Close()
	var out []restkit.Event
	for rows.Next() {
		var e restkit.Event
		var eop, at string
		if err := rows.Scan(&e.Seq, &e.Source, &e.Key, &eop, &e.Rev, &at, &e.State); err != nil {
			return nil, wrap(op, err)
		}
		e.Op = restkit.EventOp(eop)
		if e.Time, err = sqlstore.ParseTime(at); err != nil {
			return nil, wrap(op, err)
		}
		out = append(out, e)
	}
	return out, wrap(op, rows.Err())
}

// EventBounds returns the oldest and newest Seq kept; an empty log's oldest is the
// Seq the next event will get (AUTOINCREMENT remembers it in sqlite_sequence).
func (s *Store) EventBounds(ctx context.Context) (int64, int64, error) {
	var oldest, newest sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM _restkit_events`).Scan(&oldest, &newest); err != nil {
		return 0, 0, wrap("sqlite.EventBounds", err)
	}
	if oldest.Valid {
		return oldest.Int64, newest.Int64, nil
	}
	var last int64
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = '_restkit_events'`).Scan(&last)
	return last + 1, last, wrap("sqlite.EventBounds", err)
}

// PruneEvents deletes old events (restkit.EventLog), in one transaction.
func (s *Store) PruneEvents(ctx context.Context, olderThan time.Time, max int64, keepAfter int64) (int64, error) {
	const op = "sqlite.PruneEvents"
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, wrap(op, err)
	}
	defer tx.Rollback()
	var n int64
	res, err := tx.ExecContext(ctx, `DELETE FROM _restkit_events WHERE time < ? AND seq <= ?`, sqlstore.FormatTime(olderThan), keepAfter)
	if err != nil {
		return 0, wrap(op, err)
	}
	n, _ = res.RowsAffected()
	if max > 0 {
		res, err := tx.ExecContext(ctx, `DELETE FROM _restkit_events WHERE seq <= ? AND seq <= (SELECT max(seq) FROM _restkit_events) - ?`, keepAfter, max)
		if err != nil {
			return 0, wrap(op, err)
		}
		more, _ := res.RowsAffected()
		n += more
	}
	return n, wrap(op, tx.Commit())
}

// Subscribe wakes the caller after each write this store commits.
func (s *Store) Subscribe() (<-chan struct{}, func()) { return s.notify.Subscribe() }
