package status

import (
	"testing"

	"github.com/restkit/restkit"
)

// TestEveryKindGoesThereAndBack: every kind of restkit.Kinds has its own status, and
// that status reads back as the same kind; the table holds nothing else.
func TestEveryKindGoesThereAndBack(t *testing.T) {
	seen := map[int]restkit.Kind{}
	for _, k := range restkit.Kinds() {
		s, ok := byKind[k]
		if !ok {
			t.Errorf("kind %s has no status", k)
			continue
		}
		if other, dup := seen[s]; dup {
			t.Errorf("kinds %s and %s share status %d", other, k, s)
		}
		seen[s] = k
		if got := Kind(Of(k)); got != k {
			t.Errorf("kind %s → status %d → kind %s", k, s, got)
		}
	}
	if len(table) != len(restkit.Kinds()) {
		t.Errorf("the table has %d rows for %d kinds", len(table), len(restkit.Kinds()))
	}
}

func TestStatusesOutsideTheTable(t *testing.T) {
	for status, want := range map[int]restkit.Kind{
		416: restkit.RangeNotSatisfiable, 418: restkit.Invalid, 422: restkit.Invalid,
		502: restkit.Internal, 504: restkit.Internal, 302: restkit.Internal, 200: restkit.Internal,
	} {
		if got := Kind(status); got != want {
			t.Errorf("Kind(%d) = %s, want %s", status, got, want)
		}
	}
	if got := Of("no such kind"); got != 500 {
		t.Errorf("Of(an unknown kind) = %d, want 500", got)
	}
}
