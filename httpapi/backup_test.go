package httpapi_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/memory"
)

// backupServer serves a schema (with users alice, an admin, and bob, a reader, when
// withAuth) whose Backup writes "ARCHIVE" or fails as fail says.
func backupServer(t *testing.T, withAuth bool, fail func(w io.Writer) error) (*httpapi.Server, *int) {
	t.Helper()
	s := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{{
		Name: "cars", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}}}}}
	if withAuth {
		var users []*restkit.User
		for _, u := range [][2]string{{"alice", "admin"}, {"bob", "reader"}} {
			hash, err := auth.HashPassword(u[0]+"-secret", 4)
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, &restkit.User{Name: u[0], PasswordHash: hash, Roles: []string{u[1]}})
		}
		s.Auth = &restkit.Auth{BcryptCost: 4, Users: users}
	}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	opts := httpapi.Options{Schema: s, Store: memory.New()}
	if err := opts.Store.Migrate(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if withAuth {
		a, err := auth.New(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		opts.Auth = a
	}
	runs := new(int)
	opts.Backup = func(_ context.Context, w io.Writer) error {
		*runs++
		if fail != nil {
			return fail(w)
		}
		_, err := io.WriteString(w, "ARCHIVE")
		return err
	}
	return newServer(t, opts), runs
}

func backupRequest(srv http.Handler, method, remote, user string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "/_admin/backup", nil)
	req.RemoteAddr = remote
	if user != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+user+"-secret")))
	}
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, req)
	return w
}

// TestAdminBackup: GET /_admin/backup streams the backup to admins — to loopback
// clients only when auth is off, to the admin role when it is on — and refuses
// everyone else before the backup starts.
func TestAdminBackup(t *testing.T) {
	open, openRuns := backupServer(t, false, nil)
	secure, secureRuns := backupServer(t, true, nil)
	for _, tc := range []struct {
		name           string
		srv            http.Handler
		method, remote string
		user           string
		status         int
		body           string
	}{
		{"loopback without auth", open, "GET", "127.0.0.1:5000", "", 200, "ARCHIVE"},
		{"loopback v6", open, "GET", "[::1]:5000", "", 200, "ARCHIVE"},
		{"HEAD runs no backup", open, "HEAD", "127.0.0.1:5000", "", 200, ""},
		{"another machine without auth", open, "GET", "192.0.2.7:5000", "", 403,
			`"detail":"/_admin/ answers only loopback clients while no auth: section is configured; configure auth and use an admin role"`},
		{"POST", open, "POST", "127.0.0.1:5000", "", 405, ""},
		{"anonymous with auth", secure, "GET", "127.0.0.1:5000", "", 401, ""},
		{"a reader", secure, "GET", "127.0.0.1:5000", "bob", 403, ""},
		{"an admin from anywhere", secure, "GET", "192.0.2.7:5000", "alice", 200, "ARCHIVE"},
	} {
		w := backupRequest(tc.srv, tc.method, tc.remote, tc.user)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, w.Code, w.Body, tc.status, tc.body)
		}
		if w.Code == 200 && (w.Header().Get("Content-Type") != "application/x-tar" || w.Header().Get("Cache-Control") != "no-store") {
			t.Errorf("%s: headers %v", tc.name, w.Header())
		}
	}
	if *openRuns != 2 || *secureRuns != 1 {
		t.Errorf("backups run: %d and %d, want 2 and 1 (HEAD and refusals run none)", *openRuns, *secureRuns)
	}
}

// TestAdminBackupFails: a backup that fails before it wrote anything is an error
// response; one that fails midway cuts the connection, so the client never takes a
// partial archive for a whole one.
func TestAdminBackupFails(t *testing.T) {
	early, _ := backupServer(t, false, func(io.Writer) error { return errors.New("disk gone") })
	if w := backupRequest(early, "GET", "127.0.0.1:1", ""); w.Code != 500 || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("an early failure: %d %v %s", w.Code, w.Header(), w.Body)
	}
	late, _ := backupServer(t, false, func(w io.Writer) error {
		io.WriteString(w, "HALF")
		return errors.New("disk gone")
	})
	defer func() {
		if r := recover(); r != http.ErrAbortHandler {
			t.Errorf("a failure midway: recovered %v, want http.ErrAbortHandler", r)
		}
	}()
	backupRequest(late, "GET", "127.0.0.1:1", "")
	t.Error("a failure midway answered normally")
}
