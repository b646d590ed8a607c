package httpapi

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/restkit/restkit"
)

// statusRecorder remembers what a handler wrote, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests writes one structured line per request and turns a panic into a logged
// 500 with a generic body.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.LogAttrs(r.Context(), slog.LevelError, "panic", slog.Any(keyError, p), slog.String("stack", string(debug.Stack())))
				if rec.status == 0 {
					s.writeError(rec, r, false, restkit.Wrap("httpapi", errPanic))
				}
			}
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String(keyMethod, r.Method),
				slog.String(keyPath, r.URL.RequestURI()),
				slog.Int(keyStatus, rec.status),
				slog.Int64(keyBytes, rec.bytes),
				slog.Float64(keyDuration, float64(time.Since(start).Microseconds())/1000),
				slog.String(keyRemote, r.RemoteAddr))
		}()
		next.ServeHTTP(rec, r)
	})
}

type panicError struct{}

func (panicError) Error() string { return "handler panicked" }

var errPanic = panicError{}

// secureHeaders sets the headers every response carries: no content sniffing, and no
// Referer sent onwards from anything this server serves (URLs carry keys and cursors).
// The HTML reference sets its own Content-Security-Policy.
func secureHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}
