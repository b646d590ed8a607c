package redislimit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/testenv"
	"github.com/restkit/restkit/ratelimit"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// clock is a clock that moves only when a test advances it.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

// redisURL returns RESTKIT_TEST_REDIS or a local server's URL, or skips the test
// (testenv.Redis).
func redisURL(tb testing.TB) string {
	tb.Helper()
	return testenv.Redis(tb)
}

// testPrefix returns a prefix of its own for the test, and deletes its keys when
// the test ends.
func testPrefix(tb testing.TB) string {
	tb.Helper()
	url := redisURL(tb)
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "restkit:test:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		opt, _ := redis.ParseURL(url)
		c := redis.NewClient(opt)
		defer c.Close()
		ctx := context.Background()
		keys, _ := c.Keys(ctx, "rate:"+prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return prefix
}

// mustOpenRedis opens a limiter (with a client of its own: one node) on the test
// Redis under prefix.
func mustOpen(tb testing.TB, prefix string, o Options) *Redis {
	tb.Helper()
	o.Prefix = prefix
	l, err := Open(redisURL(tb), o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	if err := l.Ping(context.Background()); err != nil {
		tb.Fatalf("Redis at %s: %v", redisURL(tb), err)
	}
	return l
}

func mustAllow(tb testing.TB, l ratelimit.Limiter, key string, rule ratelimit.Rule) ratelimit.Decision {
	tb.Helper()
	d, err := l.Allow(context.Background(), key, rule)
	if err != nil {
		tb.Fatalf("Allow(%q, %v): %v", key, rule, err)
	}
	return d
}

// near reports whether got, a time Redis measured on its own clock, is want less
// the time passed since the test's reference point (at most elapsed), to within
// Redis's resolution. Redis's clock runs on while the test runs, however slowly; the
// rules of these tests refill in minutes or hours, so no token comes back meanwhile.
func near(got, want, elapsed time.Duration) bool {
	const slack = time.Millisecond
	return got <= want+slack && got >= want-elapsed-slack
}

func TestRedisBurstThenRefusal(t *testing.T) {
	l := mustOpen(t, testPrefix(t), Options{})
	rule := ratelimit.Rule{Rate: 1.0 / 7200, Burst: 3} // a rate not whole per second, minute or hour: one token every 2 h
	start := time.Now()
	for i, want := range []int{2, 1, 0} {
		if d := mustAllow(t, l, "a", rule); !d.Allowed || d.Remaining != want || d.Limit != 3 || d.RetryAfter != 0 {
			t.Fatalf("request %d: %+v, want allowed with %d remaining", i, d, want)
		}
	}
	d := mustAllow(t, l, "a", rule)
	if elapsed := time.Since(start); d.Allowed || d.Remaining != 0 || !near(d.RetryAfter, 2*time.Hour, elapsed) || !near(d.Reset, 6*time.Hour, elapsed) {
		t.Fatalf("4th: %+v, want refused, retry after 2h, reset 6h (less the %v the test took)", d, elapsed)
	}
}

func TestRedisRecoversAfterRetryAfter(t *testing.T) {
	l := mustOpen(t, testPrefix(t), Options{})
	rule := ratelimit.Rule{Rate: 20, Burst: 2}
	// Take tokens until refused: at 20/s a slow machine may earn one back meanwhile.
	var d ratelimit.Decision
	for i := 0; ; i++ {
		if i == 20 {
			t.Fatalf("never refused: %+v", d)
		}
		if d = mustAllow(t, l, "a", rule); !d.Allowed {
			break
		}
	}
	if d.RetryAfter <= 0 || d.RetryAfter > 50*time.Millisecond {
		t.Fatalf("refused with %+v, want 0 < RetryAfter <= 50ms", d)
	}
	time.Sleep(d.RetryAfter + 20*time.Millisecond)
	if d := mustAllow(t, l, "a", rule); !d.Allowed {
		t.Fatalf("after waiting RetryAfter: %+v", d)
	}
}

func TestRedisNodesShareBuckets(t *testing.T) {
	prefix := testPrefix(t)
	a := mustOpen(t, prefix, Options{})
	b := mustOpen(t, prefix, Options{})
	rule := ratelimit.Rule{Rate: 1.0 / 3600, Burst: 3}
	start := time.Now()
	if d := mustAllow(t, a, "k", rule); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("a: %+v", d)
	}
	if d := mustAllow(t, b, "k", rule); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("b: %+v, want the bucket a took from", d)
	}
	if d := mustAllow(t, a, "k", rule); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("a again: %+v", d)
	}
	for _, l := range []*Redis{a, b} {
		if d := mustAllow(t, l, "k", rule); d.Allowed || !near(d.RetryAfter, time.Hour, time.Since(start)) {
			t.Fatalf("after the burst: %+v, want refused for an hour", d)
		}
	}
	// Another prefix is another namespace.
	c := mustOpen(t, testPrefix(t), Options{})
	if d := mustAllow(t, c, "k", rule); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("other prefix: %+v", d)
	}
}

func TestRedisKeysAndRulesIndependent(t *testing.T) {
	l := mustOpen(t, testPrefix(t), Options{})
	rule := ratelimit.Rule{Rate: 1.0 / 3600, Burst: 2}
	mustAllow(t, l, "a", rule)
	mustAllow(t, l, "a", rule)
	if d := mustAllow(t, l, "a", rule); d.Allowed {
		t.Fatalf("a past its burst: %+v", d)
	}
	for _, tc := range []struct {
		key  string
		rule ratelimit.Rule
		want int
	}{
		{"b", rule, 1}, // another key
		{"a", ratelimit.Rule{Rate: 1.0 / 3600, Burst: 5}, 4}, // another burst
		{"a", ratelimit.Rule{Rate: 1.0 / 1800, Burst: 2}, 1}, // another rate
		{"a\x00", rule, 1}, // no confusion at the separator
	} {
		if d := mustAllow(t, l, tc.key, tc.rule); !d.Allowed || d.Remaining != tc.want {
			t.Errorf("%q %v: %+v, want a fresh bucket with %d left", tc.key, tc.rule, d, tc.want)
		}
	}
}

// TestRedisMatchesLocal runs the same requests through Local and Redis, which must
// give the same headers. Local runs on a clock that stands still, so its answers are
// exact; Redis's clock runs on meanwhile, so its times may be shorter by as much as
// the test took. The rules refill in minutes or hours (one per way redisLimit maps a
// rate: per minute, per hour, per another period), so no token comes back meanwhile.
func TestRedisMatchesLocal(t *testing.T) {
	type want struct {
		allowed        bool
		remaining      int
		resetS, retryS int // ratelimit.Seconds(Reset), ratelimit.Seconds(RetryAfter)
	}
	for _, tc := range []struct {
		rule ratelimit.Rule
		want []want
	}{
		{ratelimit.Rule{Rate: 1.0 / 60, Burst: 1}, []want{
			{true, 0, 60, 0}, {false, 0, 60, 60}}},
		{ratelimit.Rule{Rate: 5.0 / 3600, Burst: 4}, []want{ // 5 per hour: one token per 12 min
			{true, 3, 720, 0}, {true, 2, 1440, 0}, {true, 1, 2160, 0}, {true, 0, 2880, 0}, {false, 0, 2880, 720}}},
		{ratelimit.Rule{Rate: 1.0 / 700, Burst: 2}, []want{ // 5 per 3500 s: an interval of 700 s
			{true, 1, 700, 0}, {true, 0, 1400, 0}, {false, 0, 1400, 700}}},
	} {
		c := &clock{time.Unix(1_000_000, 0)}
		local, rds := ratelimit.NewLocalWith(ratelimit.LocalOptions{Now: c.now}), mustOpen(t, testPrefix(t), Options{})
		start := time.Now()
		for i, w := range tc.want {
			ld, rd := mustAllow(t, local, "k", tc.rule), mustAllow(t, rds, "k", tc.rule)
			elapsed := time.Since(start)
			if got := (want{ld.Allowed, ld.Remaining, ratelimit.Seconds(ld.Reset), ratelimit.Seconds(ld.RetryAfter)}); got != w || ld.Limit != tc.rule.Burst {
				t.Errorf("%v request %d, local: %+v (limit %d), want %+v", tc.rule, i, got, ld.Limit, w)
			}
			if rd.Allowed != ld.Allowed || rd.Remaining != ld.Remaining || rd.Limit != ld.Limit ||
				!near(rd.Reset, ld.Reset, elapsed) || !near(rd.RetryAfter, ld.RetryAfter, elapsed) {
				t.Errorf("%v request %d: local %+v, redis %+v (after %v)", tc.rule, i, ld, rd, elapsed)
			}
		}
	}
}

func TestRedisConcurrent(t *testing.T) {
	prefix := testPrefix(t)
	nodes := []*Redis{mustOpen(t, prefix, Options{}), mustOpen(t, prefix, Options{})}
	rule := ratelimit.Rule{Rate: 1.0 / 3600, Burst: 10}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Go(func() {
			d, err := nodes[i%2].Allow(context.Background(), "shared", rule)
			if err != nil {
				t.Error(err)
			}
			if d.Allowed {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != int64(rule.Burst) {
		t.Fatalf("%d of 100 concurrent requests allowed on two nodes, want exactly the burst %d", n, rule.Burst)
	}
}

// unreachable opens a limiter on an address where nothing listens.
func unreachable(t *testing.T, o Options) *Redis {
	t.Helper()
	l, err := Open("redis://127.0.0.1:1/0", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestRedisFailOpen(t *testing.T) {
	var logs bytes.Buffer
	var errs atomic.Int64
	l := unreachable(t, Options{FailOpen: true, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		OnError: func(error) { errs.Add(1) }})
	c := &clock{time.Unix(1_000_000, 0)}
	l.now = c.now // "at most one line per 10 s" holds however slowly the test runs
	if !l.Healthy() {
		t.Fatal("unhealthy before any call")
	}
	rule := ratelimit.Rule{Rate: 1, Burst: 3}
	for i := 0; i < 5; i++ {
		d, err := l.Allow(context.Background(), "k", rule)
		if err != nil || !d.Allowed || d.Limit != 3 || d.Remaining != 2 || d.RetryAfter != 0 {
			t.Fatalf("request %d: %+v %v, want allowed as by a full bucket", i, d, err)
		}
	}
	if l.Healthy() {
		t.Error("healthy after failures")
	}
	if n := errs.Load(); n != 5 {
		t.Errorf("OnError called %d times, want 5", n)
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), "fail open") {
		t.Errorf("%d log lines, want 1 (at most one per 10s) saying fail open:\n%s", n, logs.String())
	}
	err := l.Ping(context.Background())
	if !restkit.IsKind(err, restkit.Unavailable) || restkit.ErrorMessage(err) != "rate limiter unavailable" {
		t.Errorf("Ping: %v (message %q), want Unavailable", err, restkit.ErrorMessage(err))
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 {
		t.Errorf("Ping logged again within 10s:\n%s", logs.String())
	}
}

func TestRedisFailClosed(t *testing.T) {
	l := unreachable(t, Options{})
	d, err := l.Allow(context.Background(), "k", ratelimit.Rule{Rate: 1, Burst: 3})
	if !restkit.IsKind(err, restkit.Unavailable) {
		t.Fatalf("error %v, want Unavailable", err)
	}
	if msg := restkit.ErrorMessage(err); strings.Contains(msg, "127.0.0.1") || msg != "rate limiter unavailable" {
		t.Errorf("client-facing message %q", msg)
	}
	if d.Allowed || d.RetryAfter != UnavailableRetryAfter {
		t.Errorf("decision %+v, want refused with RetryAfter %v", d, UnavailableRetryAfter)
	}
	if l.Healthy() {
		t.Error("healthy after a failure")
	}
	// An invalid rule is an error of its own, not an outage.
	if _, err := l.Allow(context.Background(), "k", ratelimit.Rule{Rate: 0, Burst: 1}); err == nil || restkit.IsKind(err, restkit.Unavailable) {
		t.Errorf("invalid rule: %v", err)
	}
}

// TestRedisAsksAgain: after a failure, Redis is not asked (the policy decides at
// once) until retryEvery has passed or Ping succeeds. The limiter's clock moves only
// when the test moves it.
func TestRedisAsksAgain(t *testing.T) {
	var errs atomic.Int64
	l := mustOpen(t, testPrefix(t), Options{OnError: func(error) { errs.Add(1) }})
	c := &clock{time.Unix(1_000_000, 0)}
	l.now = c.now
	rule := ratelimit.Rule{Rate: 1.0 / 3600, Burst: 100}
	l.fail(context.Background(), context.DeadlineExceeded) // as if Redis had failed
	if l.Healthy() {
		t.Fatal("healthy after a failure")
	}
	c.advance(l.retryEvery - time.Nanosecond)
	if _, err := l.Allow(context.Background(), "k", rule); !restkit.IsKind(err, restkit.Unavailable) || !errors.Is(err, errNotAsked) {
		t.Fatalf("right after a failure: %v, want Unavailable without asking Redis", err)
	}
	c.advance(time.Nanosecond)
	if d := mustAllow(t, l, "k", rule); !d.Allowed || !l.Healthy() {
		t.Fatalf("after retryEvery: %+v, healthy %v", d, l.Healthy())
	}
	l.fail(context.Background(), context.DeadlineExceeded)
	if err := l.Ping(context.Background()); err != nil || !l.Healthy() {
		t.Fatalf("Ping: %v, healthy %v", err, l.Healthy())
	}
	if d := mustAllow(t, l, "k", rule); !d.Allowed {
		t.Fatalf("after Ping: %+v", d)
	}
	if n := errs.Load(); n != 3 {
		t.Errorf("OnError called %d times, want 3 (two failures, one request not asked)", n)
	}
}

func TestRedisCallerGaveUp(t *testing.T) {
	var errs atomic.Int64
	l := mustOpen(t, testPrefix(t), Options{FailOpen: true, OnError: func(error) { errs.Add(1) }})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if d, err := l.Allow(ctx, "k", ratelimit.Rule{Rate: 1, Burst: 1}); err != nil || !d.Allowed {
		t.Fatalf("%+v %v", d, err)
	}
	if !l.Healthy() || errs.Load() != 0 {
		t.Fatal("a cancelled request counted as a Redis failure")
	}
}

func TestOpenRedisBadURL(t *testing.T) {
	if _, err := Open("http://127.0.0.1:6379", Options{}); !restkit.IsKind(err, restkit.Invalid) {
		t.Fatalf("%v, want Invalid", err)
	}
}

func TestRedisLimit(t *testing.T) {
	for _, tc := range []struct {
		rate   float64
		n      int
		period time.Duration
	}{
		{20, 20, time.Second},
		{0.5, 30, time.Minute},
		{10.0 / 60, 10, time.Minute},
		{5.0 / 3600, 5, time.Hour},
		{1.0 / 7, 514, 3598 * time.Second},
	} {
		l := redisLimit(ratelimit.Rule{Rate: tc.rate, Burst: 4})
		if l.Rate != tc.n || l.Period != tc.period || l.Burst != 4 {
			t.Errorf("%g/s: %v, want %d per %v", tc.rate, l, tc.n, tc.period)
		}
	}
	// The emission interval is 1/rate, to the nanosecond.
	for _, r := range []float64{1e-6, 1.0 / 3, 2.5, math.Pi, 333.3, 12345.678} {
		l := redisLimit(ratelimit.Rule{Rate: r, Burst: 1})
		got := l.Period.Seconds() / float64(l.Rate)
		if math.Abs(got-1/r) > 1e-9*(1/r)+1e-9 {
			t.Errorf("%g/s: %v, an interval of %gs, want %gs", r, l, got, 1/r)
		}
	}
}

// TestRedisPeekAndRefund: Peek and Refund read and write the buckets Allow keeps
// (their scripts follow redis_rate's encoding; an upgrade that changed it fails
// here). The rule refills one token in 12 minutes, so no refill happens meanwhile.
func TestRedisPeekAndRefund(t *testing.T) {
	prefix := testPrefix(t)
	l := mustOpen(t, prefix, Options{})
	rule := ratelimit.Rule{Rate: 5.0 / 3600, Burst: 3}
	ctx := context.Background()
	keys := func() int {
		n, err := l.client.Keys(ctx, "rate:"+prefix+"*").Result()
		if err != nil {
			t.Fatal(err)
		}
		return len(n)
	}
	if d, err := l.Peek(ctx, "a", rule); err != nil || !d.Allowed || d.Remaining != 3 || d.Reset != 0 || keys() != 0 {
		t.Fatalf("peek at a new key: %+v %v, %d keys; want a full bucket and no key", d, err, keys())
	}
	start := time.Now()
	for i := 0; i < 3; i++ {
		mustAllow(t, l, "a", rule)
	}
	for i := 0; i < 2; i++ {
		d, err := l.Peek(ctx, "a", rule)
		if elapsed := time.Since(start); err != nil || d.Allowed || d.Remaining != 0 || !near(d.RetryAfter, 12*time.Minute, elapsed) || !near(d.Reset, 36*time.Minute, elapsed) {
			t.Fatalf("peek at an empty bucket: %+v %v, want refused, retry after 12 min, reset 36 min (less %v)", d, err, elapsed)
		}
	}
	if err := l.Refund(ctx, "a", rule); err != nil {
		t.Fatal(err)
	}
	if d, _ := l.Peek(ctx, "a", rule); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("peek after a refund: %+v", d)
	}
	if d := mustAllow(t, l, "a", rule); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("allow after a refund: %+v", d)
	}
	if d := mustAllow(t, l, "a", rule); d.Allowed {
		t.Fatalf("one refund gave more than one token: %+v", d)
	}
	for i := 0; i < 5; i++ {
		if err := l.Refund(ctx, "a", rule); err != nil {
			t.Fatal(err)
		}
	}
	if n := keys(); n != 0 {
		t.Fatalf("%d keys after refunds filled the only bucket", n)
	}
	if d := mustAllow(t, l, "a", rule); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after refunds: %+v, want a full bucket", d)
	}
	// Down: Peek follows the policy, Refund says it could not.
	closed, open := unreachable(t, Options{}), unreachable(t, Options{FailOpen: true})
	if _, err := closed.Peek(ctx, "a", rule); !restkit.IsKind(err, restkit.Unavailable) {
		t.Errorf("peek, fail closed: %v", err)
	}
	if d, err := open.Peek(ctx, "a", rule); err != nil || !d.Allowed {
		t.Errorf("peek, fail open: %+v %v", d, err)
	}
	if err := open.Refund(ctx, "a", rule); !restkit.IsKind(err, restkit.Unavailable) {
		t.Errorf("refund: %v", err)
	}
}
