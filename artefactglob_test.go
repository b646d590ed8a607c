package restkit_test

import (
	"testing"

	"github.com/restkit/restkit"
)

func TestMatchDirectory(t *testing.T) {
	for _, tt := range []struct {
		pattern, dir string
		want         bool
	}{
		{"releases", "releases", true},
		{"releases", "releases/1.0/linux", true}, // a rule covers its subtree
		{"releases", "releases-old", false},
		{"team-*", "team-a/x", true},
		{"team-*", "org/team-a", false},
		{"releases/**", "releases", true},
		{"releases/**", "releases/a/b/c", true},
		{"**/snapshots", "org/app/snapshots/1", true},
		{"**/snapshots", "org/app/releases", false},
		{"org/*/snapshots/**", "org/app/snapshots/1.0-SNAPSHOT", true},
		{"org/*/snapshots/**", "org/app/releases/1.0", false},
		{"*", "anything/at/all", true},
		{"a/b", "a", false},
	} {
		if got := restkit.MatchDirectory(tt.pattern, tt.dir); got != tt.want {
			t.Errorf("MatchDirectory(%q, %q) = %v, want %v", tt.pattern, tt.dir, got, tt.want)
		}
	}
	for p, want := range map[string]string{"releases/**": "", "a//b": "a directory pattern must not have an empty segment (//, or a leading or trailing /)",
		"a**": "** must be a whole segment (releases/**)", "": "a directory pattern must not be empty"} {
		if got := restkit.CheckDirectoryPattern(p); got != want {
			t.Errorf("CheckDirectoryPattern(%q) = %q, want %q", p, got, want)
		}
	}
}
