package sqlite

import (
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"restkit"
)

func digest(c byte) string { return strings.Repeat(string(c), 64) }

func addVersion(t *testing.T, s *Store, dir, id string, d byte, size int64, at time.Time, keep int) (*restkit.Artefact, []string) {
	t.Helper()
	a, freed, err := s.AddVersion(ctx, &restkit.Artefact{Directory: dir, ID: id, SHA256: digest(d), Size: size, ContentType: "text/plain", Updated: at}, nil, keep)
	if err != nil {
		t.Fatalf("AddVersion %s/%s: %v", dir, id, err)
	}
	return a, freed
}

func TestArtefactVersions(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	a1, _ := addVersion(t, s, "docs", "a.txt", 'a', 10, t0, 0)
	a2, _ := addVersion(t, s, "docs", "a.txt", 'b', 20, t0.Add(time.Second), 0)
	if a1.Version != 1 || a2.Version != 2 || !a2.Created.Equal(t0) || !a2.Updated.Equal(t0.Add(time.Second)) {
		t.Fatalf("versions: %+v %+v", a1, a2)
	}
	latest, err := s.FindArtefact(ctx, "docs", "a.txt", 0)
	if err != nil || latest.Version != 2 || latest.SHA256 != digest('b') {
		t.Fatalf("latest: %+v %v", latest, err)
	}
	v1, err := s.FindArtefact(ctx, "docs", "a.txt", 1)
	if err != nil || v1.SHA256 != digest('a') || v1.Size != 10 {
		t.Fatalf("v1: %+v %v", v1, err)
	}
	if _, err := s.FindArtefact(ctx, "docs", "a.txt", 3); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("v3: %v", err)
	}
	// Deleting the newest version moves "latest" back, and numbers are not reused.
	freed, err := s.DeleteArtefacts(ctx, "docs", "a.txt", 2)
	if err != nil || !reflect.DeepEqual(freed, []string{digest('b')}) {
		t.Fatalf("delete v2: %v %v", freed, err)
	}
	if l, _ := s.FindArtefact(ctx, "docs", "a.txt", 0); l == nil || l.Version != 1 {
		t.Fatalf("latest after deleting v2: %+v", l)
	}
	a3, _ := addVersion(t, s, "docs", "a.txt", 'c', 30, t0.Add(2*time.Second), 0)
	if a3.Version != 3 {
		t.Fatalf("version numbers must not be reused: got %d", a3.Version)
	}
	vs, err := s.ListVersions(ctx, "docs", "a.txt")
	if err != nil || len(vs) != 2 || vs[0].Version != 3 || vs[1].Version != 1 {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	// A check refuses atomically.
	_, _, err = s.AddVersion(ctx, &restkit.Artefact{Directory: "docs", ID: "a.txt", SHA256: digest('d')}, func(l *restkit.Artefact) error {
		return restkit.Errorf(restkit.Conflict, "exists (latest %d)", l.Version)
	}, 0)
	if restkit.ErrorMessage(err) != "exists (latest 3)" {
		t.Fatalf("check: %v", err)
	}
}

func TestArtefactRetentionAndDedup(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	addVersion(t, s, "r", "x", 'a', 1, t0, 2)
	addVersion(t, s, "r", "y", 'a', 1, t0, 2) // same content elsewhere
	addVersion(t, s, "r", "x", 'b', 1, t0, 2)
	_, freed := addVersion(t, s, "r", "x", 'c', 1, t0, 2)
	if len(freed) != 0 {
		t.Fatalf("pruned x v1 shares its content with y: nothing to free, got %v", freed)
	}
	_, freed = addVersion(t, s, "r", "x", 'd', 1, t0, 2)
	if !reflect.DeepEqual(freed, []string{digest('b')}) {
		t.Fatalf("pruning v2 frees b: %v", freed)
	}
	vs, _ := s.ListVersions(ctx, "r", "x")
	if len(vs) != 2 || vs[0].Version != 4 || vs[1].Version != 3 {
		t.Fatalf("kept: %+v", vs)
	}
	found, err := s.FindByDigest(ctx, digest('a'))
	if err != nil || len(found) != 1 || found[0].ID != "y" {
		t.Fatalf("by digest: %+v %v", found, err)
	}
	if ok, _ := s.Referenced(ctx, digest('b')); ok {
		t.Fatal("b is no longer referenced")
	}
	freed, err = s.DeleteArtefacts(ctx, "r", "", 0)
	if err != nil || len(freed) != 3 {
		t.Fatalf("delete directory: %v %v", freed, err)
	}
	if _, err := s.DeleteArtefacts(ctx, "r", "", 0); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("delete again: %v", err)
	}
}

func TestArtefactListing(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	for i, id := range []string{"b", "a", "c%", "c_", "d", "ca"} {
		addVersion(t, s, "dir", id, byte('a'+i), int64(10*(i%3)), t0.Add(time.Duration(i)*time.Second), 0)
	}
	addVersion(t, s, "other", "z", 'z', 5, t0, 0)
	ids := func(q restkit.ArtefactQuery) []string {
		t.Helper()
		var out []string
		for {
			p, err := s.ListArtefacts(ctx, "dir", q)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range p.Artefacts {
				out = append(out, a.ID)
			}
			if !p.More {
				return out
			}
			last := p.Artefacts[len(p.Artefacts)-1]
			q.After = &restkit.ArtefactCursor{ID: last.ID, Value: map[string]any{"size": last.Size, "updated": last.Updated}[strings.TrimPrefix(q.Sort, "-")]}
		}
	}
	for _, tt := range []struct {
		q    restkit.ArtefactQuery
		want []string
	}{
		{restkit.ArtefactQuery{}, []string{"a", "b", "c%", "c_", "ca", "d"}},
		{restkit.ArtefactQuery{Limit: 2}, []string{"a", "b", "c%", "c_", "ca", "d"}},
		{restkit.ArtefactQuery{Limit: 2, Sort: "-name"}, []string{"d", "ca", "c_", "c%", "b", "a"}},
		{restkit.ArtefactQuery{Limit: 4, Sort: "size"}, []string{"b", "c_", "a", "d", "c%", "ca"}},
		{restkit.ArtefactQuery{Limit: 1, Sort: "-updated"}, []string{"ca", "d", "c_", "c%", "a", "b"}},
		{restkit.ArtefactQuery{Prefix: "c%"}, []string{"c%"}},
		{restkit.ArtefactQuery{Prefix: "c", Limit: 1}, []string{"c%", "c_", "ca"}},
	} {
		if got := ids(tt.q); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v: %v, want %v", tt.q, got, tt.want)
		}
	}
	dirs, err := s.ListDirectories(ctx)
	if err != nil || len(dirs) != 2 || dirs[0].Name != "dir" || dirs[0].Artefacts != 6 || dirs[0].Size != 60 || !dirs[0].Updated.Equal(t0.Add(5*time.Second)) || dirs[1].Name != "other" {
		t.Fatalf("directories: %+v %v", dirs, err)
	}
}

func TestArtefactConcurrentVersions(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, _, err := s.AddVersion(ctx, &restkit.Artefact{Directory: "c", ID: "x", SHA256: digest(byte('a' + i))}, nil, 0); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	vs, err := s.ListVersions(ctx, "c", "x")
	if err != nil || len(vs) != 20 || vs[0].Version != 20 {
		t.Fatalf("20 concurrent versions: %d %v", len(vs), err)
	}
	seen := map[string]bool{}
	for _, v := range vs {
		seen[v.SHA256] = true
	}
	if len(seen) != 20 {
		t.Fatalf("digests: %d distinct", len(seen))
	}
}

func TestArtefactVersionNumbersAreNeverReused(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	addVersion(t, s, "d", "x", 'a', 1, t0, 0)
	if _, err := s.DeleteArtefacts(ctx, "d", "x", 0); err != nil {
		t.Fatal(err)
	}
	a, _ := addVersion(t, s, "d", "x", 'b', 1, t0.Add(time.Second), 0)
	if a.Version != 2 || !a.Created.Equal(t0.Add(time.Second)) {
		t.Fatalf("re-created artefact: version %d created %v", a.Version, a.Created)
	}
	if _, err := s.FindArtefact(ctx, "d", "x", 1); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("version 1 must stay gone: %v", err)
	}
}
