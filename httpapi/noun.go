package httpapi

import (
	"maps"
	"net/http"

	"restkit"
)

// nounHandler serves one singleton state object: GET reads, PUT sets exactly, POST runs
// the declared update, DELETE resets to the defaults. Bodies go through the bounded
// flat parser (restkit.NounLimits): a noun is a device's state, and its input is hostile.
type nounHandler struct {
	s    *Server
	api  *restkit.API
	noun *restkit.Noun
	view view
}

const nounAllow = "GET, HEAD, PUT, POST, DELETE, OPTIONS"

func (h *nounHandler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.s.writeError(w, r, h.api.Envelope, err)
}

func (h *nounHandler) serve(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.get(w, r)
	case http.MethodPut:
		h.write(w, r, false, func(cur map[string]any, body map[string]any) (map[string]any, error) {
			return h.noun.Set(body, cur)
		})
	case http.MethodPost:
		h.write(w, r, true, func(cur map[string]any, body map[string]any) (map[string]any, error) {
			return h.noun.Apply(r.Context(), cur, body)
		})
	case http.MethodDelete:
		h.write(w, r, true, func(map[string]any, map[string]any) (map[string]any, error) {
			return h.noun.Defaults(), nil
		})
	case http.MethodOptions:
		w.Header().Set("Allow", nounAllow)
		w.WriteHeader(http.StatusNoContent)
	default:
		h.s.methodNotAllowed(w, r, h.api.Envelope, nounAllow)
	}
}

func (h *nounHandler) negotiate(w http.ResponseWriter, r *http.Request, offers ...string) (string, bool) {
	media, err := negotiate(r, offers...)
	if err != nil {
		h.fail(w, r, err)
		return "", false
	}
	if media == mediaHTML {
		http.Redirect(w, r, docsAnchor(h.api, h.noun.Name), http.StatusSeeOther)
		return "", false
	}
	return media, true
}

// current returns the stored state, or the defaults (revision 0) before the first write.
func (h *nounHandler) current(r *http.Request) (*restkit.Record, error) {
	rec, err := h.s.store.FindNoun(r.Context(), h.noun)
	if restkit.IsKind(err, restkit.NotFound) {
		return &restkit.Record{Values: h.noun.Defaults()}, nil
	}
	return rec, err
}

func (h *nounHandler) get(w http.ResponseWriter, r *http.Request) {
	media, ok := h.negotiate(w, r, mediaJSON, mediaXML, mediaHTML)
	if !ok {
		return
	}
	rec, err := h.current(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	etag := etagOf(rec)
	setValidators(w.Header(), rec, etag)
	if notModified(r, rec, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.render(w, media, rec)
}

// write reads the body (optional for POST and DELETE), then, atomically in the store,
// checks preconditions, computes the next state with next and validates it. A
// rejected request changes nothing.
func (h *nounHandler) write(w http.ResponseWriter, r *http.Request, bodyOptional bool, next func(cur, body map[string]any) (map[string]any, error)) {
	media, ok := h.negotiate(w, r, mediaJSON, mediaXML)
	if !ok {
		return
	}
	lim := restkit.NounLimits
	lim.AllowEmpty = bodyOptional
	body, err := readObject(w, r, int64(lim.MaxBytes), lim)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.Method == http.MethodDelete && len(body) > 0 {
		h.fail(w, r, restkit.Errorf(restkit.Invalid, "DELETE %s takes no body: it resets the state to its defaults", h.noun.Name))
		return
	}
	now := h.s.now().UTC()
	rec, err := h.s.store.WriteNoun(r.Context(), h.noun, func(cur *restkit.Record) (*restkit.Record, error) {
		if err := checkWrite(r, cur); err != nil {
			return nil, err
		}
		state := h.noun.Defaults()
		created := now
		if cur != nil {
			state, created = maps.Clone(cur.Values), cur.Created
		}
		values, err := next(state, body)
		if err != nil {
			return nil, err
		}
		return &restkit.Record{Values: values, Created: created, Updated: now}, nil
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	setValidators(w.Header(), rec, etagOf(rec))
	h.render(w, media, rec)
}

func (h *nounHandler) render(w http.ResponseWriter, media string, rec *restkit.Record) {
	buf := make([]byte, 0, 128)
	if media == mediaXML {
		buf = append(buf, xmlHeader...)
		buf = h.view.appendXMLRecord(buf, h.noun.Name, rec)
		writeBody(w, http.StatusOK, "application/xml; charset=utf-8", append(buf, '\n'))
		return
	}
	buf = h.view.appendRecord(buf, rec)
	if h.api.Envelope {
		buf = wrapEnvelope(make([]byte, 0, len(buf)+32), buf)
	}
	writeBody(w, http.StatusOK, mediaJSON, append(buf, '\n'))
}
