package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

// TestGroupCommitKeepsEachWriteExact: 200 concurrent writers, a third of whose
// writes fail on purpose, in the same batches as the others (a gate holds the first
// batch open until every writer has queued, so batches of many jobs are certain, and
// the writers start at different kinds of write, so each batch mixes them):
//   - a create whose unique model is taken (the row's INSERT fails);
//   - a batch (WriteRecords) whose first record is written in full — row, history,
//     event — before its second fails on the unique model, so its savepoint must undo
//     work already done;
//   - an update refused by its change (a failed If-Match), after its SELECT.
//
// Every good write must then be there exactly once, with its history and its events,
// and nothing of a failed one: no row, no revision, no event.
func TestGroupCommitKeepsEachWriteExact(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	sc := cars(t, func(r *restkit.Resource) {
		r.History = true
		field(r, "model").Unique = true
	})
	mustMigrate(t, s, sc)
	res := sc.APIs[0].Resources[0]
	put(t, s, res, map[string]any{"id": int64(1), "model": "taken", "color": "red"})

	create := func(model string) restkit.Change {
		return func(cur *restkit.Record) (*restkit.Record, error) {
			if cur != nil {
				return nil, restkit.Errorf(restkit.Conflict, "exists")
			}
			return &restkit.Record{Values: map[string]any{"model": model, "color": "blue"}}, nil
		}
	}
	errPrecondition := restkit.Errorf(restkit.PreconditionFailed, "the ETag does not match")

	// The gate: a write whose change waits until every writer has queued behind it.
	const writers, rounds = 200, 6
	gated := make(chan error, 1)
	running := make(chan struct{})
	go func() {
		_, err := s.WriteRecord(ctx, res, int64(2), func(*restkit.Record) (*restkit.Record, error) {
			close(running)
			deadline := time.Now().Add(2 * time.Minute)
			for {
				s.wr.mu.Lock()
				n := len(s.wr.queue)
				s.wr.mu.Unlock()
				if n >= writers {
					break
				}
				if time.Now().After(deadline) { // the batches would not be the ones this test means
					return nil, fmt.Errorf("only %d of %d writers queued behind the gate in 2 minutes", n, writers)
				}
				time.Sleep(time.Millisecond)
			}
			return &restkit.Record{Values: map[string]any{"model": "gate", "color": "red"}}, nil
		})
		gated <- err
	}()
	<-running

	var mu sync.Mutex
	good := map[int64]int64{} // key → the rev its last acknowledged write left
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				key := int64(1000 + w*100 + i)
				var err error
				switch (w + i) % 3 { // mixed: every batch holds each kind
				case 0: // a good create, then a good update of it
					if _, err = s.WriteRecord(ctx, res, key, create(fmt.Sprint("m", key))); err != nil {
						t.Errorf("create %d: %v", key, err)
						continue
					}
					_, err = s.WriteRecord(ctx, res, key, func(cur *restkit.Record) (*restkit.Record, error) {
						cur.Values["year"] = int64(2000)
						return cur, nil
					})
					if err != nil {
						t.Errorf("update %d: %v", key, err)
						continue
					}
					mu.Lock()
					good[key] = 2
					mu.Unlock()
				case 1: // a taken model, alone and second in a batch
					if _, err = s.WriteRecord(ctx, res, key, create("taken")); !restkit.IsKind(err, restkit.Conflict) {
						t.Errorf("create %d with a taken model: %v, want a Conflict", key, err)
					}
					keys := []any{key + 50, key}
					_, err = s.WriteRecords(ctx, res, keys, func(j int, cur *restkit.Record) (*restkit.Record, error) {
						return create([]string{fmt.Sprint("m", key+50), "taken"}[j])(cur)
					})
					var be *restkit.BatchError
					if !errors.As(err, &be) || be.Index != 1 || !restkit.IsKind(err, restkit.Conflict) {
						t.Errorf("batch %v: %v, want a Conflict at index 1", keys, err)
					}
				case 2: // an update refused after reading the record
					_, err = s.WriteRecord(ctx, res, int64(1), func(cur *restkit.Record) (*restkit.Record, error) {
						cur.Values["color"] = "never"
						return nil, errPrecondition
					})
					if !errors.Is(err, errPrecondition) {
						t.Errorf("refused update: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := <-gated; err != nil {
		t.Fatalf("the gate: %v", err)
	}
	good[2] = 1
	good[1] = 1
	if t.Failed() {
		return
	}
	batches, joined, rolledBack := s.wr.batches.Load(), s.wr.joined.Load(), s.wr.rolledBack.Load()
	t.Logf("%d jobs in %d batches, %d rolled back to their savepoint", joined, batches, rolledBack)
	if joined <= batches || rolledBack == 0 {
		t.Errorf("no batch held several jobs and a failing one: %d jobs, %d batches, %d rolled back", joined, batches, rolledBack)
	}
	checkExact(t, s, good)
}

// checkExact checks that the cars table, its history and the change log hold exactly
// the writes of good (key → rev, every rev from 1 up; rev 1 created, later ones
// updated) and nothing else.
func checkExact(t *testing.T, s *Store, good map[int64]int64) {
	t.Helper()
	rows := map[int64]int64{}
	r, err := s.r.QueryContext(ctx, `SELECT id, _rev FROM cars`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var k, rev int64
		if err := r.Scan(&k, &rev); err != nil {
			t.Fatal(err)
		}
		rows[k] = rev
	}
	r.Close()
	if len(rows) != len(good) {
		t.Errorf("%d rows, want %d", len(rows), len(good))
	}
	for k, rev := range good {
		if rows[k] != rev {
			t.Errorf("car %d: rev %d, want %d", k, rows[k], rev)
		}
	}
	for _, q := range []struct{ what, sql string }{
		{"history", `SELECT key, rev, 'x' FROM cars__history ORDER BY key, rev`},
		{"events", `SELECT key, rev, op FROM _restkit_events WHERE source = 'cars' ORDER BY seq`},
	} {
		seen := map[string]int{}
		r, err := s.r.QueryContext(ctx, q.sql)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for r.Next() {
			var k, rev int64
			var op string
			if err := r.Scan(&k, &rev, &op); err != nil {
				t.Fatal(err)
			}
			if q.what == "events" && op != map[bool]string{true: "created", false: "updated"}[rev == 1] {
				t.Errorf("event of car %d rev %d is %q", k, rev, op)
			}
			seen[fmt.Sprint(k, " ", rev)]++
			n++
		}
		r.Close()
		want := 0
		for k, last := range good {
			for rev := int64(1); rev <= last; rev++ {
				want++
				if c := seen[fmt.Sprint(k, " ", rev)]; c != 1 {
					t.Errorf("%s of car %d rev %d: %d times", q.what, k, rev, c)
				}
			}
		}
		if n != want {
			t.Errorf("%d %s rows, want %d: a failed write left some", n, q.what, want)
		}
	}
}

// TestGroupCommitOnAFullDatabase: concurrent writers fill the database until SQLite
// cannot grow it (max_page_count, which fails as a full disk does). Whatever SQLite
// does with the transaction of a batch whose statement meets SQLITE_FULL, every
// write acknowledged is there with its history and events, every failed one is
// InsufficientStorage (507) and left nothing.
func TestGroupCommitOnAFullDatabase(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	sc := cars(t, func(r *restkit.Resource) { r.History = true })
	mustMigrate(t, s, sc)
	res := sc.APIs[0].Resources[0]
	var pages int64
	if err := s.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, fmt.Sprintf("PRAGMA max_page_count = %d", pages+300)); err != nil {
		t.Fatal(err)
	}
	long := string(make([]byte, 1500))
	var mu sync.Mutex
	good := map[int64]int64{}
	full := 0
	var wg sync.WaitGroup
	for w := range 50 {
		wg.Go(func() {
			for i := range 20 {
				key := int64(1 + w*100 + i)
				_, err := s.WriteRecord(ctx, res, key, func(*restkit.Record) (*restkit.Record, error) {
					return &restkit.Record{Values: map[string]any{"model": long, "color": "c"}}, nil
				})
				mu.Lock()
				switch {
				case err == nil:
					good[key] = 1
				case restkit.IsKind(err, restkit.InsufficientStorage):
					full++
				default:
					t.Errorf("write %d: %v, want success or InsufficientStorage", key, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("%d written, %d refused for want of space", len(good), full)
	if full == 0 {
		t.Fatal("the database never filled up")
	}
	checkExact(t, s, good)
}

// gate starts a write (car 2) whose change holds the writer until n more jobs have
// queued behind it, so that they all run in its batch; it returns once the gate is
// running, and the gate's outcome comes on the channel.
func gate(t *testing.T, s *Store, res *restkit.Resource, n int) <-chan error {
	t.Helper()
	out := make(chan error, 1)
	running := make(chan struct{})
	go func() {
		_, err := s.WriteRecord(ctx, res, int64(2), func(*restkit.Record) (*restkit.Record, error) {
			close(running)
			waitQueue(t, s, n)
			return &restkit.Record{Values: map[string]any{"model": "gate", "color": "red"}}, nil
		})
		out <- err
	}()
	<-running
	return out
}

// waitQueue waits until n jobs are queued for the writer (which must be held, by a
// gate, for the count to only grow).
func waitQueue(t *testing.T, s *Store, n int) {
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		s.wr.mu.Lock()
		q := len(s.wr.queue)
		s.wr.mu.Unlock()
		if q >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("only %d of %d jobs queued within a minute", q, n)
			return
		}
	}
}

// inOrder queues the writes one after another (each once the previous one is
// queued), each in a goroutine of its own, and returns their errors once all are
// answered. It counts the jobs submitted, not those still queued: once the last has
// queued, a gate may let the writer take them all at once.
func inOrder(t *testing.T, s *Store, writes ...func() error) []error {
	errs := make([]error, len(writes))
	var wg sync.WaitGroup
	base := s.wr.submitted.Load()
	for i, w := range writes {
		wg.Go(func() { errs[i] = w() })
		for deadline := time.Now().Add(time.Minute); s.wr.submitted.Load() < base+int64(i)+1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("write %d was not queued within a minute", i)
			}
		}
	}
	wg.Wait()
	return errs
}

// TestGroupCommitFailureFailsTheBatch: a COMMIT that fails (here a deferred foreign
// key that one job broke, which SQLite checks only at COMMIT) fails every write of
// the batch: none is acknowledged, none is there. The writer goes on afterwards.
func TestGroupCommitFailureFailsTheBatch(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	sc := cars(t, func(r *restkit.Resource) { r.History = true })
	mustMigrate(t, s, sc)
	res := sc.APIs[0].Resources[0]
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE probe (id INTEGER PRIMARY KEY, car INTEGER REFERENCES cars (id) DEFERRABLE INITIALLY DEFERRED)`); err != nil {
		t.Fatal(err)
	}
	g := gate(t, s, res, 21)
	var writes []func() error
	for i := range 21 {
		key := int64(100 + i)
		writes = append(writes, func() error {
			if i == 10 { // the job that breaks the commit, itself without error
				return s.submit(ctx, "test", func(ctx context.Context, tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, `INSERT INTO probe (id, car) VALUES (1, 999)`)
					return err
				})
			}
			_, err := s.WriteRecord(ctx, res, key, func(*restkit.Record) (*restkit.Record, error) {
				return &restkit.Record{Values: map[string]any{"model": "m", "color": "c"}}, nil
			})
			return err
		})
	}
	errs := inOrder(t, s, writes...)
	errs = append(errs, <-g)
	for i, err := range errs {
		if err == nil {
			t.Errorf("write %d of the failed batch was acknowledged", i)
		}
	}
	checkExact(t, s, map[int64]int64{})
	if _, err := s.WriteRecord(ctx, res, int64(7), func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"model": "after", "color": "c"}}, nil
	}); err != nil {
		t.Fatalf("a write after the failed batch: %v", err)
	}
	checkExact(t, s, map[int64]int64{7: 1})
}

// TestGroupCommitRolledBackBatch: when SQLite rolls back the whole transaction under
// a failing statement (as it may on a full disk or an I/O error; here a job does so
// itself), the jobs of the batch before it fail with its error and are not there;
// the jobs queued after it run in a new transaction and are.
func TestGroupCommitRolledBackBatch(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	sc := cars(t, func(r *restkit.Resource) { r.History = true })
	mustMigrate(t, s, sc)
	res := sc.APIs[0].Resources[0]
	g := gate(t, s, res, 11)
	errBroken := restkit.Errorf(restkit.InsufficientStorage, "the disk is full")
	var writes []func() error
	for i := range 11 {
		key := int64(100 + i)
		writes = append(writes, func() error {
			if i == 5 {
				return s.submit(ctx, "test", func(ctx context.Context, tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
						return err
					}
					return errBroken
				})
			}
			_, err := s.WriteRecord(ctx, res, key, func(*restkit.Record) (*restkit.Record, error) {
				return &restkit.Record{Values: map[string]any{"model": "m", "color": "c"}}, nil
			})
			return err
		})
	}
	errs := inOrder(t, s, writes...)
	if err := <-g; !errors.Is(err, errBroken) {
		t.Errorf("the gate, first in the batch: %v, want the breaking error", err)
	}
	good := map[int64]int64{}
	for i, err := range errs {
		switch {
		case i <= 5 && !errors.Is(err, errBroken):
			t.Errorf("write %d, before the rollback: %v, want the breaking error", i, err)
		case i > 5 && err != nil:
			t.Errorf("write %d, after the rollback: %v", i, err)
		case i > 5:
			good[int64(100+i)] = 1
		}
	}
	checkExact(t, s, good)
}
