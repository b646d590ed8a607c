package restkit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Events: the change log.
//
// Every committed write appends, in its own transaction, one Event per record or
// state it changed — the record asked for, and those a cascade deleted or a set_null
// cleared — to the store's change log. Seq is global and strictly increasing, and a
// reader that has seen Seq n has seen every event before it: a store's Events never
// returns an event while one below it may still be committed (SQLite's and the
// memory store's writes commit in Seq order; PostgreSQL's writers may commit out of
// it, and its Events stops before a Seq still in flight). So streams resume from a
// Seq (Last-Event-ID) with nothing lost or repeated, and webhooks deliver in Seq
// order. The log is the truth; a store's Subscribe is
// only a wake-up.

// EventOp is what a write did to a record.
type EventOp string

const (
	Created EventOp = "created"
	Updated EventOp = "updated"
	Deleted EventOp = "deleted"
)

// Event is one entry of the change log.
type Event struct {
	Seq    int64
	Source string  // the StoreName of the resource or noun; ArtefactSource for the repository
	Key    string  // the record's key as text (Format); a noun's name; "dir/id" for an artefact
	Op     EventOp // created, updated or deleted
	Rev    int64   // the revision written (a delete: the last revision)
	Time   time.Time
	// State is the record after the write (for a delete, its last revision), as
	// JSON, so that a stream shows the record as it was at this event and list
	// filters can judge a delete by the record's last revision. Record decodes it.
	State string
}

// ArtefactSource is the Source of the artefact repository's events.
const ArtefactSource = "_artefacts"

// EventLog is a Store that keeps the change log (an optional ability: every store of
// this module has it).
type EventLog interface {
	// Events returns up to limit events with Seq > after, in Seq order: fewer than
	// the log holds when a write below one of them may still commit.
	Events(ctx context.Context, after int64, limit int) ([]Event, error)
	// EventBounds returns the Seq of the oldest event still kept and of the newest
	// (0, 0 when the log is empty; oldest is then the next Seq to come). A reader
	// whose position is before oldest-1 has missed events the log no longer holds.
	EventBounds(ctx context.Context) (oldest, newest int64, err error)
	// PruneEvents deletes events written before olderThan, and the oldest beyond the
	// newest max (max 0: no count limit), but never one with Seq > keepAfter (events
	// a webhook has yet to deliver) and never the newest (so that no store can start
	// numbering again below it). It returns how many it deleted.
	PruneEvents(ctx context.Context, olderThan time.Time, max int64, keepAfter int64) (int64, error)
	// Subscribe returns a channel that receives (without blocking the writer: it has
	// room for one) after each commit that appended events, in this process or — for
	// a shared store — on any node; and a function that ends the subscription.
	Subscribe() (<-chan struct{}, func())
}

// EventDrawer is an EventLog whose Seqs are drawn before their events commit, and may
// commit out of order (PostgreSQL's): EventBounds' newest is then the end of what is
// final, which can lag what another node has read. LastDrawn is the highest Seq
// handed out so far, committed or not: a position at most that exists in this log.
type EventDrawer interface {
	LastDrawn(ctx context.Context) (int64, error)
}

// EventOf is the event a store appends for a write of one record: created when there
// was none (cur nil), updated when there is one after (next not nil), deleted
// otherwise (its State the last revision).
func EventOf(source, key string, cur, next *Record, now time.Time) (Event, error) {
	rec := next
	if next == nil {
		rec = cur
	}
	values, err := EncodeState(rec.Values)
	if err != nil {
		return Event{}, err
	}
	return EventOfState(source, key, cur, next, values, now), nil
}

// EventOfState is EventOf for a store that has already encoded the values of the
// record the event shows (EncodeState of next's values, or of cur's for a delete),
// for its history: the encoding is then done once per write.
func EventOfState(source, key string, cur, next *Record, values string, now time.Time) Event {
	e := Event{Source: source, Key: key, Time: now.UTC()}
	rec := next
	switch {
	case next == nil:
		e.Op, e.Rev, rec = Deleted, cur.Rev, cur
	case cur == nil:
		e.Op, e.Rev = Created, next.Rev
	default:
		e.Op, e.Rev = Updated, next.Rev
	}
	// What json.Marshal of eventState writes (values is compact JSON already), without
	// its reflection: {"values":…,"created":"RFC 3339","updated":"RFC 3339"}.
	b := make([]byte, 0, len(values)+96)
	b = append(b, `{"values":`...)
	b = append(b, values...)
	b = append(b, `,"created":"`...)
	b = rec.Created.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","updated":"`...)
	b = rec.Updated.UTC().AppendFormat(b, time.RFC3339Nano)
	e.State = string(append(b, `"}`...))
	return e
}

// eventState is the JSON of Event.State: the record's values and stamps.
type eventState struct {
	Values  json.RawMessage `json:"values"`
	Created time.Time       `json:"created"`
	Updated time.Time       `json:"updated"`
}

// Record decodes the event's State: the record as it was after the write (for a
// delete, its last revision), with the Rev of the event. field resolves the declared
// fields; values of fields no longer declared are left out.
func (e Event) Record(field func(name string) *Field) (*Record, error) {
	var st eventState
	if err := json.Unmarshal([]byte(e.State), &st); err != nil {
		return nil, fmt.Errorf("event %d: %w", e.Seq, err)
	}
	values, err := DecodeState(string(st.Values), field)
	if err != nil {
		return nil, fmt.Errorf("event %d: %w", e.Seq, err)
	}
	return &Record{Values: values, Rev: e.Rev, Created: st.Created, Updated: st.Updated}, nil
}

// Notifier is the in-process side of Subscribe that a store embeds: Notify wakes
// every subscriber, never blocking (a subscriber that has not yet read the previous
// wake-up loses nothing: one pending wake-up means "read the log").
type Notifier struct {
	subs chan map[chan struct{}]struct{} // a one-slot channel as a lock that select can use
}

// Subscribe implements EventLog.Subscribe for the store.
func (n *Notifier) Subscribe() (<-chan struct{}, func()) {
	n.init()
	c := make(chan struct{}, 1)
	m := <-n.subs
	m[c] = struct{}{}
	n.subs <- m
	return c, func() {
		m := <-n.subs
		delete(m, c)
		n.subs <- m
	}
}

// Notify wakes every subscriber.
func (n *Notifier) Notify() {
	n.init()
	m := <-n.subs
	for c := range m {
		select {
		case c <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	n.subs <- m
}

func (n *Notifier) init() {
	if n.subs == nil {
		panic("restkit.Notifier used before NewNotifier")
	}
}

// NewNotifier returns a Notifier ready for use.
func NewNotifier() *Notifier {
	n := &Notifier{subs: make(chan map[chan struct{}]struct{}, 1)}
	n.subs <- map[chan struct{}]struct{}{}
	return n
}

// SourceOf returns the resource or the noun whose StoreName is an event's Source
// (both nil when the schema declares neither: a source no longer served, or the
// artefact repository's).
func (s *Schema) SourceOf(source string) (*Resource, *Noun) {
	for _, api := range s.APIs {
		for _, r := range api.Resources {
			if r.StoreName == source {
				return r, nil
			}
		}
		for _, n := range api.Nouns {
			if n.StoreName == source {
				return nil, n
			}
		}
	}
	return nil, nil
}

// artefactState is the State of an artefact's event: the version as the
// repository's listings show it.
type artefactState struct {
	Directory   string    `json:"directory"`
	ID          string    `json:"id"`
	Version     int64     `json:"version"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	ContentType string    `json:"content_type"`
	Filename    string    `json:"filename,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// ArtefactEvent is the event a store appends for a write of the artefact
// repository, keyed by the artefact's path: created for its first version, updated
// for a later one (or for a version deleted while others remain: a is then the new
// latest), deleted when its last version goes (a is the latest it had). Versions
// pruned by retention append none.
func ArtefactEvent(op EventOp, a *Artefact, now time.Time) (Event, error) {
	state, err := json.Marshal(artefactState{Directory: a.Directory, ID: a.ID, Version: a.Version, Size: a.Size, SHA256: a.SHA256,
		ContentType: a.ContentType, Filename: a.Filename, Created: a.Created.UTC(), Updated: a.Updated.UTC()})
	return Event{Source: ArtefactSource, Key: a.Path(), Op: op, Rev: a.Version, Time: now.UTC(), State: string(state)}, err
}

// Artefact decodes the State of an artefact's event.
func (e Event) Artefact() (*Artefact, error) {
	var st artefactState
	if err := json.Unmarshal([]byte(e.State), &st); err != nil {
		return nil, fmt.Errorf("event %d: %w", e.Seq, err)
	}
	return &Artefact{Directory: st.Directory, ID: st.ID, Version: st.Version, Size: st.Size, SHA256: st.SHA256,
		ContentType: st.ContentType, Filename: st.Filename, Created: st.Created, Updated: st.Updated}, nil
}
