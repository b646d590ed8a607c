package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
)

// The change log: _restkit_events, one row per record a write changed, inserted in
// the write's own transaction, as the last statements before its COMMIT.
//
// What a reader needs: having delivered Seq n, never to find later a committed event
// below n. Writers draw Seq from a sequence, nextval, with no lock: two transactions
// can take 10 and 11 and commit as 11 then 10, and a reader that has seen 11 must not
// have moved past 10. So the writers do nothing more and the readers are careful; no
// writer ever waits for another's commit (their WAL flushes can be one).
//
// A reader reads "seq > cursor ORDER BY seq" and delivers the rows in order while
// they follow each other: a sequence (CACHE 1, the default) hands out each value
// once, in increasing order, so a run cursor+1, cursor+2, … that the reader sees is
// final — no other event can ever take those numbers. At a gap it stops, unless it
// can prove the gap final: the value was drawn by a transaction that rolled back (or
// lost to a crash, which skips up to 32 values), and will never appear.
//
// The proof (takeProof): in a transaction of its own, read L, the sequence's last
// value (pg_sequence_last_value, under the sequence's buffer lock), then take a new
// transaction ID N (pg_current_xact_id assigns one), and roll back. Every writer
// that drew a value ≤ L drew it before L was read, and had its transaction ID
// before it drew (the INSERT that draws it runs pg_current_xact_id() first, in a
// one-time filter), so that ID is below N: IDs are handed out in increasing order.
// Then any later snapshot whose xmin is ≥ N — "all transaction IDs less than xmin
// are either committed and visible, or rolled back and dead" (PostgreSQL 15,
// §9.26, Table 9.80 "Snapshot Components") — sees every event ≤ L that will ever
// exist: a gap ≤ L in what it reads is final. Each read returns its own snapshot's
// xmin (pg_snapshot_xmin(pg_current_snapshot()), of the very statement that reads
// the rows), so the check is exact. A proof stays good for every later snapshot; the
// store keeps the best one it has confirmed and at most one it is waiting on.
//
// Why not the snapshot's xmax, which every reader and writer has for free: xmax is
// "one past the highest completed transaction ID" (ibid.), not the next ID to be
// handed out — a transaction running with a higher ID is neither in xip nor below
// xmax. A writer that stored xmax, taken after its draw, as a horizon for readers
// would let a reader pass a gap whose writer (a higher ID, still running) commits
// later.
//
// Gaps are not rare: a reader woken by the commit of 11 often reads while 10 is
// still flushing. Those need no proof — 10's own commit wakes the reader again — so
// a reader takes one only when it stops at the same gap a second time (a rollback
// sends no NOTIFY; the feeds' and webhooks' polls bring them back). Proofs cost a
// round trip and a transaction ID, never a lock or a flush (the transaction rolls
// back, and an abort record is not flushed).
//
// The drawback: a long-running transaction that has a transaction ID (a write, a
// migration, an import; not a read-only one) keeps every xmin below it, so no proof
// taken after it began is confirmed until it ends. Runs of consecutive events are
// still delivered at once; only events behind a rolled-back Seq wait (and
// EventBounds, which needs a confirmed proof for a fresh position: it waits a while,
// then answers with the newest position it has confirmed before, or Unavailable).
//
// Seq order is draw order. The draw happens at the end of the write, while the write
// holds its records' locks (advisory and FOR UPDATE) until COMMIT, so two writes of
// one record are numbered in the order they wrote it.
//
// The table is as it was (no column was added): a log written under the old
// advisory lock reads the same way. But during a rolling upgrade, nodes of the
// earlier version still read the log naively (every row after the cursor) and may
// skip an event a new node commits out of order; upgrade every node before relying
// on their streams and webhooks, or stop the old ones first.
//
// The same transaction NOTIFYs the store's channel, delivered on commit: the wake-up
// of every node's streams (the log stays the truth; a node also polls it).

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

// eventInsert appends one event. The one-time filter runs before nextval: it gives
// the transaction its ID first (see above).
const eventInsert = `INSERT INTO _restkit_events (seq, source, key, op, rev, time, state)
	SELECT nextval('_restkit_events_seq'), $1, $2, $3, $4, $5, $6 WHERE pg_current_xact_id() IS NOT NULL`

// noteState adds the event of one record's write (cur nil: created; next nil:
// deleted, with cur's values as its state), whose values state holds already
// encoded (restkit.EncodeState, done once for the history and the event).
func (w *writeTx) noteState(source string, key any, cur, next *restkit.Record, state string) {
	if w.noEvents {
		return
	}
	w.events = append(w.events, restkit.EventOfState(source, restkit.Format(key), cur, next, state, time.Now()))
}

// commit appends the transaction's events, notifies, and commits, in one round trip
// with whatever writes are still pending.
func (s *Store) commit(ctx context.Context, w *writeTx) error {
	for _, e := range w.events {
		w.later(nil, eventInsert, e.Source, e.Key, string(e.Op), e.Rev, sqlstore.FormatTime(e.Time), e.State)
	}
	if len(w.events) > 0 {
		w.later(nil, `SELECT pg_notify($1, '')`, s.eventChannel())
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

// proof says: every Seq ≤ last is final in any snapshot whose xmin ≥ xid (see above).
type proof struct{ last, xid int64 }

// logProofs are the store's proofs, shared by its readers.
type logProofs struct {
	mu      sync.Mutex
	proven  proof          // the best confirmed (xid 0: none yet)
	pending *proof         // taken, not yet confirmed
	stopped map[int64]bool // gaps a read has stopped at, for the second-time rule
	taking  sync.Mutex     // one proof taken at a time
}

// usable returns the highest Seq known final in a snapshot with that xmin,
// confirming the pending proof when the snapshot allows.
func (p *logProofs) usable(xmin int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if q := p.pending; q != nil && q.xid <= xmin {
		if q.last > p.proven.last || p.proven.xid == 0 {
			p.proven = *q
		}
		p.pending = nil
	}
	if p.proven.xid <= xmin {
		return p.proven.last
	}
	return 0
}

// wantProof reports whether a read that stopped at the gap starting at seq should
// take a proof: the second time a read stops there, unless a pending proof already
// covers it.
func (p *logProofs) wantProof(seq int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending != nil && p.pending.last >= seq {
		return false
	}
	if p.stopped[seq] {
		delete(p.stopped, seq)
		return true
	}
	if p.stopped == nil || len(p.stopped) > 64 {
		p.stopped = map[int64]bool{}
	}
	p.stopped[seq] = true
	return false
}

// takeProof takes a proof (see above) and keeps it pending, unless a pending one
// covers at least seq by the time it may.
func (s *Store) takeProof(ctx context.Context, seq int64) (proof, error) {
	s.proofs.taking.Lock()
	defer s.proofs.taking.Unlock()
	s.proofs.mu.Lock()
	q := s.proofs.pending
	s.proofs.mu.Unlock()
	if q != nil && q.last >= seq {
		return *q, nil
	}
	var p proof
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SELECT coalesce(pg_sequence_last_value('_restkit_events_seq'), 0)`)
	b.Queue(`SELECT pg_current_xact_id()::text::bigint`)
	b.Queue(`ROLLBACK`)
	br := s.pool.SendBatch(ctx, b)
	_, err := br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&p.last)
	}
	if err == nil {
		err = br.QueryRow().Scan(&p.xid)
	}
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return proof{}, err
	}
	s.proofs.mu.Lock()
	if s.proofs.pending == nil || s.proofs.pending.last < p.last {
		s.proofs.pending = &p
	}
	s.proofs.mu.Unlock()
	return p, nil
}

var _ restkit.EventLog = (*Store)(nil)

// Events returns up to limit events with Seq > after, in Seq order: those it can
// deliver, which stop before a gap it cannot prove final (see above).
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]restkit.Event, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.Events"
	out, stop, err := s.readEvents(ctx, after, limit)
	if err != nil || stop == 0 || !s.proofs.wantProof(stop) {
		return out, wrap(op, err)
	}
	if _, err := s.takeProof(ctx, stop); err != nil {
		return out, wrap(op, err)
	}
	// Read again: a snapshot taken now confirms the proof unless another
	// transaction older than it is still running.
	from, n := after, limit
	if len(out) > 0 {
		from = out[len(out)-1].Seq
		if n > 0 {
			n -= len(out)
		}
	}
	more, _, err := s.readEvents(ctx, from, n)
	return append(out, more...), wrap(op, err)
}

// readEvents reads the events after after and returns those it can deliver, and
// the first Seq of the gap it stopped before (0: it did not stop).
func (s *Store) readEvents(ctx context.Context, after int64, limit int) ([]restkit.Event, int64, error) {
	q := `SELECT seq, source, key, op, rev, time, state, pg_snapshot_xmin(pg_current_snapshot())::text::bigint
		FROM _restkit_events WHERE seq > $1 ORDER BY seq`
	args := []any{after}
	if limit > 0 {
		q += ` LIMIT $2`
		args = append(args, limit)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []restkit.Event
	next, final := after+1, int64(-1) // final: what the proofs cover, read with the first row
	for rows.Next() {
		var e restkit.Event
		var eop, at string
		var xmin int64
		if err := rows.Scan(&e.Seq, &e.Source, &e.Key, &eop, &e.Rev, &at, &e.State, &xmin); err != nil {
			return nil, 0, err
		}
		if final < 0 {
			final = s.proofs.usable(xmin)
		}
		if e.Seq != next && e.Seq-1 > final {
			return out, next, nil // a gap not proven final: stop before it
		}
		e.Op = restkit.EventOp(eop)
		if e.Time, err = sqlstore.ParseTime(at); err != nil {
			return nil, 0, err
		}
		out = append(out, e)
		next = e.Seq + 1
	}
	return out, 0, rows.Err()
}

// EventBounds returns the oldest and newest Seq kept; an empty log's oldest is the
// Seq the next event will get. Newest is a position a reader may start from without
// missing an event: every Seq up to it is final (a proof, confirmed; see above), so
// it is the last value drawn, which may belong to an event still committing or to
// one rolled back.
func (s *Store) EventBounds(ctx context.Context) (int64, int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.EventBounds"
	p, err := s.takeProof(ctx, math.MaxInt64)
	if err != nil {
		return 0, 0, wrap(op, err)
	}
	// Wait for a snapshot that confirms it: the writers that drew up to p.last are
	// committing and take a flush or so; a long-running transaction can take much
	// longer, and then the answer is the last proof confirmed before, if any.
	var oldest *int64
	var xmin int64
	deadline := time.Now().Add(eventBoundsWait)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		if err := s.pool.QueryRow(ctx, `SELECT min(seq), pg_snapshot_xmin(pg_current_snapshot())::text::bigint FROM _restkit_events`).Scan(&oldest, &xmin); err != nil {
			return 0, 0, wrap(op, err)
		}
		if xmin >= p.xid {
			s.proofs.usable(xmin)
			break
		}
		if time.Now().After(deadline) {
			s.proofs.mu.Lock()
			proven := s.proofs.proven
			s.proofs.mu.Unlock()
			if proven.xid == 0 {
				return 0, 0, &restkit.Error{Kind: restkit.Unavailable, Op: op,
					Err:     fmt.Errorf("transaction %d is still running below %d", xmin, p.xid),
					Message: "the change log waits for a long-running transaction; try again"}
			}
			p = proven
			break
		}
		select {
		case <-ctx.Done():
			return 0, 0, wrap(op, ctx.Err())
		case <-time.After(pause):
		}
	}
	if oldest != nil && *oldest <= p.last {
		return *oldest, p.last, nil
	}
	return p.last + 1, p.last, nil
}

// eventBoundsWait bounds EventBounds' wait for a proof's confirmation.
const eventBoundsWait = 5 * time.Second

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
	if err == nil {
		w.events = append(w.events, e)
	}
	return err
}

// latestVersions returns the latest version of each artefact a deletion of dir (id
// "": with its subtree) or of dir/id touches, before it runs.
func latestVersions(ctx context.Context, tx querier, dir, id string) ([]*restkit.Artefact, error) {
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
	return sqlstore.Collect(rows, nil, sqlstore.ScanArtefact)
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
