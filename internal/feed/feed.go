package feed

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/restkit/restkit"
)

// Entry is one event of the feed.
type Entry struct {
	restkit.Event
	once sync.Once
	memo any
}

// Memo returns f(e), computed once per entry however many readers ask: a reader's
// decoded record, its rendered JSON. Every reader of a feed must pass the same f.
func (e *Entry) Memo(f func(restkit.Event) any) any {
	e.once.Do(func() { e.memo = f(e.Event) })
	return e.memo
}

// Options configure a Feed.
type Options struct {
	Ring int // how many of the newest events it keeps in memory; default 4096
	// RingBytes bounds the memory of those events, counted as three times their
	// state's length (the state, and the decoded and rendered copies readers memoise):
	// big records keep fewer events in memory; default 32 MiB. The newest is always kept.
	RingBytes int
	Poll      time.Duration // how often it reads the log without a wake-up; default 1s
	Batch     int           // how many events one read of the log takes at most; default 1000
	Logger    *slog.Logger  // nil: discard
}

// Feed follows one EventLog (see the package documentation). It is safe for
// concurrent use.
type Feed struct {
	log  restkit.EventLog
	opts Options

	mu      sync.RWMutex
	ring    []*Entry      // the newest events, oldest first; never changed in place
	base    int64         // the ring holds every event after base, up to pos
	size    int           // the entryCost of the ring's entries
	pos     int64         // the Seq the feed has read up to
	changed chan struct{} // closed (and replaced) when pos moves or the feed closes
	closed  bool

	stop context.CancelFunc
	done chan struct{}
}

// Start reads the log's bounds and follows the log from its newest event until
// Close. Events committed before Start are read from the store on request (Read).
func Start(ctx context.Context, log restkit.EventLog, opts Options) (*Feed, error) {
	if opts.Ring <= 0 {
		opts.Ring = 4096
	}
	if opts.RingBytes <= 0 {
		opts.RingBytes = 32 << 20
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Batch <= 0 {
		opts.Batch = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	// Subscribe before reading the bounds: a commit in between wakes the loop.
	wake, unsubscribe := log.Subscribe()
	_, newest, err := log.EventBounds(ctx)
	if err != nil {
		unsubscribe()
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	f := &Feed{log: log, opts: opts, pos: newest, base: newest, changed: make(chan struct{}), stop: stop, done: make(chan struct{})}
	go f.run(runCtx, wake, unsubscribe)
	return f, nil
}

// Close stops following the log and wakes every reader, whose next Read reports
// the feed closed. It may be called more than once.
func (f *Feed) Close() {
	f.stop()
	<-f.done
}

// Position returns the Seq the feed has read up to: a reader that starts there sees
// every event committed from now on.
func (f *Feed) Position() int64 {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.pos
}

// run reads the log's tail on every wake-up and poll until ctx ends.
func (f *Feed) run(ctx context.Context, wake <-chan struct{}, unsubscribe func()) {
	defer close(f.done)
	defer unsubscribe()
	defer f.shut()
	tick := time.NewTicker(f.opts.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
		if err := f.readTail(ctx); err != nil && ctx.Err() == nil {
			f.opts.Logger.Warn("events: reading the change log failed; retrying", "error", err)
		}
	}
}

// readTail appends what the log holds after pos to the ring, a batch at a time,
// waking the readers after each.
func (f *Feed) readTail(ctx context.Context) error {
	for {
		f.mu.RLock()
		pos := f.pos
		f.mu.RUnlock()
		events, err := f.log.Events(ctx, pos, f.opts.Batch)
		if err != nil || len(events) == 0 {
			return err
		}
		f.publish(events)
		if len(events) < f.opts.Batch {
			return nil
		}
	}
}

// publish appends events (Seq after pos, in order) to the ring and wakes readers.
// The ring only grows at its end and is resliced at its front: readers hold slices
// of it that nothing overwrites, and append reallocates (amortised) when it is full.
func (f *Feed) publish(events []restkit.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ring := f.ring
	for _, e := range events {
		en := &Entry{Event: e}
		ring = append(ring, en)
		f.size += entryCost(en)
	}
	over := 0
	for len(ring)-over > 1 && (len(ring)-over > f.opts.Ring || f.size > f.opts.RingBytes) {
		f.size -= entryCost(ring[over])
		over++
	}
	if over > 0 {
		f.base = ring[over-1].Seq
	}
	f.ring = ring[over:]
	f.pos = events[len(events)-1].Seq
	close(f.changed)
	f.changed = make(chan struct{})
}

// entryCost is what an entry may come to hold in memory: its state, and the decoded
// record and rendered event readers memoise from it.
func entryCost(e *Entry) int { return 3*len(e.State) + 128 }

// shut marks the feed closed and wakes every reader.
func (f *Feed) shut() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	close(f.changed)
}

// Result is what Read found.
type Result struct {
	Entries []*Entry        // the events after the Seq asked for, in order; may be empty
	Wait    <-chan struct{} // closed when there may be more (or the feed closes)
	Closed  bool            // the feed is closed: the reader should end
	// FromStore reports that the events were older than the ring holds and were read
	// from the store: a reader that was once caught up has fallen behind.
	FromStore bool
	// Pruned reports that events after the Seq asked for are gone: the log was pruned
	// past it while the reader caught up. Entries is empty; the reader has missed
	// changes and must start again (event: reset).
	Pruned bool
}

// Read returns up to limit events with Seq > after: from the ring when it holds
// them, otherwise from the store (a reader resuming from far back). With nothing
// to return, Wait tells when to ask again.
func (f *Feed) Read(ctx context.Context, after int64, limit int) (Result, error) {
	f.mu.RLock()
	ring, base, pos, wait, closed := f.ring, f.base, f.pos, f.changed, f.closed
	f.mu.RUnlock()
	if closed {
		return Result{Closed: true}, nil
	}
	if after >= pos {
		return Result{Wait: wait}, nil
	}
	// From the ring when it holds every event after after: Seqs have gaps (a
	// write that rolled back after drawing one), so ring[0].Seq-1 is not where it
	// starts, and a reader just before a gap would be sent to the store.
	if after >= base {
		// The first entry with Seq > after; Seqs grow, so search.
		lo, hi := 0, len(ring)
		for lo < hi {
			m := (lo + hi) / 2
			if ring[m].Seq > after {
				hi = m
			} else {
				lo = m + 1
			}
		}
		end := min(len(ring), lo+limit)
		return Result{Entries: ring[lo:end], Wait: wait}, nil
	}
	events, err := f.log.Events(ctx, after, min(limit, f.opts.Batch))
	if err != nil {
		return Result{}, err
	}
	// The log may have been pruned past after since the reader began: then what it
	// returns starts later than after+1 and the events between are gone. Asked after
	// the read, so a prune between the two cannot hide a gap.
	if len(events) == 0 || events[0].Seq > after+1 {
		oldest, _, err := f.log.EventBounds(ctx)
		if err != nil {
			return Result{}, err
		}
		if oldest > after+1 {
			return Result{Wait: wait, FromStore: true, Pruned: true}, nil
		}
	}
	out := make([]*Entry, 0, len(events))
	for _, e := range events {
		if e.Seq > pos { // the ring has it, with its memo; the next Read gets it there
			break
		}
		out = append(out, &Entry{Event: e})
	}
	return Result{Entries: out, Wait: wait, FromStore: true}, nil
}

// Bounds returns the Seq of the oldest event the log still keeps (a reader whose
// position is below oldest-1 has missed events pruned since) and the newest Seq
// the log can vouch for (restkit.EventLog's EventBounds): a position another node
// gave a client is at most that, even while this feed is still behind it.
func (f *Feed) Bounds(ctx context.Context) (oldest, newest int64, err error) {
	return f.log.EventBounds(ctx)
}

// Drawn returns the highest Seq the log has handed out, committed or not, when the
// log can tell (restkit.EventDrawer); ok false otherwise.
func (f *Feed) Drawn(ctx context.Context) (last int64, ok bool, err error) {
	d, ok := f.log.(restkit.EventDrawer)
	if !ok {
		return 0, false, nil
	}
	last, err = d.LastDrawn(ctx)
	return last, err == nil, err
}
