package restkit

import (
	"fmt"
	"regexp"
	"strings"
)

// Access says who may read, write and delete something: a whole schema (the
// default), an API, a resource, a noun, the artefact repository or a group of its
// directories. A nil role list inherits from the level above (resource from API, API
// from the schema's default); an empty non-nil list allows nobody. The role "*" is
// any authenticated caller.
//
// Read covers GET and HEAD (and OPTIONS); Write covers POST, PUT and PATCH; Delete
// covers DELETE, and inherits Write when no level sets it. Anonymous is "read" to let
// callers without credentials read, "none" to refuse them, "" to inherit; it never
// lets them write.
type Access struct {
	Read, Write, Delete []string
	Anonymous           string
}

// Anonymous access values.
const (
	AnonymousRead = "read"
	AnonymousNone = "none"
)

// AnyRole in a role list allows every authenticated caller.
const AnyRole = "*"

// Inherit returns a with every unset part taken from parent.
func (a Access) Inherit(parent Access) Access {
	if a.Read == nil {
		a.Read = parent.Read
	}
	if a.Write == nil {
		a.Write = parent.Write
	}
	if a.Delete == nil {
		a.Delete = parent.Delete
	}
	if a.Anonymous == "" {
		a.Anonymous = parent.Anonymous
	}
	return a
}

// Resolve returns the effective Access of a thing given its own Access and its
// parents' (nearest first): unset parts inherit, the schema's default comes last, and
// Delete takes Write's roles when nothing sets it.
//
// Each level is read as a whole before it inherits: a level that sets read without
// anonymous means anonymous: none (a narrower read list must not be widened again by
// a parent's anonymous: read), and a level that sets write without delete means its
// delete is its write (not a parent's delete).
func (a *Auth) Resolve(levels ...Access) Access {
	var acc Access
	for _, l := range append(levels, a.Access) {
		acc = acc.Inherit(l.whole())
	}
	if acc.Delete == nil {
		acc.Delete = acc.Write
	}
	if acc.Anonymous == "" {
		acc.Anonymous = AnonymousNone
	}
	return acc
}

// whole completes the parts of one level that go together: read with anonymous,
// write with delete.
func (a Access) whole() Access {
	if a.Read != nil && a.Anonymous == "" {
		a.Anonymous = AnonymousNone
	}
	if a.Write != nil && a.Delete == nil {
		a.Delete = a.Write
	}
	return a
}

// set reports whether any part of a is given.
func (a Access) set() bool {
	return a.Read != nil || a.Write != nil || a.Delete != nil || a.Anonymous != ""
}

// IsSet reports whether any part of a is given.
func (a Access) IsSet() bool { return a.set() }

// Auth is the schema's authentication and authorization: who exists (users and API
// keys with roles), the default Access, and which built-in pages are public. A nil
// Schema.Auth leaves the server open (and serve then refuses a public address).
type Auth struct {
	Users []*User
	Keys  []*APIKey
	// BcryptCost is the cost new password hashes are made with (restkit hash-password)
	// and the cost of the dummy comparison that keeps unknown users as slow as wrong
	// passwords. 0 is DefaultBcryptCost.
	BcryptCost int
	// AdminRoles may write any record of a resource with an owner field. Default: admin.
	AdminRoles []string
	// Access is the default for everything; unset parts default to any authenticated
	// caller ("*") and anonymous none.
	Access Access
	// Public pages need no credentials. /healthz and /readyz are always public.
	PublicDocs, PublicOpenAPI, PublicMetrics bool
	// Realm names the protection space in WWW-Authenticate. Default: restkit.
	Realm string
}

// DefaultBcryptCost is the bcrypt cost when Auth.BcryptCost is 0.
const DefaultBcryptCost = 10

// User is a named identity with roles, authenticated by HTTP Basic with a password
// whose bcrypt hash is PasswordHash ("" means the user may only use API keys).
type User struct {
	Name         string
	PasswordHash string
	Roles        []string
}

// APIKey is a bearer key. Only the SHA-256 of the key is kept (SHA256, lower-case
// hex); the key itself is shown once, by restkit create-key. A key acts as User,
// with Roles when given, otherwise with the user's roles.
type APIKey struct {
	ID     string // a name for logs and audit lines; never secret
	SHA256 string
	User   string
	Roles  []string
}

var (
	roleRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)
	userRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,127}$`)
	sha256RE = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// prepareAuth checks the identities and every Access of the schema.
func (s *Schema) prepareAuth(add addFunc) {
	a := s.Auth
	if a == nil {
		// Rules with nobody to apply them to would read as protection that is not there.
		for i, api := range s.APIs {
			at := fmt.Sprintf("apis[%d]", i)
			if api.Access.set() {
				add(at+".access", "access rules need a top-level auth: section (users and keys)")
			}
			for _, r := range api.Resources {
				if r.OwnerField != "" {
					add(at+".resources."+r.Name+".owner_field", "owner_field needs a top-level auth: section: a record's owner is the caller who created it")
				}
				if r.Access.set() {
					add(at+".resources."+r.Name+".access", "access rules need a top-level auth: section (users and keys)")
				}
			}
			for _, n := range api.Nouns {
				if n.Access.set() {
					add(at+".nouns."+n.Name+".access", "access rules need a top-level auth: section (users and keys)")
				}
			}
		}
		return
	}
	if a.BcryptCost == 0 {
		a.BcryptCost = DefaultBcryptCost
	}
	if a.BcryptCost < 4 || a.BcryptCost > 31 {
		add("auth.bcrypt_cost", "bcrypt_cost must be between 4 and 31, got %d", a.BcryptCost)
	}
	if a.AdminRoles == nil {
		a.AdminRoles = []string{"admin"}
	}
	if a.Realm == "" {
		a.Realm = "restkit"
	}
	if strings.ContainsAny(a.Realm, "\"\\\r\n") {
		add("auth.realm", "realm must not contain quotes, backslashes or line breaks")
	}
	users := map[string]*User{}
	for i, u := range a.Users {
		at := fmt.Sprintf("auth.users.%s", u.Name)
		if !userRE.MatchString(u.Name) {
			add(fmt.Sprintf("auth.users[%d]", i), "user name must match %s, got %q", userRE, u.Name)
		}
		if _, dup := users[u.Name]; dup {
			add(at, "user %s is declared twice", u.Name)
		}
		users[u.Name] = u
		if u.PasswordHash != "" && !isBcryptHash(u.PasswordHash) {
			add(at+".password", "password must be a bcrypt hash ($2a$, $2b$ or $2y$ followed by the cost and 53 characters); make one with restkit hash-password")
		}
		checkRoles(at+".roles", u.Roles, false, add)
	}
	ids := map[string]bool{}
	for i, k := range a.Keys {
		at := fmt.Sprintf("auth.keys[%d]", i)
		if !userRE.MatchString(k.ID) {
			add(at+".id", "key id must match %s, got %q", userRE, k.ID)
		}
		if ids[k.ID] {
			add(at+".id", "key id %s is used twice", k.ID)
		}
		ids[k.ID] = true
		if !sha256RE.MatchString(k.SHA256) {
			add(at+".sha256", "sha256 must be the 64 lower-case hex digits restkit create-key printed")
		}
		if u, ok := users[k.User]; !ok {
			add(at+".user", "key %s names user %q, who is not declared under auth.users", k.ID, k.User)
		} else if k.Roles == nil {
			k.Roles = u.Roles
		}
		checkRoles(at+".roles", k.Roles, false, add)
	}
	checkRoles("auth.admin_roles", a.AdminRoles, false, add)
	checkAccess("auth.access", a.Access, add)
	a.Access = a.Access.Inherit(Access{Read: []string{AnyRole}, Write: []string{AnyRole}, Anonymous: AnonymousNone})
	for i, api := range s.APIs {
		at := fmt.Sprintf("apis[%d]", i)
		checkAccess(at+".access", api.Access, add)
		for _, r := range api.Resources {
			checkAccess(at+".resources."+r.Name+".access", r.Access, add)
		}
		for _, n := range api.Nouns {
			checkAccess(at+".nouns."+n.Name+".access", n.Access, add)
		}
	}
}

// CheckAccess reports what is wrong with an Access declared at where (the artefact
// repository's rules are declared outside the Schema and checked with this).
func CheckAccess(where string, a Access) []FieldError {
	var errs []FieldError
	checkAccess(where, a, func(w, format string, args ...any) {
		errs = append(errs, FieldError{Field: w, Message: fmt.Sprintf(format, args...)})
	})
	return errs
}

func checkAccess(at string, a Access, add addFunc) {
	checkRoles(at+".read", a.Read, true, add)
	checkRoles(at+".write", a.Write, true, add)
	checkRoles(at+".delete", a.Delete, true, add)
	switch a.Anonymous {
	case "", AnonymousRead, AnonymousNone:
	default:
		add(at+".anonymous", "anonymous must be read or none, got %q", a.Anonymous)
	}
}

func checkRoles(at string, roles []string, star bool, add addFunc) {
	seen := map[string]bool{}
	for _, r := range roles {
		switch {
		case r == AnyRole && star:
		case !roleRE.MatchString(r):
			add(at, "role must match %s%s, got %q", roleRE, map[bool]string{true: ` or be "*" (any signed-in caller)`}[star], r)
		case seen[r]:
			add(at, "role %s is listed twice", r)
		}
		seen[r] = true
	}
}

// isBcryptHash reports whether h has the shape of a bcrypt hash: $2a$10$ and 53
// characters of bcrypt's base64.
func isBcryptHash(h string) bool {
	if len(h) != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$' || !strings.ContainsRune("aby", rune(h[2])) {
		return false
	}
	if h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9' {
		return false
	}
	for _, c := range h[7:] {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '/') {
			return false
		}
	}
	return true
}
