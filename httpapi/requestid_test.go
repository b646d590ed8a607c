package httpapi

import (
	"strings"
	"testing"
)

// A generated request id is 32 lowercase hex digits, as a random 128-bit id would be,
// and no two requests of a process share one.
func TestRequestIDsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := newRequestID()
		if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("id %q is not 32 hex digits", id)
		}
		if seen[id] {
			t.Fatalf("id %q given twice", id)
		}
		seen[id] = true
	}
}
