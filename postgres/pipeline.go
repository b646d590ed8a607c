package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/restkit/restkit"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A write transaction in as few round trips as its reads allow.
//
// writeTx holds a pooled connection and runs its own transaction on it. It does
// not send BEGIN when it starts, nor each write when the write is made: BEGIN and
// every statement whose result the write does not need before it goes on (the
// INSERT or UPDATE of a record, its history row, its join rows, the change log's
// rows) wait in pending, and go to the server in one pgx batch — one
// pipelined round trip — with the next statement whose result is needed (a read,
// a lock), or with COMMIT. A create is then two round trips: BEGIN, the key's
// lock and the SELECT … FOR UPDATE in the first; the INSERTs, COMMIT and then
// pg_notify (lateNotify) in the second.
//
// PostgreSQL runs the statements of a pipeline one after the other, each (READ
// COMMITTED) with a fresh snapshot, exactly as if they had been sent one at a
// time; what changes is when an error is seen. A statement that fails aborts the
// transaction, and the server skips the rest of the batch, COMMIT included. So a
// pending statement carries the mapping of its error (a unique violation → a
// Conflict naming the field, say), and the round trip that sent it returns that
// error, mapped, to whichever call sent it: the same error the write would have
// returned had the statement been sent alone, only a little later.

// querier is what the store's statements run on: the pool, a pgx.Tx, or a writeTx.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// pending is a statement waiting for the next round trip.
type pending struct {
	sql  string
	args []any
	fail func(error) error // maps its error (nil: as it is)
}

// writeTx is a write transaction (see above) and the events it will append
// before committing (events.go).
type writeTx struct {
	conn    *pgxpool.Conn
	pending []pending
	begun   bool  // BEGIN has gone to the server
	done    bool  // committed or rolled back; the connection is released
	err     error // the first failure: the transaction is aborted and only Rollback is left

	// mapErr, when set, maps the error of each statement made pending from then on
	// after the statement's own mapping (WriteRecords names the record's index).
	mapErr func(error) error

	events   []restkit.Event
	noEvents bool   // the benchmarks' baseline (Store.noEvents)
	notify   string // a channel to NOTIFY once committed (events.go): "" for none
}

// lateNotify wakes the change log's listeners after a write's COMMIT, in the same
// round trip but a transaction of its own: a NOTIFY inside the write's transaction
// holds PostgreSQL's one notify lock (an AccessExclusiveLock on "database 0", for
// every database of the server) from before the commit until the commit's WAL flush,
// so notifying writes commit one at a time and never share a flush (issue 17,
// BenchmarkCreateCeiling: one fdatasync per create against about 0.5). The wake-up's
// own transaction commits asynchronously — a NOTIFY takes a transaction ID, and so
// a commit record — so it holds that lock for no flush at all. A wake-up that is
// lost (the connection cut between COMMIT and the end of the batch, a NOTIFY queue
// that is full) delays events, never loses them: the feeds and the webhooks also
// poll the log, and a reader stopped at the committed write's Seq passes it then.
const lateNotify = `SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')`

var errTxDone = errors.New("postgres: the write transaction is over")

// begin starts a write transaction: it takes a connection from the pool and
// queues BEGIN.
func (s *Store) begin(ctx context.Context) (*writeTx, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return &writeTx{conn: conn, pending: []pending{{sql: "BEGIN"}}, noEvents: s.noEvents}, nil
}

// later queues a statement for the next round trip; fail maps its error.
func (w *writeTx) later(fail func(error) error, sql string, args ...any) {
	if m := w.mapErr; m != nil {
		inner := fail
		fail = func(err error) error {
			if inner != nil {
				err = inner(err)
			}
			return m(err)
		}
	}
	w.pending = append(w.pending, pending{sql: sql, args: args, fail: fail})
}

// send sends the pending statements and then b's, in one batch, and reads the
// pending ones' results. The caller reads b's results from what it returns and
// closes it. A pending statement's failure comes back, mapped, from every call.
func (w *writeTx) send(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if w.done {
		return &failedResults{err: errTxDone}
	}
	if w.err != nil {
		return &failedResults{err: w.err}
	}
	all := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(w.pending)+b.Len())}
	for _, p := range w.pending {
		all.Queue(p.sql, p.args...)
	}
	all.QueuedQueries = append(all.QueuedQueries, b.QueuedQueries...)
	sent := w.pending
	w.pending = nil
	w.begun = true // if BEGIN was pending it is sent now (and a failure leaves Rollback to send ROLLBACK)
	br := w.conn.SendBatch(ctx, all)
	for _, p := range sent {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			if p.fail != nil {
				err = p.fail(err)
			}
			w.err = err
			return &failedResults{err: err}
		}
	}
	return &txResults{BatchResults: br, w: w}
}

// txResults are the results of the caller's statements of a round trip; an error
// among them marks the transaction failed.
type txResults struct {
	pgx.BatchResults
	w *writeTx
}

func (r *txResults) note(err error) error {
	if err != nil && !errors.Is(err, pgx.ErrNoRows) && r.w.err == nil {
		r.w.err = err
	}
	return err
}

func (r *txResults) Exec() (pgconn.CommandTag, error) {
	tag, err := r.BatchResults.Exec()
	return tag, r.note(err)
}

func (r *txResults) Query() (pgx.Rows, error) {
	rows, err := r.BatchResults.Query()
	return rows, r.note(err)
}

func (r *txResults) QueryRow() pgx.Row { return &txRow{row: r.BatchResults.QueryRow(), r: r} }

func (r *txResults) Close() error { return r.note(r.BatchResults.Close()) }

type txRow struct {
	row pgx.Row
	r   *txResults
}

func (t *txRow) Scan(dest ...any) error { return t.r.note(t.row.Scan(dest...)) }

// failedResults answer err to everything: the round trip was not made, or a
// pending statement failed.
type failedResults struct{ err error }

func (f *failedResults) Exec() (pgconn.CommandTag, error) { return pgconn.CommandTag{}, f.err }
func (f *failedResults) Query() (pgx.Rows, error)         { return nil, f.err }
func (f *failedResults) QueryRow() pgx.Row                { return errRow{f.err} }
func (f *failedResults) Close() error                     { return f.err }
func (f *failedResults) Tx() pgx.Tx                       { return nil }

type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

// SendBatch runs b after the pending statements, in the same round trip.
func (w *writeTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return w.send(ctx, b)
}

// Exec runs one statement after the pending ones, in the same round trip.
func (w *writeTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := w.send(ctx, b)
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// QueryRow runs one query after the pending statements, in the same round trip.
func (w *writeTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := w.send(ctx, b)
	return &closingRow{row: br.QueryRow(), br: br}
}

type closingRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (c *closingRow) Scan(dest ...any) error {
	err := c.row.Scan(dest...)
	if cerr := c.br.Close(); err == nil || errors.Is(err, pgx.ErrNoRows) && cerr != nil {
		err = cerr
	}
	return err
}

// Query runs one query after the pending statements, in the same round trip; the
// rows must be closed before the transaction is used again.
func (w *writeTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br := w.send(ctx, b)
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &closingRows{Rows: rows, br: br}, nil
}

type closingRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (c *closingRows) Close() {
	if c.closed {
		return
	}
	c.closed = true
	c.Rows.Close()
	c.err = c.br.Close()
}

func (c *closingRows) Err() error {
	if err := c.Rows.Err(); err != nil {
		return err
	}
	return c.err
}

// Commit sends the pending statements and COMMIT in one round trip, with the
// late NOTIFY after it when one is due, and gives the connection back.
func (w *writeTx) Commit(ctx context.Context) error {
	if w.done {
		return errTxDone
	}
	b := &pgx.Batch{}
	b.Queue("COMMIT")
	if w.notify != "" {
		b.Queue(lateNotify, w.notify)
	}
	br := w.send(ctx, b)
	tag, err := br.Exec()
	if err == nil && w.notify != "" {
		_, _ = br.Exec() // the wake-up: see lateNotify
	}
	// Once COMMIT has answered, an error after it (the wake-up's, the end of the
	// batch) is no failure of the write, which has committed; a broken connection is
	// dropped by the pool on Release.
	_ = br.Close()
	if err != nil {
		return err
	}
	if tag.String() != "COMMIT" {
		w.err = fmt.Errorf("postgres: COMMIT answered %s", tag)
		return w.err
	}
	w.done = true
	w.conn.Release()
	return nil
}

// Rollback ends the transaction unless it committed, and gives the connection
// back: nothing to send when BEGIN never went out. It may be called more than
// once, and after Commit.
func (w *writeTx) Rollback(ctx context.Context) error {
	if w.done {
		return nil
	}
	w.done = true
	var err error
	if w.begun {
		_, err = w.conn.Exec(ctx, "ROLLBACK")
		if err != nil {
			// The connection's state is unknown: close it rather than pool it.
			_ = w.conn.Conn().Close(context.Background())
		}
	}
	w.conn.Release()
	return err
}
