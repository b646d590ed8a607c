package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestBurstThenRefusalThenRefill(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	l := NewLocalWith(LocalOptions{Now: c.now})
	rule := Rule{Rate: 2, Burst: 3}
	ctx := context.Background()
	for i, want := range []int{2, 1, 0} {
		d, err := l.Allow(ctx, "a", rule)
		if err != nil || !d.Allowed || d.Remaining != want || d.Limit != 3 {
			t.Fatalf("request %d: %+v %v, want allowed with %d remaining", i, d, err, want)
		}
	}
	d, _ := l.Allow(ctx, "a", rule)
	if d.Allowed || d.Remaining != 0 || d.RetryAfter != 500*time.Millisecond || Seconds(d.RetryAfter) != 1 || d.Reset != 1500*time.Millisecond {
		t.Fatalf("4th: %+v, want refused, retry after 0.5s, reset 1.5s", d)
	}
	// Another key and another rule have their own buckets.
	if d, _ := l.Allow(ctx, "b", rule); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("other key: %+v", d)
	}
	if d, _ := l.Allow(ctx, "a", Rule{Rate: 1, Burst: 5}); !d.Allowed || d.Remaining != 4 {
		t.Fatalf("other rule: %+v", d)
	}
	c.advance(499 * time.Millisecond)
	if d, _ := l.Allow(ctx, "a", rule); d.Allowed {
		t.Fatalf("before a token: %+v", d)
	}
	c.advance(time.Millisecond)
	if d, _ := l.Allow(ctx, "a", rule); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("after 0.5s: %+v", d)
	}
	c.advance(10 * time.Second) // refills to the burst, no further
	for i := 0; i < 3; i++ {
		if d, _ := l.Allow(ctx, "a", rule); !d.Allowed {
			t.Fatalf("after refill, request %d: %+v", i, d)
		}
	}
	if d, _ := l.Allow(ctx, "a", rule); d.Allowed {
		t.Fatalf("refill went past the burst: %+v", d)
	}
}

func TestInvalidRule(t *testing.T) {
	for _, r := range []Rule{{0, 1}, {1, 0}, {-1, 3}} {
		if _, err := NewLocal().Allow(context.Background(), "k", r); err == nil {
			t.Errorf("%v: no error", r)
		}
	}
}

func TestBoundedKeys(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	l := NewLocalWith(LocalOptions{Now: c.now, MaxKeys: 10})
	rule := Rule{Rate: 1, Burst: 2}
	for i := 0; i < 100; i++ {
		l.Allow(context.Background(), fmt.Sprint(i), rule)
	}
	if n := l.Len(); n != 10 {
		t.Fatalf("%d buckets, want the cap 10", n)
	}
	// Once refilled, idle buckets are swept as others are used.
	c.advance(time.Minute)
	for i := 0; i < 5; i++ {
		l.Allow(context.Background(), "busy", rule)
	}
	if n := l.Len(); n != 1 {
		t.Fatalf("%d buckets after the idle ones refilled, want 1", n)
	}
}

func TestClientKey(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct", "203.0.113.7:5555", nil, "203.0.113.7"},
		{"untrusted peer's header ignored", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted peer, no header", "10.1.2.3:80", nil, "10.1.2.3"},
		{"one proxy", "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed left part ignored", "10.1.2.3:80", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"two proxies", "10.1.2.3:80", []string{"1.1.1.1, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"several header fields", "10.1.2.3:80", []string{"1.1.1.1", "198.51.100.1", "10.9.9.9"}, "198.51.100.1"},
		{"all trusted", "10.1.2.3:80", []string{"10.4.4.4, 10.5.5.5"}, "10.4.4.4"},
		{"malformed", "10.1.2.3:80", []string{"garbage"}, "10.1.2.3"},
		{"malformed after a trusted hop", "10.1.2.3:80", []string{"198.51.100.1, nonsense, 10.9.9.9"}, "10.9.9.9"},
		{"empty entry", "10.1.2.3:80", []string{""}, "10.1.2.3"},
		{"with port", "10.1.2.3:80", []string{"198.51.100.1:4444"}, "198.51.100.1"},
		{"IPv6 client", "10.1.2.3:80", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv6 client with port", "10.1.2.3:80", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"IPv6 trusted peer", "[fd00::1]:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv6 untrusted peer", "[2001:db8::9]:80", []string{"198.51.100.1"}, "2001:db8::9"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"not an address", "@", []string{"198.51.100.1"}, "@"},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ClientKey(r, trusted); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	r, _ := http.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.1.2.3:80"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := ClientKey(r, nil); got != "10.1.2.3" {
		t.Errorf("no trusted proxies: %q", got)
	}
}

// TestLocalPeekAndRefund: Peek takes nothing and keeps no bucket for a new key;
// Refund gives back a token Allow took, and a bucket it fills is dropped.
func TestLocalPeekAndRefund(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	l := NewLocalWith(LocalOptions{Now: c.now})
	rule := Rule{Rate: 1.0 / 12, Burst: 3} // a token every 12 s
	ctx := context.Background()
	if d, err := l.Peek(ctx, "a", rule); err != nil || !d.Allowed || d.Remaining != 3 || d.Reset != 0 || l.Len() != 0 {
		t.Fatalf("peek at a new key: %+v %v, %d buckets; want a full bucket and none kept", d, err, l.Len())
	}
	for i := 0; i < 3; i++ {
		if d, _ := l.Allow(ctx, "a", rule); !d.Allowed {
			t.Fatalf("allow %d: %+v", i, d)
		}
	}
	for i := 0; i < 2; i++ { // peeking twice takes nothing either time
		if d, _ := l.Peek(ctx, "a", rule); d.Allowed || d.Remaining != 0 || d.RetryAfter != 12*time.Second || d.Reset != 36*time.Second {
			t.Fatalf("peek at an empty bucket: %+v, want refused, retry after 12s, reset 36s", d)
		}
	}
	c.advance(12 * time.Second)
	if d, _ := l.Peek(ctx, "a", rule); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("peek after a refill: %+v", d)
	}
	if d, _ := l.Allow(ctx, "a", rule); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("allow after peeking: %+v, want the token peeking left there", d)
	}
	if err := l.Refund(ctx, "a", rule); err != nil {
		t.Fatal(err)
	}
	if d, _ := l.Allow(ctx, "a", rule); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("allow after a refund: %+v", d)
	}
	if d, _ := l.Allow(ctx, "a", rule); d.Allowed {
		t.Fatalf("one refund gave more than one token: %+v", d)
	}
	// Refunds stop at the burst, and the bucket they fill goes.
	for i := 0; i < 5; i++ {
		if err := l.Refund(ctx, "a", rule); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Len(); n != 0 {
		t.Fatalf("%d buckets after refunds filled the only one", n)
	}
	if d, _ := l.Peek(ctx, "a", rule); d.Remaining != 3 {
		t.Fatalf("after refunds: %+v, want the burst", d)
	}
	if err := l.Refund(ctx, "unseen", rule); err != nil || l.Len() != 0 {
		t.Fatalf("refund to a new key: %v, %d buckets", err, l.Len())
	}
	if _, err := l.Peek(ctx, "a", Rule{}); err == nil {
		t.Error("peek with an invalid rule: no error")
	}
	if err := l.Refund(ctx, "a", Rule{}); err == nil {
		t.Error("refund with an invalid rule: no error")
	}
}

// TestRetryAfterIsNotRoundedUpByFloatNoise: 11 s into a 12 s refill, one second is
// left, not 1.0000000000000004 s (which the headers would round up to 2).
func TestRetryAfterIsNotRoundedUpByFloatNoise(t *testing.T) {
	c := &clock{time.Unix(1_000_000, 0)}
	l := NewLocalWith(LocalOptions{Now: c.now})
	rule := Rule{Rate: 5.0 / 60, Burst: 5}
	for i := 0; i < 5; i++ {
		l.Allow(context.Background(), "k", rule)
	}
	c.advance(11 * time.Second)
	if d, _ := l.Allow(context.Background(), "k", rule); d.Allowed || d.RetryAfter != time.Second || Seconds(d.RetryAfter) != 1 {
		t.Fatalf("%+v, want refused for 1s", d)
	}
	c.advance(time.Second)
	if d, _ := l.Allow(context.Background(), "k", rule); !d.Allowed {
		t.Fatalf("after 12s: %+v", d)
	}
}
