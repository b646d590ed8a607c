package httpapi

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
)

// Sessions let a browser sign in once and then be recognised by a cookie, for the web
// console (package web) and for any page or script of the same origin. They exist
// only when auth is configured.
//
// The cookie is stateless, so that it works on every node of a cluster: it holds a
// session id, the user (and the API key when the caller signed in with one), when
// the session began and when this cookie was issued, and a fingerprint of the
// credential it was opened with, all signed with HMAC-SHA-256 under a key every node
// shares (server/keys.go keeps it beside the cursor key). A cookie is good for
// SessionIdle after it was issued and never beyond SessionLifetime after the
// session began; once half of SessionIdle has passed, the next request gets a fresh
// cookie (same session, new issue time), so an active browser stays signed in and an
// abandoned one is signed out after SessionIdle. Roles are not in the cookie: they
// are read from the configuration on every request, so a changed role applies at
// once, and a removed user or key, a changed password or a replaced key ends its
// sessions (the fingerprint no longer matches).
//
// A request authenticated by the cookie that changes something (any method but GET,
// HEAD and OPTIONS) must carry the session's CSRF token in X-CSRF-Token, or it is a
// 403: the cookie is SameSite=Strict already, and the token makes a forged request
// fail even in a browser that ignores SameSite. The token is an HMAC of the session
// id, so it survives the cookie's rotation; GET /_session tells it.
//
// Routes, under /_session (restkit's own root paths start with "_"):
//
//	POST /_session    credentials in Authorization (Basic or Bearer), checked exactly as
//	                  on any route (the sign-in rate limit, bcrypt's queue): sets the
//	                  cookie, answers the session (user, roles, key, csrf, expires)
//	GET /_session     the caller, and the CSRF token when it came by cookie
//	DELETE /_session  signs out: clears the cookie and revokes its session id on this node
const (
	// SessionCookie is the cookie's name.
	SessionCookie = "restkit_session"
	// CSRFHeader carries the session's CSRF token on a cookie-authenticated write.
	CSRFHeader = "X-CSRF-Token"
	// SessionIdle is how long a cookie is good after it was issued (it is renewed on
	// use once half of this has passed).
	SessionIdle = 12 * time.Hour
	// SessionLifetime is the longest a session lasts, renewed or not: then the user
	// signs in again.
	SessionLifetime = 7 * 24 * time.Hour
	// SessionPath is the route of sign-in, sign-out and "who am I".
	SessionPath = "/_session"
)

// sessionToken is what a cookie says, once its signature is checked.
type sessionToken struct {
	id     [16]byte
	start  int64 // Unix seconds: when the session began (signed in)
	issued int64 // Unix seconds: when this cookie was issued
	fp     [8]byte
	user   string
	keyID  string
}

// sessions signs and checks session cookies, and remembers the ids signed out on this
// node until their cookies would have expired anyway.
type sessions struct {
	key  []byte
	auth *auth.Authority
	*revocations
}

// revocations are the sessions signed out on this node. A reload's handler takes
// over its predecessor's (Options.Previous): a reload must not sign anyone back in.
type revocations struct {
	mu      sync.Mutex
	revoked map[[16]byte]time.Time // session id → when its last cookie expires
}

func newSessions(key []byte, a *auth.Authority, prev *sessions) *sessions {
	if key == nil {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	ss := &sessions{key: key, auth: a, revocations: &revocations{revoked: map[[16]byte]time.Time{}}}
	if prev != nil {
		ss.revocations = prev.revocations
	}
	return ss
}

const sessionVersion = 1

// encode returns the cookie value of t: base64url(payload) "." base64url(HMAC).
func (ss *sessions) encode(t *sessionToken) string {
	var b bytes.Buffer
	b.WriteByte(sessionVersion)
	b.Write(t.id[:])
	b.Write(binary.BigEndian.AppendUint64(nil, uint64(t.start)))
	b.Write(binary.BigEndian.AppendUint64(nil, uint64(t.issued)))
	b.Write(t.fp[:])
	for _, s := range []string{t.user, t.keyID} {
		b.Write(binary.AppendUvarint(nil, uint64(len(s))))
		b.WriteString(s)
	}
	payload := b.Bytes()
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(ss.mac("session", payload))
}

// decode checks the signature of a cookie value and reads it; it does not check times.
func (ss *sessions) decode(v string) (*sessionToken, bool) {
	p64, m64, ok := strings.Cut(v, ".")
	if !ok || len(v) > 1024 {
		return nil, false
	}
	payload, err1 := base64.RawURLEncoding.Strict().DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.Strict().DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, ss.mac("session", payload)) {
		return nil, false
	}
	const fixed = 1 + 16 + 8 + 8 + 8
	if len(payload) < fixed || payload[0] != sessionVersion {
		return nil, false
	}
	t := &sessionToken{}
	copy(t.id[:], payload[1:17])
	t.start = int64(binary.BigEndian.Uint64(payload[17:25]))
	t.issued = int64(binary.BigEndian.Uint64(payload[25:33]))
	copy(t.fp[:], payload[33:41])
	rest := payload[fixed:]
	for _, dst := range []*string{&t.user, &t.keyID} {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return nil, false
		}
		*dst, rest = string(rest[w:w+int(n)]), rest[w+int(n):]
	}
	return t, len(rest) == 0
}

// mac is HMAC-SHA-256 of data under the sessions' key, separated by purpose so that a
// MAC made for one use (a cookie) can never stand for another (a CSRF token).
func (ss *sessions) mac(purpose string, data []byte) []byte {
	h := hmac.New(sha256.New, ss.key)
	h.Write([]byte("restkit-" + purpose + "\x00"))
	h.Write(data)
	return h.Sum(nil)
}

// fingerprint binds a session to the credential it was opened with.
func (ss *sessions) fingerprint(credential []byte) (fp [8]byte) {
	copy(fp[:], ss.mac("credential", credential))
	return fp
}

// csrf is the CSRF token of a session.
func (ss *sessions) csrf(t *sessionToken) string {
	return base64.RawURLEncoding.EncodeToString(ss.mac("csrf", t.id[:]))
}

// open returns the caller a cookie value names at now, or nil when it is not good:
// bad signature, expired, revoked, or naming a user, key or credential no longer
// configured.
func (ss *sessions) open(v string, now time.Time) (*auth.Principal, *sessionToken) {
	t, ok := ss.decode(v)
	if !ok {
		return nil, nil
	}
	sec := now.Unix()
	if sec-t.issued >= int64(SessionIdle/time.Second) || sec-t.start >= int64(SessionLifetime/time.Second) || t.issued > sec+60 {
		return nil, nil
	}
	ss.mu.Lock()
	_, revoked := ss.revoked[t.id]
	ss.mu.Unlock()
	if revoked {
		return nil, nil
	}
	p, cred, ok := ss.auth.SessionPrincipal(t.user, t.keyID)
	if !ok || !hmac.Equal(t.fp[:], func() []byte { fp := ss.fingerprint(cred); return fp[:] }()) {
		return nil, nil
	}
	return p, t
}

// start opens a session for p (authenticated by Basic or Bearer) at now.
func (ss *sessions) start(p *auth.Principal, now time.Time) (*sessionToken, error) {
	_, cred, ok := ss.auth.SessionPrincipal(p.User, p.KeyID)
	if !ok {
		return nil, restkit.Errorf(restkit.Forbidden, "this caller cannot hold a session")
	}
	t := &sessionToken{start: now.Unix(), issued: now.Unix(), fp: ss.fingerprint(cred), user: p.User, keyID: p.KeyID}
	_, _ = rand.Read(t.id[:])
	return t, nil
}

// revoke ends a session on this node. Other nodes accept its cookie until it expires
// (the README says so): that is the price of stateless sessions.
func (ss *sessions) revoke(t *sessionToken, now time.Time) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for id, until := range ss.revoked {
		if now.After(until) {
			delete(ss.revoked, id)
		}
	}
	ss.revoked[t.id] = time.Unix(t.issued, 0).Add(SessionIdle)
}

// expires is when the cookie of t stops being good.
func (t *sessionToken) expires() time.Time {
	return time.Unix(min(t.issued+int64(SessionIdle/time.Second), t.start+int64(SessionLifetime/time.Second)), 0)
}

// setCookie sends the cookie of t: HttpOnly (scripts never see it), SameSite=Strict
// (no other site's page can make the browser send it), Secure when the request came
// over TLS, Path=/ (the console's scripts call the API's routes with it).
func (ss *sessions) setCookie(w http.ResponseWriter, r *http.Request, t *sessionToken, now time.Time) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: ss.encode(t), Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: int(t.expires().Sub(now) / time.Second)})
}

// clearCookie tells the browser to forget the cookie.
func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: r.TLS != nil,
		SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// fromCookie authenticates r by its session cookie, for authenticate: it renews a
// cookie past half its idle time, and refuses (403, written) a write that lacks the
// session's CSRF token. The console's own form posts are exempt: they carry the token
// as a form field, which the console sends on as X-CSRF-Token with its call to the API.
func (s *Server) fromCookie(w http.ResponseWriter, r *http.Request, c *caller) bool {
	ck, err := r.Cookie(SessionCookie)
	if err != nil {
		return true
	}
	now := s.now()
	p, t := s.sessions.open(ck.Value, now)
	if p == nil {
		return true // an expired or foreign cookie is no credential: the caller is anonymous
	}
	c.p, c.session = p, t
	if auth.ActionOf(r.Method) != auth.Read && !s.underConsole(r.URL.Path) &&
		!hmac.Equal([]byte(r.Header.Get(CSRFHeader)), []byte(s.sessions.csrf(t))) {
		s.audit(r, p, auth.ActionOf(r.Method), "bad csrf token", http.StatusForbidden)
		s.writeError(w, r, s.envelopeFor(r.URL.Path), restkit.Errorf(restkit.Forbidden,
			"a change made with the session cookie needs the session's CSRF token in %s (GET %s tells it)", CSRFHeader, SessionPath))
		return false
	}
	if now.Unix()-t.issued >= int64(SessionIdle/time.Second)/2 {
		renewed := *t
		renewed.issued = now.Unix()
		s.sessions.setCookie(w, r, &renewed, now)
		c.session = &renewed
	}
	return true
}

// sessionBody is what /_session answers.
type sessionBody struct {
	User    string    `json:"user"`
	Roles   []string  `json:"roles"`
	Key     string    `json:"key,omitempty"`
	Scheme  string    `json:"scheme"`
	CSRF    string    `json:"csrf,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
}

const sessionAllow = "GET, HEAD, POST, DELETE, OPTIONS"

// serveSession signs in (POST), tells who the caller is (GET) and signs out (DELETE).
// Its guard lets any signed-in caller through.
func (s *Server) serveSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	c := callerIn(r)
	now := s.now()
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		writeJSON(w, http.StatusOK, mediaJSON, s.sessionOf(c.p, c.session))
	case http.MethodPost:
		if c.session != nil {
			s.writeError(w, r, false, restkit.Errorf(restkit.Invalid, "sign in with credentials in Authorization (Basic user:password, or Bearer KEY), not with the session cookie"))
			return
		}
		t, err := s.sessions.start(c.p, now)
		if err != nil {
			s.writeError(w, r, false, err)
			return
		}
		s.sessions.setCookie(w, r, t, now)
		p, _ := s.sessions.open(s.sessions.encode(t), now)
		writeJSON(w, http.StatusOK, mediaJSON, s.sessionOf(p, t))
	case http.MethodDelete:
		if c.session != nil {
			s.sessions.revoke(c.session, now)
		}
		clearCookie(w, r)
		w.WriteHeader(http.StatusNoContent)
	case http.MethodOptions:
		w.Header().Set("Allow", sessionAllow)
		w.WriteHeader(http.StatusNoContent)
	default:
		s.methodNotAllowed(w, r, false, sessionAllow)
	}
}

func (s *Server) sessionOf(p *auth.Principal, t *sessionToken) sessionBody {
	b := sessionBody{User: p.User, Roles: p.Roles, Key: p.KeyID, Scheme: string(p.Scheme)}
	if b.Roles == nil {
		b.Roles = []string{}
	}
	if t != nil {
		b.CSRF, b.Expires = s.sessions.csrf(t), t.expires().UTC()
	}
	return b
}
