package httpapi

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/memory"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const sessionTestKey = "rk_session-test-key"

// sessionServer is a Server with auth on (alice, admin, password alice-secret; an API
// key for alice), cars, a console that echoes who called it, and a clock the test
// moves. key signs the sessions; hash is alice's password hash (hashOf).
func sessionServer(t *testing.T, clock *fakeClock, key []byte, hash string, previous ...*Server) *Server {
	t.Helper()
	s := &restkit.Schema{
		Auth: &restkit.Auth{BcryptCost: 4,
			Users: []*restkit.User{{Name: "alice", PasswordHash: hash, Roles: []string{"admin"}}},
			Keys:  []*restkit.APIKey{{ID: "ci", SHA256: auth.KeySum(sessionTestKey), User: "alice", Roles: []string{"ci"}}}},
		APIs: []*restkit.API{{Resources: []*restkit.Resource{{
			Name: "cars", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}},
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
	console := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot) // reached: the console decides
	})
	opts := Options{Schema: s, Store: store, Auth: a, Now: clock.Now, SessionKey: key, Console: console}
	if len(previous) > 0 {
		opts.Previous = previous[0]
	}
	return mustNew(t, opts)
}

func hashOf(t *testing.T, password string) string {
	t.Helper()
	hash, err := auth.HashPassword(password, 4)
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

func send(h http.Handler, method, path, body string, headers ...string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// sessionCookie returns the Set-Cookie of a response for the session cookie, nil if none.
func sessionCookie(w *httptest.ResponseRecorder) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie {
			return c
		}
	}
	return nil
}

func signIn(t *testing.T, h http.Handler, authz string) (cookie string, body sessionBody) {
	t.Helper()
	w := send(h, "POST", "/_session", "", "Authorization", authz)
	if w.Code != http.StatusOK {
		t.Fatalf("sign-in: %d %s", w.Code, w.Body)
	}
	c := sessionCookie(w)
	if c == nil {
		t.Fatalf("sign-in set no cookie: %v", w.Header())
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	return SessionCookie + "=" + c.Value, body
}

// TestSessionSignInAndCSRF: a sign-in sets an HttpOnly, SameSite=Strict cookie on
// Path=/ that then authenticates every route; a write by cookie needs the session's
// CSRF token in X-CSRF-Token (403 without it or with another, and nothing is
// written); the console's own posts are left to the console; a request with an
// Authorization header ignores the cookie.
func TestSessionSignInAndCSRF(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := sessionServer(t, clock, nil, hashOf(t, "alice-secret"))

	w := send(h, "POST", "/_session", "", "Authorization", basicHeader("alice", "alice-secret"))
	c := sessionCookie(w)
	if w.Code != 200 || c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || c.MaxAge != int(SessionIdle/time.Second) {
		t.Fatalf("sign-in: %d cookie %+v", w.Code, c)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	var body sessionBody
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if body.User != "alice" || body.Scheme != "session" || body.CSRF == "" || !body.Expires.Equal(clock.Now().Add(SessionIdle)) {
		t.Fatalf("sign-in body %s", w.Body)
	}
	cookie := SessionCookie + "=" + c.Value

	if w := send(h, "GET", "/cars", "", "Cookie", cookie); w.Code != 200 {
		t.Fatalf("GET by cookie: %d %s", w.Code, w.Body)
	}
	for _, token := range []string{"", body.CSRF + "A", body.CSRF[:len(body.CSRF)-1]} {
		w := send(h, "POST", "/cars", `{"id":1}`, "Cookie", cookie, CSRFHeader, token)
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "X-CSRF-Token") {
			t.Fatalf("POST by cookie with token %q: %d %s", token, w.Code, w.Body)
		}
	}
	if w := send(h, "GET", "/cars/1", "", "Cookie", cookie); w.Code != 404 {
		t.Fatalf("a refused write wrote: %d", w.Code)
	}
	if w := send(h, "POST", "/cars", `{"id":1}`, "Cookie", cookie, CSRFHeader, body.CSRF); w.Code != 201 {
		t.Fatalf("POST with the token: %d %s", w.Code, w.Body)
	}
	if w := send(h, "POST", "/ui/cars/new", "", "Cookie", cookie); w.Code != http.StatusTeapot {
		t.Fatalf("console post: %d %s", w.Code, w.Body)
	}
	if w := send(h, "GET", "/_session", "", "Cookie", cookie); w.Code != 200 || !strings.Contains(w.Body.String(), `"csrf":"`+body.CSRF+`"`) {
		t.Fatalf("GET /_session: %d %s", w.Code, w.Body)
	}
	// Authorization wins: a wrong key with a good cookie is a 401.
	if w := send(h, "GET", "/cars", "", "Cookie", cookie, "Authorization", "Bearer rk_wrong"); w.Code != 401 {
		t.Fatalf("wrong key beside a cookie: %d", w.Code)
	}
	// A session cannot be opened with the session cookie itself.
	if w := send(h, "POST", "/_session", "", "Cookie", cookie, CSRFHeader, body.CSRF); w.Code != 400 {
		t.Fatalf("POST /_session by cookie: %d %s", w.Code, w.Body)
	}
	if w := send(h, "POST", "/_session", "", "Authorization", basicHeader("alice", "wrong")); w.Code != 401 || sessionCookie(w) != nil {
		t.Fatalf("sign-in with a wrong password: %d %v", w.Code, w.Header())
	}
	if w := send(h, "GET", "/_session", ""); w.Code != 401 {
		t.Fatalf("GET /_session anonymous: %d", w.Code)
	}
}

// TestSessionLifetime: a cookie is renewed on use once half its idle time has passed,
// expires SessionIdle after it was issued and never outlives SessionLifetime; an
// edited cookie is no credential.
func TestSessionLifetime(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := sessionServer(t, clock, nil, hashOf(t, "alice-secret"))
	cookie, _ := signIn(t, h, basicHeader("alice", "alice-secret"))
	end := clock.Now().Add(SessionLifetime)

	clock.Add(SessionIdle/2 - time.Minute)
	if w := send(h, "GET", "/cars", "", "Cookie", cookie); w.Code != 200 || sessionCookie(w) != nil {
		t.Fatalf("before half the idle time: %d, renewed %v", w.Code, sessionCookie(w))
	}
	clock.Add(2 * time.Minute)
	w := send(h, "GET", "/cars", "", "Cookie", cookie)
	renewed := sessionCookie(w)
	if w.Code != 200 || renewed == nil || renewed.Value == strings.TrimPrefix(cookie, SessionCookie+"=") {
		t.Fatalf("past half the idle time: %d, renewed %v", w.Code, renewed)
	}
	clock.Add(SessionIdle / 2)
	if w := send(h, "GET", "/cars", "", "Cookie", cookie); w.Code != 401 {
		t.Fatalf("the old cookie after its idle time: %d", w.Code)
	}
	cookie = SessionCookie + "=" + renewed.Value
	w = send(h, "GET", "/cars", "", "Cookie", cookie)
	if w.Code != 200 {
		t.Fatalf("the renewed cookie: %d", w.Code)
	}
	if c := sessionCookie(w); c != nil {
		cookie = SessionCookie + "=" + c.Value
	}
	// Kept in use, the session still ends SessionLifetime after the sign-in.
	for clock.Now().Add(SessionIdle / 2).Before(end) {
		clock.Add(SessionIdle / 2)
		w := send(h, "GET", "/cars", "", "Cookie", cookie)
		if w.Code != 200 {
			t.Fatalf("in use %v before the end: %d", end.Sub(clock.Now()), w.Code)
		}
		if c := sessionCookie(w); c != nil {
			cookie = SessionCookie + "=" + c.Value
		}
	}
	clock.Add(SessionIdle / 2)
	if w := send(h, "GET", "/cars", "", "Cookie", cookie); w.Code != 401 {
		t.Fatalf("past the session's lifetime: %d", w.Code)
	}

	cookie, _ = signIn(t, h, basicHeader("alice", "alice-secret"))
	v := strings.TrimPrefix(cookie, SessionCookie+"=")
	flip := func(c byte) string {
		if c == 'A' {
			return "B"
		}
		return "A"
	}
	for _, edited := range []string{v[:len(v)-1] + flip(v[len(v)-1]), flip(v[0]) + v[1:], v + "A", "", ".", v[:strings.Index(v, ".")]} {
		if w := send(h, "GET", "/cars", "", "Cookie", SessionCookie+"="+edited); w.Code != 401 {
			t.Fatalf("edited cookie %q: %d", edited, w.Code)
		}
	}
}

// TestSessionEnds: sign-out clears the cookie and revokes its session; a changed
// password ends the sessions opened with the old one, on every node (same key); a
// session opened with an API key acts with the key's roles; the cookie is Secure
// under TLS.
func TestSessionEnds(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	key := []byte("0123456789abcdef0123456789abcdef")
	hash := hashOf(t, "alice-secret")
	h := sessionServer(t, clock, key, hash)
	cookie, body := signIn(t, h, basicHeader("alice", "alice-secret"))

	if w := send(h, "DELETE", "/_session", "", "Cookie", cookie); w.Code != http.StatusForbidden {
		t.Fatalf("sign-out without the CSRF token: %d", w.Code)
	}
	w := send(h, "DELETE", "/_session", "", "Cookie", cookie, CSRFHeader, body.CSRF)
	if c := sessionCookie(w); w.Code != 204 || c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("sign-out: %d %v", w.Code, w.Header())
	}
	if w := send(h, "GET", "/cars", "", "Cookie", cookie); w.Code != 401 {
		t.Fatalf("after sign-out: %d", w.Code)
	}

	cookie, _ = signIn(t, h, basicHeader("alice", "alice-secret"))
	other := sessionServer(t, clock, key, hash) // another node, same key
	if w := send(other, "GET", "/cars", "", "Cookie", cookie); w.Code != 200 {
		t.Fatalf("on another node: %d", w.Code)
	}
	changed := sessionServer(t, clock, key, hashOf(t, "new-secret"))
	if w := send(changed, "GET", "/cars", "", "Cookie", cookie); w.Code != 401 {
		t.Fatalf("after a password change: %d", w.Code)
	}
	if w := send(sessionServer(t, clock, nil, hashOf(t, "alice-secret")), "GET", "/cars", "", "Cookie", cookie); w.Code != 401 {
		t.Fatalf("under another key: %d", w.Code)
	}

	_, kb := signIn(t, h, "Bearer "+sessionTestKey)
	if kb.User != "alice" || kb.Key != "ci" || len(kb.Roles) != 1 || kb.Roles[0] != "ci" {
		t.Fatalf("key session: %+v", kb)
	}

	r := httptest.NewRequest("POST", "/_session", nil)
	r.Header.Set("Authorization", basicHeader("alice", "alice-secret"))
	r.TLS = &tls.ConnectionState{}
	tw := httptest.NewRecorder()
	h.ServeHTTP(tw, r)
	if c := sessionCookie(tw); tw.Code != 200 || c == nil || !c.Secure {
		t.Fatalf("under TLS: %d %v", tw.Code, tw.Header())
	}
}

// TestReloadKeepsSignOuts: the handler a reload builds (Options.Previous) takes over
// the sign-outs and sign-in failures of the one it replaces: a reload signs no one
// back in and lifts no lockout.
func TestReloadKeepsSignOuts(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	key := []byte("0123456789abcdef0123456789abcdef")
	hash := hashOf(t, "alice-secret")
	h := sessionServer(t, clock, key, hash)
	cookie, body := signIn(t, h, basicHeader("alice", "alice-secret"))
	if w := send(h, "DELETE", "/_session", "", "Cookie", cookie, CSRFHeader, body.CSRF); w.Code != 204 {
		t.Fatalf("sign-out: %d", w.Code)
	}
	next := sessionServer(t, clock, key, hash, h)
	if w := send(next, "GET", "/cars", "", "Cookie", cookie); w.Code != 401 {
		t.Fatalf("a signed-out cookie after a reload: %d", w.Code)
	}
	if w := send(sessionServer(t, clock, key, hash), "GET", "/cars", "", "Cookie", cookie); w.Code != 200 {
		t.Fatalf("without Previous the test proves nothing: %d", w.Code)
	}
	if next.signIns != h.signIns {
		t.Error("the sign-in failure counts were not carried over")
	}
}
