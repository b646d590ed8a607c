package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/status"
)

// StatusOf returns the HTTP status for an error: the status of its kind (package
// status holds the one table, which the Go client reads backwards).
func StatusOf(err error) int { return status.Of(restkit.ErrorKind(err)) }

// titleOf is the problem title of a status: its reason phrase (tus's 460 included).
func titleOf(code int) string { return status.Text(code) }

// problem is an RFC 9457 problem details body.
type problem struct {
	Type   string               `json:"type"`
	Title  string               `json:"title"`
	Status int                  `json:"status"`
	Detail string               `json:"detail"`
	Errors []restkit.FieldError `json:"errors,omitempty"`
}

// envelopeError is the error body of an API with envelope: true.
type envelopeError struct {
	Status  string               `json:"status"`
	Message string               `json:"message"`
	Errors  []restkit.FieldError `json:"errors"`
}

// writeError renders err as problem+json (or the envelope) with the status of its kind.
// Internal errors are logged with their whole chain and shown as "internal error":
// no Go error text, SQL or path ever reaches the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, envelope bool, err error) {
	status := StatusOf(err)
	switch {
	case errors.Is(err, errSlowBody) || slowBody(r):
		status = http.StatusRequestTimeout
		err = restkit.Errorf(restkit.Invalid, "the request body arrived too slowly; nothing was stored")
		w.Header().Set("Connection", "close")
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "slow request body cut off",
			slog.String(keyMethod, r.Method), slog.String(keyPath, r.URL.Path), slog.String(keyRemote, r.RemoteAddr))
	case status >= 500 && errors.Is(err, context.Canceled):
		// The client went away (or half-closed): nothing failed here, so it is no error
		// in the log; what little is written says the request was cancelled.
		status = http.StatusServiceUnavailable
		err = restkit.Errorf(restkit.Unavailable, "the request was cancelled")
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "client gone",
			slog.String(keyMethod, r.Method), slog.String(keyPath, r.URL.Path))
	case err == errLimiterDown:
		// logged by the limiter, at most once every few seconds
	case status >= 500:
		s.countFailure(r, err)
		s.log.LogAttrs(r.Context(), slog.LevelError, "request failed",
			slog.String(keyMethod, r.Method), slog.String(keyPath, r.URL.Path), slog.Any(keyError, err))
	case s.debug:
		s.log.LogAttrs(r.Context(), slog.LevelDebug, "request refused",
			slog.String(keyMethod, r.Method), slog.String(keyPath, r.URL.Path), slog.Int(keyStatus, status), slog.Any(keyError, err))
	}
	msg := restkit.ErrorMessage(err)
	if errors.Is(err, restkit.ErrAfterCommit) {
		msg = restkit.ErrAfterCommit.Error() // internal, but the client must know its write is done
	}
	fields := restkit.ErrorFields(err)
	h := w.Header()
	h.Del("ETag")
	h.Del("Last-Modified")
	if envelope {
		if fields == nil {
			fields = []restkit.FieldError{}
		}
		writeJSON(w, status, "application/json", envelopeError{Status: "error", Message: msg, Errors: fields})
		return
	}
	writeJSON(w, status, "application/problem+json", problem{
		Type: "about:blank", Title: titleOf(status), Status: status, Detail: msg, Errors: fields,
	})
}

// errLimiterDown answers a request a fail-closed limiter could not decide.
var errLimiterDown = restkit.Errorf(restkit.Unavailable, "the rate limiter is unavailable; retry shortly")

// countFailure counts a 5xx for /metrics as a store or a blob store failure, by the
// operation that failed ("sqlite.WriteRecord", "s3blob.Open", "artefact.Put", …);
// the server's own 5xx (a busy password check, a cancelled request) are neither.
func (s *Server) countFailure(r *http.Request, err error) {
	if s.metrics == nil {
		return
	}
	var e *restkit.Error
	op := ""
	if errors.As(err, &e) {
		op = e.Op
	}
	switch pkg, _, _ := strings.Cut(op, "."); pkg {
	case "fsblob", "s3blob", "artefact":
		s.metrics.BlobError(op)
	case "memory", "sqlite", "postgres":
		s.metrics.StoreError(op)
	}
}
