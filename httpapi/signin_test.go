package httpapi

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit/ratelimit"
)

// lockedDetail is the 429 of an account over its limit of failed sign-ins, with retry seconds.
func lockedDetail(retry int) string {
	return fmt.Sprintf(`{"type":"about:blank","title":"Too Many Requests","status":429,"detail":"too many failed sign-ins to this account; its password sign-ins are refused, even with the right password, for %ds (its API keys still work)"}`, retry)
}

// wantLocked asserts the 429 of an account over its limit.
func wantLocked(t *testing.T, name string, w interface {
	Result() *http.Response
}, retry int) {
	t.Helper()
	res := w.Result()
	var body bytes.Buffer
	body.ReadFrom(res.Body)
	if res.StatusCode != 429 || res.Header.Get("Retry-After") != fmt.Sprint(retry) ||
		res.Header.Get("Content-Type") != "application/problem+json" || strings.TrimSpace(body.String()) != lockedDetail(retry) {
		t.Fatalf("%s: %d %v %s; want 429, Retry-After %d, %s", name, res.StatusCode, res.Header, body.String(), retry, lockedDetail(retry))
	}
}

// TestAccountSignInLimit: after 5 failed password checks for an account, from any
// addresses, every password sign-in to it is a 429 from any address — the right
// password too, so the answer never tells a right guess — without a bcrypt
// comparison, until a token is back (one per 12 s); its API key keeps working, other
// accounts are not affected, and an unknown user name is limited exactly alike.
func TestAccountSignInLimit(t *testing.T) {
	clock := newClock()
	var logs syncBuffer
	s, a := authServerWith(t, Options{Now: clock.Now, Limiter: ratelimit.NewLocalWith(ratelimit.LocalOptions{Now: clock.Now}),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	addr := func(i int) string { return fmt.Sprintf("198.51.100.%d:4000", i) } // a new address each time
	wrong, right := basicHeader("alice", "guess"), basicHeader("alice", "alice-secret")
	for i := 0; i < accountRule.Burst; i++ {
		if w := getFrom(s, addr(i), "/no/such/path", "Authorization", wrong); w.Code != 401 {
			t.Fatalf("failure %d: %d %s", i, w.Code, w.Body)
		}
	}
	wantLocked(t, "a 6th guess from another address", getFrom(s, addr(10), "/cars", "Authorization", wrong), 12)
	wantLocked(t, "the right password", getFrom(s, addr(11), "/cars", "Authorization", right), 12)
	if n := a.Compared(); n != int64(accountRule.Burst) {
		t.Fatalf("%d bcrypt comparisons, want %d: none once the account is limited", n, accountRule.Burst)
	}
	if w := getFrom(s, addr(12), "/cars", "Authorization", "Bearer "+aliceKey); w.Code != 200 {
		t.Fatalf("alice's API key while her password is limited: %d %s", w.Code, w.Body)
	}
	if w := getFrom(s, addr(13), "/no/such/path", "Authorization", basicHeader("bob", "bob-secret")); w.Code != 404 {
		t.Fatalf("bob, another account: %d %s", w.Code, w.Body)
	}
	// An unknown name: the same answers after the same number of failures.
	for i := 0; i < accountRule.Burst; i++ {
		if w := getFrom(s, addr(20+i), "/no/such/path", "Authorization", basicHeader("mallory", "guess")); w.Code != 401 {
			t.Fatalf("unknown user, failure %d: %d", i, w.Code)
		}
	}
	wantLocked(t, "an unknown user's 6th guess", getFrom(s, addr(30), "/no/such/path", "Authorization", basicHeader("mallory", "guess")), 12)
	// One more guess per 12 s.
	clock.Advance(11 * time.Second)
	wantLocked(t, "after 11s", getFrom(s, addr(31), "/cars", "Authorization", right), 1)
	clock.Advance(time.Second)
	if w := getFrom(s, addr(32), "/no/such/path", "Authorization", wrong); w.Code != 401 {
		t.Fatalf("after 12s, a guess is checked: %d %s", w.Code, w.Body)
	}
	wantLocked(t, "and the next refused", getFrom(s, addr(33), "/cars", "Authorization", right), 12)
	clock.Advance(12 * time.Second)
	if w := getFrom(s, addr(34), "/no/such/path", "Authorization", right); w.Code != 404 {
		t.Fatalf("the right password once a token is back: %d %s", w.Code, w.Body)
	}
	// The refusals are audited; an unknown name is not written down.
	out := logs.String()
	if n := strings.Count(out, `outcome="too many failed sign-ins"`); n != 5 {
		t.Errorf("%d audit lines of refused sign-ins, want 5:\n%s", n, out)
	}
	if !strings.Contains(out, `msg=audit outcome="too many failed sign-ins" action=read method=GET path=/cars status=429 client=198.51.100.10 user="" account=alice`) ||
		!strings.Contains(out, `path=/no/such/path status=429 client=198.51.100.30 user="" account=""`) || strings.Contains(out, "mallory") {
		t.Errorf("audit lines:\n%s", out)
	}
}

// TestAccountLimitCountsOnlyFailures: successful checks give their token back. Two
// nodes share one limiter and each checks alice's right password once (each has its
// own cache): with 4 failures before, a 5th failure is still a 401.
func TestAccountLimitCountsOnlyFailures(t *testing.T) {
	clock := newClock()
	shared := ratelimit.NewLocalWith(ratelimit.LocalOptions{Now: clock.Now})
	nodeA, _ := authServerWith(t, Options{Now: clock.Now, Limiter: shared})
	nodeB, _ := authServerWith(t, Options{Now: clock.Now, Limiter: shared})
	wrong, right := basicHeader("alice", "guess"), basicHeader("alice", "alice-secret")
	for i := 0; i < accountRule.Burst-1; i++ {
		if w := get(nodeA, "/no/such/path", "Authorization", wrong); w.Code != 401 {
			t.Fatalf("failure %d: %d", i, w.Code)
		}
	}
	for _, node := range []*Server{nodeA, nodeB} {
		if w := get(node, "/no/such/path", "Authorization", right); w.Code != 404 {
			t.Fatalf("right password: %d %s", w.Code, w.Body)
		}
	}
	if w := get(nodeB, "/no/such/path", "Authorization", wrong); w.Code != 401 {
		t.Fatalf("5th failure after two right passwords: %d %s", w.Code, w.Body)
	}
	// The limit is shared: node A refuses after failures seen on both.
	wantLocked(t, "6th failure, on the other node", get(nodeA, "/no/such/path", "Authorization", wrong), 12)
	// A password node B remembers is refused as well while the account is limited:
	// otherwise guesses would be answered by the cache (429 wrong, 404 right).
	wantLocked(t, "a remembered right password", get(nodeB, "/no/such/path", "Authorization", right), 12)
	clock.Advance(12 * time.Second)
	if w := get(nodeB, "/no/such/path", "Authorization", right); w.Code != 404 {
		t.Fatalf("remembered password once a token is back: %d", w.Code)
	}
}

// TestAccountLimitHoldsUnderConcurrency: concurrent guesses cannot all pass a bucket
// that looks full: each takes its token before its bcrypt comparison.
func TestAccountLimitHoldsUnderConcurrency(t *testing.T) {
	s, a := authServer(t)
	const n = 8 // within auth's queue of 8 checks per CPU
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			codes[i] = getFrom(s, fmt.Sprintf("198.51.100.%d:4000", i), "/cars", "Authorization", basicHeader("alice", fmt.Sprint("guess", i))).Code
		})
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if count[401] != accountRule.Burst || count[429] != n-accountRule.Burst || a.Compared() != int64(accountRule.Burst) {
		t.Fatalf("codes %v, %d comparisons; want %d×401 (one comparison each), the rest 429", count, a.Compared(), accountRule.Burst)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (a log handler's).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
