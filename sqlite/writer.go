package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
)

// Group commit.
//
// SQLite runs one write transaction at a time, and most of a small write's cost is
// its commit: the WAL frames of every page it touched (the table, each index, the
// history and the change log), written whole. So record and noun writes do not each
// take the writer connection for a transaction of their own: they queue a job for
// one writer goroutine, which runs whatever has queued in one transaction, each job
// inside its own SAVEPOINT, and commits once. A page several jobs touch is written to
// the WAL once per batch instead of once per job.
//
//   - No job waits on purpose. The writer takes what has queued when it becomes free,
//     and keeps taking what queues while it runs them, up to maxBatch jobs; a lone
//     write is a batch of one, with no savepoint at all.
//   - A failing job is rolled back to its savepoint: its neighbours keep what they
//     wrote. The first job of a transaction needs no savepoint: when it fails, the
//     whole (so far empty) transaction is rolled back, and it is answered at once.
//   - Every job that joined a transaction is answered only after its COMMIT, the
//     failed ones too (their outcome may rest on what a neighbour wrote). A COMMIT that
//     fails fails every job of the batch with its error (SQLITE_FULL: 507): none is
//     acknowledged, and none was written. So is a batch that SQLite itself rolled back
//     under a failing statement (a full disk, an I/O error), which the next savepoint
//     operation finds out.
//   - A job sees the writes of the jobs before it in its batch, as if they had
//     committed one by one in that order: the order of the change log (Seq) is the
//     order of the jobs.
//   - A job's statements run with its context's values but not its cancellation: an
//     interrupted statement could make SQLite roll back the whole transaction, its
//     neighbours' work with it. A job whose context is done before it starts is
//     skipped and answered with that error.
//   - A panic in a job (a hook's) is recovered in the writer, rolled back like a
//     failure and raised again in the caller's goroutine, where net/http's or the
//     request log's recovery expects it.
//
// Everything else the store writes (migrations, artefacts, state, pruning) still
// takes the writer connection with a transaction of its own, between batches.

// maxBatch bounds the jobs of one transaction, and so how long the first of them
// waits for its COMMIT behind the others.
const maxBatch = 64

// A writeJob is one caller's write: fn runs its statements inside tx.
type writeJob struct {
	ctx      context.Context
	op       string
	fn       func(ctx context.Context, tx *sql.Tx) error
	err      error
	panicked any
	done     chan struct{} // receives once when the job is answered
}

var jobs = sync.Pool{New: func() any { return &writeJob{done: make(chan struct{}, 1)} }}

// writer is the queue of the writer goroutine.
type writer struct {
	mu      sync.Mutex
	queue   []*writeJob
	closed  bool
	wake    chan struct{} // capacity 1: something was queued, or the store closes
	stopped chan struct{} // closed when the goroutine has ended

	// What the batches were, for tests and benchmarks; submitted counts the jobs ever
	// queued.
	batches, joined, rolledBack, submitted atomic.Int64
}

var errClosed = errors.New("the store is closed")

// errPanicked stands for a job's panic in the writer's own bookkeeping.
var errPanicked = errors.New("a write panicked")

// startWriter starts the writer goroutine; Close stops it.
func (s *Store) startWriter() {
	s.wr.wake = make(chan struct{}, 1)
	s.wr.stopped = make(chan struct{})
	go s.writeLoop()
}

// stopWriter lets the writer run what is queued, then end; later writes fail.
func (s *Store) stopWriter() {
	s.wr.mu.Lock()
	s.wr.closed = true
	s.wr.mu.Unlock()
	s.signal()
	<-s.wr.stopped
}

func (s *Store) signal() {
	select {
	case s.wr.wake <- struct{}{}:
	default:
	}
}

// submit queues fn for the writer and waits until the batch that ran it committed
// (nil) or failed (the error). fn's error is returned as it is.
func (s *Store) submit(ctx context.Context, op string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return wrap(op, err)
	}
	j := jobs.Get().(*writeJob)
	j.ctx, j.op, j.fn = ctx, op, fn
	s.wr.mu.Lock()
	if s.wr.closed {
		s.wr.mu.Unlock()
		j.ctx, j.fn = nil, nil
		jobs.Put(j)
		return wrap(op, errClosed)
	}
	s.wr.queue = append(s.wr.queue, j)
	s.wr.submitted.Add(1)
	s.wr.mu.Unlock()
	s.signal()
	<-j.done // always: once queued, the job may run, and its outcome is known only after its batch
	err, p := j.err, j.panicked
	*j = writeJob{done: j.done}
	jobs.Put(j)
	if p != nil {
		panic(p)
	}
	return err
}

// take removes up to n queued jobs from the queue.
func (s *Store) take(n int, into []*writeJob) []*writeJob {
	s.wr.mu.Lock()
	defer s.wr.mu.Unlock()
	q := s.wr.queue
	if len(q) <= n {
		into = append(into, q...)
		clear(q)
		s.wr.queue = q[:0]
		return into
	}
	into = append(into, q[:n]...)
	rest := copy(q, q[n:])
	clear(q[rest:])
	s.wr.queue = q[:rest]
	return into
}

func (s *Store) writeLoop() {
	defer close(s.wr.stopped)
	var b batch
	for range s.wr.wake {
		for {
			b.pending = s.take(maxBatch, b.pending[:0])
			if len(b.pending) == 0 {
				break
			}
			s.runBatch(&b)
		}
		s.wr.mu.Lock()
		end := s.wr.closed && len(s.wr.queue) == 0
		s.wr.mu.Unlock()
		if end {
			return
		}
	}
}

// batch is the writer's state while it runs a batch, kept across batches for its
// slices.
type batch struct {
	tx      *sql.Tx
	pending []*writeJob // taken from the queue, not run yet
	joined  []*writeJob // run inside tx, answered after its COMMIT
	ok      bool        // some job of tx succeeded
}

// runBatch runs b.pending, and what queues meanwhile, in one transaction (see
// "Group commit" above).
func (s *Store) runBatch(b *batch) {
	for {
		for i := 0; i < len(b.pending); i++ {
			s.runOne(b, b.pending[i])
		}
		clear(b.pending)
		b.pending = b.pending[:0]
		if n := maxBatch - len(b.joined); b.tx != nil && n > 0 {
			if b.pending = s.take(n, b.pending); len(b.pending) > 0 {
				continue
			}
		}
		break
	}
	if b.tx == nil {
		return
	}
	err := b.tx.Commit()
	s.wr.batches.Add(1)
	s.wr.joined.Add(int64(len(b.joined)))
	for _, j := range b.joined {
		if err != nil {
			j.err = wrap(j.op, err)
		}
		answer(j)
	}
	if err == nil && b.ok {
		s.notify.Notify()
	}
	clear(b.joined)
	b.tx, b.joined, b.ok = nil, b.joined[:0], false
}

// runOne runs job j inside b's transaction, beginning one if there is none.
func (s *Store) runOne(b *batch, j *writeJob) {
	if err := j.ctx.Err(); err != nil {
		j.err = wrap(j.op, err)
		answer(j)
		return
	}
	if b.tx == nil {
		tx, err := s.w.BeginTx(context.Background(), nil)
		if err != nil {
			j.err = wrap(j.op, err)
			answer(j)
			return
		}
		// The first job of a transaction needs no savepoint: on failure, roll back all.
		if err := run(tx, j); err != nil {
			_ = tx.Rollback()
			j.err = err
			answer(j)
			return
		}
		b.tx, b.ok = tx, true
		b.joined = append(b.joined, j)
		return
	}
	if _, err := b.tx.Exec("SAVEPOINT job"); err != nil {
		s.abort(b, j, wrap(j.op, err))
		return
	}
	err := run(b.tx, j)
	if err == nil {
		if _, err := b.tx.Exec("RELEASE job"); err != nil {
			s.abort(b, j, wrap(j.op, err))
			return
		}
		b.ok = true
		b.joined = append(b.joined, j)
		return
	}
	// Undo this job alone. If SQLite already rolled the whole transaction back (a
	// full disk or an I/O error in one of the job's statements), the savepoint is gone
	// with it, and so is every neighbour's work: they fail with the job's error.
	s.wr.rolledBack.Add(1)
	if _, rerr := b.tx.Exec("ROLLBACK TO job; RELEASE job"); rerr != nil {
		s.abort(b, j, err)
		return
	}
	j.err = err
	b.joined = append(b.joined, j)
}

// abort rolls back b's transaction: every job that joined it, and j, fail with err.
func (s *Store) abort(b *batch, j *writeJob, err error) {
	_ = b.tx.Rollback()
	for _, o := range b.joined {
		o.err = err
		answer(o)
	}
	if j.err == nil {
		j.err = err
	}
	answer(j)
	clear(b.joined)
	b.tx, b.joined, b.ok = nil, b.joined[:0], false
}

// run runs j's statements inside tx, turning a panic into errPanicked (kept in j
// for its caller).
func run(tx *sql.Tx, j *writeJob) (err error) {
	defer func() {
		if p := recover(); p != nil {
			j.panicked = p
			err = errPanicked
		}
	}()
	return j.fn(context.WithoutCancel(j.ctx), tx)
}

// answer hands j's outcome to its caller.
func answer(j *writeJob) { j.done <- struct{}{} }
