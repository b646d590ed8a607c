package postgres

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/restkit/restkit"
)

// TestArtefactsAcrossNodes: nodes adding versions to a directory while others delete
// it, its artefacts and their newest versions leave the metadata consistent: no
// version without its artefact, no artefact whose latest version is missing, and no
// version number given twice.
func TestArtefactsAcrossNodes(t *testing.T) {
	url := newTestSchema(t)
	nodes := []*Store{mustOpen(t, url), mustOpen(t, url), mustOpen(t, url)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	given := map[string]bool{}
	for n, s := range nodes {
		for g := range 4 {
			wg.Go(func() {
				for i := range 25 {
					id := fmt.Sprintf("a%d", (g+i)%3)
					switch {
					case n == 2 && i%5 == 4:
						if _, err := s.DeleteArtefacts(ctx, "d", "", 0); err != nil && !restkit.IsKind(err, restkit.NotFound) {
							t.Errorf("delete directory: %v", err)
						}
					case n == 1 && i%4 == 3:
						if _, err := s.DeleteArtefacts(ctx, "d", id, 0); err != nil && !restkit.IsKind(err, restkit.NotFound) {
							t.Errorf("delete artefact: %v", err)
						}
					case n == 0 && i%6 == 5:
						if l, err := s.FindArtefact(ctx, "d", id, 0); err == nil {
							if _, err := s.DeleteArtefacts(ctx, "d", id, l.Version); err != nil && !restkit.IsKind(err, restkit.NotFound) {
								t.Errorf("delete version: %v", err)
							}
						}
					default:
						a, _, err := s.AddVersion(ctx, &restkit.Artefact{Directory: "d", ID: id, SHA256: strings.Repeat("a", 64), Size: int64(i)}, nil, 3)
						if err != nil {
							t.Errorf("add: %v", err)
							return
						}
						key := fmt.Sprintf("%s v%d", id, a.Version)
						mu.Lock()
						if given[key] {
							t.Errorf("%s given twice", key)
						}
						given[key] = true
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	var orphans, dangling int
	if err := nodes[0].pool.QueryRow(ctx, `SELECT count(*) FROM _restkit_artefact_versions v
		WHERE NOT EXISTS (SELECT 1 FROM _restkit_artefacts a WHERE a.directory = v.directory AND a.id = v.id)`).Scan(&orphans); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].pool.QueryRow(ctx, `SELECT count(*) FROM _restkit_artefacts a
		WHERE NOT EXISTS (SELECT 1 FROM _restkit_artefact_versions v WHERE v.directory = a.directory AND v.id = a.id AND v.version = a.latest)
		OR a.latest <> (SELECT max(version) FROM _restkit_artefact_versions v WHERE v.directory = a.directory AND v.id = a.id)`).Scan(&dangling); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 || dangling != 0 {
		t.Errorf("%d versions without an artefact, %d artefacts without their latest version", orphans, dangling)
	}
}

// TestCleanupLockAcrossNodes: the cleanup's job lock is held by one node at a time;
// the others are told so at once (they skip the round), and get it once it is free.
func TestCleanupLockAcrossNodes(t *testing.T) {
	url := newTestSchema(t)
	a, b := mustOpen(t, url), mustOpen(t, url)
	unlock, ok, err := a.TryLockJob(ctx, "artefact-cleanup")
	if err != nil || !ok {
		t.Fatalf("node a: %v %v", ok, err)
	}
	if _, ok, err := b.TryLockJob(ctx, "artefact-cleanup"); err != nil || ok {
		t.Fatalf("node b while a holds it: %v %v", ok, err)
	}
	unlockOther, ok, err := a.TryLockJob(ctx, "other-job")
	if err != nil || !ok {
		t.Fatalf("another job: %v %v", ok, err)
	}
	unlockOther()
	unlock()
	unlockB, ok, err := b.TryLockJob(ctx, "artefact-cleanup")
	if err != nil || !ok {
		t.Fatalf("node b after a released it: %v %v", ok, err)
	}
	unlockB()
}

// TestArtefactTablesAddedToOldDatabase: a database from before nested directories,
// properties and resumable uploads (those tables missing) gets them when the store
// opens, and its one-level artefacts keep working.
func TestArtefactTablesAddedToOldDatabase(t *testing.T) {
	url := newTestSchema(t)
	s := mustOpen(t, url)
	if _, _, err := s.AddVersion(ctx, &restkit.Artefact{Directory: "docs", ID: "a.txt", SHA256: strings.Repeat("a", 64), Size: 3}, nil, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `DROP TABLE _restkit_artefact_properties, _restkit_artefact_downloads, _restkit_artefact_uploads`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = mustOpen(t, url)
	if a, err := s.FindArtefact(ctx, "docs", "a.txt", 0); err != nil || a.Size != 3 {
		t.Fatalf("the old artefact: %+v %v", a, err)
	}
	if _, err := s.SetProperties(ctx, "docs", "a.txt", 0, map[string]string{"build": "1"}); err != nil {
		t.Fatalf("properties on the old artefact: %v", err)
	}
	if dirs, err := s.ListDirectories(ctx); err != nil || len(dirs) != 1 || dirs[0].Name != "docs" {
		t.Fatalf("directories: %+v %v", dirs, err)
	}
}
