package memory

import (
	"context"
	"sort"
	"time"

	"github.com/restkit/restkit"
)

var _ restkit.EventLog = (*Store)(nil)

// record notes the event of one record's write (cur nil: created; rec nil: deleted)
// among the events of the write under way; the caller holds the write lock.
func (s *Store) record(source string, key any, cur, rec *restkit.Record) {
	e, err := restkit.EventOf(source, restkit.Format(key), cur, rec, time.Now())
	if err != nil {
		panic(err) // canonical values always encode
	}
	s.pending = append(s.pending, e)
}

// settle ends a write: its events join the log, numbered, when it succeeded, and are
// forgotten when it failed (the write changed nothing). The caller holds the lock.
func (s *Store) settle(err error) {
	if err != nil || len(s.pending) == 0 {
		s.pending = nil
		return
	}
	for i := range s.pending {
		s.seq++
		s.pending[i].Seq = s.seq
	}
	s.events = append(s.events, s.pending...)
	s.pending = nil
	s.notify.Notify()
}

// Events returns up to limit events after the Seq after.
func (s *Store) Events(ctx context.Context, after int64, limit int) ([]restkit.Event, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := sort.Search(len(s.events), func(i int) bool { return s.events[i].Seq > after })
	end := len(s.events)
	if limit > 0 && i+limit < end {
		end = i + limit
	}
	return append([]restkit.Event(nil), s.events[i:end]...), nil
}

// EventBounds returns the oldest and newest Seq kept.
func (s *Store) EventBounds(ctx context.Context) (int64, int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.events) == 0 {
		return s.seq + 1, s.seq, nil
	}
	return s.events[0].Seq, s.events[len(s.events)-1].Seq, nil
}

// PruneEvents forgets old events (restkit.EventLog).
func (s *Store) PruneEvents(ctx context.Context, olderThan time.Time, max int64, keepAfter int64) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cut := 0
	for cut < len(s.events)-1 { // the newest stays (restkit.EventLog)
		e := s.events[cut]
		tooMany := max > 0 && int64(len(s.events)-cut) > max
		if e.Seq > keepAfter || (!e.Time.Before(olderThan) && !tooMany) {
			break
		}
		cut++
	}
	s.events = append([]restkit.Event(nil), s.events[cut:]...)
	return int64(cut), nil
}

// Subscribe wakes the caller after each write that appended events.
func (s *Store) Subscribe() (<-chan struct{}, func()) { return s.notify.Subscribe() }
