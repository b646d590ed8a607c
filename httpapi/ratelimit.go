package httpapi

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/metrics"
	"github.com/restkit/restkit/ratelimit"
)

// rateLimit applies the schema's rate limits (restkit.Schema.RateLimitAt) before
// the handler. The bucket is the caller's (its API key or user when authenticated,
// else its address: ratelimit.ClientKey) within the rule's
// scope: one for the whole server under the default, one per API or resource under
// their own limits. An allowed request gets RateLimit-Limit, RateLimit-Remaining and
// RateLimit-Reset; a refused one is a 429 with Retry-After as well. A limiter error
// is logged and the request served (fail open), unless the limiter fails closed
// (an Unavailable error): then the answer is 503 with Retry-After.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	if s.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rule, scope := s.schema.RateLimitAt(r.URL.Path)
		if rule == nil {
			next.ServeHTTP(w, r)
			return
		}
		key := scope + "|" + s.clientKey(r)
		d, err := s.limiter.Allow(r.Context(), key, ratelimit.Rule{Rate: rule.Rate, Burst: rule.Burst})
		if restkit.IsKind(err, restkit.Unavailable) {
			// A limiter that fails closed (Redis unreachable): the client is not over its
			// limit, the server cannot tell, so 503. The limiter logs the outage itself.
			w.Header().Set("Retry-After", strconv.Itoa(max(1, ratelimit.Seconds(d.RetryAfter))))
			s.labelRoute(r)
			s.writeError(w, r, s.envelopeFor(r.URL.Path), errLimiterDown)
			return
		}
		if err != nil {
			s.log.LogAttrs(r.Context(), slog.LevelError, "rate limiter failed; request allowed", slog.String(keyError, err.Error()))
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
		h.Set("RateLimit-Remaining", strconv.Itoa(d.Remaining))
		h.Set("RateLimit-Reset", strconv.Itoa(ratelimit.Seconds(d.Reset)))
		if s.debug {
			s.log.LogAttrs(r.Context(), slog.LevelDebug, "rate limit", slog.String(keyDecision, strconv.FormatBool(d.Allowed)),
				slog.String("key", key), slog.Int("remaining", d.Remaining))
		}
		if !d.Allowed {
			s.metrics.LimiterDenied(scope)
			s.labelRoute(r)
			h.Set("Retry-After", strconv.Itoa(max(1, ratelimit.Seconds(d.RetryAfter))))
			s.writeError(w, r, s.envelopeFor(r.URL.Path), restkit.Errorf(restkit.RateLimited,
				"too many requests: at most %d at once, then %.3g per second; retry in %ss", rule.Burst, rule.Rate, h.Get("Retry-After")))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hasRateLimits reports whether any rate limit is declared.
func hasRateLimits(s *restkit.Schema) bool {
	if s.RateLimit != nil && !s.RateLimit.Off() {
		return true
	}
	for _, api := range s.APIs {
		if api.RateLimit != nil && !api.RateLimit.Off() {
			return true
		}
		for _, r := range api.Resources {
			if r.RateLimit != nil && !r.RateLimit.Off() {
				return true
			}
		}
	}
	return false
}

// labelRoute names the route of a request answered before the router saw it (a 429),
// so that /metrics counts it under its route rather than as unmatched.
func (s *Server) labelRoute(r *http.Request) {
	if s.metrics == nil {
		return
	}
	if _, pattern := s.mux.Handler(r); pattern != "" {
		metrics.SetRoute(r, pattern)
	}
}
