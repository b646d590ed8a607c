package metrics

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Middleware records every request next serves: its count by route, method and
// status, its duration, the body bytes read and written, and the requests in
// flight. Put it outermost, so that it times everything else.
//
// The route label is the http.ServeMux pattern that matched, never the path (see
// the package documentation): an explicit SetRoute wins; else the pattern Route
// saw; else the Pattern of the request passed to next, which a ServeMux that next
// is (or reaches with the same *http.Request) has set; else Unmatched.
//
// A nil *Metrics returns next.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.Begin()
		h := new(Slot)
		r = r.WithContext(context.WithValue(r.Context(), SlotKey{}, h))
		var body *CountingBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &CountingBody{ReadCloser: r.Body}
			r.Body = body
		}
		cw := &Recorder{rw: w}
		defer func() {
			p := recover()
			status := cw.final
			if status == 0 {
				status = http.StatusOK // what net/http sends for a handler that wrote nothing
				if p != nil {
					status = http.StatusInternalServerError
				}
			}
			route := h.Route()
			if route == "" {
				route = r.Pattern
			}
			var in int64
			if body != nil {
				in = body.N()
			}
			m.End(route, r.Method, status, time.Since(start), in, cw.bytes)
			if p != nil {
				panic(p)
			}
		}()
		next.ServeHTTP(cw, r)
	})
}

// Begin counts a request in flight, for a middleware of its own that records
// requests (one that keeps a single per-request value for several purposes, as
// package httpapi does); End records it. Middleware does both.
func (m *Metrics) Begin() {
	if m != nil {
		m.inFlight.Inc()
	}
}

// End records a request Begin counted, and takes it out of flight: its route (the
// pattern; "" is Unmatched), method, final status, duration and the body bytes read
// and written.
func (m *Metrics) End(route, method string, status int, d time.Duration, in, out int64) {
	if m == nil {
		return
	}
	m.inFlight.Dec()
	if route == "" {
		route = Unmatched
	}
	m.record(route, method, status, d, in, out)
}

// SlotKey is the context key under which SetRoute and Route find a request's *Slot.
// Middleware puts a Slot there with context.WithValue; a middleware of its own may
// instead answer it from the Value method of its own per-request context, sparing a
// copy of the request.
type SlotKey struct{}

// Slot carries the route of one request from the handlers (SetRoute, Route) to
// what records it. Locked, since a handler may run on a goroutine of its own
// (http.TimeoutHandler); a mutex rather than atomic pointers, so that reporting a
// route allocates nothing. The zero Slot is empty.
type Slot struct {
	mu          sync.Mutex
	explicit    string // from SetRoute, when hasExplicit
	hasExplicit bool
	seen        string // from Route
	seenGen     uint64 // counts Route's reports, so that an outer Route can tell whether an inner one reported
}

// Route is the route reported: SetRoute's, else Route's, else "".
func (h *Slot) Route() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hasExplicit {
		return h.explicit
	}
	return h.seen
}

// see reports pattern from Route when no other Route has since gen (gen 0: always),
// and returns the generation after.
func (h *Slot) see(pattern string, gen uint64, always bool) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if always || h.seenGen == gen {
		h.seen = pattern
		h.seenGen++
	}
	return h.seenGen
}

func holderOf(r *http.Request) *Slot {
	h, _ := r.Context().Value(SlotKey{}).(*Slot)
	return h
}

// SetRoute names the route of r for Middleware: a pattern such as "/cars/{key}",
// never a path with client-chosen parts. It overrides what Route and the mux
// report; "" makes the request Unmatched. Without Middleware around r it does
// nothing.
func SetRoute(r *http.Request, pattern string) {
	if h := holderOf(r); h != nil {
		if pattern == "" {
			pattern = Unmatched
		}
		h.mu.Lock()
		h.explicit, h.hasExplicit = pattern, true
		h.mu.Unlock()
	}
}

// Route reports the ServeMux pattern of each request to Middleware, for when a
// handler between the two copies the request (r.WithContext does), so that
// Middleware does not see the Pattern the mux set on the copy. Wrap either each
// handler registered with the mux (mux.Handle(p, metrics.Route(h))), which sees
// the pattern before it runs, or the mux itself (metrics.Route(mux)), which sees it
// after the mux has served. With nested muxes, the innermost pattern wins.
func Route(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := holderOf(r)
		if h == nil {
			next.ServeHTTP(w, r)
			return
		}
		before := r.Pattern
		var mine uint64
		if before != "" {
			mine = h.see(before, 0, true)
		} else {
			h.mu.Lock()
			mine = h.seenGen
			h.mu.Unlock()
		}
		next.ServeHTTP(w, r)
		// If next is a mux, it set its pattern on r; but a Route deeper down saw a
		// more specific one.
		if after := r.Pattern; after != "" && after != before {
			h.see(after, mine, false)
		}
	})
}

// CountingBody counts the request body bytes the handlers read (for
// restkit_http_request_size_bytes): set ReadCloser to the request's body.
type CountingBody struct {
	io.ReadCloser
	n atomic.Int64 // atomic: a handler may read on a goroutine of its own
}

func (b *CountingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// N is how many bytes were read.
func (b *CountingBody) N() int64 { return b.n.Load() }

// Recorder is a response writer that remembers the status and counts the body bytes
// written, for a middleware that records requests (Middleware, and package httpapi's
// own). It keeps what the ResponseWriter under it can do: Flush (event streams,
// streaming lists), ReadFrom (sendfile for an artefact download) and, through Unwrap
// and http.ResponseController, Hijack, deadlines and full duplex. Wrap sets the
// writer under it; the zero Recorder is otherwise ready.
type Recorder struct {
	rw http.ResponseWriter
	// status is the first status written (200 for a body without one; 0 while
	// nothing is), as a request log reports it; final is the same without
	// informational (1xx) answers other than 101, as End counts it.
	status, final int
	bytes         int64
}

var (
	_ http.Flusher  = (*Recorder)(nil)
	_ io.ReaderFrom = (*Recorder)(nil)
)

// Wrap makes w the ResponseWriter under r.
func (r *Recorder) Wrap(w http.ResponseWriter) { r.rw = w }

// Status is the first status written, 1xx included; 0 while nothing is.
func (r *Recorder) Status() int { return r.status }

// Final is the final status written (not a 1xx other than 101); 0 while none is.
func (r *Recorder) Final() int { return r.final }

// Bytes is how many body bytes were written.
func (r *Recorder) Bytes() int64 { return r.bytes }

func (r *Recorder) Header() http.Header { return r.rw.Header() }

func (r *Recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	if r.final == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		r.final = code
	}
	r.rw.WriteHeader(code)
}

// wrote notes a body written without a status: net/http sends 200.
func (r *Recorder) wrote() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if r.final == 0 {
		r.final = http.StatusOK
	}
}

func (r *Recorder) Write(p []byte) (int, error) {
	r.wrote()
	n, err := r.rw.Write(p)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom hands src to the ResponseWriter under r when it is an io.ReaderFrom,
// so that net/http can send a file with sendfile(2).
func (r *Recorder) ReadFrom(src io.Reader) (int64, error) {
	r.wrote()
	var n int64
	var err error
	if rf, ok := r.rw.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{r.rw}, src)
	}
	r.bytes += n
	return n, err
}

// writerOnly hides all but Write, so that io.Copy does not call ReadFrom again.
type writerOnly struct{ io.Writer }

func (r *Recorder) Flush() { _ = r.FlushError() }

// FlushError is what http.ResponseController.Flush calls.
func (r *Recorder) FlushError() error {
	r.wrote()
	return http.NewResponseController(r.rw).Flush()
}

// Unwrap lets http.ResponseController reach the ResponseWriter under r.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.rw }
