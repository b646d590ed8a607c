package httpapi

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/metrics"
)

// exchange is everything this package keeps about one request, in one allocation:
// its context value (the request id, the caller, the route for /metrics), and the
// one response writer that the metrics, the request log and the guard's audit all
// read. Before it there were three writer wrappers and three copies of the request
// (one per context value) on every request.
type exchange struct {
	ctx    exchangeCtx
	rec    metrics.Recorder     // status and bytes, for the request log, /metrics and the audit
	body   metrics.CountingBody // the request body, counted for /metrics (when collected)
	start  time.Time
	id     string
	caller *caller // set by authenticate; nil without auth
	slot   metrics.Slot
	// hv backs the values of the headers set on every response, so that setting
	// them allocates nothing; each slice has a capacity of one, so an Add elsewhere
	// copies rather than writes into it.
	hv [3]string
}

type exchangeKey struct{}

// exchangeCtx is the request's context: its parent's, answering for the exchange
// (and for metrics' Slot, when metrics are collected) without a context.WithValue each.
type exchangeCtx struct {
	context.Context
	x       *exchange
	metered bool
}

func (c *exchangeCtx) Value(key any) any {
	switch key.(type) {
	case exchangeKey:
		return c.x
	case metrics.SlotKey:
		if c.metered {
			return &c.x.slot
		}
	}
	return c.Context.Value(key)
}

// exchangeOf returns the exchange of ctx, nil outside a request served by a Server.
func exchangeOf(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// serve is the outermost layer of the request path: it gives the request its id
// (requestID), sets the headers every response carries, records the request for
// /metrics, writes the request log's line and turns a panic into a logged 500 with a
// generic body.
func (s *Server) serve(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		x := &exchange{start: time.Now()}
		x.rec.Wrap(w)
		x.ctx = exchangeCtx{Context: r.Context(), x: x, metered: s.metrics != nil}
		s.metrics.Begin()
		x.id = requestID(r)
		h := w.Header()
		x.hv = [3]string{x.id, "nosniff", "no-referrer"}
		h["X-Request-Id"] = x.hv[0:1:1]
		// secure headers: no content sniffing, and no Referer sent onwards from anything
		// this server serves (URLs carry keys and cursors). The HTML reference sets its
		// own Content-Security-Policy.
		h["X-Content-Type-Options"] = x.hv[1:2:2]
		h["Referrer-Policy"] = x.hv[2:3:3]
		r = r.WithContext(&x.ctx)
		if s.metrics != nil && r.Body != nil && r.Body != http.NoBody {
			x.body.ReadCloser = r.Body
			r.Body = &x.body
		}
		defer s.finish(x, r)
		next.ServeHTTP(&x.rec, r)
	})
}

// finish is serve's deferred end of a request: the panic, the log line, the metrics.
func (s *Server) finish(x *exchange, r *http.Request) {
	p := recover()
	if p != nil && p != http.ErrAbortHandler {
		s.log.LogAttrs(r.Context(), slog.LevelError, "panic", slog.Any(keyError, p), slog.String("stack", string(debug.Stack())))
		if x.rec.Status() == 0 {
			s.writeError(&x.rec, r, false, restkit.Wrap("httpapi", errPanic))
		}
		p = nil
	}
	// The request line: an aborted handler (http.ErrAbortHandler) leaves none. It is
	// the record s.log would make, request_id last as requestIDHandler adds it, built
	// here in one go, without the caller's program counter (no line has a source worth
	// showing) and without growing its attributes twice.
	if ctx := r.Context(); p == nil && s.logh.Enabled(ctx, slog.LevelInfo) {
		line := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
		line.AddAttrs(
			slog.String(keyMethod, r.Method),
			slog.String(keyPath, r.URL.RequestURI()),
			slog.Int(keyStatus, x.rec.Status()),
			slog.Int64(keyBytes, x.rec.Bytes()),
			slog.Float64(keyDuration, float64(time.Since(x.start).Microseconds())/1000),
			slog.String(keyRemote, r.RemoteAddr),
			slog.String(keyRequestID, x.id))
		_ = s.logh.Handle(ctx, line)
	}
	if s.metrics != nil {
		status := x.rec.Final()
		if status == 0 {
			status = http.StatusOK // what net/http sends for a handler that wrote nothing
			if p != nil {
				status = http.StatusInternalServerError
			}
		}
		route := x.slot.Route()
		if route == "" {
			route = r.Pattern
		}
		s.metrics.End(route, r.Method, status, time.Since(x.start), x.body.N(), x.rec.Bytes())
	}
	if p != nil {
		panic(p)
	}
}

// requestID is the id of r: the client's X-Request-ID when it is a short token (a
// load balancer's, so one id follows the request across hops), else a new random one.
// The response carries it, and every log line of the request names it.
func requestID(r *http.Request) string {
	if v := r.Header["X-Request-Id"]; len(v) > 0 && validRequestID(v[0]) {
		return v[0]
	}
	return newRequestID()
}

// newRequestID is a random 128-bit id in 32 hex digits. Its bits come from the
// runtime's generator (math/rand/v2: ChaCha8, seeded from the system's entropy at
// start, per thread, with no system call per id); crypto/rand made a getrandom call
// on every request. The ids need to be unique and to say nothing (a counter would
// tell how many requests a process has served), not to resist an attacker who
// predicts them: nothing is authorised by a request id.
func newRequestID() string {
	var b [32]byte
	hi, lo := rand.Uint64(), rand.Uint64()
	const digits = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b[i], b[i+16] = digits[hi&15], digits[lo&15]
		hi >>= 4
		lo >>= 4
	}
	return string(b[:])
}

type panicError struct{}

func (panicError) Error() string { return "handler panicked" }

var errPanic = panicError{}
