package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/restkit/restkit/auth"
)

// ReadyCheck is one dependency /readyz asks: the store, the blob store, the limiter.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
	// Degrades, when true, means the node still serves without it (a rate limiter
	// that fails open): its failure is reported, but /readyz stays 200 ("degraded"),
	// or a shared outage would take every node out of its load balancer.
	Degrades bool
}

// readyTimeout bounds each check, so a load balancer's probe never hangs.
const readyTimeout = 2 * time.Second

// readyFor is how long an answer of /readyz is reused: /readyz is open to anyone,
// and without it every probe would ping the database, the object storage and Redis.
const readyFor = time.Second

// readiness is the last answer of /readyz.
type readiness struct {
	mu     sync.Mutex
	at     time.Time
	status int
	body   map[string]any
}

// serveReady answers 200 when every check passes (or only a Degrades one fails:
// "degraded") and 503 otherwise, naming each dependency and whether it answered
// (never why: the reasons go to the log). Probes within readyFor of the last one get
// its answer; concurrent ones wait for one round of checks.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	s.readiness.mu.Lock()
	if now := s.now(); now.Sub(s.readiness.at) >= readyFor || now.Before(s.readiness.at) {
		s.readiness.status, s.readiness.body = s.checkReady(r.Context())
		s.readiness.at = s.now()
	}
	status, body := s.readiness.status, s.readiness.body
	s.readiness.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, mediaJSON, body)
}

func (s *Server) checkReady(ctx context.Context) (int, map[string]any) {
	type result struct {
		Name string `json:"name"`
		OK   bool   `json:"ok"`
	}
	out := make([]result, len(s.ready))
	var wg sync.WaitGroup
	for i, c := range s.ready {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
			defer cancel()
			err := c.Check(cctx)
			out[i] = result{c.Name, err == nil}
			if err != nil {
				s.log.WarnContext(ctx, "not ready", "check", c.Name, keyError, err.Error())
			}
		}()
	}
	wg.Wait()
	status, word := http.StatusOK, "ok"
	for i, c := range out {
		switch {
		case c.OK:
		case s.ready[i].Degrades:
			if status == http.StatusOK {
				word = "degraded"
			}
		default:
			status, word = http.StatusServiceUnavailable, "unavailable"
		}
	}
	body := map[string]any{"status": word, "checks": out}
	if s.configSum != "" {
		body["config"] = s.configSum // which config this node serves: a rolled-out change shows on every node
	}
	return status, body
}

// metricsGuard is the guard of /metrics (public when auth.public.metrics says so).
func metricsGuard() guard { return pageGuard(auth.Metrics) }

// maxRequestID bounds a client's X-Request-ID; a longer or odd one is replaced.
const maxRequestID = 128

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=') {
			return false
		}
	}
	return true
}

// RequestID returns the id the Server gave the request of ctx ("" outside a request;
// see requestID).
func RequestID(ctx context.Context) string {
	if x := exchangeOf(ctx); x != nil {
		return x.id
	}
	return ""
}

// requestIDHandler adds the request id to every record logged with a request's
// context, so each line of a request — access, audit, errors, debug — names it.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, rec slog.Record) error {
	if id := RequestID(ctx); id != "" {
		rec.AddAttrs(slog.String(keyRequestID, id))
	}
	return h.Handler.Handle(ctx, rec)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}
