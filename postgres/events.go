package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
// The proof (takeProof) is a lock. Every writer draws its Seq in a statement that
// first takes the log's advisory lock in SHARED mode, held to the end of its
// transaction (eventInsert; shared locks do not wait for each other, so writers
// still never wait for one another). A proof takes the same lock in EXCLUSIVE mode,
// in a transaction of its own, and then reads L, the sequence's last value: holding
// it means that every transaction that drew a value before has ended — committed
// (and visible to any snapshot taken from then on: PostgreSQL releases a
// transaction's locks after marking it committed) or rolled back — and no value can
// be drawn while it is held. So every gap ≤ L that a read begun after the proof
// sees is final. The store keeps the highest proven L; a read uses the one proven
// before the read's statement was sent, never one proven while it ran.
//
// Gaps are rare: a write's event INSERT is in its last round trip, with COMMIT, so
// a write that fails before it draws nothing; a drawn value is lost only when the
// transaction dies between the draw and the commit. A reader woken by the commit of
// 11 may still find 10 flushing; such a gap needs no proof — 10's own commit wakes
// it again — so a reader takes one only when it stops at the same gap a second time
// (a rollback sends no NOTIFY, and a wake-up can be lost: the feeds' and webhooks'
// polls bring them back).
//
// A proof waits for the writers in their last round trip (a flush or so), and new
// writers wait behind it as long; it gives up after proofLockTimeout (lock_timeout)
// rather than stall writers behind a stuck one, and none is tried again for a while
// (proofBackoff, doubling to maxProofBackoff). So proofs are kept rare: a run of
// consecutive Seqs read after a proven position moves the proven position on with no
// lock at all, EventBounds answers from such a run (a store takes a proof there only
// when it has none yet), and a resumed stream's id is checked against the sequence's
// last value (LastDrawn), not with a proof. It depends on restkit's writers alone: no transaction of another program
// on the server, however long, holds it back. (A first version proved gaps with
// transaction IDs — a fresh ID, then a snapshot whose xmin passed it — which any
// long-running write transaction anywhere on the server held back, to the point that
// a node with webhooks could not start during one.)
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
// Why not a snapshot's xmax as a horizon, which every reader has for free: xmax is
// "one past the highest completed transaction ID" (PostgreSQL 15, §9.26, Table 9.80
// "Snapshot Components"), not the next ID to be handed out — a transaction running
// with a higher ID is neither in xip nor below xmax, so a reader could pass a gap
// whose writer commits later.
//
// Right after the commit, in the same round trip, a transaction of its own NOTIFYs
// the store's channel (lateNotify says why not the write's): the wake-up of every
// node's streams (the log stays the truth; a node also polls it).

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

// prunedState names the state row that says up to which Seq the log was pruned
// (decimal text): a reader below it has missed events. Seqs can be missing without a
// prune (a rolled-back draw), so the lowest Seq kept does not tell it. A log opened
// empty starts at 0; a log pruned before the row existed has none until its next
// prune, and is judged by its lowest Seq meanwhile, as it was.
const prunedState = "events.pruned_through"

const prunedSQL = `
INSERT INTO _restkit_state (name, value) SELECT '` + prunedState + `', '0'::bytea
	WHERE NOT EXISTS (SELECT 1 FROM _restkit_events) ON CONFLICT (name) DO NOTHING;
`

// eventInsert appends one event; $7 is the log's lock key (Store.logLock). The
// one-time filter runs before nextval (EXPLAIN: "One-Time Filter"): the transaction
// holds the log's lock, shared, before it draws (see above).
const eventInsert = `INSERT INTO _restkit_events (seq, source, key, op, rev, time, state)
	SELECT nextval('_restkit_events_seq'), $1, $2, $3, $4, $5, $6 WHERE pg_advisory_xact_lock_shared($7) IS NOT NULL`

// logLock is the key of the log's advisory lock.
func (s *Store) logLock() int64 { return s.lockKey("events") }

// proofLockTimeout bounds a proof's wait for the log's lock.
const proofLockTimeout = "250ms"

// noteState adds the event of one record's write (cur nil: created; next nil:
// deleted, with cur's values as its state), whose values state holds already
// encoded (restkit.EncodeState, done once for the history and the event).
func (w *writeTx) noteState(source string, key any, cur, next *restkit.Record, state string) {
	if w.noEvents {
		return
	}
	w.events = append(w.events, restkit.EventOfState(source, restkit.Format(key), cur, next, state, time.Now()))
}

// commit appends the transaction's events and commits, then notifies, in one round
// trip with whatever writes are still pending.
func (s *Store) commit(ctx context.Context, w *writeTx) error {
	for _, e := range w.events {
		w.later(nil, eventInsert, e.Source, e.Key, string(e.Op), e.Rev, sqlstore.FormatTime(e.Time), e.State, s.logLock())
	}
	if len(w.events) > 0 {
		w.notify = s.eventChannel() // after COMMIT: see lateNotify
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

// logProofs are the store's proofs, shared by its readers.
type logProofs struct {
	mu     sync.Mutex
	proven int64 // every Seq up to it is final, when ok
	ok     bool  // a proof has been taken

	stopped map[int64]bool // gaps a read has stopped at, for the second-time rule
	taking  sync.Mutex     // one proof taken at a time

	// After a proof could not be had (a writer stuck in its commit holds the lock),
	// none is tried again before retryAt, backing off from proofBackoff to
	// maxProofBackoff: each try makes new writers wait behind it, up to the lock
	// timeout.
	retryAt time.Time
	backoff time.Duration

	tries atomic.Int64 // proofs sent to the server, for the tests
}

const (
	proofBackoff    = 500 * time.Millisecond
	maxProofBackoff = 5 * time.Second
)

// advance records that every Seq up to seq is final: the end of a run of
// consecutive Seqs read after a proven position is as final as a proof.
func (p *logProofs) advance(seq int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ok && seq > p.proven {
		p.proven = seq
	}
}

// last is the highest Seq proven final so far; -1 before the first proof.
func (p *logProofs) last() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.ok {
		return -1
	}
	return p.proven
}

// wantProof reports whether a read that stopped at the gap starting at seq should
// take a proof: the second time a read stops there, unless a proof covers it already.
func (p *logProofs) wantProof(seq int64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ok && p.proven >= seq {
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

// errNoProof is a proof that could not be had now: writers held the log's lock
// past proofLockTimeout.
var errNoProof = errors.New("the change log's writers hold its lock")

// takeProof takes a proof (see above), unless one taken meanwhile covers seq, and
// returns the highest Seq proven. errNoProof when the lock was not had in time
// (with the highest proven before, -1 for none).
func (s *Store) takeProof(ctx context.Context, seq int64) (int64, error) {
	s.proofs.taking.Lock()
	defer s.proofs.taking.Unlock()
	if last := s.proofs.last(); last >= seq {
		return last, nil
	}
	s.proofs.mu.Lock()
	waitOut := time.Now().Before(s.proofs.retryAt)
	s.proofs.mu.Unlock()
	if waitOut {
		return s.proofs.last(), errNoProof
	}
	var last int64
	s.proofs.tries.Add(1)
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`SET LOCAL lock_timeout = '` + proofLockTimeout + `'`)
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, s.logLock())
	b.Queue(`SELECT coalesce(pg_sequence_last_value('_restkit_events_seq'), 0)`)
	b.Queue(`COMMIT`)
	br := s.pool.SendBatch(ctx, b)
	_, err := br.Exec()
	if err == nil {
		_, err = br.Exec()
	}
	if err == nil {
		_, err = br.Exec()
	}
	if err == nil {
		err = br.QueryRow().Scan(&last)
	}
	if err == nil {
		_, err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "55P03" { // lock_not_available: lock_timeout
			s.proofs.mu.Lock()
			s.proofs.backoff = min(max(2*s.proofs.backoff, proofBackoff), maxProofBackoff)
			s.proofs.retryAt = time.Now().Add(s.proofs.backoff)
			s.proofs.mu.Unlock()
			return s.proofs.last(), errNoProof
		}
		return 0, err
	}
	s.proofs.mu.Lock()
	s.proofs.backoff = 0
	if !s.proofs.ok || last > s.proofs.proven {
		s.proofs.proven, s.proofs.ok = last, true
	}
	last = s.proofs.proven
	s.proofs.mu.Unlock()
	return last, nil
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
		if errors.Is(err, errNoProof) {
			return out, nil // stop at the gap; the next poll tries again
		}
		return out, wrap(op, err)
	}
	// Read again, past the gap now proven final.
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
	// The proofs taken before the statement is sent (see above).
	final := s.proofs.last()
	q := `SELECT seq, source, key, op, rev, time, state FROM _restkit_events WHERE seq > $1 ORDER BY seq`
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
	next := after + 1
	for rows.Next() {
		var e restkit.Event
		var eop, at string
		if err := rows.Scan(&e.Seq, &e.Source, &e.Key, &eop, &e.Rev, &at, &e.State); err != nil {
			return nil, 0, err
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
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if final >= after { // a run from a proven position: final up to its end
		s.proofs.advance(next - 1)
	}
	return out, 0, nil
}

// EventBounds returns the oldest and newest Seq kept; an empty log's oldest is the
// Seq the next event will get. Newest is a position a reader may start from without
// missing an event: every Seq up to it is final — the end of the run of
// consecutive Seqs after the proven position (or after what the prunes took, if
// further), which takes no lock from the writers. Behind a gap no proof has covered
// yet, it is the Seq before the gap; the readers' proofs move it on. Only a store
// that has no proof at all takes one here, trying for up to eventBoundsWait while a
// writer stuck in its commit keeps the lock: Unavailable after that.
func (s *Store) EventBounds(ctx context.Context) (int64, int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.EventBounds"
	// A proof is taken only by a store that has none yet; after that, the newest
	// position is the end of the run of consecutive Seqs after the proven one, which
	// is as final (and takes no lock from the writers). Behind a gap not yet proven,
	// it is the Seq before the gap: the readers' proofs move it on.
	last := s.proofs.last()
	deadline := time.Now().Add(eventBoundsWait)
	for last < 0 {
		var err error
		last, err = s.takeProof(ctx, math.MaxInt64)
		if err == nil {
			break
		}
		if !errors.Is(err, errNoProof) {
			return 0, 0, wrap(op, err)
		}
		if time.Now().After(deadline) {
			return 0, 0, &restkit.Error{Kind: restkit.Unavailable, Op: op, Err: err,
				Message: "the change log's writers hold it; try again"}
		}
		select {
		case <-ctx.Done():
			return 0, 0, wrap(op, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	var lowest *int64
	var pruned []byte
	if err := s.pool.QueryRow(ctx, `SELECT (SELECT min(seq) FROM _restkit_events),
		(SELECT value FROM _restkit_state WHERE name = $1)`, prunedState).Scan(&lowest, &pruned); err != nil {
		return 0, 0, wrap(op, err)
	}
	oldest := lowest
	if pruned != nil { // the first Seq that no prune took, kept or never drawn
		through, err := strconv.ParseInt(string(pruned), 10, 64)
		if err != nil {
			return 0, 0, wrap(op, fmt.Errorf("%s: %w", prunedState, err))
		}
		oldest = &through
		*oldest++
	}
	// The run starts at the proven position, or where the prunes left off if that
	// is further: a reader below it is told it missed events in any case.
	from := last
	if oldest != nil && *oldest-1 > from {
		from = *oldest - 1
	}
	newest, err := s.runEnd(ctx, from)
	if err != nil {
		return 0, 0, wrap(op, err)
	}
	if from == last {
		s.proofs.advance(newest)
	}
	if oldest != nil && *oldest <= newest {
		return *oldest, newest, nil
	}
	return newest + 1, newest, nil
}

var _ restkit.EventDrawer = (*Store)(nil)

// LastDrawn returns the sequence's last value: the highest Seq handed out, committed
// or not (restkit.EventDrawer). It takes no lock.
func (s *Store) LastDrawn(ctx context.Context) (int64, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	var last int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(pg_sequence_last_value('_restkit_events_seq'), 0)`).Scan(&last)
	return last, wrap("postgres.LastDrawn", err)
}

// runEnd returns the end of the run of consecutive Seqs after from (from itself when
// the next is missing), reading at most 10,000 of them.
func (s *Store) runEnd(ctx context.Context, from int64) (int64, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq FROM _restkit_events WHERE seq > $1 ORDER BY seq LIMIT 10000`, from)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return 0, err
		}
		if seq != from+1 {
			break
		}
		from = seq
	}
	return from, rows.Err()
}

// eventBoundsWait bounds EventBounds' tries for a proof.
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
	// The delete and the mark of how far it went, in one transaction: never raised
	// (a smaller limit deletes nothing more), and on a log pruned before the mark
	// existed, at least below its lowest Seq.
	var deleted int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM _restkit_events WHERE seq <= $1`, limit)
		if err != nil {
			return err
		}
		deleted = tag.RowsAffected()
		_, err = tx.Exec(ctx, `INSERT INTO _restkit_state (name, value)
			SELECT $1, convert_to(greatest($2::bigint,
				coalesce((SELECT convert_from(value, 'UTF8')::bigint FROM _restkit_state WHERE name = $1),
					(SELECT min(seq) - 1 FROM _restkit_events), $2::bigint))::text, 'UTF8')
			ON CONFLICT (name) DO UPDATE SET value = excluded.value`, prunedState, limit)
		return err
	})
	if err != nil {
		return 0, wrap(op, err)
	}
	return deleted, nil
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
