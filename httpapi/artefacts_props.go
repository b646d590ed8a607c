package httpapi

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/restkit/restkit"
)

// maxPropertiesBody bounds the body of a PUT of properties: 64 properties of a
// 128-byte key and a 1 KiB value, escaped, fit.
const maxPropertiesBody = 256 << 10

// propertiesJSON is the answer to GET and PUT …/properties: the version and its
// properties.
type propertiesJSON struct {
	Directory  string            `json:"directory"`
	ID         string            `json:"id"`
	Version    int64             `json:"version"`
	Properties map[string]string `json:"properties"`
}

// serveProperties reads (GET) or replaces (PUT) the properties of a version
// (?version=N, the latest by default), under the directory's access rules (the guard
// applied them: GET reads, PUT writes).
func (h *artefactHandler) serveProperties(w http.ResponseWriter, r *http.Request, dir, id string) {
	q, err := onlyParams(r, "version")
	var version int64
	if err == nil {
		version, err = parseVersion(q)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var a *restkit.Artefact
	if r.Method == http.MethodPut {
		var props map[string]string
		if props, err = readProperties(r); err == nil {
			a, err = h.repo.SetProperties(writeContext(r), dir, id, version, props)
		}
	} else if a, err = h.repo.Find(r.Context(), dir, id, version); err == nil {
		err = h.repo.WithProperties(r.Context(), a)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, mediaJSON, propertiesJSON{Directory: a.Directory, ID: a.ID, Version: a.Version, Properties: a.Properties})
}

// readProperties reads a JSON object of strings.
func readProperties(r *http.Request) (map[string]string, error) {
	if err := checkContentType(r); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPropertiesBody+1))
	if err != nil {
		return nil, &restkit.Error{Kind: restkit.Invalid, Message: "the body could not be read", Err: err}
	}
	if len(body) > maxPropertiesBody {
		return nil, restkit.Errorf(restkit.TooLarge, "the properties are larger than %d bytes", maxPropertiesBody)
	}
	var props map[string]string
	if err := json.Unmarshal(body, &props); err != nil || props == nil {
		return nil, &restkit.Error{Kind: restkit.Invalid, Message: "the body must be a JSON object of strings: {\"build\": \"142\"}",
			Fields: []restkit.FieldError{{Field: "properties", Message: "must be an object whose values are strings"}}}
	}
	return props, nil
}
