package httpapi

import (
	"net/http"
	"net/netip"
	"slices"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/ratelimit"
)

// AdminRoute is an operations endpoint the server serves under /_admin/ (DESIGN
// §13): webhook deliveries, capability switches, backups. Only callers with an admin
// role may use it; when no auth is configured, only loopback clients may.
type AdminRoute struct {
	Pattern string // a net/http pattern without a method, under /_admin/: "/_admin/webhooks/deliveries/{id}/retry"
	Allow   string // the verbs it answers, for Allow and Routes: "GET, HEAD"
	Handler http.HandlerFunc
	// Serve, instead of Handler, returns an error it did not answer itself, which is
	// answered as every route's are: problem+json with the status of its kind.
	Serve func(http.ResponseWriter, *http.Request) error
}

// adminGuard is the guard of /_admin/*.
func adminGuard() guard { return guard{rule: "admin", admin: true} }

// adminOutcome decides an /_admin/ request of caller p (nil: anonymous). With auth
// it takes an admin role; without, a loopback client — the address the request
// came from, or the client a trusted proxy names — since anyone else who can reach
// the port could otherwise reconfigure the server. A request that names a client
// it was forwarded for, through a proxy not listed as trusted, is refused: a reverse
// proxy on the same machine would otherwise make every client of the world loopback.
func (s *Server) adminOutcome(r *http.Request, p *auth.Principal) auth.Outcome {
	if s.auth == nil {
		forwarded := r.Header.Get("X-Forwarded-For") != "" || r.Header.Get("Forwarded") != ""
		client := ratelimit.ClientKey(r, s.trusted)
		if forwarded && client == ratelimit.ClientKey(r, nil) {
			return auth.Forbidden // forwarded by a proxy we do not trust to name the client
		}
		if a, err := netip.ParseAddr(client); err == nil && a.Unmap().IsLoopback() {
			return auth.Allowed
		}
		return auth.Forbidden
	}
	switch {
	case p == nil:
		return auth.Unauthenticated
	case !s.auth.IsAdmin(p):
		return auth.Forbidden
	}
	return auth.Allowed
}

// routeAdmin registers the admin routes of opts.
func (s *Server) routeAdmin(routes []AdminRoute) {
	for _, ar := range routes {
		allow := ar.Allow
		h := ar.Handler
		if serve := ar.Serve; serve != nil {
			h = func(w http.ResponseWriter, r *http.Request) {
				if err := serve(w, r); err != nil {
					s.writeError(w, r, false, err)
				}
			}
		}
		s.route(ar.Pattern, allow, adminGuard(), func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			switch {
			case r.Method == http.MethodOptions:
				w.Header().Set("Allow", allow)
				w.WriteHeader(http.StatusNoContent)
			case !slices.Contains(splitList(allow), r.Method):
				s.methodNotAllowed(w, r, false, allow)
			default:
				h(w, r)
			}
		})
	}
}

// denyNonLoopback answers an /_admin/ request from a client that is not on loopback
// while auth is off: 403, saying how to get access.
func (s *Server) denyNonLoopback(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, false, restkit.Errorf(restkit.Forbidden,
		"/_admin/ answers only loopback clients while no auth: section is configured; configure auth and use an admin role"))
}
