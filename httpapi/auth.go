package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/metrics"
	"github.com/restkit/restkit/ratelimit"
)

// Route is one path pattern the server serves, as registered with its mux: what
// `restkit routes` prints and what the authorization sweep test walks.
type Route struct {
	Pattern string   // ServeMux pattern, e.g. /cars/{key}
	Methods []string // the verbs it answers, HEAD and OPTIONS included
	Rule    string   // what decides access: "public", "page:docs", "resource:/cars", "artefacts:directory", …
}

// Routes lists every route, in registration order.
func (s *Server) Routes() []Route { return slices.Clone(s.routes) }

// guard says who may use a route. Exactly one of its fields is set.
type guard struct {
	rule     string                               // for Routes
	public   bool                                 // no credentials ever needed (/healthz)
	signedIn bool                                 // any signed-in caller (/_session)
	page     auth.Page                            // a built-in page: public when configured, else any caller
	access   func(r *http.Request) restkit.Access // the resolved Access of the request's target
	admin    bool                                 // /_admin/: an admin role, or loopback without auth (admin.go)
	// enabled, when set, says whether the route is served now (its capability is on:
	// capabilities.go); while it is not, the route answers as an unknown path.
	enabled func() bool
	// deprecation, when set, adds its headers to every answer of the route (deprecation.go)
	deprecation *restkit.Deprecation
}

func publicGuard() guard { return guard{rule: "public", public: true} }

func pageGuard(p auth.Page) guard { return guard{rule: "page:" + string(p), page: p} }

// accessGuard is the guard of a resource, noun or API: one Access, resolved once.
func (s *Server) accessGuard(rule string, acc func(*auth.Authority) restkit.Access) guard {
	if s.auth == nil {
		return guard{rule: rule}
	}
	resolved := acc(s.auth)
	return guard{rule: rule, access: func(*http.Request) restkit.Access { return resolved }}
}

// repositoryGuard is the guard of the repository's root listing.
func (s *Server) repositoryGuard() guard {
	return s.accessGuard("artefacts:repository", (*auth.Authority).RepositoryAccess)
}

// caller is who a request comes from, as the authenticate middleware found.
type caller struct {
	p       *auth.Principal   // nil: anonymous (or not verified yet)
	err     error             // the Authorization header named no one
	pending *auth.Credentials // Basic credentials still to verify (bcrypt), by verify
	session *sessionToken     // the session cookie that authenticated the caller, if it did
}

// verify finishes authentication when the route needs it: the bcrypt comparison of
// Basic credentials seen for the first time, after the rate limit has counted them.
func (c *caller) verify(ctx context.Context, a *auth.Authority) {
	if c.pending == nil {
		return
	}
	c.p, c.err = a.Verify(ctx, *c.pending)
	c.pending = nil
}

// callerIn returns the caller authenticate found for r, nil when auth is off.
func callerIn(r *http.Request) *caller {
	if x := exchangeOf(r.Context()); x != nil {
		return x.caller
	}
	return nil
}

// principalOf returns the authenticated caller of r, nil when anonymous or when auth is off.
func principalOf(r *http.Request) *auth.Principal {
	if c := callerIn(r); c != nil {
		return c.p
	}
	return nil
}

// authenticate reads the Authorization header once, before rate limiting (which then
// counts per caller) and before the guard of the route decides. It does only the cheap
// part (a key's digest, a recently verified password): a password seen for the first
// time is verified by the guard, after the client's rate limit and only on a route
// that needs it, so that bcrypt's cost cannot be spent on /healthz, on unknown paths
// or by a client that is over its limit. A header that names no one is remembered,
// not refused here: /healthz must answer whatever a client sends. Two Authorization
// headers are malformed: a proxy and this server could each believe another one.
// Without an Authorization header, a session cookie names the caller (session.go);
// with one, the cookie is ignored.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.auth == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &caller{}
		if vs := r.Header.Values("Authorization"); len(vs) > 1 {
			c.err = auth.ErrMalformed
		} else if len(vs) == 1 {
			c.p, c.pending, c.err = s.auth.Identify(vs[0])
		} else if !s.fromCookie(w, r, c) { // no Authorization: a session cookie, when sent
			return
		}
		x := exchangeOf(r.Context())
		if x == nil { // not served through Server.serve: an exchange of its own
			x = &exchange{}
			x.ctx = exchangeCtx{Context: r.Context(), x: x}
			r = r.WithContext(&x.ctx)
		}
		x.caller = c
		next.ServeHTTP(w, r)
	})
}

// clientKey names the rate-limit bucket of a request: the API key or user when
// authenticated, the client address otherwise.
func (s *Server) clientKey(r *http.Request) string {
	if p := principalOf(r); p != nil {
		if p.KeyID != "" {
			return "key:" + p.KeyID
		}
		return "user:" + p.User
	}
	return ratelimit.ClientKey(r, s.trusted)
}

// guarded wraps a route's handler with its guard: the one place where access is
// decided. OPTIONS is a read, with two exceptions: a CORS preflight from an allowed
// origin is answered without credentials (a browser never sends any with one), and a
// signed-in caller may ask any route what it allows (a 403 would tell it the route
// exists anyway). Any other OPTIONS without credentials on a route that needs them is
// the 401 an unknown path gets, so routes cannot be mapped by asking. Every write and
// every refusal leaves an audit line.
func (s *Server) guarded(g guard, h http.HandlerFunc) http.HandlerFunc {
	if g.admin && s.auth == nil {
		return func(w http.ResponseWriter, r *http.Request) {
			if s.adminOutcome(r, nil) != auth.Allowed {
				s.denyNonLoopback(w, r)
				return
			}
			h(w, r)
		}
	}
	if s.auth == nil || g.public {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if s.corsPreflight(r) {
			h(w, r)
			return
		}
		c, ok := s.callerOf(w, r)
		if !ok {
			return
		}
		act := auth.ActionOf(r.Method)
		var outcome auth.Outcome
		switch {
		case c.err != nil:
			outcome = auth.Unauthenticated
		case r.Method == http.MethodOptions && c.p != nil: // signed in: told the verbs
		case g.admin:
			outcome = s.adminOutcome(r, c.p)
		case g.signedIn:
			if c.p == nil {
				outcome = auth.Unauthenticated
			}
		case g.page != "":
			if c.p == nil && !s.auth.Public(g.page) {
				outcome = auth.Unauthenticated
			}
		case g.access == nil: // a route registered without a rule: nobody may use it
			outcome = auth.Forbidden
			if c.p == nil {
				outcome = auth.Unauthenticated
			}
		default:
			outcome = s.auth.Decide(c.p, g.access(r), act)
		}
		if outcome != auth.Allowed {
			s.deny(w, r, c, act, outcome)
			return
		}
		if act == auth.Read {
			h(w, r)
			return
		}
		// The status h answered: the exchange's writer records it when h writes to
		// it directly (as it does, unless a layer above wrapped w).
		var status int
		if x := exchangeOf(r.Context()); x != nil && w == http.ResponseWriter(&x.rec) && x.rec.Status() == 0 {
			h(w, r)
			status = x.rec.Status()
		} else {
			rec := &metrics.Recorder{}
			rec.Wrap(w)
			h(rec, r)
			status = rec.Status()
		}
		result := "allowed"
		if status == http.StatusForbidden { // an owner check refused it
			result = "forbidden"
		}
		s.audit(r, c.p, act, result, status)
	}
}

// callerOf returns the caller of r, verified (see caller.verify) within the sign-in
// limits (checkPassword). false means the answer is written: too many password
// checks from the address or failures for the account (429), or too many checks
// queued (503, retry in a second).
func (s *Server) callerOf(w http.ResponseWriter, r *http.Request) (*caller, bool) {
	c := callerIn(r)
	if c == nil {
		c = &caller{}
	}
	if !s.checkPassword(w, r, c) {
		return nil, false
	}
	switch {
	case errors.Is(c.err, auth.ErrBusy):
		w.Header().Set("Retry-After", "1")
		s.writeError(w, r, s.envelopeFor(r.URL.Path), restkit.Errorf(restkit.Unavailable, "too many sign-ins are being checked; retry in a second"))
		return nil, false
	case errors.Is(c.err, context.Canceled) || errors.Is(c.err, context.DeadlineExceeded):
		// The client left while its password waited to be checked: no failed sign-in.
		s.writeError(w, r, s.envelopeFor(r.URL.Path), restkit.Wrap("httpapi.callerOf", c.err))
		return nil, false
	}
	return c, true
}

// unmatched answers a path no route serves: with auth on, a caller without valid
// credentials learns nothing of which paths exist (401, as for a real route); a
// signed-in one gets the 404.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	if s.auth != nil {
		c, ok := s.callerOf(w, r)
		if !ok {
			return
		}
		if c.p == nil {
			s.deny(w, r, c, auth.ActionOf(r.Method), auth.Unauthenticated)
			return
		}
	}
	s.writeError(w, r, s.envelopeFor(r.URL.Path), restkit.Errorf(restkit.NotFound, "no route for %s", r.URL.Path))
}

// deny answers 401 (with the challenges a client can meet) or 403.
func (s *Server) deny(w http.ResponseWriter, r *http.Request, c *caller, act auth.Action, outcome auth.Outcome) {
	envelope := s.envelopeFor(r.URL.Path)
	if outcome == auth.Forbidden {
		s.audit(r, c.p, act, "forbidden", http.StatusForbidden)
		s.writeError(w, r, envelope, restkit.Errorf(restkit.Forbidden, "%s may not %s here", c.p.User, act))
		return
	}
	realm := `realm="` + s.auth.Realm() + `"`
	bearer := "Bearer " + realm
	msg := "credentials are required: HTTP Basic (user and password) or a Bearer API key"
	switch {
	case errors.Is(c.err, auth.ErrMalformed):
		msg = "the Authorization header is malformed; send Basic base64(user:password) or Bearer KEY"
		if strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer") {
			bearer += `, error="invalid_request"`
		}
	case c.err != nil:
		msg = "the credentials are not valid"
		if strings.HasPrefix(strings.ToLower(r.Header.Get("Authorization")), "bearer ") {
			bearer += `, error="invalid_token"`
		}
	}
	h := w.Header()
	h.Add("WWW-Authenticate", `Basic `+realm+`, charset="UTF-8"`)
	h.Add("WWW-Authenticate", bearer)
	why := "no credentials"
	if c.err != nil {
		why = "invalid credentials"
	}
	s.audit(r, c.p, act, why, http.StatusUnauthorized)
	s.writeError(w, r, envelope, restkit.Errorf(restkit.Unauthorized, "%s", msg))
}

// audit writes one line saying who did what and how it ended. Never a secret, never
// a body: the user, the key's id, the client address, the method and path.
func (s *Server) audit(r *http.Request, p *auth.Principal, act auth.Action, outcome string, status int, extra ...slog.Attr) {
	attrs := []slog.Attr{
		slog.String("outcome", outcome),
		slog.String("action", string(act)),
		slog.String(keyMethod, r.Method),
		slog.String(keyPath, r.URL.Path),
		slog.Int(keyStatus, status),
		slog.String("client", ratelimit.ClientKey(r, s.trusted)),
	}
	if p != nil {
		attrs = append(attrs, slog.String("user", p.User), slog.String("scheme", string(p.Scheme)))
		if p.KeyID != "" {
			attrs = append(attrs, slog.String("key", p.KeyID))
		}
	} else {
		attrs = append(attrs, slog.String("user", ""))
	}
	attrs = append(attrs, extra...)
	s.log.LogAttrs(r.Context(), slog.LevelInfo, "audit", attrs...)
}

// stampOwner sets a new record's owner field to the caller.
func (h *resourceHandler) stampOwner(r *http.Request, values map[string]any) {
	if h.res.OwnerField == "" {
		return
	}
	if p := principalOf(r); p != nil {
		values[h.res.OwnerField] = p.User
	}
}

// checkOwner refuses a change to cur unless the caller owns it or has an admin role.
// It runs inside the store's transaction, against the record as it is.
func (h *resourceHandler) checkOwner(r *http.Request, cur *restkit.Record) error {
	if h.res.OwnerField == "" || cur == nil || h.s.auth == nil {
		return nil
	}
	p := principalOf(r)
	if h.s.auth.IsAdmin(p) {
		return nil
	}
	if owner, _ := cur.Values[h.res.OwnerField].(string); p != nil && owner != "" && owner == p.User {
		return nil
	}
	who := "an anonymous caller"
	if p != nil {
		who = p.User
	}
	return restkit.Errorf(restkit.Forbidden, "%s may not change this %s: it belongs to another user", who, h.res.Singular)
}

// CallerName names who sent r, for audit logs of admin routes: the user (with the
// API key's id when a key was used), or, without auth, "anonymous" and the client's
// address.
func CallerName(r *http.Request) string {
	p := principalOf(r)
	switch {
	case p == nil:
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		return "anonymous (" + host + ")"
	case p.KeyID != "":
		return p.User + " (key " + p.KeyID + ")"
	}
	return p.User
}

// deleteCheck is the caller's check of what a delete does beyond its record
// (restkit.DeleteCheck): every record its cascade deletes needs the delete rule of
// its own resource, every record whose reference it clears (set_null) the write rule;
// a record of a resource with an owner field belongs to its owner, so only an admin
// may delete or change one that way (the plan names keys, not owners). Without this a
// writer could delete what it may not, by deleting what refers to it.
func (s *Server) deleteCheck(r *http.Request) restkit.DeleteCheck {
	if s.auth == nil {
		return nil
	}
	p := principalOf(r)
	admin := s.auth.IsAdmin(p)
	allowed := func(res *restkit.Resource, action auth.Action) error {
		h := s.handlers[res]
		if h == nil {
			return restkit.Errorf(restkit.Forbidden, "the delete reaches %s, which this API does not serve", res.Name)
		}
		if s.auth.Decide(p, s.auth.ResourceAccess(h.api, res), action) != auth.Allowed {
			return restkit.Errorf(restkit.Forbidden, "the delete would %s records of %s, which the caller may not", map[auth.Action]string{auth.Delete: "delete", auth.Write: "change"}[action], res.Name)
		}
		if res.OwnerField != "" && !admin {
			return restkit.Errorf(restkit.Forbidden, "the delete would %s records of %s, which belong to their owners: only an admin may", map[auth.Action]string{auth.Delete: "delete", auth.Write: "change"}[action], res.Name)
		}
		return nil
	}
	return func(plan *restkit.DeletePlan) error {
		// The last removal is the record asked for, already checked by its route.
		for _, d := range plan.Deletes[:max(len(plan.Deletes)-1, 0)] {
			if err := allowed(d.Resource, auth.Delete); err != nil {
				return err
			}
		}
		for _, c := range plan.Clears {
			if err := allowed(c.Resource, auth.Write); err != nil {
				return err
			}
		}
		return nil
	}
}
