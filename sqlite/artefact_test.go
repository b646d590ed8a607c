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

// TestArtefactTablesAddedToOldDatabase: a database from before nested directories,
// properties and resumable uploads (those tables missing) gets them when the store
// opens, and its one-level artefacts keep working.
func TestArtefactTablesAddedToOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "restkit.db")
	s := mustOpen(t, path)
	if _, _, err := s.AddVersion(ctx, &restkit.Artefact{Directory: "docs", ID: "a.txt", SHA256: strings.Repeat("a", 64), Size: 3, Updated: time.Now()}, nil, 0); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"_restkit_artefact_properties", "_restkit_artefact_downloads", "_restkit_artefact_uploads"} {
		if _, err := s.w.ExecContext(ctx, `DROP TABLE `+table); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = mustOpen(t, path)
	defer s.Close()
	if a, err := s.FindArtefact(ctx, "docs", "a.txt", 0); err != nil || a.Size != 3 {
		t.Fatalf("the old artefact: %+v %v", a, err)
	}
	if _, err := s.SetProperties(ctx, "docs", "a.txt", 0, map[string]string{"build": "1"}); err != nil {
		t.Fatalf("properties on the old artefact: %v", err)
	}
	if dirs, err := s.ListDirectories(ctx); err != nil || len(dirs) != 1 || dirs[0].Name != "docs" || dirs[0].Artefacts != 1 {
		t.Fatalf("directories: %+v %v", dirs, err)
	}
}
