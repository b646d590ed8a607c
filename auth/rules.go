package auth

import (
	"fmt"
	"slices"
	"strings"

	"github.com/restkit/restkit"
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
// directory rule whose glob covers it (restkit.MatchDirectory: it matches the
// directory or one of its ancestors, so a rule on secret covers secret/x/y), then the
// repository's.
func (a *Authority) DirectoryAccess(dir string) restkit.Access {
	for _, d := range a.artefacts.Directories {
		if restkit.MatchDirectory(d.Pattern, dir) {
			return a.Resolved(d.Access, a.artefacts.Access)
		}
	}
	return a.Resolved(a.artefacts.Access)
}

// RepositoryOwnAccess is the resolved Access of the repository itself, without any
// directory rule: what applies to a directory name that is not valid.
func (a *Authority) RepositoryOwnAccess() restkit.Access { return a.Resolved(a.artefacts.Access) }

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

// Warnings lists what in a schema's auth is legal but probably a mistake: a role an
// access rule names that no user or key has (a typo fails closed, silently), and
// password hashes of another cost than bcrypt_cost.
func Warnings(s *restkit.Schema, arts *Artefacts) []string {
	a := s.Auth
	if a == nil {
		return nil
	}
	held := map[string]bool{restkit.AnyRole: true}
	for _, u := range a.Users {
		for _, r := range u.Roles {
			held[r] = true
		}
	}
	for _, k := range a.Keys {
		for _, r := range k.Roles {
			held[r] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	check := func(where string, acc restkit.Access) {
		for _, list := range [][]string{acc.Read, acc.Write, acc.Delete} {
			for _, r := range list {
				if !held[r] && !seen[where+r] {
					seen[where+r] = true
					out = append(out, fmt.Sprintf("%s names role %q, which no user or key has", where, r))
				}
			}
		}
	}
	check("auth.access", a.Access)
	for i, api := range s.APIs {
		check(fmt.Sprintf("apis[%d].access", i), api.Access)
		for _, r := range api.Resources {
			check(fmt.Sprintf("apis[%d].resources.%s.access", i, r.Name), r.Access)
		}
		for _, n := range api.Nouns {
			check(fmt.Sprintf("apis[%d].nouns.%s.access", i, n.Name), n.Access)
		}
	}
	if arts != nil {
		check("artefacts.access", arts.Access)
		for _, d := range arts.Directories {
			check(fmt.Sprintf("artefacts.directories[%q].access", d.Pattern), d.Access)
		}
	}
	for _, r := range a.AdminRoles {
		if !held[r] {
			out = append(out, fmt.Sprintf("auth.admin_roles names role %q, which no user or key has", r))
		}
	}
	if users := MixedCosts(a); len(users) > 0 {
		out = append(out, fmt.Sprintf("the password hashes of %s have another bcrypt cost than auth.bcrypt_cost (%d): their check takes another time than an unknown user's; rehash with restkit hash-password --config", strings.Join(users, ", "), a.BcryptCost))
	}
	return out
}
