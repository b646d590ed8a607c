package httpapi

import (
	"strings"
	"testing"
)

// A generated request id is 32 lowercase hex digits of a random 128-bit number: no two
// requests of a process share one, and no part of one is shared with the next (a
// prefix and a counter would tell how many requests a process has served).
func TestRequestIDsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	last := newRequestID()
	for range 10000 {
		id := newRequestID()
		if id[:16] == last[:16] || id[16:] == last[16:] {
			t.Fatalf("ids %q and %q share a half", last, id)
		}
		last = id
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("id %q is not 32 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("id %q given twice", id)
		}
		seen[id] = true
	}
}
