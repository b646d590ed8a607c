package auth

import (
	"path"
	"slices"

	"restkit"
)

// Action is what a request does to its target.
type Action string

const (
	Read   Action = "read"
	Write  Action = "write"
	Delete Action = "delete"
)

// ActionOf maps an HTTP method to an Action: GET, HEAD and OPTIONS read, DELETE
// deletes, every other method writes.
func ActionOf(method string) Action {
	switch method {
	case "GET", "HEAD", "OPTIONS":
		return Read
	case "DELETE":
		return Delete
	}
	return Write
}

// Outcome is a decision.
type Outcome int

const (
	Allowed         Outcome = iota
	Unauthenticated         // 401: credentials are needed (or the ones given name no one)
	Forbidden               // 403: the caller is known and not allowed
)

// Resolved returns acc with every unset part inherited from parents (nearest first)
// and then from the schema's default, and Delete taken from Write when still unset.
func (a *Authority) Resolved(acc restkit.Access, parents ...restkit.Access) restkit.Access {
	return a.cfg.Resolve(append([]restkit.Access{acc}, parents...)...)
}

// ResourceAccess is the resolved Access of a resource of api.
func (a *Authority) ResourceAccess(api *restkit.API, r *restkit.Resource) restkit.Access {
	return a.Resolved(r.Access, api.Access)
}

// NounAccess is the resolved Access of a noun of api.
func (a *Authority) NounAccess(api *restkit.API, n *restkit.Noun) restkit.Access {
	return a.Resolved(n.Access, api.Access)
}

// DirectoryAccess is the resolved Access of an artefact directory: the first
// directory rule whose glob matches, then the repository's.
func (a *Authority) DirectoryAccess(dir string) restkit.Access {
	for _, d := range a.artefacts.Directories {
		if ok, _ := path.Match(d.Pattern, dir); ok {
			return a.Resolved(d.Access, a.artefacts.Access)
		}
	}
	return a.Resolved(a.artefacts.Access)
}

// RepositoryAccess is the Access of the repository's listing of directories: readable
// by whoever may read the repository or any directory rule (the listing then shows
// each caller only the directories it may read).
func (a *Authority) RepositoryAccess() restkit.Access {
	acc := a.Resolved(a.artefacts.Access)
	for _, d := range a.artefacts.Directories {
		r := a.Resolved(d.Access, a.artefacts.Access)
		acc.Read = append(slices.Clip(acc.Read), r.Read...)
		if r.Anonymous == restkit.AnonymousRead {
			acc.Anonymous = restkit.AnonymousRead
		}
	}
	return acc
}

// Decide says whether p (nil: anonymous) may do act under acc (resolved).
func (a *Authority) Decide(p *Principal, acc restkit.Access, act Action) Outcome {
	if p == nil {
		if act == Read && acc.Anonymous == restkit.AnonymousRead {
			return Allowed
		}
		return Unauthenticated
	}
	if act == Read && acc.Anonymous == restkit.AnonymousRead {
		return Allowed
	}
	roles := acc.Read
	switch act {
	case Write:
		roles = acc.Write
	case Delete:
		roles = acc.Delete
	}
	if hasRole(p, roles) {
		return Allowed
	}
	return Forbidden
}

// Page is a built-in page whose openness is configured.
type Page string

const (
	Docs    Page = "docs" // /docs and the index at /
	OpenAPI Page = "openapi"
	Metrics Page = "metrics"
)

// Public reports whether a built-in page needs no credentials. A page that is not
// public is open to every authenticated caller.
func (a *Authority) Public(page Page) bool {
	switch page {
	case Docs:
		return a.cfg.PublicDocs
	case OpenAPI:
		return a.cfg.PublicOpenAPI
	case Metrics:
		return a.cfg.PublicMetrics
	}
	return false
}

// IsAdmin reports whether p has an admin role (Auth.AdminRoles): it may change
// records others own.
func (a *Authority) IsAdmin(p *Principal) bool {
	if p == nil {
		return false
	}
	for _, r := range p.Roles {
		if a.admin[r] {
			return true
		}
	}
	return false
}

func hasRole(p *Principal, roles []string) bool {
	for _, want := range roles {
		if want == restkit.AnyRole || slices.Contains(p.Roles, want) {
			return true
		}
	}
	return false
}
