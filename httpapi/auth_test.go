package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/memory"
	"github.com/restkit/restkit/ratelimit"
)

// authServer is a Server with auth on: alice (admin, password alice-secret, API key
// aliceKey), bob (admin, password bob-secret), one resource limited to 2 requests per
// caller, and nothing open to anonymous callers. Its clock stands still (the limits
// refill only when the test moves it), and it counts in its own limiter.
func authServer(t *testing.T) (*Server, *auth.Authority) {
	t.Helper()
	clock := newClock()
	return authServerWith(t, Options{Now: clock.Now, Limiter: ratelimit.NewLocalWith(ratelimit.LocalOptions{Now: clock.Now})})
}

const aliceKey = "rk_alice-test-key"

// authServerWith is authServer with opts (the schema, store and authority are set
// here): nodes that share opts.Limiter share their limits.
func authServerWith(t *testing.T, opts Options) (*Server, *auth.Authority) {
	t.Helper()
	var users []*restkit.User
	for _, name := range []string{"alice", "bob"} {
		hash, err := auth.HashPassword(name+"-secret", 4)
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, &restkit.User{Name: name, PasswordHash: hash, Roles: []string{"admin"}})
	}
	keySum := sha256.Sum256([]byte(aliceKey))
	s := &restkit.Schema{
		Auth: &restkit.Auth{BcryptCost: 4, Users: users,
			Keys: []*restkit.APIKey{{ID: "alice-ci", SHA256: hex.EncodeToString(keySum[:]), User: "alice", Roles: []string{"admin"}}}},
		APIs: []*restkit.API{{Resources: []*restkit.Resource{{
			Name: "cars", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}},
			RateLimit: &restkit.RateLimit{Rate: 0.001, Burst: 2},
		}}}},
	}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	a, err := auth.New(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	if err := store.Migrate(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	opts.Schema, opts.Store, opts.Auth = s, store, a
	return mustNew(t, opts), a
}

func basicHeader(user, pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pw))
}

func get(h http.Handler, path string, headers ...string) *httptest.ResponseRecorder {
	return getFrom(h, "192.0.2.1:1234", path, headers...)
}

// getFrom is get from the client address addr (host:port).
func getFrom(h http.Handler, addr, path string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.RemoteAddr = addr
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestBcryptOnlyWhereNeeded: a password is compared (bcrypt, tens of milliseconds)
// only on a route that needs credentials and only once the client is within its rate
// limit — never on /healthz, and never for a client already over its limit.
func TestBcryptOnlyWhereNeeded(t *testing.T) {
	s, a := authServer(t)
	wrong := basicHeader("alice", "wrong")
	for i := 0; i < 5; i++ {
		if w := get(s, "/healthz", "Authorization", wrong); w.Code != 200 {
			t.Fatalf("/healthz: %d", w.Code)
		}
	}
	if n := a.Compared(); n != 0 {
		t.Fatalf("/healthz made %d bcrypt comparisons", n)
	}
	codes := []int{}
	for i := 0; i < 5; i++ {
		codes = append(codes, get(s, "/cars", "Authorization", wrong).Code)
	}
	if codes[0] != 401 || codes[1] != 401 || codes[2] != 429 || codes[4] != 429 {
		t.Fatalf("codes %v, want 401 401 429 429 429", codes)
	}
	if n := a.Compared(); n != 2 {
		t.Fatalf("%d bcrypt comparisons for 2 attempts within the limit and 3 over it", n)
	}
	// A right password is compared once, then remembered.
	s2, a2 := authServer(t)
	for i := 0; i < 2; i++ {
		if w := get(s2, "/cars", "Authorization", basicHeader("alice", "alice-secret")); w.Code != 200 {
			t.Fatalf("alice: %d %s", w.Code, w.Body)
		}
	}
	if n := a2.Compared(); n != 1 {
		t.Fatalf("%d comparisons for the same right password twice", n)
	}
}

// TestTwoAuthorizationHeaders: ambiguous credentials are malformed, whichever comes first.
func TestTwoAuthorizationHeaders(t *testing.T) {
	good, bad := basicHeader("alice", "alice-secret"), basicHeader("alice", "wrong")
	for _, order := range [][2]string{{good, bad}, {bad, good}, {good, good}} {
		s, _ := authServer(t) // a fresh rate limit each time
		w := get(s, "/cars", "Authorization", order[0], "Authorization", order[1])
		if w.Code != 401 || !contains(w.Body.String(), "malformed") {
			t.Fatalf("two headers: %d %s", w.Code, w.Body)
		}
	}
}

// TestUnmatchedPathsNeedCredentials: without credentials, an unknown path answers like
// a known one (401), so the routes cannot be mapped; a signed-in caller gets the 404.
func TestUnmatchedPathsNeedCredentials(t *testing.T) {
	s, _ := authServer(t)
	if w := get(s, "/Cars"); w.Code != 401 || len(w.Header().Values("WWW-Authenticate")) != 2 {
		t.Fatalf("anonymous unknown path: %d %v", w.Code, w.Header())
	}
	if w := get(s, "/Cars", "Authorization", basicHeader("alice", "alice-secret")); w.Code != 404 {
		t.Fatalf("signed-in unknown path: %d", w.Code)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// TestPasswordChecksAreLimitedEverywhere: wrong passwords on a path that is not
// rate limited (an unknown one) still cost at most the sign-in burst of checks per
// address. Each guess names another user, so that only the address limit counts; the
// clock stands still, so the bucket does not refill while the loop runs, however
// slowly (it did on a loaded CI machine: bcrypt took longer than a refill).
func TestPasswordChecksAreLimitedEverywhere(t *testing.T) {
	s, a := authServer(t)
	var codes []int
	for i := 0; i < signInRule.Burst+5; i++ {
		w := get(s, "/no/such/path", "Authorization", basicHeader(fmt.Sprintf("user%d", i), "guess"))
		codes = append(codes, w.Code)
		if w.Code == 429 && (w.Header().Get("Retry-After") != "1" ||
			!strings.Contains(w.Body.String(), `"detail":"too many password checks from this address; retry in 1s (an API key needs none)"`)) {
			t.Fatalf("429: %v %s", w.Header(), w.Body)
		}
	}
	want := append(slices.Repeat([]int{401}, signInRule.Burst), slices.Repeat([]int{429}, 5)...)
	if !slices.Equal(codes, want) || a.Compared() != int64(signInRule.Burst) {
		t.Fatalf("codes %v, %d comparisons; want %v, one comparison per 401", codes, a.Compared(), want)
	}
	// A known password is remembered: it is not a check, and not counted.
	s2, _ := authServer(t)
	for i := 0; i < signInRule.Burst+5; i++ {
		if w := get(s2, "/no/such/path", "Authorization", basicHeader("alice", "alice-secret")); w.Code != 404 {
			t.Fatalf("request %d with the right password: %d", i, w.Code)
		}
	}
}

// TestReadyzReusesItsAnswer: probes within a second share one round of checks.
func TestReadyzReusesItsAnswer(t *testing.T) {
	var calls atomic.Int64
	s := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{{Name: "cars", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}}}}}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	if err := store.Migrate(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	clock := newClock()
	srv := mustNew(t, Options{Schema: s, Store: store, Now: clock.Now,
		Ready: []ReadyCheck{{Name: "store", Check: func(context.Context) error { calls.Add(1); return nil }}}})
	probe := func() {
		t.Helper()
		if w := get(srv, "/readyz"); w.Code != 200 || !strings.Contains(w.Body.String(), `"status":"ok"`) {
			t.Fatalf("readyz: %d %s", w.Code, w.Body)
		}
	}
	for i := 0; i < 20; i++ {
		probe()
		clock.Advance(readyFor / 50)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("%d rounds of checks for 20 probes within a second", n)
	}
	clock.Advance(readyFor)
	probe()
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d rounds of checks after a second, want 2", n)
	}
}
