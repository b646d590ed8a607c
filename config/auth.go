package config

import (
	"fmt"

	"github.com/goccy/go-yaml/ast"

	"github.com/restkit/restkit"
)

var (
	authKeys    = []string{"users", "keys", "access", "public", "admin_roles", "bcrypt_cost", "realm"}
	userKeys    = []string{"password", "roles"}
	apiKeyKeys  = []string{"id", "sha256", "user", "roles"}
	accessKeys  = []string{"read", "write", "delete", "anonymous"}
	publicKeys  = []string{"docs", "openapi", "metrics"}
	anonymities = []string{restkit.AnonymousRead, restkit.AnonymousNone}
)

// auth reads the top-level auth: section: identities, the default access and which
// built-in pages are public. Its presence turns authentication on.
func (d *decoder) auth(e entry) *restkit.Auth {
	d.recKey("auth", e)
	a := &restkit.Auth{}
	if e.isNull() {
		return a
	}
	es, ok := d.mapping(e.value, e.at(), "auth", "in auth", authKeys)
	if !ok {
		d.flagged["auth"] = true
		return a
	}
	for _, s := range es {
		p := "auth." + s.key
		d.rec(p, s)
		switch s.key {
		case "users":
			d.recKey(p, s)
			for _, u := range d.named(s, p, "auth") {
				a.Users = append(a.Users, d.user(u, p+"."+u.key))
			}
		case "keys":
			a.Keys = d.apiKeys(s, p)
		case "access":
			a.Access = d.access(s, p)
		case "public":
			d.public(s, p, a)
		case "admin_roles":
			a.AdminRoles = d.list(s, p, s.key, "a role name")
		case "bcrypt_cost":
			n, _ := d.integer(s, p, 4, 31)
			a.BcryptCost = int(n)
		case "realm":
			a.Realm, _ = d.str(s, p)
		}
	}
	return a
}

func (d *decoder) user(e entry, path string) *restkit.User {
	u := &restkit.User{Name: e.key}
	es, ok := d.mapping(e.value, e.at(), "user "+e.key, "in user "+e.key, userKeys)
	if !ok {
		d.flagged[path] = true
		return u
	}
	for _, s := range es {
		p := path + "." + s.key
		d.rec(p, s)
		switch s.key {
		case "password":
			u.PasswordHash, _ = d.str(s, p)
		case "roles":
			u.Roles = d.list(s, p, s.key, "a role name")
		}
	}
	return u
}

func (d *decoder) apiKeys(e entry, path string) []*restkit.APIKey {
	if e.isNull() {
		return nil
	}
	seq, ok := e.value.(*ast.SequenceNode)
	if !ok {
		d.fail(path, e.at(), "keys must be a list of {id, sha256, user, roles}, not %s", describe(e.value))
		return nil
	}
	var out []*restkit.APIKey
	for i, raw := range seq.Values {
		if !d.spend() {
			break
		}
		p := fmt.Sprintf("%s[%d]", path, i)
		d.at[p] = posOf(raw)
		k := &restkit.APIKey{}
		es, ok := d.mapping(d.resolve(raw), posOf(raw), p, "in "+p, apiKeyKeys)
		if !ok {
			d.flagged[p] = true
			continue
		}
		for _, s := range es {
			sp := p + "." + s.key
			d.rec(sp, s)
			switch s.key {
			case "id":
				k.ID, _ = d.str(s, sp)
			case "sha256":
				k.SHA256, _ = d.str(s, sp)
			case "user":
				k.User, _ = d.str(s, sp)
			case "roles":
				k.Roles = d.list(s, sp, s.key, "a role name")
			}
		}
		out = append(out, k)
	}
	return out
}

// access reads an access: mapping (read, write, delete role lists; anonymous).
func (d *decoder) access(e entry, path string) restkit.Access {
	var a restkit.Access
	if e.isNull() {
		return a
	}
	es, ok := d.mapping(e.value, e.at(), path, "in "+path, accessKeys)
	if !ok {
		d.flagged[path] = true
		return a
	}
	for _, s := range es {
		p := path + "." + s.key
		d.rec(p, s)
		switch s.key {
		case "read":
			a.Read = d.roles(s, p)
		case "write":
			a.Write = d.roles(s, p)
		case "delete":
			a.Delete = d.roles(s, p)
		case "anonymous":
			a.Anonymous, _ = d.oneOf(s, p, anonymities)
		}
	}
	return a
}

// roles reads a role list; an explicit empty list ([]) allows nobody, unlike an
// absent one, which inherits.
func (d *decoder) roles(e entry, path string) []string {
	if e.isNull() {
		return []string{}
	}
	out := d.list(e, path, e.key, `a role name or "*"`)
	if out == nil {
		out = []string{}
	}
	return out
}

func (d *decoder) public(e entry, path string, a *restkit.Auth) {
	es, ok := d.mapping(e.value, e.at(), path, "in "+path, publicKeys)
	if !ok {
		return
	}
	for _, s := range es {
		p := path + "." + s.key
		d.rec(p, s)
		v, _ := d.boolean(s, p)
		switch s.key {
		case "docs":
			a.PublicDocs = v
		case "openapi":
			a.PublicOpenAPI = v
		case "metrics":
			a.PublicMetrics = v
		}
	}
}
