package sqlite

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/storetest"
)

func TestArtefacts(t *testing.T) {
	storetest.RunArtefacts(t, func(t *testing.T) restkit.ArtefactStore {
		return mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	})
}

// TestArtefactCommitsAreSynced: artefact transactions run at synchronous=FULL (their
// freed blobs are deleted right after the commit) and leave the writer at NORMAL.
func TestArtefactCommitsAreSynced(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	tx, release, err := s.durableTx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var inside string
	if err := tx.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&inside); err != nil || inside != "2" {
		t.Fatalf("inside: synchronous = %s, %v; want 2 (FULL)", inside, err)
	}
	_ = tx.Rollback()
	release()
	for _, d := range []string{strings.Repeat("a", 64), strings.Repeat("b", 64)} { // the second prunes the first
		a := &restkit.Artefact{Directory: "docs", ID: "a.txt", SHA256: d, Size: 1, ContentType: "text/plain", Updated: time.Now()}
		if _, _, err := s.AddVersion(ctx, a, nil, 1); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteArtefacts(ctx, "docs", "a.txt", 0); err != nil {
		t.Fatal(err)
	}
	var after string
	if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&after); err != nil || after != "1" {
		t.Fatalf("after: synchronous = %s, %v; want 1 (NORMAL)", after, err)
	}
}
