package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/restkit/restkit"
)

// TestEventsWakeEveryNode: a write committed on one node wakes the subscribers of
// another (LISTEN/NOTIFY), and while both nodes write at once, each event appears in
// the log exactly once, in Seq order, with the writes of both.
func TestEventsWakeEveryNode(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	res := &restkit.Resource{Name: "notes", Key: "id", Fields: []*restkit.Field{
		{Name: "id", Type: restkit.TypeInteger}, {Name: "n", Type: restkit.TypeInteger}}}
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{res}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []*Store{a, b} {
		if err := s.Migrate(ctx, sc); err != nil {
			t.Fatal(err)
		}
	}
	wake, stop := b.Subscribe()
	defer stop()
	put := func(s *Store, k, n int64) {
		t.Helper()
		if _, err := s.WriteRecord(ctx, res, k, func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: map[string]any{"n": n}}, nil
		}); err != nil {
			t.Error(err)
		}
	}
	// b's LISTEN starts with its first subscriber, on a goroutine: write on a until
	// one of the writes wakes b (a NOTIFY sent before LISTEN reaches nobody).
	deadline := time.After(60 * time.Second)
	for i := int64(1); ; i++ {
		put(a, 1000+i, i)
		select {
		case <-wake:
		case <-time.After(200 * time.Millisecond):
			continue
		case <-deadline:
			t.Fatal("a write on node a never woke node b's subscriber")
		}
		break
	}
	_, start, err := b.EventBounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w, s := range []*Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range int64(25) {
				put(s, int64(w)*100+i, i)
			}
		}()
	}
	wg.Wait()
	events, err := a.Events(ctx, start, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 100 {
		t.Fatalf("%d events after %d, want 100", len(events), start)
	}
	seen := map[string]bool{}
	for i, e := range events {
		if i > 0 && e.Seq <= events[i-1].Seq {
			t.Fatalf("seq %d after %d", e.Seq, events[i-1].Seq)
		}
		if seen[e.Key] || e.Op != restkit.Created || e.Source != res.StoreName {
			t.Fatalf("event %+v (seen: %v)", e, seen[e.Key])
		}
		seen[e.Key] = true
	}
}

// TestEventsCommittedOutOfSeqOrder: writers draw Seq with no lock, so they commit out
// of Seq order. Three transactions draw a Seq each and stay open while four writers
// commit a hundred events after them; a reader following the log (as a stream's tail
// does) must not move past the first open one — it would skip it — and once they
// end (two commit, one rolls back) it must deliver every committed event exactly
// once, in Seq order, and step over the rolled-back Seq. EventBounds, asked while
// they are open, must answer a position below them.
func TestEventsCommittedOutOfSeqOrder(t *testing.T) {
	s, res, start := notesLog(t)
	ctx := context.Background()

	var mu sync.Mutex
	seen := map[int64]int{}
	var order []int64
	var reads atomic.Int64
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		pos := start
		for {
			batch, err := s.Events(ctx, pos, 50)
			if err != nil {
				t.Errorf("Events: %v", err)
				return
			}
			mu.Lock()
			for _, e := range batch {
				seen[e.Seq]++
				order = append(order, e.Seq)
				pos = e.Seq
			}
			mu.Unlock()
			reads.Add(1)
			if len(batch) == 0 {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
		}
	}()
	defer func() {
		close(stop)
		<-readerDone
	}()

	// The open transactions: each draws its Seq with the writers' own statement.
	held := make([]pgx.Tx, 3)
	heldSeq := make([]int64, 3)
	for i := range held {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, eventInsert, res.StoreName, fmt.Sprint("held", i), "created", int64(1), "2024-05-01T12:00:00.000000000Z", `{"values":{}}`, s.logLock()); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRow(ctx, `SELECT currval('_restkit_events_seq')`).Scan(&heldSeq[i]); err != nil {
			t.Fatal(err)
		}
		held[i] = tx
	}

	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range int64(25) {
				if _, err := s.WriteRecord(ctx, res, int64(w)*100+i, func(*restkit.Record) (*restkit.Record, error) {
					return &restkit.Record{Values: map[string]any{"n": i}}, nil
				}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// Let the reader read the log many times over while the three are open.
	for r := reads.Load(); reads.Load() < r+50; {
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	for _, q := range order {
		if q >= heldSeq[0] {
			t.Errorf("the reader delivered %d while %d was drawn and not committed", q, heldSeq[0])
		}
	}
	mu.Unlock()
	if _, newest, err := s.EventBounds(ctx); err != nil || newest >= heldSeq[0] {
		t.Errorf("EventBounds while %d is open: newest %d, %v; want below it", heldSeq[0], newest, err)
	}

	// The last one commits first, then the first; the middle one rolls back.
	if err := held[2].Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := held[0].Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := held[1].Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	// A read stops at the rolled-back Seq until a proof shows it final (taken when a
	// read stops at the same gap twice, and not before the back-off that the failed
	// proofs of the reader above started, up to maxProofBackoff): read until the log
	// is whole, or give up after a minute.
	var all []restkit.Event
	for whole := time.Now().Add(time.Minute); len(all) < 102 && time.Now().Before(whole); {
		var err error
		if all, err = s.Events(ctx, start, 0); err != nil {
			t.Fatal(err)
		}
		if len(all) < 102 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if len(all) != 102 {
		t.Fatalf("%d events in the log after %d, want 102", len(all), start)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n >= len(all) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range all {
		if seen[e.Seq] != 1 {
			t.Errorf("the reader saw event %d %d times", e.Seq, seen[e.Seq])
		}
	}
	if seen[heldSeq[1]] != 0 {
		t.Errorf("the reader saw the rolled-back %d", heldSeq[1])
	}
	if len(order) != len(all) {
		t.Errorf("the reader saw %d events, want %d", len(order), len(all))
	}
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Fatalf("the reader saw %d after %d", order[i], order[i-1])
		}
	}
}

// TestLongTransactionHoldsNothingBack: a transaction of another program that has a
// transaction ID and stays open (a batch job, a session idle in a transaction after a
// write) holds back neither EventBounds (a node's start, a stream's) nor the delivery
// of events past a gap a rolled-back write left: proofs depend on restkit's own
// writers alone.
func TestLongTransactionHoldsNothingBack(t *testing.T) {
	s, res, start := notesLog(t)
	ctx := context.Background()

	// The other program's transaction: a write, so it has an ID, and it stays open.
	long, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer long.Rollback(ctx)
	if _, err := long.Exec(ctx, `CREATE TEMP TABLE batch_job (i int); INSERT INTO batch_job VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	// A write that drew its Seq and rolled back: a gap.
	gap, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gap.Exec(ctx, eventInsert, res.StoreName, "gone", "created", int64(1), "2024-05-01T12:00:00.000000000Z", `{"values":{}}`, s.logLock()); err != nil {
		t.Fatal(err)
	}
	if err := gap.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range int64(3) {
		if _, err := s.WriteRecord(ctx, res, i+1, func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: map[string]any{"n": i}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	// The events after the gap arrive: the first read stops at it, the second
	// proves it final and reads on.
	var got []restkit.Event
	for whole := time.Now().Add(time.Minute); len(got) < 3 && time.Now().Before(whole); {
		batch, err := s.Events(ctx, start, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got = batch; len(got) < 3 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if len(got) != 3 {
		t.Fatalf("%d events delivered while another program's transaction is open, want the 3 after the gap", len(got))
	}
	for i, e := range got {
		if e.Key != fmt.Sprint(i+1) {
			t.Errorf("event %d is of key %s", i, e.Key)
		}
	}
	if _, newest, err := s.EventBounds(ctx); err != nil || newest < got[2].Seq {
		t.Fatalf("EventBounds while another program's transaction is open: newest %d, %v; want at least %d", newest, err, got[2].Seq)
	}
}

// notesLog is a store with one resource, notes (id, n), and the change log's newest
// position before anything is written.
func notesLog(t *testing.T) (*Store, *restkit.Resource, int64) {
	t.Helper()
	s := openTest(t)
	res := &restkit.Resource{Name: "notes", Key: "id", Fields: []*restkit.Field{
		{Name: "id", Type: restkit.TypeInteger}, {Name: "n", Type: restkit.TypeInteger}}}
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{res}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	mustMigrate(t, s, sc)
	_, start, err := s.EventBounds(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s, res, start
}

// TestOldestIsWhatWasPruned: a Seq missing because its draw rolled back is not a
// pruned one. A log whose first draw rolled back still starts at 1 for a reader
// (since=0 must not be told it missed events); after a prune it starts just past
// what the prune took, whatever gaps follow.
func TestOldestIsWhatWasPruned(t *testing.T) {
	s, res, start := notesLog(t)
	ctx := context.Background()
	if start != 0 {
		t.Fatalf("a new log's newest is %d", start)
	}
	gap := func() {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, eventInsert, res.StoreName, "gone", "created", int64(1), "2024-05-01T12:00:00.000000000Z", `{"values":{}}`, s.logLock()); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
	}
	write := func(id int64) {
		if _, err := s.WriteRecord(ctx, res, id, func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: map[string]any{"n": id}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	gap() // Seq 1, rolled back
	write(1)
	// Newest may stop before the gap until a reader proves it final; oldest is 1.
	if oldest, newest, err := s.EventBounds(ctx); err != nil || oldest != 1 || newest > 2 {
		t.Fatalf("after a rolled-back first draw: oldest %d, newest %d, %v; want 1, at most 2", oldest, newest, err)
	}
	write(2) // 3
	gap()    // 4, rolled back
	gap()    // 5, rolled back
	write(3) // 6
	write(4) // 7
	if n, err := s.PruneEvents(ctx, time.Now().Add(time.Hour), 0, 3); err != nil || n != 2 {
		t.Fatalf("PruneEvents through 3: %d, %v; want the 2 events kept up to 3", n, err)
	}
	if oldest, newest, err := s.EventBounds(ctx); err != nil || oldest != 4 || newest < 3 || newest > 7 {
		t.Fatalf("after pruning through 3: oldest %d, newest %d, %v; want 4 (the gap after a prune is not pruned), and newest from 3 to 7", oldest, newest, err)
	}
	// A later prune that reaches less far lowers nothing.
	if _, err := s.PruneEvents(ctx, time.Now().Add(time.Hour), 0, 1); err != nil {
		t.Fatal(err)
	}
	if oldest, _, err := s.EventBounds(ctx); err != nil || oldest != 4 {
		t.Fatalf("after a prune through 1: oldest %d, %v; want 4", oldest, err)
	}
}

// TestBoundsTakeNoProof: once a store has a proof, EventBounds (asked on every
// stream's start and after every webhook delivery) answers from the run of
// consecutive Seqs after it and sends no proof: a proof makes the writers wait
// behind it, and a writer stuck in its commit would make each one wait up to the
// lock timeout. A writer holding the log's lock meanwhile changes nothing.
func TestBoundsTakeNoProof(t *testing.T) {
	s, res, _ := notesLog(t)
	ctx := context.Background()
	stuck, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stuck.Rollback(ctx)
	if _, err := stuck.Exec(ctx, `SELECT pg_advisory_xact_lock_shared($1)`, s.logLock()); err != nil {
		t.Fatal(err)
	}
	before := s.proofs.tries.Load()
	for i := range int64(50) {
		if _, err := s.WriteRecord(ctx, res, i+1, func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: map[string]any{"n": i}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		_, newest, err := s.EventBounds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if newest < i+1 {
			t.Fatalf("after %d writes EventBounds says newest %d", i+1, newest)
		}
	}
	if n := s.proofs.tries.Load() - before; n != 0 {
		t.Errorf("EventBounds sent %d proofs", n)
	}
}
