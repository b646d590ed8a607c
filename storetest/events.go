package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

// The change log part of the suite (stores that implement restkit.EventLog): every
// committed write appends its events in its own transaction, a failed one appends
// none, Seq is strictly increasing in commit order (a reader that follows the log
// while writers commit misses nothing), it survives a reopen, and old events can be
// pruned.

func eventLog(t *testing.T, s restkit.Store) restkit.EventLog {
	t.Helper()
	el, ok := s.(restkit.EventLog)
	if !ok {
		t.Skip("the store keeps no change log")
	}
	return el
}

// allEvents reads the whole log after seq.
func allEvents(t testing.TB, el restkit.EventLog, after int64) []restkit.Event {
	t.Helper()
	var out []restkit.Event
	for {
		batch, err := el.Events(context.Background(), after, 100)
		if err != nil {
			t.Fatalf("Events: %v", err)
		}
		out = append(out, batch...)
		if len(batch) < 100 {
			return out
		}
		after = batch[len(batch)-1].Seq
	}
}

// summary is an event without its Seq and time, for comparing.
func summary(e restkit.Event) string {
	return fmt.Sprintf("%s %s %s r%d", e.Source, e.Key, e.Op, e.Rev)
}

func testEvents(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	el := eventLog(t, f.s)
	_, start, err := el.EventBounds(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	wake, stop := el.Subscribe()
	defer stop()
	f.create(t, f.things, map[string]any{"id": int64(1), "name": "one"}, t0)
	select {
	case <-wake:
	case <-time.After(30 * time.Second):
		t.Fatal("no wake-up after a commit")
	}
	f.write(t, f.things, int64(1), replace(map[string]any{"id": int64(1), "name": "uno", "count": int64(3)}, t0), nil)
	if _, err := f.s.WriteNoun(f.ctx, f.lamp, func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"state": "on", "level": int64(50), "ratio": 0.5, "lit": false}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	// Writes that fail append nothing.
	f.write(t, f.things, int64(2), func(*restkit.Record) (*restkit.Record, error) { return nil, restkit.Errorf(restkit.Invalid, "no") }, restkit.Invalid)
	f.write(t, f.things, int64(3), createOnly(map[string]any{"id": int64(3), "name": "uno"}, t0), restkit.Conflict)
	f.write(t, f.things, int64(1), func(*restkit.Record) (*restkit.Record, error) { return nil, nil }, nil) // delete

	events := allEvents(t, el, start)
	var got []string
	for i, e := range events {
		got = append(got, summary(e))
		if i > 0 && e.Seq <= events[i-1].Seq {
			t.Errorf("Seq %d after %d", e.Seq, events[i-1].Seq)
		}
		if e.Time.IsZero() || e.Time.Location() != time.UTC {
			t.Errorf("event %d time %v", e.Seq, e.Time)
		}
	}
	want := []string{"things 1 created r1", "things 1 updated r2", "lamp lamp created r1", "things 1 deleted r2"}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("the log:\ngot  %s\nwant %s", strings.Join(got, "; "), strings.Join(want, "; "))
	}
	for _, i := range []int{1, 3} { // an update's state, and a delete's: the last revision
		rec, err := events[i].Record(f.things.Field)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if rec.Values["name"] != "uno" || rec.Values["count"] != int64(3) || rec.Rev != 2 || rec.Created.IsZero() || rec.Updated.Before(rec.Created) {
			t.Errorf("event %d's record: %+v (state %s)", i, rec, events[i].State)
		}
	}
	// Events after a Seq are those after it.
	if rest := allEvents(t, el, events[1].Seq); len(rest) != 2 || rest[0].Seq != events[2].Seq {
		t.Errorf("Events after the second: %v", rest)
	}
	if oldest, newest, err := el.EventBounds(f.ctx); err != nil || newest != events[3].Seq || oldest > events[0].Seq {
		t.Errorf("EventBounds = %d, %d, %v", oldest, newest, err)
	}
}

// write runs one write and checks its outcome: no error when kind is nil.
func (f *fixture) write(t testing.TB, res *restkit.Resource, key any, change restkit.Change, kind any) {
	t.Helper()
	_, err := f.s.WriteRecord(f.ctx, res, key, change)
	if kind == nil {
		if err != nil {
			t.Fatalf("write %v: %v", key, err)
		}
		return
	}
	wantKind(t, fmt.Sprintf("write %v", key), err, kind.(restkit.Kind))
}

// testEventsOfCascades: a delete that cascades and clears appends one event per
// record it touched, in one commit (their Seqs follow each other in the log), and a
// refused one appends none.
func testEventsOfCascades(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := relSetup(t, open)
	el := eventLog(t, f.s)
	f.library(t)
	f.put(t, f.chapters, map[string]any{"id": int64(1), "book": int64(10)})
	_, before, _ := el.EventBounds(f.ctx)
	if err := f.del(f.authors, int64(1)); !restkit.IsKind(err, restkit.Conflict) {
		t.Fatalf("a restricted delete: %v", err)
	}
	if err := f.del(f.authors, int64(2)); !restkit.IsKind(err, restkit.Conflict) {
		t.Fatalf("a restricted delete: %v", err)
	}
	if got := allEvents(t, el, before); len(got) != 0 {
		t.Fatalf("refused deletes appended %v", got)
	}
	if err := f.del(f.books, int64(10)); err != nil { // cascades to chapter 1
		t.Fatal(err)
	}
	got := allEvents(t, el, before)
	var s []string
	for _, e := range got {
		s = append(s, summary(e))
	}
	want := "chapters 1 deleted r1; books 10 deleted r1"
	if strings.Join(s, "; ") != want {
		t.Errorf("a cascade's events:\ngot  %s\nwant %s", strings.Join(s, "; "), want)
	}
	// set_null: deleting author 2 (editor of book 10, gone; author of 11) is refused;
	// deleting tag go, which no book holds now (10 is gone), is one event.
	if err := f.del(f.tags, "go"); err != nil {
		t.Fatal(err)
	}
	if got := allEvents(t, el, got[len(got)-1].Seq); len(got) != 1 || summary(got[0]) != "tags go deleted r1" {
		t.Errorf("deleting an unused tag: %v", got)
	}
}

// testEventsFollowCommits: while writers commit concurrently, a reader that follows
// the log from its last Seq sees every event exactly once — no event commits behind
// the reader's position — and each write appears once.
func testEventsFollowCommits(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	el := eventLog(t, f.s)
	_, start, _ := el.EventBounds(f.ctx)
	const writers, each = 8, 25
	writersDone := make(chan struct{})
	readerDone := make(chan struct{})
	seen := map[int64]int{}
	var order []int64
	go func() { // the reader: polls the log, as a stream's tail does between wake-ups
		defer close(readerDone)
		pos, last := start, false
		for {
			batch, err := el.Events(f.ctx, pos, 50)
			if err != nil {
				t.Errorf("Events: %v", err)
				return
			}
			for _, e := range batch {
				seen[e.Seq]++
				order = append(order, e.Seq)
				pos = e.Seq
			}
			switch {
			case len(batch) > 0:
			case last:
				return
			default:
				select {
				case <-writersDone:
					last = true // one more read after every write has returned
				case <-time.After(time.Millisecond):
				}
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				id := int64(1000*w + i + 1)
				if _, err := f.s.WriteRecord(f.ctx, f.things, id, createOnly(map[string]any{"id": id, "name": fmt.Sprint(id)}, t0)); err != nil {
					t.Errorf("write %d: %v", id, err)
				}
			}
		}()
	}
	wg.Wait()
	close(writersDone)
	<-readerDone
	all := allEvents(t, el, start)
	if len(all) != writers*each {
		t.Fatalf("%d events for %d writes", len(all), writers*each)
	}
	for _, e := range all {
		if seen[e.Seq] != 1 {
			t.Errorf("the following reader saw event %d %d times", e.Seq, seen[e.Seq])
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i] <= order[i-1] {
			t.Fatalf("the reader saw %d after %d", order[i], order[i-1])
		}
	}
}

// testEventsAfterReopen: the log and its numbering survive a restart of the store.
func testEventsAfterReopen(t *testing.T, open func(t *testing.T) restkit.Store, o options) {
	if o.reopen == nil {
		t.Skip("the store cannot be reopened")
	}
	f := setup(t, open)
	el := eventLog(t, f.s)
	f.create(t, f.things, map[string]any{"id": int64(1), "name": "one"}, t0)
	before := allEvents(t, el, 0)
	f.s = o.reopen(t, f.s)
	if err := f.s.Migrate(f.ctx, f.schema); err != nil {
		t.Fatal(err)
	}
	el = eventLog(t, f.s)
	if after := allEvents(t, el, 0); len(after) != len(before) || after[len(after)-1] != before[len(before)-1] {
		t.Fatalf("the log after a reopen: %v, before %v", after, before)
	}
	f.create(t, f.things, map[string]any{"id": int64(2), "name": "two"}, t0)
	all := allEvents(t, el, 0)
	if last := all[len(all)-1]; last.Seq <= before[len(before)-1].Seq || summary(last) != "things 2 created r1" {
		t.Errorf("the first event after a reopen: %+v, after %d", last, before[len(before)-1].Seq)
	}
}

// testEventPrune: pruning by age and by count, sparing what keepAfter protects.
func testEventPrune(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	el := eventLog(t, f.s)
	_, start, _ := el.EventBounds(f.ctx)
	for i := int64(1); i <= 10; i++ {
		f.create(t, f.things, map[string]any{"id": i, "name": fmt.Sprint(i)}, t0)
	}
	all := allEvents(t, el, start)
	if len(all) != 10 {
		t.Fatalf("%d events", len(all))
	}
	// By count: keep the newest 6, but never past keepAfter (the 3rd).
	n, err := el.PruneEvents(f.ctx, time.Time{}, 6, all[2].Seq)
	if err != nil || n != 3 {
		t.Fatalf("PruneEvents by count, sparing from the 4th: %d, %v; want 3", n, err)
	}
	// By age: everything is older than a minute from now; keepAfter spares from the 8th.
	n, err = el.PruneEvents(f.ctx, time.Now().Add(time.Minute), 0, all[6].Seq)
	if err != nil || n != 4 {
		t.Fatalf("PruneEvents by age: %d, %v; want 4", n, err)
	}
	oldest, newest, err := el.EventBounds(f.ctx)
	if err != nil || oldest != all[7].Seq || newest != all[9].Seq {
		t.Errorf("EventBounds after pruning = %d, %d, %v; want %d, %d", oldest, newest, err, all[7].Seq, all[9].Seq)
	}
	if rest := allEvents(t, el, 0); len(rest) != 3 {
		t.Errorf("%d events left, want 3", len(rest))
	}
	// Everything old, nothing to spare: the newest stays, and the numbering goes on
	// after it.
	if n, err := el.PruneEvents(f.ctx, time.Now().Add(time.Minute), 0, 1<<62); err != nil || n != 2 {
		t.Fatalf("PruneEvents of everything: %d, %v; want 2 (the newest stays)", n, err)
	}
	f.create(t, f.things, map[string]any{"id": int64(11), "name": "11"}, t0)
	if rest := allEvents(t, el, 0); len(rest) != 2 || rest[0].Seq != all[9].Seq || rest[1].Seq != all[9].Seq+1 {
		t.Errorf("after pruning everything and one more write: %v", rest)
	}
}
