package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

var ctx = context.Background()

// schema declares one resource under an API, auth with two users and a key.
func schema(t *testing.T, mutate func(*restkit.Schema)) *restkit.Schema {
	t.Helper()
	alice, err := HashPassword("alice-secret", 4)
	if err != nil {
		t.Fatal(err)
	}
	s := &restkit.Schema{
		Auth: &restkit.Auth{
			BcryptCost: 4,
			Users: []*restkit.User{
				{Name: "alice", PasswordHash: alice, Roles: []string{"admin"}},
				{Name: "bob", PasswordHash: "", Roles: []string{"reader"}}, // keys only
			},
			Keys:   []*restkit.APIKey{{ID: "bob-ci", SHA256: KeySum("rk_bobkey"), User: "bob"}},
			Access: restkit.Access{Read: []string{"admin", "reader"}, Write: []string{"admin"}},
		},
		APIs: []*restkit.API{{Base: "", Resources: []*restkit.Resource{{
			Name: "cars", Key: "id", Collection: []string{"GET", "POST"}, Item: []string{"GET", "PUT", "DELETE"},
			Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}},
		}}}},
	}
	if mutate != nil {
		mutate(s)
	}
	if err := s.Prepare(); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	return s
}

func authority(t *testing.T, s *restkit.Schema, arts *Artefacts) *Authority {
	t.Helper()
	a, err := New(s, arts)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthenticate(t *testing.T) {
	a := authority(t, schema(t, nil), nil)
	cases := []struct {
		name   string
		header string
		user   string
		err    error
	}{
		{"none", "", "", nil},
		{"basic", "Basic " + b64("alice:alice-secret"), "alice", nil},
		{"basic again (cached)", "Basic " + b64("alice:alice-secret"), "alice", nil},
		{"wrong password", "Basic " + b64("alice:alice-secreT"), "", ErrBadCredentials},
		{"unknown user", "Basic " + b64("mallory:alice-secret"), "", ErrBadCredentials},
		{"user without password", "Basic " + b64("bob:"), "", ErrBadCredentials},
		{"key", "Bearer rk_bobkey", "bob", nil},
		{"unknown key", "Bearer rk_bobkeY", "", ErrBadCredentials},
		{"malformed", "Basic nope!", "", ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := a.Authenticate(ctx, c.header)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
			switch {
			case c.user == "" && p != nil:
				t.Fatalf("principal %+v, want none", p)
			case c.user != "" && (p == nil || p.User != c.user):
				t.Fatalf("principal %+v, want %s", p, c.user)
			}
		})
	}
	// A key without its own roles acts with its user's; its id is reported.
	p, _ := a.Authenticate(ctx, "Bearer rk_bobkey")
	if p.KeyID != "bob-ci" || p.Scheme != Bearer || len(p.Roles) != 1 || p.Roles[0] != "reader" {
		t.Fatalf("key principal: %+v", p)
	}
	// A failure is never cached: the right password still works after a wrong one,
	// and the wrong one still fails after the right one.
	if _, err := a.Authenticate(ctx, "Basic "+b64("alice:alice-secreT")); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password after a right one: %v", err)
	}
}

func TestDecide(t *testing.T) {
	s := schema(t, func(s *restkit.Schema) {
		s.APIs[0].Access = restkit.Access{Anonymous: restkit.AnonymousRead}
		s.APIs[0].Resources[0].Access = restkit.Access{Write: []string{"editor"}, Delete: []string{}}
	})
	a := authority(t, s, nil)
	acc := a.ResourceAccess(s.APIs[0], s.APIs[0].Resources[0])
	admin := &Principal{User: "alice", Roles: []string{"admin"}}
	editor := &Principal{User: "ed", Roles: []string{"editor"}}
	reader := &Principal{User: "bob", Roles: []string{"reader"}}
	cases := []struct {
		p    *Principal
		act  Action
		want Outcome
	}{
		{nil, Read, Allowed}, // the API lets anonymous callers read
		{nil, Write, Unauthenticated},
		{nil, Delete, Unauthenticated},
		{reader, Read, Allowed},
		{reader, Write, Forbidden},
		{editor, Write, Allowed},    // the resource's own write rule
		{admin, Write, Forbidden},   // … which replaces the default's, admin included
		{editor, Delete, Forbidden}, // delete: [] allows nobody
		{admin, Delete, Forbidden},
	}
	for _, c := range cases {
		who := "anonymous"
		if c.p != nil {
			who = c.p.User
		}
		if got := a.Decide(c.p, acc, c.act); got != c.want {
			t.Errorf("%s %s: got %d, want %d", who, c.act, got, c.want)
		}
	}
	// Delete inherits write when nothing sets it.
	def := a.Resolved(restkit.Access{Write: []string{"w"}})
	if len(def.Delete) != 1 || def.Delete[0] != "w" || def.Anonymous != restkit.AnonymousNone {
		t.Fatalf("resolved default: %+v", def)
	}
	// "*" is any signed-in caller.
	star := a.Resolved(restkit.Access{Read: []string{"*"}})
	if a.Decide(&Principal{User: "x"}, star, Read) != Allowed || a.Decide(nil, star, Read) != Unauthenticated {
		t.Fatal("* must allow any authenticated caller and no anonymous one")
	}
}

func TestDirectoryAccess(t *testing.T) {
	s := schema(t, nil)
	a := authority(t, s, &Artefacts{
		Access: restkit.Access{Write: []string{"ci"}},
		Directories: []DirectoryAccess{
			{Pattern: "public-*", Access: restkit.Access{Anonymous: restkit.AnonymousRead}},
			{Pattern: "secret", Access: restkit.Access{Read: []string{"admin"}}},
			{Pattern: "*", Access: restkit.Access{Read: []string{"never-reached-for-secret"}}},
		},
	})
	reader := &Principal{User: "bob", Roles: []string{"reader"}}
	ci := &Principal{User: "robot", Roles: []string{"ci"}}
	if a.Decide(nil, a.DirectoryAccess("public-docs"), Read) != Allowed {
		t.Error("public-* must be readable anonymously")
	}
	if a.Decide(nil, a.DirectoryAccess("public-docs"), Write) != Unauthenticated {
		t.Error("anonymous read must not allow anonymous writes")
	}
	if a.Decide(ci, a.DirectoryAccess("public-docs"), Write) != Allowed {
		t.Error("the repository's write rule must apply under public-*")
	}
	if a.Decide(reader, a.DirectoryAccess("secret"), Read) != Forbidden {
		t.Error("the first matching rule wins: secret is admin-only")
	}
	if a.Decide(reader, a.DirectoryAccess("other"), Read) != Forbidden {
		t.Error("other matches * whose read list lacks reader")
	}
	// The root listing is open to whoever may read some directory.
	if a.Decide(nil, a.RepositoryAccess(), Read) != Allowed {
		t.Error("an anonymous-readable directory makes the listing anonymous-readable")
	}
}

func TestAdminAndPublic(t *testing.T) {
	s := schema(t, func(s *restkit.Schema) { s.Auth.PublicOpenAPI = true })
	a := authority(t, s, nil)
	if !a.IsAdmin(&Principal{Roles: []string{"admin"}}) || a.IsAdmin(&Principal{Roles: []string{"reader"}}) || a.IsAdmin(nil) {
		t.Fatal("admin roles default to [admin]")
	}
	if !a.Public(OpenAPI) || a.Public(Docs) || a.Public(Metrics) {
		t.Fatal("public flags")
	}
	if New, _ := New(&restkit.Schema{}, nil); New != nil {
		t.Fatal("no auth: no Authority")
	}
}

func TestPrepareRefusesBadAuth(t *testing.T) {
	cases := map[string]func(*restkit.Schema){
		"auth.users.alice.password": func(s *restkit.Schema) { s.Auth.Users[0].PasswordHash = "alice-secret" },
		"auth.keys[0].user":         func(s *restkit.Schema) { s.Auth.Keys[0].User = "nobody" },
		"auth.keys[0].sha256":       func(s *restkit.Schema) { s.Auth.Keys[0].SHA256 = "abc" },
		"auth.access.anonymous":     func(s *restkit.Schema) { s.Auth.Access.Anonymous = "write" },
		"auth.access.read":          func(s *restkit.Schema) { s.Auth.Access.Read = []string{"bad role!"} },
		"apis[0].resources.cars.owner_field": func(s *restkit.Schema) {
			s.APIs[0].Resources[0].OwnerField = "id"
		},
	}
	for where, mutate := range cases {
		s := schema(t, nil)
		s.Auth.Access = restkit.Access{}
		mutate(s)
		err := s.Prepare()
		found := false
		for _, fe := range restkit.ErrorFields(err) {
			found = found || fe.Field == where
		}
		if !found {
			t.Errorf("%s: Prepare = %v", where, err)
		}
	}
	// Rules without auth would look like protection that is not there.
	s := &restkit.Schema{APIs: []*restkit.API{{Access: restkit.Access{Read: []string{"x"}}, Resources: []*restkit.Resource{{
		Name: "cars", Key: "id", OwnerField: "owner", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}}}}}
	err := s.Prepare()
	if fs := restkit.ErrorFields(err); len(fs) != 2 {
		t.Fatalf("rules without auth: %v", err)
	}
}

func TestHashPasswordAndKeys(t *testing.T) {
	if _, err := HashPassword("", 4); err == nil {
		t.Fatal("empty password accepted")
	}
	if _, err := HashPassword(string(make([]byte, 73)), 4); err == nil {
		t.Fatal("a password bcrypt would cut accepted")
	}
	k1, s1, err := NewKey()
	k2, _, _ := NewKey()
	if err != nil || k1 == k2 || len(k1) != len(KeyPrefix)+43 || s1 != KeySum(k1) || len(s1) != 64 {
		t.Fatalf("NewKey: %q %q %v", k1, s1, err)
	}
	if _, err := ParseAuthorization("Bearer " + k1); err != nil {
		t.Fatalf("a made key must be a valid bearer token: %v", err)
	}
}

// TestResolveLevelsAsWholes: a level's read goes with its anonymous, its write with
// its delete (the review's fail-open cases).
func TestResolveLevelsAsWholes(t *testing.T) {
	s := schema(t, func(s *restkit.Schema) {
		s.Auth.Access = restkit.Access{Read: []string{"admin", "reader"}, Write: []string{"admin", "editor"}, Delete: []string{"admin", "editor"}}
		s.APIs[0].Access = restkit.Access{Anonymous: restkit.AnonymousRead}
		s.APIs[0].Resources[0].Access = restkit.Access{Read: []string{"admin"}, Write: []string{"admin"}}
	})
	a := authority(t, s, &Artefacts{
		Access:      restkit.Access{Anonymous: restkit.AnonymousRead},
		Directories: []DirectoryAccess{{Pattern: "secret", Access: restkit.Access{Read: []string{"admin"}}}},
	})
	acc := a.ResourceAccess(s.APIs[0], s.APIs[0].Resources[0])
	reader := &Principal{User: "bob", Roles: []string{"reader"}}
	editor := &Principal{User: "ed", Roles: []string{"editor"}}
	if got := a.Decide(nil, acc, Read); got != Unauthenticated {
		t.Errorf("a narrower read list must not be opened by the API's anonymous: read: %d", got)
	}
	if got := a.Decide(reader, acc, Read); got != Forbidden {
		t.Errorf("reader on an admin-only read: %d", got)
	}
	if got := a.Decide(editor, acc, Delete); got != Forbidden {
		t.Errorf("write narrowed to admin must narrow delete too: %d", got)
	}
	if got := a.Decide(nil, a.DirectoryAccess("secret"), Read); got != Unauthenticated {
		t.Errorf("a directory's read list must not be opened by the repository's anonymous: read: %d", got)
	}
	if got := a.Decide(nil, a.DirectoryAccess("other"), Read); got != Allowed {
		t.Errorf("other directories keep the repository's anonymous read: %d", got)
	}
}

// TestWarnings: a role nobody holds (a typo) and a hash of another cost are reported.
func TestWarnings(t *testing.T) {
	s := schema(t, func(s *restkit.Schema) {
		s.APIs[0].Resources[0].Access = restkit.Access{Write: []string{"admn"}}
	})
	ws := Warnings(s, &Artefacts{Directories: []DirectoryAccess{{Pattern: "x", Access: restkit.Access{Read: []string{"ci"}}}}})
	want := []string{
		`apis[0].resources.cars.access names role "admn", which no user or key has`,
		`artefacts.directories["x"].access names role "ci", which no user or key has`,
	}
	if len(ws) != len(want) || ws[0] != want[0] || ws[1] != want[1] {
		t.Fatalf("warnings:\n%s", strings.Join(ws, "\n"))
	}
	s.Auth.BcryptCost = 5 // alice's hash has cost 4
	if ws := Warnings(s, nil); len(ws) != 2 || !strings.Contains(ws[1], "alice") {
		t.Fatalf("cost warning: %v", ws)
	}
}
