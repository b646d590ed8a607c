package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/memory"
)

// adminServer serves one admin route; with users, auth is on (alice is an admin,
// carol is not).
func adminServer(t *testing.T, withAuth bool) *Server {
	t.Helper()
	s := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{{
		Name: "cars", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}}}}}
	if withAuth {
		var users []*restkit.User
		for name, roles := range map[string][]string{"alice": {"admin"}, "carol": {"reader"}} {
			hash, err := auth.HashPassword(name+"-secret", 4)
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, &restkit.User{Name: name, PasswordHash: hash, Roles: roles})
		}
		s.Auth = &restkit.Auth{BcryptCost: 4, Users: users}
	}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	store := memory.New()
	if err := store.Migrate(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	opts := Options{Schema: s, Store: store, Admin: []AdminRoute{{Pattern: "/_admin/thing", Allow: "GET, HEAD, OPTIONS",
		Handler: func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, 200, mediaJSON, map[string]string{"thing": "ok"})
		}}, {Pattern: "/_admin/things/{id}", Allow: "GET, HEAD, OPTIONS",
		Serve: func(w http.ResponseWriter, r *http.Request) error {
			return restkit.Errorf(restkit.NotFound, "no thing %q", r.PathValue("id"))
		}}}}
	if withAuth {
		a, err := auth.New(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		opts.Auth = a
	}
	return mustNew(t, opts)
}

// TestAdminRoutes: /_admin/ answers only admins, or loopback clients while auth is
// off; a proxy on loopback does not make its clients loopback unless trusted.
func TestAdminRoutes(t *testing.T) {
	open := adminServer(t, false)
	for _, c := range []struct {
		addr string
		want int
	}{{"127.0.0.1:5000", 200}, {"[::1]:5000", 200}, {"192.0.2.1:5000", 403}, {"10.0.0.5:5000", 403}} {
		w := getFrom(open, c.addr, "/_admin/thing")
		if w.Code != c.want || w.Header().Get("Cache-Control") != "no-store" && c.want == 200 {
			t.Errorf("no auth, from %s: %d %s", c.addr, w.Code, w.Body)
		}
		if c.want == 403 && !strings.Contains(w.Body.String(), "loopback") {
			t.Errorf("the refusal does not say why: %s", w.Body)
		}
	}
	if w := getFrom(open, "127.0.0.1:5000", "/_admin/thing", "X-Forwarded-For", "203.0.113.9"); w.Code != 403 {
		t.Errorf("through an untrusted proxy on loopback: %d", w.Code)
	}
	r := httptest.NewRequest(http.MethodDelete, "/_admin/thing", nil)
	r.RemoteAddr = "127.0.0.1:5000"
	w := httptest.NewRecorder()
	open.ServeHTTP(w, r)
	if w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD, OPTIONS" {
		t.Errorf("DELETE: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}

	// A route's error is answered as every route's: problem+json, the status of its kind.
	if w := getFrom(open, "127.0.0.1:5000", "/_admin/things/7"); w.Code != 404 ||
		w.Header().Get("Content-Type") != "application/problem+json" || !strings.Contains(w.Body.String(), `"detail":"no thing \"7\""`) {
		t.Errorf("an admin route's error: %d %s %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}

	guarded := adminServer(t, true)
	for _, c := range []struct {
		who, addr string
		want      int
	}{{"", "127.0.0.1:5000", 401}, {"carol", "127.0.0.1:5000", 403}, {"alice", "192.0.2.1:5000", 200}} {
		var h []string
		if c.who != "" {
			h = []string{"Authorization", basicHeader(c.who, c.who+"-secret")}
		}
		if w := getFrom(guarded, c.addr, "/_admin/thing", h...); w.Code != c.want {
			t.Errorf("with auth, %q from %s: %d %s", c.who, c.addr, w.Code, w.Body)
		}
	}
}
