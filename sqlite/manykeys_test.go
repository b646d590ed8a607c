package sqlite

import (
	"fmt"
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

// TestManyKeysOverTheParameterLimit: a many relation holding more keys than SQLite
// takes parameters in one statement is checked like a short one — a 400 naming what
// is missing, not an SQL error — and with every target there, it is written.
func TestManyKeysOverTheParameterLimit(t *testing.T) {
	tags := &restkit.Resource{Name: "tags", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}
	posts := &restkit.Resource{Name: "posts", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger},
		{Name: "tags", Type: restkit.TypeRelation, To: "tags", Many: true}}}
	s := migrated(t, tags, posts)
	const n = 33000
	keys := make([]any, n)
	ids := make([]any, n)
	for i := range keys {
		keys[i] = int64(i + 1)
		ids[i] = int64(i + 1)
	}
	write := func() error {
		_, err := s.WriteRecord(ctx, posts, int64(1), func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: map[string]any{"id": int64(1), "tags": keys}}, nil
		})
		return err
	}
	if err := write(); !restkit.IsKind(err, restkit.Invalid) || len(restkit.ErrorFields(err)) != 1 || restkit.ErrorFields(err)[0].Field != "tags" ||
		!strings.Contains(restkit.ErrorFields(err)[0].Message, "refers to no tag with id 1") {
		t.Fatalf("no tags there: %v", err)
	}
	if _, err := s.WriteRecords(ctx, tags, ids, func(i int, _ *restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"id": ids[i]}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := write(); err != nil {
		t.Fatalf("every tag there: %v", err)
	}
	rec, err := s.FindRecord(ctx, posts, int64(1))
	if err != nil || len(rec.Values["tags"].([]any)) != n {
		t.Fatalf("read back: %v %v", err, fmt.Sprint(len(rec.Values["tags"].([]any))))
	}
}

// TestDeleteThroughACycle: records deleted together that refer to each other in a
// cycle (parent links made to loop) are a 409 saying so, not a 500, and nothing goes.
func TestDeleteThroughACycle(t *testing.T) {
	nodes := &restkit.Resource{Name: "nodes", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger},
		{Name: "parent", Type: restkit.TypeRelation, To: "nodes", Nullable: true, OnDelete: restkit.Cascade}}}
	s := migrated(t, nodes)
	put := func(id int64, parent any) {
		t.Helper()
		if _, err := s.WriteRecord(ctx, nodes, id, func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: map[string]any{"id": id, "parent": parent}}, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	put(1, nil)
	put(2, int64(1))
	put(1, int64(2)) // the loop
	_, err := s.WriteRecord(ctx, nodes, int64(1), func(*restkit.Record) (*restkit.Record, error) { return nil, nil })
	if !restkit.IsKind(err, restkit.Conflict) || !strings.Contains(restkit.ErrorMessage(err), "cycle") {
		t.Fatalf("delete through a cycle: %v", err)
	}
	for _, id := range []int64{1, 2} {
		if rec, err := s.FindRecord(ctx, nodes, id); err != nil || rec == nil {
			t.Fatalf("node %d after the refused delete: %v %v", id, rec, err)
		}
	}
}
