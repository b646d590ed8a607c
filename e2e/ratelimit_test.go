package e2e

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// rateLimitConfig limits by the hour, so that no token comes back while a test
// runs, however slowly: the default bucket holds 4, one of which goes to the
// harness's load of /openapi.json (the default limit counts it).
const rateLimitConfig = `ratelimit: {rate: 1/h, burst: 4}
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
        ratelimit: {rate: 1/h, burst: 10}
`

// retryWithin checks a Retry-After (whole seconds) of a bucket that began to empty
// after since: at most full, and at least full less the seconds passed since then.
func retryWithin(full int, since time.Time) func(testing.TB, *response) {
	return func(t testing.TB, r *response) {
		t.Helper()
		v, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if least := full - int(time.Since(since)/time.Second) - 1; err != nil || v > full || v < least {
			t.Fatalf("Retry-After = %q, want %d…%d", r.Header.Get("Retry-After"), least, full)
		}
		if reset, err := strconv.Atoi(r.Header.Get("RateLimit-Reset")); err != nil || reset < v {
			t.Fatalf("RateLimit-Reset = %q, want ≥ Retry-After %d", r.Header.Get("RateLimit-Reset"), v)
		}
	}
}

// TestRateLimit: a burst, then 429 with Retry-After and RateLimit-*; a spoofed
// X-Forwarded-For from an untrusted peer gets no fresh bucket; a resource with limits
// off, and one with its own bucket.
func TestRateLimit(t *testing.T) {
	s := startServer(t, "", "--config", writeConfig(t, rateLimitConfig))
	start := time.Now()      // before the bucket's first token is taken: its refill counts from then
	s.do("GET", "/logs", "") // not limited; the harness loads /openapi.json: the default bucket's first token
	limited := func(remaining string) map[string]string {
		return map[string]string{"RateLimit-Limit": "4", "RateLimit-Remaining": remaining, "RateLimit-Reset": "*", "Retry-After": "!"}
	}
	s.run(t, []step{
		{name: "1st", method: "GET", path: "/cars", status: 200, wantHeader: limited("2")},
		{name: "2nd", method: "GET", path: "/cars/1", status: 404, wantHeader: limited("1")},
		{name: "3rd", method: "GET", path: "/cars", status: 200, wantHeader: limited("0")},
		{name: "4th is refused", method: "GET", path: "/cars", status: 429,
			wantHeader: map[string]string{"RateLimit-Limit": "4", "RateLimit-Remaining": "0", "RateLimit-Reset": "*",
				"Retry-After": "*", "Content-Type": "application/problem+json"},
			wantIn: []string{`"status":429`, "too many requests"},
			check:  retryWithin(3600, start)},
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
}

// TestRateLimitServesAgain: after Retry-After, a refused client is served again.
// The bucket refills a token a second, so the test first takes tokens until one is
// refused (however slowly it runs), then waits what the 429 says.
func TestRateLimitServesAgain(t *testing.T) {
	s := startServer(t, "", "--config", writeConfig(t, `apis:
  - resources:
      cars:
        key: id
        fields: {id: {type: integer}}
        ratelimit: {rate: 1/s, burst: 1}
`))
	var refused *response
	for i := 0; i < 100 && refused == nil; i++ {
		switch r := s.do("GET", "/cars", ""); r.Status {
		case 200:
		case 429:
			refused = r
		default:
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
	}
	if refused == nil {
		t.Fatal("100 requests, none refused")
	}
	retry, err := strconv.Atoi(refused.Header.Get("Retry-After"))
	if err != nil || retry != 1 {
		t.Fatalf("Retry-After = %q, want 1", refused.Header.Get("Retry-After"))
	}
	time.Sleep(time.Duration(retry) * time.Second) // the server's clock has run as long: a token is back
	if r := s.do("GET", "/cars", ""); r.Status != 200 || r.Header.Get("RateLimit-Limit") != "1" {
		t.Fatalf("after Retry-After: %d %v", r.Status, r.Header)
	}
}

// TestRateLimitTrustedProxies: behind a trusted proxy each X-Forwarded-For client has
// its own bucket, and only the right-most untrusted address counts.
func TestRateLimitTrustedProxies(t *testing.T) {
	s := startServer(t, "", "--config", writeConfig(t, `ratelimit: {rate: 1/h, burst: 2, trusted_proxies: [127.0.0.1/32]}
apis:
  - resources:
      cars:
        key: id
        fields: {id: {type: integer}}
`))
	s.do("GET", "/cars", "") // loads the document: two requests from 127.0.0.1's own bucket
	xff := func(v string) []string { return []string{"X-Forwarded-For", v} }
	start := time.Now()
	s.run(t, []step{
		{name: "client A", method: "GET", path: "/cars", headers: xff("198.51.100.1"), status: 200,
			wantHeader: map[string]string{"RateLimit-Remaining": "1"}},
		{name: "client A's second", method: "GET", path: "/cars", headers: xff("198.51.100.1"), status: 200,
			wantHeader: map[string]string{"RateLimit-Remaining": "0"}},
		{name: "client A again", method: "GET", path: "/cars", headers: xff("198.51.100.1"), status: 429,
			check: retryWithin(3600, start)},
		{name: "client B", method: "GET", path: "/cars", headers: xff("198.51.100.2"), status: 200},
		{name: "A with a made-up left part", method: "GET", path: "/cars", headers: xff("203.0.113.9, 198.51.100.1"), status: 429},
		{name: "the proxy itself", method: "GET", path: "/cars", status: 429},
	})
	if r := s.do("GET", "/cars", "", "X-Forwarded-For", "2001:db8::1"); r.Status != http.StatusOK {
		t.Fatalf("IPv6 client: %d", r.Status)
	}
}
