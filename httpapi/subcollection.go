package httpapi

import (
	"net/http"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
)

// Sub-collections (DESIGN §11): GET B/authors/{id}/books lists the books whose
// relation refers to that author, with paging, filters, sort, fields and expand as
// any list of books (restkit.Resource.SubCollections names them). It reads the
// referring resource, so that resource's read rule guards it; the target record must
// exist (404) and be readable by the caller.

// subCollections registers the sub-collections of the records of h's resource.
func (s *Server) subCollections(api *restkit.API, h *resourceHandler) {
	for _, sc := range h.res.SubCollections() {
		refHandler := s.handlers[sc.Resource]
		if refHandler == nil {
			continue
		}
		pattern := api.ItemsPath(h.res) + "/{key}/" + sc.Name
		sub := &subCollection{target: h, referrer: refHandler, field: sc.Field, name: sc.Name}
		g, target, referrer := refHandler.guard, h.res, sc.Resource
		// It lists the referrers' records: only while GET of their list is served.
		g.enabled = func() bool {
			return target.Enabled() && referrer.Enabled() && referrer.Allows(http.MethodGet, false)
		}
		s.route(pattern, allowHeader([]string{http.MethodGet}), g, sub.serve)
	}
}

// subCollection is the list of one relation's referrers of one target record.
type subCollection struct {
	target   *resourceHandler // the resource referred to: its key is in the URL
	referrer *resourceHandler // the resource listed
	field    *restkit.Field   // the referrer's relation
	name     string           // the URL segment after the target's key
}

func (sc *subCollection) serve(w http.ResponseWriter, r *http.Request) {
	t := sc.target
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		w.Header().Set("Allow", allowHeader([]string{http.MethodGet}))
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		t.s.methodNotAllowed(w, r, sc.referrer.api.Envelope, allowHeader([]string{http.MethodGet}))
		return
	}
	key, err := t.parseKey(r)
	if err != nil {
		sc.referrer.fail(w, r, err)
		return
	}
	if t.s.auth != nil && t.s.auth.Decide(principalOf(r), t.s.auth.ResourceAccess(t.api, t.res), auth.Read) != auth.Allowed {
		sc.referrer.fail(w, r, restkit.Errorf(restkit.Forbidden, "the caller may not read %s", t.res.Name))
		return
	}
	if _, err := t.s.store.FindRecord(r.Context(), t.res, key); err != nil {
		sc.referrer.fail(w, r, err)
		return
	}
	op := restkit.OpEq
	if sc.field.Many {
		op = restkit.OpContains
	}
	path := t.api.ItemsPath(t.res) + "/" + escapeKey(key) + "/" + sc.name
	sc.referrer.listAt(w, r, path, []restkit.Filter{{Field: sc.field.Name, Op: op, Value: key}})
}
