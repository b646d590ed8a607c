package logbuf

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Options configure New.
type Options struct {
	// Queue is how many records may wait to be formatted; 0 is 4096.
	Queue int
	// Buffer is the size of the write buffer in bytes; 0 is 64 KiB.
	Buffer int
	// Linger is how long the writer waits after the first record of a batch for
	// more to join it before it writes: 0 is DefaultLinger, a negative value writes
	// as soon as the queue runs dry.
	Linger time.Duration
}

// DefaultLinger is Options.Linger's default: short enough that a line is on its
// way before anyone looks, long enough that a busy server's lines share a write.
// On a loaded server the write system call per few lines was about 3 % of a small
// request's CPU time (bench/README.md); one write per 5 ms is nothing.
const DefaultLinger = 5 * time.Millisecond

// Handler is the buffered slog.Handler. Its methods are safe for concurrent use.
type Handler struct {
	inner slog.Handler // formats into the shared buffer
	q     *queue
}

// queue is what a Handler and the handlers derived from it (WithAttrs, WithGroup)
// share: the records waiting, the goroutine that writes them, the buffer.
type queue struct {
	items  chan item
	bw     *bufio.Writer
	linger time.Duration
	hurry  chan struct{} // cuts a linger short: a Flush or Close is waiting
	mu     sync.RWMutex  // write-held by Close; read-held by Handle while it queues
	done   bool
	ended  chan struct{} // closed when the goroutine has ended

	errMu sync.Mutex
	err   error // the first write error, reported by Flush and Close
}

// item is one queued record, or a flush request (flushed non-nil).
type item struct {
	h       slog.Handler
	r       slog.Record
	flushed chan struct{}
}

// New returns a Handler writing to w, through the handler newHandler makes on the
// buffer (for example slog.NewTextHandler). Close it when done.
func New(w io.Writer, newHandler func(w io.Writer) slog.Handler, opts Options) *Handler {
	if opts.Queue <= 0 {
		opts.Queue = 4096
	}
	if opts.Buffer <= 0 {
		opts.Buffer = 64 << 10
	}
	if opts.Linger == 0 {
		opts.Linger = DefaultLinger
	}
	q := &queue{items: make(chan item, opts.Queue), ended: make(chan struct{}), linger: opts.Linger,
		hurry: make(chan struct{}, 1)}
	q.bw = bufio.NewWriterSize(errWriter{w, q}, opts.Buffer)
	h := &Handler{inner: newHandler(q.bw), q: q}
	go q.run()
	return h
}

// errWriter remembers the first error of w.
type errWriter struct {
	w io.Writer
	q *queue
}

func (e errWriter) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil {
		e.q.errMu.Lock()
		if e.q.err == nil {
			e.q.err = err
		}
		e.q.errMu.Unlock()
	}
	return n, err
}

func (q *queue) run() {
	defer close(q.ended)
	for it := range q.items {
		q.handle(it)
		if it.flushed == nil && q.linger > 0 {
			// Let the batch fill: at thousands of requests a second, one write
			// carries dozens of lines. A Flush or Close ends the wait.
			t := time.NewTimer(q.linger)
			select {
			case <-t.C:
			case <-q.hurry:
			}
			t.Stop()
		}
	drain: // what else has queued goes into the same buffer
		for {
			select {
			case it, ok := <-q.items:
				if !ok {
					break drain
				}
				q.handle(it)
			default:
				break drain
			}
		}
		_ = q.bw.Flush() // the queue ran dry: write what the buffer holds
	}
	_ = q.bw.Flush()
}

func (q *queue) handle(it item) {
	if it.flushed != nil {
		_ = q.bw.Flush()
		close(it.flushed)
		return
	}
	_ = it.h.Handle(context.Background(), it.r) // a write error is kept by errWriter
}

// Enabled reports whether the wrapped handler handles records of level l.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

// Handle queues a copy of r, waiting while the queue is full. After Close it writes r
// through directly.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	h.q.mu.RLock()
	if h.q.done {
		h.q.mu.RUnlock()
		return h.direct(ctx, r)
	}
	h.q.items <- item{h: h.inner, r: r.Clone()}
	h.q.mu.RUnlock()
	return nil
}

// direct handles r on the caller's goroutine, after Close.
func (h *Handler) direct(ctx context.Context, r slog.Record) error {
	h.q.mu.Lock() // the buffer is no longer the goroutine's: serialise its users
	defer h.q.mu.Unlock()
	err := h.inner.Handle(ctx, r)
	if ferr := h.q.bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// WithAttrs returns a handler whose records carry attrs, sharing h's queue.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &Handler{inner: h.inner.WithAttrs(attrs), q: h.q}
}

// WithGroup returns a handler whose attributes go in group name, sharing h's queue.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{inner: h.inner.WithGroup(name), q: h.q}
}

// Flush returns once every record handled before the call has been written out, with
// the first write error so far, if any.
func (h *Handler) Flush() error {
	h.q.mu.RLock()
	if h.q.done {
		h.q.mu.RUnlock()
		return h.q.firstErr()
	}
	flushed := make(chan struct{})
	h.q.items <- item{flushed: flushed}
	h.q.mu.RUnlock()
	h.q.wake()
	<-flushed
	return h.q.firstErr()
}

// Close writes out everything queued and stops the goroutine; later records are
// written through directly. It returns the first write error, if any, and may be
// called more than once (on any handler derived from the same New).
func (h *Handler) Close() error {
	h.q.mu.Lock()
	if !h.q.done {
		h.q.done = true
		close(h.q.items)
	}
	h.q.mu.Unlock()
	h.q.wake()
	<-h.q.ended
	return h.q.firstErr()
}

// wake ends the writer's linger, if it is in one (or its next one).
func (q *queue) wake() {
	select {
	case q.hurry <- struct{}{}:
	default:
	}
}

func (q *queue) firstErr() error {
	q.errMu.Lock()
	defer q.errMu.Unlock()
	return q.err
}

var _ slog.Handler = (*Handler)(nil)
