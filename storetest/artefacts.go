package storetest

import (
	"context"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

// RunArtefacts runs the conformance suite of restkit.ArtefactStore against the stores
// open returns. open is called once per subtest and must return a new, empty store
// (its own tables or schema); when the store has a Close method, RunArtefacts closes
// it at the end of the subtest.
//
// What it pins down, beyond the words of restkit.ArtefactStore, so that stores agree:
//
//   - Versions count 1, 2, 3… per artefact and a number is never given twice, even
//     after the newest version, or the whole artefact, is deleted: a re-created
//     artefact continues the numbering, with a Created of its own.
//   - Deleting the newest version makes the one below it the latest.
//   - AddVersion runs its check against the latest version inside its transaction: a
//     refusal comes back unchanged and stores nothing; concurrent AddVersions of one
//     artefact get distinct, consecutive numbers.
//   - Retention (keep) drops the oldest versions; the digests it and DeleteArtefacts
//     return are exactly those no version references any more, in any directory.
//   - Listings sort by name as bytes ("c%" < "c_" < "ca"), by size or time with the
//     name breaking ties, in either direction; prefix takes % and _ literally; a
//     keyset cursor (sort value and id of the last artefact) walks every artefact
//     exactly once.
//   - Directories nest (org/app/1.0): subdirectories are listed by name with paging,
//     top-level directories sum their subtrees, deleting a directory deletes its
//     subtree and nothing beside it, and a path names an artefact or a directory,
//     never both (Conflict).
//   - Properties belong to one version, are found by every pair asked for, page by
//     (directory, id, version), and go with their version (pruned or deleted).
//   - Downloads are recorded per version; WalkVersions pages through every version.
//   - A resumable upload moves on only from its current offset (Conflict otherwise),
//     and completes once, adding its version in the same transaction.
func RunArtefacts(t *testing.T, open func(t *testing.T) restkit.ArtefactStore) {
	t.Run("Versions", func(t *testing.T) { testArtefactVersions(t, openArtefacts(t, open)) })
	t.Run("RetentionAndDedup", func(t *testing.T) { testArtefactRetention(t, openArtefacts(t, open)) })
	t.Run("Listing", func(t *testing.T) { testArtefactListing(t, openArtefacts(t, open)) })
	t.Run("ConcurrentVersions", func(t *testing.T) { testArtefactConcurrent(t, openArtefacts(t, open)) })
	t.Run("VersionNumbersAreNeverReused", func(t *testing.T) { testArtefactNumbers(t, openArtefacts(t, open)) })
	t.Run("NestedDirectories", func(t *testing.T) { testArtefactNested(t, openArtefacts(t, open)) })
	t.Run("Properties", func(t *testing.T) { testArtefactProperties(t, openArtefacts(t, open)) })
	t.Run("DownloadsAndWalk", func(t *testing.T) { testArtefactDownloadsAndWalk(t, openArtefacts(t, open)) })
	t.Run("Uploads", func(t *testing.T) { testUploads(t, openArtefacts(t, open)) })
	t.Run("Events", func(t *testing.T) { testArtefactEvents(t, openArtefacts(t, open)) })
}

// openArtefacts opens a store and closes it, when it can be closed, at cleanup.
func openArtefacts(t *testing.T, open func(t *testing.T) restkit.ArtefactStore) restkit.ArtefactStore {
	t.Helper()
	s := open(t)
	if c, ok := s.(io.Closer); ok {
		t.Cleanup(func() {
			if err := c.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	return s
}

// digest is a fake SHA-256: 64 times c.
func digest(c byte) string { return strings.Repeat(string(c), 64) }

func addVersion(t *testing.T, s restkit.ArtefactStore, dir, id string, d byte, size int64, at time.Time, keep int) (*restkit.Artefact, []string) {
	t.Helper()
	a, freed, err := s.AddVersion(context.Background(), &restkit.Artefact{Directory: dir, ID: id, SHA256: digest(d), Size: size, ContentType: "text/plain", Updated: at}, nil, keep)
	if err != nil {
		t.Fatalf("AddVersion %s/%s: %v", dir, id, err)
	}
	return a, freed
}

func testArtefactVersions(t *testing.T, s restkit.ArtefactStore) {
	ctx := context.Background()
	a1, _ := addVersion(t, s, "docs", "a.txt", 'a', 10, t0, 0)
	a2, _ := addVersion(t, s, "docs", "a.txt", 'b', 20, t0.Add(time.Second), 0)
	if a1.Version != 1 || a2.Version != 2 || !a2.Created.Equal(t0) || !a2.Updated.Equal(t0.Add(time.Second)) {
		t.Fatalf("versions: %+v %+v", a1, a2)
	}
	latest, err := s.FindArtefact(ctx, "docs", "a.txt", 0)
	if err != nil || latest.Version != 2 || latest.SHA256 != digest('b') {
		t.Fatalf("latest: %+v %v", latest, err)
	}
	if latest.Created.Location() != time.UTC || latest.Updated.Location() != time.UTC || !latest.Updated.Equal(t0.Add(time.Second)) {
		t.Errorf("latest times: created %v updated %v, want UTC with nanoseconds", latest.Created, latest.Updated)
	}
	v1, err := s.FindArtefact(ctx, "docs", "a.txt", 1)
	if err != nil || v1.SHA256 != digest('a') || v1.Size != 10 || v1.ContentType != "text/plain" {
		t.Fatalf("v1: %+v %v", v1, err)
	}
	if _, err := s.FindArtefact(ctx, "docs", "a.txt", 3); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("v3: %v", err)
	}
	if _, err := s.FindArtefact(ctx, "docs", "b.txt", 0); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("an absent artefact: %v", err)
	}
	if _, err := s.ListVersions(ctx, "docs", "b.txt"); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("versions of an absent artefact: %v", err)
	}
	// Deleting the newest version moves "latest" back, and numbers are not reused.
	freed, err := s.DeleteArtefacts(ctx, "docs", "a.txt", 2)
	if err != nil || !reflect.DeepEqual(freed, []string{digest('b')}) {
		t.Fatalf("delete v2: %v %v", freed, err)
	}
	if l, _ := s.FindArtefact(ctx, "docs", "a.txt", 0); l == nil || l.Version != 1 {
		t.Fatalf("latest after deleting v2: %+v", l)
	}
	if _, err := s.DeleteArtefacts(ctx, "docs", "a.txt", 2); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("delete v2 again: %v", err)
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
	// A check sees nil for an artefact that does not exist.
	var saw *restkit.Artefact
	called := false
	if _, _, err := s.AddVersion(ctx, &restkit.Artefact{Directory: "docs", ID: "new.txt", SHA256: digest('e')}, func(l *restkit.Artefact) error {
		saw, called = l, true
		return restkit.Errorf(restkit.PreconditionFailed, "no")
	}, 0); !restkit.IsKind(err, restkit.PreconditionFailed) || !called || saw != nil {
		t.Fatalf("check of a new artefact: %v (called %v with %+v)", err, called, saw)
	}
	if _, err := s.FindArtefact(ctx, "docs", "new.txt", 0); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("a refused new artefact was stored: %v", err)
	}
	// The refusals used no numbers.
	a4, _ := addVersion(t, s, "docs", "a.txt", 'f', 1, t0.Add(3*time.Second), 0)
	n1, _ := addVersion(t, s, "docs", "new.txt", 'f', 1, t0.Add(3*time.Second), 0)
	if a4.Version != 4 || n1.Version != 1 {
		t.Fatalf("after refused checks: a.txt v%d, new.txt v%d; want 4 and 1", a4.Version, n1.Version)
	}
}

func testArtefactRetention(t *testing.T, s restkit.ArtefactStore) {
	ctx := context.Background()
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
	if found, err := s.FindByDigest(ctx, digest('z')); err != nil || len(found) != 0 {
		t.Fatalf("by an unknown digest: %+v %v", found, err)
	}
	if ok, err := s.Referenced(ctx, digest('b')); ok || err != nil {
		t.Fatalf("b is no longer referenced: %v %v", ok, err)
	}
	if ok, err := s.Referenced(ctx, digest('c')); !ok || err != nil {
		t.Fatalf("c is referenced: %v %v", ok, err)
	}
	freed, err = s.DeleteArtefacts(ctx, "r", "", 0)
	if err != nil || len(freed) != 3 {
		t.Fatalf("delete directory: %v %v", freed, err)
	}
	if _, err := s.DeleteArtefacts(ctx, "r", "", 0); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("delete again: %v", err)
	}
	if dirs, err := s.ListDirectories(ctx); err != nil || len(dirs) != 0 {
		t.Fatalf("directories after deleting the only one: %+v %v", dirs, err)
	}
}

func testArtefactListing(t *testing.T, s restkit.ArtefactStore) {
	ctx := context.Background()
	for i, id := range []string{"b", "a", "c%", "c_", "d", "ca"} {
		addVersion(t, s, "dir", id, byte('a'+i), int64(10*(i%3)), t0.Add(time.Duration(i)*time.Second), 0)
	}
	addVersion(t, s, "other", "z", 'z', 5, t0, 0)
	ids := func(q restkit.ArtefactQuery) []string {
		t.Helper()
		var out []string
		for range 20 {
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
		t.Fatalf("%+v: more than 20 pages", q)
		return nil
	}
	for _, tt := range []struct {
		q    restkit.ArtefactQuery
		want []string
	}{
		{restkit.ArtefactQuery{}, []string{"a", "b", "c%", "c_", "ca", "d"}},
		{restkit.ArtefactQuery{Limit: 2}, []string{"a", "b", "c%", "c_", "ca", "d"}},
		{restkit.ArtefactQuery{Limit: 2, Sort: "-name"}, []string{"d", "ca", "c_", "c%", "b", "a"}},
		{restkit.ArtefactQuery{Limit: 4, Sort: "size"}, []string{"b", "c_", "a", "d", "c%", "ca"}},
		{restkit.ArtefactQuery{Limit: 1, Sort: "-size"}, []string{"ca", "c%", "d", "a", "c_", "b"}},
		{restkit.ArtefactQuery{Limit: 1, Sort: "-updated"}, []string{"ca", "d", "c_", "c%", "a", "b"}},
		{restkit.ArtefactQuery{Limit: 5, Sort: "updated"}, []string{"b", "a", "c%", "c_", "d", "ca"}},
		{restkit.ArtefactQuery{Prefix: "c%"}, []string{"c%"}},
		{restkit.ArtefactQuery{Prefix: "c", Limit: 1}, []string{"c%", "c_", "ca"}},
		{restkit.ArtefactQuery{Prefix: "x"}, nil},
	} {
		if got := ids(tt.q); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v: %v, want %v", tt.q, got, tt.want)
		}
	}
	if _, err := s.ListArtefacts(ctx, "dir", restkit.ArtefactQuery{Sort: "colour"}); !restkit.IsKind(err, restkit.Invalid) {
		t.Errorf("an unknown sort: %v, want Invalid", err)
	}
	dirs, err := s.ListDirectories(ctx)
	if err != nil || len(dirs) != 2 || dirs[0].Name != "dir" || dirs[0].Artefacts != 6 || dirs[0].Size != 60 || !dirs[0].Updated.Equal(t0.Add(5*time.Second)) || dirs[1].Name != "other" {
		t.Fatalf("directories: %+v %v", dirs, err)
	}
}

func testArtefactConcurrent(t *testing.T, s restkit.ArtefactStore) {
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if _, _, err := s.AddVersion(ctx, &restkit.Artefact{Directory: "c", ID: "x", SHA256: digest(byte('a' + i))}, nil, 0); err != nil {
				t.Error(err)
			}
		})
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

func testArtefactNumbers(t *testing.T, s restkit.ArtefactStore) {
	ctx := context.Background()
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
	// Deleting the only version deletes the artefact; the numbering still goes on.
	if _, err := s.DeleteArtefacts(ctx, "d", "x", 2); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindArtefact(ctx, "d", "x", 0); !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("after deleting its only version: %v", err)
	}
	if a, _ := addVersion(t, s, "d", "x", 'c', 1, t0.Add(2*time.Second), 0); a.Version != 3 {
		t.Fatalf("after deleting the only version: version %d, want 3", a.Version)
	}
}
