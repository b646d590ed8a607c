package e2e

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestMetricsAndRequestIDs: /metrics counts requests by route pattern, not by path;
// every response has an X-Request-ID, the client's when it sends a sane one, and the
// log line of the request names it.
func TestMetricsAndRequestIDs(t *testing.T) {
	s := startServer(t, "")
	for i := 1; i <= 5; i++ {
		s.do("GET", "/cars/"+strings.Repeat("9", i), "")
	}
	s.do("GET", "/no/such/route", "")
	r := s.do("GET", "/cars", "", "X-Request-ID", "lb-1234")
	if r.Header.Get("X-Request-ID") != "lb-1234" {
		t.Fatalf("the client's request id was not kept: %q", r.Header.Get("X-Request-ID"))
	}
	if r := s.do("GET", "/cars", "", "X-Request-ID", "bad id\twith tab"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(r.Header.Get("X-Request-ID")) {
		t.Fatalf("a bad request id must be replaced: %q", r.Header.Get("X-Request-ID"))
	}
	m := s.do("GET", "/metrics", "")
	body := string(m.Body)
	for _, want := range []string{
		`restkit_http_requests_total{method="GET",route="/cars/{key}",status="404"} 5`,
		`restkit_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`restkit_http_request_duration_seconds_bucket{method="GET",route="/cars",le="+Inf"} 2`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `route="/cars/9`) {
		t.Error("a raw path became a label")
	}
	if !strings.Contains(s.logs.String(), "request_id=lb-1234") {
		t.Error("the request log does not name the request id")
	}
}

// TestRedisDown: with Redis unreachable, a node still serves (failing open) and
// /readyz says "degraded" but stays 200 (an outage of the shared Redis must not take
// every node out of its load balancer); with --redis-fail-closed rate-limited routes
// are 503s with Retry-After, routes without a limit are served, and /readyz is 503.
func TestRedisDown(t *testing.T) {
	cfg := writeConfig(t, `
apis:
  - resources:
      cars:
        key: id
        fields: {id: {type: integer}}
        ratelimit: {rate: 10/s, burst: 10}
      boats:
        key: id
        fields: {id: {type: integer}}
`)
	open := startServer(t, "", "--config", cfg, "--redis", "redis://127.0.0.1:1/0")
	open.run(t, []step{
		{name: "served, unlimited", method: "GET", path: "/cars", status: 200},
		{name: "degraded, still ready (failing open, it serves)", method: "GET", path: "/readyz", status: 200,
			wantIn: []string{`"status":"degraded"`, `"checks":[{"name":"store","ok":true},{"name":"limiter","ok":false}]`, `"config":"`}},
	})
	started := time.Now()
	closed := startServer(t, "", "--config", cfg, "--redis", "redis://127.0.0.1:1/0", "--redis-fail-closed")
	closed.run(t, []step{
		{name: "refused", method: "GET", path: "/cars", status: 503, wantHeader: map[string]string{"Retry-After": "1"},
			wantJSON: problemJSON(503, "the rate limiter is unavailable; retry shortly")},
		{name: "no limit, no Redis needed", method: "GET", path: "/boats", status: 200},
		{name: "not ready: failing closed, it refuses", method: "GET", path: "/readyz", status: 503,
			wantIn: []string{`"status":"unavailable"`, `"checks":[{"name":"store","ok":true},{"name":"limiter","ok":false}]`}},
	})
	for i := 0; i < 5; i++ {
		if r := closed.do("GET", "/cars", ""); r.Status != 503 {
			t.Fatalf("refused again: %d", r.Status)
		}
	}
	// At most one line per 10 s: one, unless the machine ran slowly for that long.
	if n, most := strings.Count(closed.logs.String(), "level=ERROR"), 1+int(time.Since(started)/(10*time.Second)); n > most {
		t.Errorf("an outage must be logged once per 10 s, not per request: %d ERROR lines in %v", n, time.Since(started))
	}
	if strings.Contains(closed.logs.String(), "pool.go") {
		t.Error("go-redis's own lines reach the log without --debug")
	}
}

// TestUnreachableBackendsAtStart: a node whose PostgreSQL or S3 does not answer, or
// whose Redis URL is malformed, exits 1 saying which (it once panicked instead).
func TestUnreachableBackendsAtStart(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--postgres", "postgres://postgres@127.0.0.1:1/test?connect_timeout=2"}, "opening PostgreSQL (--postgres)"},
		{[]string{"--s3", "s3://k:s@127.0.0.1:1/bucket?insecure=true"}, "opening the S3 blob store (--s3)"},
		{[]string{"--redis", "redis://127.0.0.1:6379/notadb"}, "opening Redis (--redis)"},
	}
	for _, c := range cases {
		out, err := runCLI(t, nil, append([]string{"serve", "--addr", freeAddr(t), "--data", t.TempDir()}, c.args...)...)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(out, c.want) || strings.Contains(out, "panic") {
			t.Errorf("%v: %v\n%s", c.args, err, out)
		}
	}
}

// TestProbesAreNotRateLimited: a load balancer's probes and a scraper, all from one
// address, never use up a default rate limit; a limited route's 429s are counted
// under its route in /metrics.
func TestProbesAreNotRateLimited(t *testing.T) {
	cfg := writeConfig(t, `
ratelimit: {rate: 1/h, burst: 2}
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}}}
`)
	s := startServer(t, "", "--config", cfg)
	for i := 0; i < 5; i++ {
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			if r := s.do("GET", p, ""); r.Status != 200 || r.Header.Get("RateLimit-Limit") != "" {
				t.Fatalf("%s #%d: %d %v", p, i, r.Status, r.Header)
			}
		}
	}
	for i := 0; i < 3; i++ {
		s.do("GET", "/cars", "")
	}
	if body := string(s.do("GET", "/metrics", "").Body); !strings.Contains(body, `restkit_http_requests_total{method="GET",route="/cars",status="429"} `) {
		t.Fatalf("the 429 is not counted under /cars:\n%s", grepLines(body, "restkit_http_requests_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
