package httpapi

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// clock is a clock that moves only when a test advances it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func httptestRequest(accept string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/cars", nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	return r
}

// mustNew is New for tests: it fails the test when New refuses its options.
func mustNew(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("httpapi.New: %v", err)
	}
	return s
}
