package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
)

// The change log: _restkit_events, one row per record a write changed, inserted in
// the write's own transaction.
//
// Seq must grow in commit order, or a reader that has seen Seq n could later find a
// committed event below n and miss it: with plain sequence values, two transactions
// can take 10 and 11 and commit as 11 then 10. So a writer collects its events while
// it works (writeTx) and appends them last, just before COMMIT, holding a
// transaction-level advisory lock that serialises exactly that tail of the write
// transactions: the lock is taken, the seq values drawn, the rows inserted and the
// transaction committed, before the next writer may draw its values. Only the
// inserts and the commit wait on it — every other step of a write runs in parallel —
// and since the lock is the last one a transaction takes, it cannot deadlock with the
// record locks. The same transaction NOTIFYs the store's channel, delivered on
// commit: the wake-up of every node's streams (the log stays the truth; a node also
// polls it).

const eventsLockName = "events"

const eventsSQL = `
CREATE SEQUENCE IF NOT EXISTS _restkit_events_seq;
CREATE TABLE IF NOT EXISTS _restkit_events (
	seq    bigint PRIMARY KEY,
	source text COLLATE "C" NOT NULL,
	key    text COLLATE "C" NOT NULL,
	op     text NOT NULL,
	rev    bigint NOT NULL,
	time   text NOT NULL,
	state  text NOT NULL
);
`

// writeTx is a write transaction and the events it will append before committing.
type writeTx struct {
	pgx.Tx
	events   []restkit.Event
	noEvents bool // the benchmarks' baseline (Store.noEvents)
}

// begin starts a write transaction.
func (s *Store) begin(ctx context.Context) (*writeTx, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &writeTx{Tx: tx, noEvents: s.noEvents}, nil
}

// note adds the event of one record's write (cur nil: created; next nil: deleted,
// with cur's values as its state).
func (w *writeTx) note(source string, key any, cur, next *restkit.Record) error {
	if w.noEvents {
		return nil
	}
	e, err := restkit.EventOf(source, restkit.Format(key), cur, next, time.Now())
	w.events = append(w.events, e)
	return err
}

// commit appends the transaction's events under the events lock, notifies, and
// commits (see above).
func (s *Store) commit(ctx context.Context, w *writeTx) error {
	if len(w.events) > 0 {
		b := &pgx.Batch{}
		b.Queue(`SELECT pg_advisory_xact_lock($1)`, s.lockKey(eventsLockName))
		for _, e := range w.events {
			b.Queue(`INSERT INTO _restkit_events (seq, source, key, op, rev, time, state) VALUES (nextval('_restkit_events_seq'), $1, $2, $3, $4, $5, $6)`,
				e.Source, e.Key, string(e.Op), e.Rev, sqlstore.FormatTime(e.Time), e.State)
		}
		b.Queue(`SELECT pg_notify($1, '')`, s.eventChannel())
		if err := w.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
	}
	if err := w.Commit(ctx); err != nil {
		return err
	}
	if len(w.events) > 0 {
		s.notify.Notify() // this node's streams need not wait for the round trip of NOTIFY
	}
	return nil
}

// eventChannel is the NOTIFY channel of this store's events: one per schema, so
// stores in other schemas of the database do not wake each other.
func (s *Store) eventChannel() string { return shortName("restkit_events_" + s.schema) }

var _ restkit.EventLog = (*Store)(nil)

// Events returns up to limit events with Seq > after, in Seq order.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]restkit.Event, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.Events"
	q := `SELECT seq, source, key, op, rev, time, state FROM _restkit_events WHERE seq > $1 ORDER BY seq`
	args := []any{after}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
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
// Seq the next event will get.
func (s *Store) EventBounds(ctx context.Context) (int64, int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var oldest, newest *int64
	if err := s.pool.QueryRow(ctx, `SELECT min(seq), max(seq) FROM _restkit_events`).Scan(&oldest, &newest); err != nil {
		return 0, 0, wrap("postgres.EventBounds", err)
	}
	if oldest != nil {
		return *oldest, *newest, nil
	}
	var last int64
	var called bool
	err := s.pool.QueryRow(ctx, `SELECT last_value, is_called FROM _restkit_events_seq`).Scan(&last, &called)
	if !called {
		last = 0
	}
	return last + 1, last, wrap("postgres.EventBounds", err)
}

// PruneEvents deletes old events (restkit.EventLog). By age, it deletes up to the
// first event that is not old enough, in Seq order: times follow Seq but for clock
// steps, which at worst keep an event a little longer, and no index on time costs
// every write.
func (s *Store) PruneEvents(ctx context.Context, olderThan time.Time, maxCount int64, keepAfter int64) (int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.PruneEvents"
	var newest, young *int64
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT max(seq) FROM _restkit_events),
		(SELECT seq FROM _restkit_events WHERE time >= $1 ORDER BY seq LIMIT 1)`, sqlstore.FormatTime(olderThan)).Scan(&newest, &young); err != nil {
		return 0, wrap(op, err)
	}
	if newest == nil {
		return 0, nil
	}
	limit := *newest
	if young != nil {
		limit = *young - 1
	}
	if maxCount > 0 {
		limit = max(limit, *newest-maxCount)
	}
	limit = min(limit, keepAfter, *newest-1) // the newest stays
	tag, err := s.pool.Exec(ctx, `DELETE FROM _restkit_events WHERE seq <= $1`, limit)
	if err != nil {
		return 0, wrap(op, err)
	}
	return tag.RowsAffected(), nil
}

// Subscribe wakes the caller after each commit that appended events, on any node
// (LISTEN, started with the first subscriber).
func (s *Store) Subscribe() (<-chan struct{}, func()) {
	s.listenOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		s.stopListen = cancel
		go s.listen(ctx)
	})
	return s.notify.Subscribe()
}

// listen holds a connection that LISTENs on the store's channel and wakes the
// subscribers on each notification, reconnecting (with a pause) when it is lost.
func (s *Store) listen(ctx context.Context) {
	for ctx.Err() == nil {
		// A lost connection is not worth a log line: the streams' poll covers the gap,
		// and whatever was missed meanwhile is in the log.
		_ = s.listenConn(ctx)
		if ctx.Err() != nil {
			return
		}
		s.notify.Notify()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (s *Store) listenConn(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `LISTEN `+quote(s.eventChannel())); err != nil {
		conn.Conn().Close(context.Background()) // not back to the pool while listening
		return err
	}
	defer conn.Conn().Close(context.Background())
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		s.notify.Notify()
	}
}

// noteArtefact adds the event of an artefact write.
func (w *writeTx) noteArtefact(op restkit.EventOp, a *restkit.Artefact) error {
	if w.noEvents {
		return nil
	}
	e, err := restkit.ArtefactEvent(op, a, time.Now())
	w.events = append(w.events, e)
	return err
}

// latestVersions returns the latest version of each artefact a deletion of dir (id
// "": with its subtree) or of dir/id touches, before it runs.
func latestVersions(ctx context.Context, tx pgx.Tx, dir, id string) ([]*restkit.Artefact, error) {
	q, args := ` WHERE a.directory = $1 AND a.id = $2`, []any{dir, id}
	if id == "" {
		lo, hi := sqlstore.Below(dir)
		q, args = ` WHERE (a.directory = $1 OR (a.directory >= $2 AND a.directory < $3))`, []any{dir, lo, hi}
	}
	rows, err := tx.Query(ctx, `SELECT `+sqlstore.ArtefactColumns+versionJoin+q+` AND v.version = a.latest`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*restkit.Artefact
	for rows.Next() {
		a, err := sqlstore.ScanArtefact(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// deletionEvents notes the events of a deletion, after its versions are gone:
// deleted for each artefact that has none left; updated, with its new latest, for
// one that lost a version (version > 0) and keeps others.
func deletionEvents(ctx context.Context, tx *writeTx, before []*restkit.Artefact, id string, version int64) error {
	for _, a := range before {
		if version > 0 && id != "" {
			next, err := sqlstore.ScanArtefact(tx.QueryRow(ctx, `SELECT `+sqlstore.ArtefactColumns+versionJoin+
				` WHERE v.directory = $1 AND v.id = $2 ORDER BY v.version DESC LIMIT 1`, a.Directory, a.ID))
			switch {
			case err == nil:
				next.Created = a.Created
				if err := tx.noteArtefact(restkit.Updated, next); err != nil {
					return err
				}
				continue
			case !errors.Is(err, pgx.ErrNoRows):
				return err
			}
		}
		if err := tx.noteArtefact(restkit.Deleted, a); err != nil {
			return err
		}
	}
	return nil
}
