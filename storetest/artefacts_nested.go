package storetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

// The second level of the repository (DESIGN §14): nested directories, properties,
// last downloads, the walk of every version, and resumable uploads.

func testArtefactNested(t *testing.T, s restkit.ArtefactStore) {
	ctx := context.Background()
	addVersion(t, s, "org/app/1.0", "app.tgz", 'a', 10, t0, 0)
	addVersion(t, s, "org/app/1.1", "app.tgz", 'b', 20, t0.Add(time.Second), 0)
	addVersion(t, s, "org/app", "README", 'c', 1, t0, 0)
	addVersion(t, s, "org/lib.x/2", "lib.tgz", 'd', 5, t0, 0)
	addVersion(t, s, "org-other", "x", 'e', 7, t0, 0)
	names := func(dir string, q restkit.SubdirectoryQuery) []string {
		t.Helper()
		var out []string
		for range 10 {
			p, err := s.ListSubdirectories(ctx, dir, q)
			if err != nil {
				t.Fatalf("subdirectories of %q: %v", dir, err)
			}
			out = append(out, p.Names...)
			if !p.More {
				return out
			}
			q.After = p.Names[len(p.Names)-1]
		}
		t.Fatalf("too many pages")
		return nil
	}
	for _, tt := range []struct {
		dir  string
		q    restkit.SubdirectoryQuery
		want []string
	}{
		{"", restkit.SubdirectoryQuery{}, []string{"org", "org-other"}},
		{"org", restkit.SubdirectoryQuery{}, []string{"app", "lib.x"}},
		{"org", restkit.SubdirectoryQuery{Limit: 1}, []string{"app", "lib.x"}},
		{"org", restkit.SubdirectoryQuery{Limit: 1, Desc: true}, []string{"lib.x", "app"}},
		{"org/app", restkit.SubdirectoryQuery{Prefix: "1."}, []string{"1.0", "1.1"}},
		{"org/app/1.0", restkit.SubdirectoryQuery{}, nil},
		{"nowhere", restkit.SubdirectoryQuery{}, nil},
	} {
		if got := names(tt.dir, tt.q); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("subdirectories of %q %+v: %v, want %v", tt.dir, tt.q, got, tt.want)
		}
	}
	dirs, err := s.ListDirectories(ctx)
	if err != nil || len(dirs) != 2 || dirs[0].Name != "org" || dirs[0].Path != "org" || dirs[0].Artefacts != 4 || dirs[0].Size != 36 ||
		!dirs[0].Updated.Equal(t0.Add(time.Second)) || dirs[1].Name != "org-other" {
		t.Fatalf("top-level directories: %+v %v", dirs, err)
	}
	// A path is an artefact or a directory, never both.
	for _, bad := range [][2]string{{"org", "app"}, {"org/app/1.0/app.tgz", "x"}, {"org/app", "1.0"}} {
		_, _, err := s.AddVersion(ctx, &restkit.Artefact{Directory: bad[0], ID: bad[1], SHA256: digest('z')}, nil, 0)
		if !restkit.IsKind(err, restkit.Conflict) {
			t.Errorf("adding %s/%s: %v, want Conflict", bad[0], bad[1], err)
		}
	}
	// Deleting a directory deletes its subtree, and only it.
	freed, err := s.DeleteArtefacts(ctx, "org/app", "", 0)
	if err != nil || len(freed) != 3 {
		t.Fatalf("delete org/app: %v %v", freed, err)
	}
	if got := names("org", restkit.SubdirectoryQuery{}); !reflect.DeepEqual(got, []string{"lib.x"}) {
		t.Errorf("after deleting org/app: %v", got)
	}
	if _, err := s.FindArtefact(ctx, "org-other", "x", 0); err != nil {
		t.Errorf("a sibling whose name starts alike went too: %v", err)
	}
	if _, err := s.DeleteArtefacts(ctx, "org/app", "", 0); !restkit.IsKind(err, restkit.NotFound) {
		t.Errorf("deleting it again: %v", err)
	}
}

func testArtefactProperties(t *testing.T, s restkit.ArtefactStore) {
	ctx := context.Background()
	addVersion(t, s, "ci/a", "x", 'a', 1, t0, 0)
	addVersion(t, s, "ci/a", "x", 'b', 1, t0, 0)
	addVersion(t, s, "ci/b", "y", 'c', 1, t0, 0)
	if _, err := s.SetProperties(ctx, "ci/a", "x", 1, map[string]string{"build": "142", "branch": "main"}); err != nil {
		t.Fatal(err)
	}
	latest, err := s.SetProperties(ctx, "ci/a", "x", 0, map[string]string{"build": "143"})
	if err != nil || latest.Version != 2 || latest.Properties["build"] != "143" {
		t.Fatalf("latest: %+v %v", latest, err)
	}
	if _, err := s.SetProperties(ctx, "ci/b", "y", 0, map[string]string{"build": "142"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetProperties(ctx, "ci/a", "x", 9, map[string]string{"a": "b"}); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("a missing version: %v", err)
	}
	vs, _ := s.ListVersions(ctx, "ci/a", "x")
	if err := s.LoadProperties(ctx, vs); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(vs[1].Properties, map[string]string{"build": "142", "branch": "main"}) || !reflect.DeepEqual(vs[0].Properties, map[string]string{"build": "143"}) {
		t.Fatalf("loaded: %v %v", vs[0].Properties, vs[1].Properties)
	}
	found, more, err := s.FindByProperties(ctx, restkit.PropertyQuery{Match: map[string]string{"build": "142"}, Limit: 1})
	if err != nil || !more || len(found) != 1 || found[0].Directory != "ci/a" || found[0].Version != 1 {
		t.Fatalf("search page 1: %+v %v %v", found, more, err)
	}
	found, more, err = s.FindByProperties(ctx, restkit.PropertyQuery{Match: map[string]string{"build": "142"}, Limit: 1,
		After: &restkit.VersionKey{Directory: "ci/a", ID: "x", Version: 1}})
	if err != nil || more || len(found) != 1 || found[0].Directory != "ci/b" {
		t.Fatalf("search page 2: %+v %v %v", found, more, err)
	}
	found, _, _ = s.FindByProperties(ctx, restkit.PropertyQuery{Match: map[string]string{"build": "142", "branch": "main"}})
	if len(found) != 1 || found[0].ID != "x" {
		t.Fatalf("two pairs: %+v", found)
	}
	// Properties go with their version: pruned, deleted.
	addVersion(t, s, "ci/a", "x", 'd', 1, t0, 1)
	if found, _, err := s.FindByProperties(ctx, restkit.PropertyQuery{Match: map[string]string{"build": "143"}}); err != nil || len(found) != 0 {
		t.Fatalf("properties of a pruned version: %+v %v", found, err)
	}
	if _, err := s.DeleteArtefacts(ctx, "ci", "", 0); err != nil {
		t.Fatal(err)
	}
	if found, _, err := s.FindByProperties(ctx, restkit.PropertyQuery{Match: map[string]string{"build": "142"}}); err != nil || len(found) != 0 {
		t.Fatalf("properties of a deleted directory: %+v %v", found, err)
	}
}

func testArtefactDownloadsAndWalk(t *testing.T, s restkit.ArtefactStore) {
	ctx := context.Background()
	addVersion(t, s, "w", "a", 'a', 1, t0, 0)
	addVersion(t, s, "w", "a", 'b', 2, t0, 0)
	addVersion(t, s, "w/x", "b", 'c', 3, t0, 0)
	if err := s.RecordDownload(ctx, "w", "a", 1, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordDownload(ctx, "w", "a", 7, t0); err != nil {
		t.Fatalf("a download of a missing version: %v", err)
	}
	var got []string
	var after *restkit.VersionKey
	for range 10 {
		page, err := s.WalkVersions(ctx, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page {
			got = append(got, v.Path()+"@"+string(rune('0'+v.Version)))
			if v.Directory == "w" && v.Version == 1 && !v.Downloaded.Equal(t0.Add(time.Hour)) {
				t.Errorf("downloaded: %v", v.Downloaded)
			}
			if v.Version == 2 && !v.Downloaded.IsZero() {
				t.Errorf("never downloaded: %v", v.Downloaded)
			}
		}
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		after = &restkit.VersionKey{Directory: last.Directory, ID: last.ID, Version: last.Version}
	}
	if want := []string{"w/a@2", "w/a@1", "w/x/b@1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("walk: %v, want %v", got, want)
	}
}

func testUploads(t *testing.T, s restkit.ArtefactStore) {
	ctx := context.Background()
	us, ok := s.(restkit.UploadStore)
	if !ok {
		t.Skip("not an UploadStore")
	}
	u := &restkit.PendingUpload{ID: "u1", Owner: "alice", Directory: "up/d", ArtefactID: "f", Length: 10, Parts: []string{},
		Hash: []byte{1, 2}, Metadata: "path dXAvZC9m", Created: t0, Expires: t0.Add(24 * time.Hour)}
	if err := us.CreateUpload(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := us.FindUpload(ctx, "u1")
	if err != nil || got.Owner != "alice" || got.Length != 10 || got.Offset != 0 || !got.Expires.Equal(u.Expires) || got.Metadata != u.Metadata {
		t.Fatalf("find: %+v %v", got, err)
	}
	if _, err := us.FindUpload(ctx, "nope"); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("unknown: %v", err)
	}
	got, err = us.AdvanceUpload(ctx, "u1", 0, "p0", 4, []byte{3}, t0.Add(25*time.Hour))
	if err != nil || got.Offset != 4 || !reflect.DeepEqual(got.Parts, []string{"p0"}) {
		t.Fatalf("advance: %+v %v", got, err)
	}
	if _, err := us.AdvanceUpload(ctx, "u1", 0, "p0b", 4, nil, t0); !restkit.IsKind(err, restkit.Conflict) {
		t.Fatalf("advance from a stale offset: %v", err)
	}
	got, _ = us.FindUpload(ctx, "u1")
	if got.Offset != 4 || !reflect.DeepEqual(got.Hash, []byte{3}) || !reflect.DeepEqual(got.Parts, []string{"p0"}) {
		t.Fatalf("after advancing: %+v", got)
	}
	a := &restkit.Artefact{Directory: "up/d", ID: "f", SHA256: digest('u'), Size: 10, Updated: t0}
	if _, _, err := us.CompleteUpload(ctx, "u1", 0, a, nil, 0); !restkit.IsKind(err, restkit.Conflict) {
		t.Fatalf("complete from a stale offset: %v", err)
	}
	stored, _, err := us.CompleteUpload(ctx, "u1", 4, a, nil, 0)
	if err != nil || stored.Version != 1 {
		t.Fatalf("complete: %+v %v", stored, err)
	}
	got, _ = us.FindUpload(ctx, "u1")
	if got.Version != 1 || got.Offset != 10 {
		t.Fatalf("completed: %+v", got)
	}
	if _, _, err := us.CompleteUpload(ctx, "u1", 10, a, nil, 0); !restkit.IsKind(err, restkit.Conflict) {
		t.Fatalf("complete twice: %v", err)
	}
	old, err := us.ExpiredUploads(ctx, t0.Add(30*time.Hour), 10)
	if err != nil || len(old) != 1 || old[0].ID != "u1" {
		t.Fatalf("expired: %+v %v", old, err)
	}
	if old, err := us.ExpiredUploads(ctx, t0, 10); err != nil || len(old) != 0 {
		t.Fatalf("not yet expired: %+v %v", old, err)
	}
	if err := us.DeleteUpload(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := us.FindUpload(ctx, "u1"); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("deleted: %v", err)
	}
}
