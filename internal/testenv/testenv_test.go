package testenv

import (
	"slices"
	"testing"
)

// TestSkipReport: a service that is not there skips each test that needs it, and
// the report names the suite, the count and why, with the variable to set.
func TestSkipReport(t *testing.T) {
	finds := 0
	missing := &service{name: "PostgreSQL", env: "RESTKIT_TEST_NOWHERE", find: func() (string, string) {
		finds++
		return "", "no PostgreSQL at 127.0.0.1:5432: connection refused"
	}}
	off := &service{name: "Redis", env: "RESTKIT_TEST_OFF", find: func() (string, string) { t.Fatal("looked for a service that is off"); return "", "" }}
	t.Setenv("RESTKIT_TEST_OFF", "off")
	there := &service{name: "S3", env: "RESTKIT_TEST_THERE", find: func() (string, string) { return "s3://found", "" }}
	for range 3 {
		t.Run("needs PostgreSQL", func(t *testing.T) {
			missing.get(t)
			t.Fatal("not skipped")
		})
	}
	t.Run("needs Redis", func(t *testing.T) {
		off.get(t)
		t.Fatal("not skipped")
	})
	t.Run("needs S3", func(t *testing.T) {
		if u := there.get(t); u != "s3://found" {
			t.Fatalf("url %q", u)
		}
	})
	got := skipReport("postgres", []*service{missing, off, there})
	want := []string{
		"postgres: skipped 3 tests: no PostgreSQL at 127.0.0.1:5432: connection refused (set RESTKIT_TEST_NOWHERE)",
		"postgres: skipped 1 test: RESTKIT_TEST_OFF is off",
	}
	if !slices.Equal(got, want) || finds != 1 {
		t.Fatalf("report %q, %d looks; want %q, one look", got, finds, want)
	}
}
