package storetest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

// testArtefactEvents: each version added, and each deletion, appends its events in
// its own transaction: created for an artefact's first version, updated for later
// ones and for a version deleted while others remain, deleted for each artefact a
// deletion empties — one per artefact for a directory.
func testArtefactEvents(t *testing.T, s restkit.ArtefactStore) {
	el, ok := s.(restkit.EventLog)
	if !ok {
		t.Skip("the store keeps no change log")
	}
	ctx := context.Background()
	_, start, err := el.EventBounds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	addVersion(t, s, "rel/app", "a.tgz", 'a', 10, at, 0)
	addVersion(t, s, "rel/app", "a.tgz", 'b', 20, at.Add(time.Minute), 0)
	addVersion(t, s, "rel/app", "a.tgz", 'c', 30, at.Add(2*time.Minute), 0)
	addVersion(t, s, "rel/lib", "b.tgz", 'd', 40, at, 0)
	if _, err := s.DeleteArtefacts(ctx, "rel/app", "a.tgz", 3); err != nil { // version 2 becomes the latest
		t.Fatal(err)
	}
	if _, err := s.DeleteArtefacts(ctx, "rel", "", 0); err != nil { // both artefacts go
		t.Fatal(err)
	}
	if _, err := s.DeleteArtefacts(ctx, "rel", "", 0); err == nil { // nothing to delete: no event
		t.Fatal("deleting an empty directory succeeded")
	}
	var got []string
	for _, e := range allEvents(t, el, start) {
		a, err := e.Artefact()
		if err != nil {
			t.Fatal(err)
		}
		if e.Source != restkit.ArtefactSource || e.Key != a.Path() || e.Rev != a.Version || a.SHA256 == "" || a.Created.IsZero() {
			t.Errorf("event %+v, artefact %+v", e, a)
		}
		got = append(got, e.Key+" "+string(e.Op)+" v"+strconv.FormatInt(a.Version, 10)+" "+a.SHA256[:1])
	}
	want := []string{
		"rel/app/a.tgz created v1 a", "rel/app/a.tgz updated v2 b", "rel/app/a.tgz updated v3 c", "rel/lib/b.tgz created v1 d",
		"rel/app/a.tgz updated v2 b", "rel/app/a.tgz deleted v2 b", "rel/lib/b.tgz deleted v1 d",
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("artefact events:\ngot  %s\nwant %s", strings.Join(got, "; "), strings.Join(want, "; "))
	}
}
