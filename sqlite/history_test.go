package sqlite

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

// TestHistoryPersists: the history table survives a reopen; turning History off
// leaves it alone, and turning it on again finds it.
func TestHistoryPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "restkit.db")
	withHistory := func(on bool) *restkit.Schema {
		return cars(t, func(r *restkit.Resource) { r.History = on })
	}
	s := mustOpen(t, path)
	sc := withHistory(true)
	if err := s.Migrate(ctx, sc); err != nil {
		t.Fatal(err)
	}
	res := sc.APIs[0].Resources[0]
	for _, color := range []string{"red", "blue"} {
		if _, err := s.WriteRecord(ctx, res, int64(1), func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: map[string]any{"id": int64(1), "model": "Golf", "color": color}, Updated: t0}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	s = mustOpen(t, path)
	defer s.Close()
	sc = withHistory(false)
	if err := s.Migrate(ctx, sc); err != nil {
		t.Fatalf("Migrate with history off: %v", err)
	}
	res = sc.APIs[0].Resources[0]
	if _, _, err := s.ListRevisions(ctx, res, int64(1), 0, 0); restkit.ErrorKind(err) != restkit.NotFound {
		t.Errorf("ListRevisions with history off: %v, want NotFound", err)
	}
	var n int
	if err := s.r.QueryRow(`SELECT COUNT(*) FROM "cars__history"`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("history table with history off: %d rows, %v; want 2 kept", n, err)
	}
	sc = withHistory(true)
	if err := s.Migrate(ctx, sc); err != nil {
		t.Fatalf("Migrate with history on again: %v", err)
	}
	res = sc.APIs[0].Resources[0]
	revs, _, err := s.ListRevisions(ctx, res, int64(1), 0, 0)
	if err != nil || len(revs) != 2 || revs[0].Rev != 2 || revs[0].Values["color"] != "blue" || revs[1].Values["color"] != "red" {
		t.Fatalf("revisions after a reopen: %v %+v", err, revs)
	}
}

// TestHistoryTableClash: a resource named like another's history table is refused.
func TestHistoryTableClash(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{
		{Name: "cars", Key: "id", History: true, Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}},
		{Name: "cars__history", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}},
	}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	err := s.Migrate(ctx, sc)
	if restkit.ErrorKind(err) != restkit.Invalid || !strings.Contains(restkit.ErrorMessage(err), "is the history table of resource cars") {
		t.Fatalf("Migrate = %v, want Invalid naming the clash", err)
	}
}
