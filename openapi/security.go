package openapi

import (
	"net/http"
	"strings"

	"github.com/restkit/restkit"
)

// security writes who may call what. Without auth the document's requirement is the
// empty list: no operation needs credentials. With auth it declares the two schemes
// and requires one of them everywhere, except that /healthz (and /openapi.json when
// public) need none and reads that anonymous callers may make list credentials as
// optional ({} among the requirements); every operation that needs credentials
// documents 401, with its WWW-Authenticate challenges, and 403.
func (b *builder) security(o Options) {
	s := b.schema
	if s.Auth == nil {
		b.doc.Security = []SecurityRequirement{}
		return
	}
	b.doc.Components.SecuritySchemes = map[string]*SecurityScheme{
		"basicAuth":  {Type: "http", Scheme: "basic", Description: "A user and password declared under auth.users."},
		"bearerAuth": {Type: "http", Scheme: "bearer", Description: "An API key made by restkit create-key."},
	}
	basic := func() SecurityRequirement { return SecurityRequirement{"basicAuth": []string{}} }
	bearer := func() SecurityRequirement { return SecurityRequirement{"bearerAuth": []string{}} }
	b.doc.Security = []SecurityRequirement{basic(), bearer()}

	// The paths a caller without credentials may read (anonymous: read).
	var open []string
	for _, api := range s.APIs {
		for _, r := range api.Resources {
			if s.Auth.Resolve(r.Access, api.Access).Anonymous == restkit.AnonymousRead {
				open = append(open, api.ListPath(r), api.ItemsPath(r))
			}
		}
		for _, n := range api.Nouns {
			if s.Auth.Resolve(n.Access, api.Access).Anonymous == restkit.AnonymousRead {
				open = append(open, api.Base+"/"+n.Name)
			}
		}
	}
	if o.Artefacts != "" && o.ArtefactsAnonymous {
		open = append(open, o.Artefacts)
	}
	anonymous := func(path string) bool {
		for _, p := range open {
			if path == p || strings.HasPrefix(path, p+"/") {
				return true
			}
		}
		return false
	}
	b.operations(func(path, method string, op *Operation) {
		if path == "/healthz" || (path == "/openapi.json" && s.Auth.PublicOpenAPI) {
			op.Security = []SecurityRequirement{}
			return
		}
		if method == "get" && anonymous(path) {
			op.Security = []SecurityRequirement{{}, basic(), bearer()}
		}
		envelope := b.envelopeAt(path)
		unauthorized := b.errorResponse(envelope, http.StatusUnauthorized, "no credentials, or credentials that name no one")
		unauthorized.Headers = map[string]*Header{"WWW-Authenticate": header("The challenges: Basic and Bearer, with the realm.", stringSchema())}
		op.Responses["401"] = unauthorized
		op.Responses["403"] = b.errorResponse(envelope, http.StatusForbidden, "the caller's roles do not allow this")
	})
}
