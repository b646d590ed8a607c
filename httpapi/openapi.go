package httpapi

import (
	"net/http"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/openapi"
)

// serveOpenAPI writes the OpenAPI 3.1 document of the schema, with servers naming
// the scheme and host the request came in on, and the webhook event types.
func (s *Server) serveOpenAPI(webhooks []string) http.HandlerFunc {
	docs := &byGeneration[*openapi.Document]{build: func() *openapi.Document {
		o := openapi.Options{Webhooks: webhooks, Events: s.streams}
		if s.artefactsOn() {
			o.Artefacts = s.artefacts
		}
		if s.auth != nil && o.Artefacts != "" {
			o.ArtefactsAnonymous = s.auth.RepositoryAccess().Anonymous == restkit.AnonymousRead
		}
		return openapi.Build(s.schema, o)
	}}
	return func(w http.ResponseWriter, r *http.Request) {
		doc := docs.get(s.schema)
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		d := *doc // a shallow copy: the shared document is never written to
		d.Servers = []openapi.Server{{URL: scheme + "://" + r.Host}}
		body, err := openapi.JSON(&d)
		if err != nil {
			s.writeError(w, r, false, err)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		writeBody(w, http.StatusOK, mediaJSON, body)
	}
}
