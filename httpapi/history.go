package httpapi

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/restkit/restkit"
)

// Revision history of resources declared with history: true.
//
//	GET    B/cars/{id}/revisions?limit=&cursor=   200, the revisions newest first (Link rel="next")
//	DELETE B/cars/{id}/revisions                  204, purges them; 404 when there are none
//	GET    B/cars/{id}/revisions/{rev}            200, the record as it was at rev (ETag, X-Revision)
//
// A revision in a list is {"rev":3,"deleted":false,"updated":"…","record":{…}}, the
// record rendered like GET B/cars/{id} renders it (with "actor" once requests carry an
// identity). The tombstone a DELETE left is the revision with "deleted":true; its record
// holds the last values. GET on the history needs GET on items; purging needs DELETE on
// items. The routes exist only for resources with History and a Store that implements
// restkit.HistoryStore: elsewhere B/cars/{id}/revisions is an unknown route (404).

// historyHandler serves the revisions of one resource's records.
type historyHandler struct {
	*resourceHandler
	hs restkit.HistoryStore
}

// routeHistory registers the history routes of a resource when it keeps History and
// the store can keep it.
func (s *Server) routeHistory(api *restkit.API, h *resourceHandler) {
	hs, ok := s.store.(restkit.HistoryStore)
	if !ok || !h.res.History {
		return
	}
	hh := &historyHandler{resourceHandler: h, hs: hs}
	base := api.ItemsPath(h.res) + "/{key}/revisions"
	s.route(base, allowHeader(hh.verbs(false)), h.guard, hh.serveList)
	s.route(base+"/{rev}", allowHeader(hh.verbs(true)), h.guard, hh.serveRevision)
}

// verbs lists the verbs of the list route (item false) or of one revision.
func (h *historyHandler) verbs(item bool) []string {
	var v []string
	if h.res.Allows(http.MethodGet, true) {
		v = append(v, http.MethodGet)
	}
	if !item && h.res.Allows(http.MethodDelete, true) {
		v = append(v, http.MethodDelete)
	}
	return v
}

func (h *historyHandler) serveList(w http.ResponseWriter, r *http.Request) {
	verbs := h.verbs(false)
	if !h.allowed(w, r, verbs) {
		return
	}
	key, err := h.parseKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.Method == http.MethodDelete {
		h.purge(w, r, key)
		return
	}
	h.list(w, r, key)
}

func (h *historyHandler) serveRevision(w http.ResponseWriter, r *http.Request) {
	if !h.allowed(w, r, h.verbs(true)) {
		return
	}
	key, err := h.parseKey(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rev, err := parseRev(r.PathValue("rev"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.get(w, r, key, rev)
}

// allowed answers OPTIONS and verbs not in verbs (405); true means serve the request.
func (h *historyHandler) allowed(w http.ResponseWriter, r *http.Request, verbs []string) bool {
	verb := r.Method
	if verb == http.MethodHead {
		verb = http.MethodGet
	}
	switch {
	case verb == http.MethodOptions:
		w.Header().Set("Allow", allowHeader(verbs))
		w.WriteHeader(http.StatusNoContent)
		return false
	case !slices.Contains(verbs, verb):
		h.s.methodNotAllowed(w, r, h.api.Envelope, allowHeader(verbs))
		return false
	}
	return true
}

// parseRev reads a revision number from the URL: a plain whole number from 1.
func parseRev(raw string) (int64, error) {
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < 1 || strconv.FormatInt(n, 10) != raw {
		return 0, &restkit.Error{Kind: restkit.Invalid, Message: "invalid revision in the URL",
			Fields: []restkit.FieldError{{Field: "rev", Message: fmt.Sprintf("%q is not a revision number (a whole number from 1)", raw)}}}
	}
	return n, nil
}

// parseRevisionList reads limit and cursor; any other parameter is a 400.
func (h *historyHandler) parseRevisionList(r *http.Request, key any) (before int64, limit int, params url.Values, err error) {
	vals, perr := url.ParseQuery(r.URL.RawQuery)
	if perr != nil {
		return 0, 0, nil, restkit.Errorf(restkit.Invalid, "the query string is malformed")
	}
	var errs []restkit.FieldError
	bad := func(param, format string, args ...any) {
		errs = append(errs, restkit.FieldError{Field: param, Message: fmt.Sprintf(format, args...)})
	}
	params = url.Values{}
	limit = h.res.PageSize
	for name, v := range vals {
		if len(v) > 1 {
			bad(name, "is given more than once")
			continue
		}
		switch name {
		case paramLimit:
			n, err := strconv.Atoi(v[0])
			if err != nil || n < 1 || n > h.res.MaxPageSize {
				bad(paramLimit, "must be a whole number from 1 to %d", h.res.MaxPageSize)
				continue
			}
			limit = n
			params.Set(paramLimit, v[0])
		case paramCursor:
			b, err := h.s.cursors.decodeRevision(h.res, key, v[0])
			if err != nil {
				bad(paramCursor, "%s", restkit.ErrorMessage(err))
				continue
			}
			before = b
		case paramExpand:
			params.Set(paramExpand, v[0])
		default:
			bad(name, "is not a parameter of a revision list; only limit, cursor and expand are")
		}
	}
	if len(errs) > 0 {
		restkit.SortFieldErrors(errs)
		return 0, 0, nil, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters", Fields: errs}
	}
	return before, limit, params, nil
}

func (h *historyHandler) list(w http.ResponseWriter, r *http.Request, key any) {
	media, ok := h.negotiate(w, r, mediaJSON, mediaXML, mediaHTML)
	if !ok {
		return
	}
	before, limit, params, err := h.parseRevisionList(r, key)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var exps []*expansion
	if raw := params.Get(paramExpand); raw != "" {
		if exps, err = h.s.parseExpand(r, h.res, raw); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	revs, more, err := h.hs.ListRevisions(r.Context(), h.res, key, before, limit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	recs := make([]*restkit.Record, len(revs))
	for i := range revs {
		recs[i] = &revs[i].Record
	}
	ex, err := h.s.expand(r.Context(), recs, exps)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	base := h.location(key) + "/revisions"
	first := base
	if enc := params.Encode(); enc != "" {
		first += "?" + enc
	}
	links := "<" + first + `>; rel="first"`
	if more && len(revs) > 0 {
		sep := "?"
		if first != base {
			sep = "&"
		}
		next := first + sep + paramCursor + "=" + h.s.cursors.encodeRevision(h.res, key, revs[len(revs)-1].Rev)
		links = "<" + next + `>; rel="next", ` + links
	}
	hdr.Add("Link", links) // Add: a deprecated resource has its successor-version link there already
	hdr.Set("Cache-Control", "no-cache")
	if media == mediaXML {
		buf := append(make([]byte, 0, 256*len(revs)+64), xmlHeader...)
		buf = append(buf, "<revisions>"...)
		for i, rev := range revs {
			buf = append(buf, `<revision rev="`...)
			buf = strconv.AppendInt(buf, rev.Rev, 10)
			buf = append(buf, `" deleted="`...)
			buf = strconv.AppendBool(buf, rev.Deleted)
			buf = append(buf, `" updated="`...)
			buf = append(buf, restkit.Format(rev.Updated)...)
			buf = append(buf, `">`...)
			if rev.Actor != "" {
				buf = appendXMLElem(buf, "actor", rev.Actor)
			}
			buf = h.view.appendXMLExpanded(buf, h.res.Singular, &rev.Record, expandedAt(ex, i), exps)
			buf = append(buf, "</revision>"...)
		}
		buf = append(buf, "</revisions>\n"...)
		writeBody(w, http.StatusOK, "application/xml; charset=utf-8", buf)
		return
	}
	buf := make([]byte, 0, 192*len(revs)+64)
	if h.api.Envelope {
		buf = append(buf, `{"status":"ok","result":`...)
	}
	buf = append(buf, '[')
	for i, rev := range revs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"rev":`...)
		buf = strconv.AppendInt(buf, rev.Rev, 10)
		buf = append(buf, `,"deleted":`...)
		buf = strconv.AppendBool(buf, rev.Deleted)
		buf = append(buf, `,"updated":`...)
		buf = appendValue(buf, rev.Updated)
		if rev.Actor != "" {
			buf = append(buf, `,"actor":`...)
			buf = appendString(buf, rev.Actor)
		}
		buf = append(buf, `,"record":`...)
		buf = h.view.appendExpanded(buf, &rev.Record, expandedAt(ex, i), exps)
		buf = append(buf, '}')
	}
	buf = append(buf, ']')
	if h.api.Envelope {
		buf = append(buf, '}')
	}
	writeBody(w, http.StatusOK, mediaJSON, append(buf, '\n'))
}

// get writes the record as it was at rev. Its ETag is that revision's; X-Revision
// names it, and X-Revision-Deleted: true marks the tombstone of a delete.
func (h *historyHandler) get(w http.ResponseWriter, r *http.Request, key any, n int64) {
	media, ok := h.negotiate(w, r, mediaJSON, mediaXML, mediaHTML)
	if !ok {
		return
	}
	v, exps := h.view, []*expansion(nil)
	if r.URL.RawQuery != "" {
		var err error
		if v, exps, err = h.itemView(r); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	rev, err := h.hs.FindRevision(r.Context(), h.res, key, n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ex, err := h.s.expand(r.Context(), []*restkit.Record{&rev.Record}, exps)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hdr := w.Header()
	etag := etagOf(&rev.Record, media)
	if exps != nil {
		etag = expandedTag(etag, expandedAt(ex, 0), exps)
	}
	setValidators(hdr, &rev.Record, etag, h.res.CacheControl)
	hdr.Set("X-Revision", strconv.FormatInt(rev.Rev, 10))
	if rev.Deleted {
		hdr.Set("X-Revision-Deleted", "true")
	}
	if notModified(r, &rev.Record, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.writeExpanded(w, http.StatusOK, media, v, &rev.Record, expandedAt(ex, 0), exps)
}

// purge deletes every revision of the record: 204, or 404 when it has none.
func (h *historyHandler) purge(w http.ResponseWriter, r *http.Request, key any) {
	// History outlives its records: a key deleted by one user and created again by
	// another joins the first user's revisions. So on a resource with owners, only an
	// admin may purge history.
	if h.res.OwnerField != "" && h.s.auth != nil && !h.s.auth.IsAdmin(principalOf(r)) {
		h.fail(w, r, restkit.Errorf(restkit.Forbidden, "only an admin may purge the history of %s: its revisions may belong to several users", h.res.Name))
		return
	}
	if err := h.hs.PurgeHistory(r.Context(), h.res, key); err != nil {
		h.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
