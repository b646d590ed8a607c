package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

// The change log: _restkit_events, one row per record a write changed, inserted in
// the write's own transaction. Seq is the rowid: each insert takes the largest plus
// one, and since pruning never deletes the newest row, a Seq is never reused.
// (AUTOINCREMENT would guarantee that by itself, at the price of a write to
// sqlite_sequence in every transaction; with the events' own pages that was what a
// write paid most for the log, measured by BenchmarkWrite.) For the same reason
// there is no index on time: pruning by age walks the log from its oldest row,
// which is what it deletes anyway. SQLite runs one writer at a time, so the order of
// Seq is the order of commits and a reader that follows the log from its last Seq
// misses nothing. Subscribe's wake-up comes from the store itself after each commit.

const eventsSQL = `
CREATE TABLE IF NOT EXISTS _restkit_events (
	seq    INTEGER PRIMARY KEY,
	source TEXT NOT NULL,
	key    TEXT NOT NULL,
	op     TEXT NOT NULL,
	rev    INTEGER NOT NULL,
	time   TEXT NOT NULL,
	state  TEXT NOT NULL
) STRICT;
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

// stateOf is the JSON of a written record's values, which its history revision
// (when hist) and its event share; "" when neither needs it.
func (s *Store) stateOf(hist bool, values map[string]any) (string, error) {
	if !hist && s.noEvents {
		return "", nil
	}
	return restkit.EncodeState(values)
}

// appendEventState appends the event of one record's write inside tx (cur nil:
// created; next nil: deleted, with cur's values as its state), whose values state
// holds already encoded (stateOf).
func (s *Store) appendEventState(ctx context.Context, tx *sql.Tx, source string, key any, cur, next *restkit.Record, state string) error {
	if s.noEvents {
		return nil
	}
	e := restkit.EventOfState(source, restkit.Format(key), cur, next, state, time.Now())
	_, err := tx.StmtContext(ctx, s.eventInsert).ExecContext(ctx, e.Source, e.Key, string(e.Op), e.Rev, sqlstore.FormatTime(e.Time), e.State)
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

// EventBounds returns the oldest and newest Seq kept; an empty log's oldest is 1.
func (s *Store) EventBounds(ctx context.Context) (int64, int64, error) {
	var oldest, newest sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT min(seq), max(seq) FROM _restkit_events`).Scan(&oldest, &newest); err != nil {
		return 0, 0, wrap("sqlite.EventBounds", err)
	}
	if !oldest.Valid {
		return 1, 0, nil
	}
	return oldest.Int64, newest.Int64, nil
}

// PruneEvents deletes old events (restkit.EventLog), in one transaction. By age, it
// deletes up to the first event that is not old enough, in Seq order (times follow
// Seq but for clock steps, which at worst keep an event a little longer).
func (s *Store) PruneEvents(ctx context.Context, olderThan time.Time, maxCount int64, keepAfter int64) (int64, error) {
	const op = "sqlite.PruneEvents"
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, wrap(op, err)
	}
	defer tx.Rollback()
	var newest sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT max(seq) FROM _restkit_events`).Scan(&newest); err != nil || !newest.Valid {
		return 0, wrap(op, err)
	}
	// Up to the first event young enough; or beyond the newest maxCount; never past
	// keepAfter nor the newest.
	limit := newest.Int64
	var young sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT seq FROM _restkit_events WHERE time >= ? ORDER BY seq LIMIT 1`, sqlstore.FormatTime(olderThan)).Scan(&young); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, wrap(op, err)
	}
	if young.Valid {
		limit = young.Int64 - 1
	}
	if maxCount > 0 {
		limit = max(limit, newest.Int64-maxCount)
	}
	limit = min(limit, keepAfter, newest.Int64-1)
	res, err := tx.ExecContext(ctx, `DELETE FROM _restkit_events WHERE seq <= ?`, limit)
	if err != nil {
		return 0, wrap(op, err)
	}
	n, _ := res.RowsAffected()
	return n, wrap(op, tx.Commit())
}

// Subscribe wakes the caller after each write this store commits.
func (s *Store) Subscribe() (<-chan struct{}, func()) { return s.notify.Subscribe() }

// appendArtefactEvent appends the event of an artefact write inside tx.
func (s *Store) appendArtefactEvent(ctx context.Context, tx *sql.Tx, op restkit.EventOp, a *restkit.Artefact) error {
	if s.noEvents {
		return nil
	}
	e, err := restkit.ArtefactEvent(op, a, time.Now())
	if err != nil {
		return err
	}
	_, err = tx.StmtContext(ctx, s.eventInsert).ExecContext(ctx, e.Source, e.Key, string(e.Op), e.Rev, sqlstore.FormatTime(e.Time), e.State)
	return err
}

// latestVersions returns the latest version of each artefact a deletion of dir (id
// "": with its subtree) or of dir/id touches, before it runs.
func latestVersions(ctx context.Context, tx *sql.Tx, dir, id string) ([]*restkit.Artefact, error) {
	q, args := ` WHERE a.directory = ? AND a.id = ?`, []any{dir, id}
	if id == "" {
		lo, hi := sqlstore.Below(dir)
		q, args = ` WHERE (a.directory = ? OR (a.directory >= ? AND a.directory < ?))`, []any{dir, lo, hi}
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+sqlstore.ArtefactColumns+versionJoin+q+` AND v.version = a.latest`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlstore.Collect(rows, nil, sqlstore.ScanArtefact)
}

// deletionEvents appends the events of a deletion, after its versions are gone:
// deleted for each artefact that has none left; updated, with its new latest, for
// one that lost a version (version > 0) and keeps others.
func (s *Store) deletionEvents(ctx context.Context, tx *sql.Tx, before []*restkit.Artefact, id string, version int64) error {
	for _, a := range before {
		if version > 0 && id != "" {
			next, err := sqlstore.ScanArtefact(tx.QueryRowContext(ctx, `SELECT `+sqlstore.ArtefactColumns+versionJoin+
				` WHERE v.directory = ? AND v.id = ? ORDER BY v.version DESC LIMIT 1`, a.Directory, a.ID))
			switch {
			case err == nil:
				next.Created = a.Created
				if err := s.appendArtefactEvent(ctx, tx, restkit.Updated, next); err != nil {
					return err
				}
				continue
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		}
		if err := s.appendArtefactEvent(ctx, tx, restkit.Deleted, a); err != nil {
			return err
		}
	}
	return nil
}
