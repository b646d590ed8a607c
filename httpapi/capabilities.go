package httpapi

import (
	"net/http"
	"strings"
	"sync"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/metrics"
)

// Capabilities (restkit.Capability) are read from the Schema on every request, so a
// switch takes effect at once without a new Server: a route whose capability is off
// answers as an unknown path (gated), a verb whose capability is off leaves Allow
// (Resource.Allows), the documents are rebuilt when the states change (docCache),
// and while read_only is on every write answers 503 (readOnlyWrites).

// gated answers as an unknown path while enabled says the route is not served.
func (s *Server) gated(enabled func() bool, h http.HandlerFunc) http.HandlerFunc {
	if enabled == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request) {
		if !enabled() {
			metrics.SetRoute(r, metrics.Unmatched)
			s.unmatched(w, r)
			return
		}
		h(w, r)
	}
}

// readOnlyRetry is the Retry-After of a write refused under read_only: an operator
// switches it back by hand, so the client is told to come back in a while.
const readOnlyRetry = "60"

// readOnlyWrites answers every write with 503 and Retry-After while the built-in
// read_only capability is on. The operator's own routes (/_admin/), signing in
// (/_session) and the console's pages stay open: they write no data of the API.
func (s *Server) readOnlyWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			p := r.URL.Path
			if s.schema.ReadOnly() && !strings.HasPrefix(p, "/_admin/") && p != SessionPath && !strings.HasPrefix(p, ConsolePath+"/") {
				w.Header().Set("Retry-After", readOnlyRetry)
				s.writeError(w, r, s.envelopeFor(p), restkit.Errorf(restkit.Unavailable,
					"the server is read-only (capability %s is on): writes are refused until an operator switches it off; reads are served", restkit.ReadOnly))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// artefactsOn reports whether the artefact repository is served now (its capability,
// Options.ArtefactsCapability, is on).
func (s *Server) artefactsOn() bool { return s.schema.Enabled(s.artefactsCap) }

// byGeneration keeps something built from the schema — a document, a reference page
// — and builds it again when the capabilities' states have changed since.
type byGeneration[T any] struct {
	mu    sync.Mutex
	gen   uint64
	built bool
	v     T
	build func() T
}

func (c *byGeneration[T]) get(schema *restkit.Schema) T {
	gen := schema.Generation()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.built || c.gen != gen {
		c.v, c.gen, c.built = c.build(), gen, true
	}
	return c.v
}
