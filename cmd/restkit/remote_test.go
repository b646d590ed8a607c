package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		arg     string
		dirOK   bool
		dir, id string
		ok      bool
	}{
		{"releases/app.tar.gz", false, "releases", "app.tar.gz", true},
		{"releases/app.tar.gz", true, "releases", "app.tar.gz", true},
		{"releases", true, "releases", "", true},
		{"releases", false, "", "", false},
		{"releases/", true, "releases", "", true},
		{"releases/", false, "", "", false},
		{"/app", false, "", "", false},
		{"a/b/c", false, "a/b", "c", true}, // nested directories (DESIGN §14)
		{"a/b/c", true, "a/b", "c", true},
		{"a/b/", true, "a/b", "", true},
		{"a//c", false, "", "", false},
		{"a//", true, "", "", false},
		{"", true, "", "", false},
		{"dir with space/ü id", false, "dir with space", "ü id", true},
	} {
		dir, id, err := parseRef(tc.arg, tc.dirOK)
		if dir != tc.dir || id != tc.id || (err == nil) != tc.ok {
			t.Errorf("parseRef(%q, %v) = %q, %q, %v", tc.arg, tc.dirOK, dir, id, err)
		}
	}
}

// TestServerAndTokenPrecedence checks that a flag beats RESTKIT_SERVER and
// RESTKIT_TOKEN, which beat the defaults.
func TestServerAndTokenPrecedence(t *testing.T) {
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[{"name":"releases","artefacts":1,"size":5,"updated":"2025-01-02T03:04:05Z"}]`))
	}))
	defer srv.Close()
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		root := newRoot(&out, &errb)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("restkit %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}

	t.Setenv("RESTKIT_SERVER", srv.URL)
	t.Setenv("RESTKIT_TOKEN", "")
	if out := run("ls"); !strings.Contains(out, `"name":"releases"`) {
		t.Fatalf("ls via RESTKIT_SERVER: %q", out)
	}
	t.Setenv("RESTKIT_TOKEN", "from-env")
	run("ls")
	run("ls", "--token", "from-flag")
	t.Setenv("RESTKIT_SERVER", "http://127.0.0.1:1")
	run("--server", srv.URL, "ls", "--format", "table")
	if want := []string{"", "Bearer from-env", "Bearer from-flag", "Bearer from-env"}; strings.Join(auth, "|") != strings.Join(want, "|") {
		t.Fatalf("Authorization sent: %q, want %q", auth, want)
	}
}
