package httpapi

import (
	"maps"
	"net/http"

	"github.com/restkit/restkit"
)

// nounHandler serves one singleton state object: GET reads, PUT sets exactly, POST runs
// the declared update, DELETE resets to the defaults. Bodies go through the bounded
// flat parser (restkit.NounLimits): a noun is a device's state, and its input is hostile.
type nounHandler struct {
	endpoint
	noun  *restkit.Noun
	view  view
	guard guard
}

const nounAllow = "GET, HEAD, PUT, POST, DELETE, OPTIONS"

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

// current returns the stored state, or the defaults (revision 0) before the first write.
func (h *nounHandler) current(r *http.Request) (*restkit.Record, error) {
	rec, err := h.s.store.FindNoun(r.Context(), h.noun)
	if restkit.IsKind(err, restkit.NotFound) {
		rec, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	return h.effective(rec), nil
}

// effective is the state clients see for what the store holds (nil before the first
// write): the defaults overlaid with the stored values, so that GET, the ETag that
// If-Match compares and the input of a write are one and the same.
func (h *nounHandler) effective(stored *restkit.Record) *restkit.Record {
	if stored == nil {
		return &restkit.Record{Values: h.noun.Defaults()}
	}
	rec := *stored
	rec.Values = h.noun.State(stored.Values)
	return &rec
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
	etag := etagOf(rec, media)
	setValidators(w.Header(), rec, etag, "no-cache")
	if notModified(r, rec, etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.writeItem(w, http.StatusOK, media, h.view, rec)
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
	rec, err := h.s.store.WriteNoun(writeContext(r), h.noun, func(stored *restkit.Record) (*restkit.Record, error) {
		cur := h.effective(stored)
		if err := checkWrite(r, cur); err != nil {
			return nil, err
		}
		values, err := next(maps.Clone(cur.Values), body)
		if err != nil {
			return nil, err
		}
		created := cur.Created
		if stored == nil {
			created = now
		}
		return &restkit.Record{Values: values, Created: created, Updated: now}, nil
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	setValidators(w.Header(), rec, etagOf(rec, media), "no-cache")
	h.writeItem(w, http.StatusOK, media, h.view, rec)
}
