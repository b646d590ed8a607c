package fsblob

import (
	"testing"

	"github.com/restkit/restkit"
)

// TestPinStopsDeletes: while a Pin holds the directory, no Delete — of this Store or
// of another opened on the same directory, as another process would — removes a
// blob; it is Unavailable and the blob stays readable. After release, deletes work.
func TestPinStopsDeletes(t *testing.T) {
	dir := t.TempDir()
	s, other := mustOpen(t, dir), mustOpen(t, dir)
	a, b := mustPut(t, s, []byte("a")), mustPut(t, s, []byte("b"))
	// Before any pin there is no lock file, and deletes need none.
	if err := s.Delete(ctx, a); err != nil {
		t.Fatalf("Delete before any pin: %v", err)
	}
	release, err := other.Pin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []*Store{s, other} {
		err := st.Delete(ctx, b)
		if !restkit.IsKind(err, restkit.Unavailable) || restkit.ErrorMessage(err) != "a backup is copying the blobs; nothing is deleted until it ends" {
			t.Errorf("Delete while pinned = %v, want Unavailable", err)
		}
	}
	r, err := s.Open(ctx, b)
	if err != nil {
		t.Fatalf("the pinned blob: %v", err)
	}
	r.Close()
	release()
	if err := s.Delete(ctx, b); err != nil {
		t.Fatalf("Delete after release: %v", err)
	}
	if _, err := s.Open(ctx, b); !restkit.IsKind(err, restkit.NotFound) {
		t.Errorf("Open after the delete = %v, want NotFound", err)
	}
}
