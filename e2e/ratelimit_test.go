package e2e

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

const rateLimitConfig = `ratelimit: {rate: 2/s, burst: 3}
apis:
  - resources:
      cars:
        key: id
        fields: {id: {type: integer}, name: {type: string}}
      logs:
        key: id
        fields: {id: {type: integer}}
        ratelimit: off
      parts:
        key: id
        fields: {id: {type: integer}}
        ratelimit: {rate: 1/s, burst: 10}
`

// warmUp makes the harness load the server's /openapi.json (which the default limit
// counts) and waits until every bucket has refilled.
func warmUp(s *server, path string) {
	s.do("GET", path, "")
	time.Sleep(2 * time.Second)
}

// TestRateLimit: a burst of 3, then 429 with Retry-After and RateLimit-*; a spoofed
// X-Forwarded-For from an untrusted peer gets no fresh bucket; a resource with limits
// off, and one with its own bucket; service again after Retry-After.
func TestRateLimit(t *testing.T) {
	s := startServer(t, "", "--config", writeConfig(t, rateLimitConfig))
	warmUp(s, "/cars")
	limited := func(remaining string) map[string]string {
		return map[string]string{"RateLimit-Limit": "3", "RateLimit-Remaining": remaining, "RateLimit-Reset": "*", "Retry-After": "!"}
	}
	var retryAfter int
	s.run(t, []step{
		{name: "1st", method: "GET", path: "/cars", status: 200, wantHeader: limited("2")},
		{name: "2nd", method: "GET", path: "/cars/1", status: 404, wantHeader: limited("1")},
		{name: "3rd", method: "GET", path: "/cars", status: 200, wantHeader: limited("0")},
		{name: "4th is refused", method: "GET", path: "/cars", status: 429,
			wantHeader: map[string]string{"RateLimit-Limit": "3", "RateLimit-Remaining": "0", "RateLimit-Reset": "*",
				"Retry-After": "*", "Content-Type": "application/problem+json"},
			wantIn: []string{`"status":429`, "too many requests"},
			check: func(t testing.TB, r *response) {
				var err error
				if retryAfter, err = strconv.Atoi(r.Header.Get("Retry-After")); err != nil || retryAfter < 1 {
					t.Fatalf("Retry-After = %q, want whole seconds ≥ 1", r.Header.Get("Retry-After"))
				}
				if reset, err := strconv.Atoi(r.Header.Get("RateLimit-Reset")); err != nil || reset < retryAfter {
					t.Fatalf("RateLimit-Reset = %q, want ≥ Retry-After %d", r.Header.Get("RateLimit-Reset"), retryAfter)
				}
			}},
		{name: "writes count too", method: "POST", path: "/cars", body: `{"id":1}`, status: 429},
		{name: "spoofed X-Forwarded-For from an untrusted peer", method: "GET", path: "/cars", status: 429,
			headers: []string{"X-Forwarded-For", "198.51.100.77"}},
		{name: "limits off for logs", method: "GET", path: "/logs", status: 200,
			wantHeader: map[string]string{"RateLimit-Limit": "!", "RateLimit-Remaining": "!"}},
		{name: "parts has its own bucket", method: "GET", path: "/parts", status: 200,
			wantHeader: map[string]string{"RateLimit-Limit": "10", "RateLimit-Remaining": "9"}},
		{name: "health is never limited", method: "GET", path: "/healthz", status: 200,
			wantHeader: map[string]string{"RateLimit-Limit": "!"}},
	})
	time.Sleep(time.Duration(retryAfter) * time.Second)
	s.run(t, []step{
		{name: "served again after Retry-After", method: "GET", path: "/cars", status: 200,
			wantHeader: map[string]string{"RateLimit-Limit": "3", "RateLimit-Remaining": "*", "Retry-After": "!"}},
	})
}

// TestRateLimitTrustedProxies: behind a trusted proxy each X-Forwarded-For client has
// its own bucket, and only the right-most untrusted address counts.
func TestRateLimitTrustedProxies(t *testing.T) {
	s := startServer(t, "", "--config", writeConfig(t, `ratelimit: {rate: 1/min, burst: 2, trusted_proxies: [127.0.0.1/32]}
apis:
  - resources:
      cars:
        key: id
        fields: {id: {type: integer}}
`))
	s.do("GET", "/cars", "") // loads the document: two requests from 127.0.0.1's own bucket
	xff := func(v string) []string { return []string{"X-Forwarded-For", v} }
	s.run(t, []step{
		{name: "client A", method: "GET", path: "/cars", headers: xff("198.51.100.1"), status: 200,
			wantHeader: map[string]string{"RateLimit-Remaining": "1"}},
		{name: "client A's second", method: "GET", path: "/cars", headers: xff("198.51.100.1"), status: 200,
			wantHeader: map[string]string{"RateLimit-Remaining": "0"}},
		{name: "client A again", method: "GET", path: "/cars", headers: xff("198.51.100.1"), status: 429,
			wantHeader: map[string]string{"Retry-After": "60"}},
		{name: "client B", method: "GET", path: "/cars", headers: xff("198.51.100.2"), status: 200},
		{name: "A with a made-up left part", method: "GET", path: "/cars", headers: xff("203.0.113.9, 198.51.100.1"), status: 429},
		{name: "the proxy itself", method: "GET", path: "/cars", status: 429},
	})
	if r := s.do("GET", "/cars", "", "X-Forwarded-For", "2001:db8::1"); r.Status != http.StatusOK {
		t.Fatalf("IPv6 client: %d", r.Status)
	}
}
