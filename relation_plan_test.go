package restkit_test

import (
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

// TestPlanDeleteLoops: a cascade that comes back to a record being planned is a
// Conflict before anything is written (every store would otherwise meet a dangling
// reference half-way, or, without foreign keys, delete the loop unchecked); cascade one
// way and set_null back clears the reference first, though its record goes too.
func TestPlanDeleteLoops(t *testing.T) {
	a := &restkit.Resource{Name: "as", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger},
		{Name: "b", Type: restkit.TypeRelation, To: "bs", Nullable: true, OnDelete: restkit.Cascade}}}
	b := &restkit.Resource{Name: "bs", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger},
		{Name: "a", Type: restkit.TypeRelation, To: "as", Nullable: true, OnDelete: restkit.SetNull}}}
	nodes := &restkit.Resource{Name: "nodes", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger},
		{Name: "parent", Type: restkit.TypeRelation, To: "nodes", Nullable: true, OnDelete: restkit.Cascade}}}
	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{a, b, nodes}}}}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	// Who refers to whom: as/1.b = bs/1, bs/1.a = as/1; nodes/1.parent = 2, nodes/2.parent = 1.
	refs := map[string][]any{"as.b=1": {int64(1)}, "bs.a=1": {int64(1)}, "nodes.parent=1": {int64(2)}, "nodes.parent=2": {int64(1)}}
	find := func(ref restkit.Reference, key any) ([]any, error) {
		return refs[ref.Resource.Name+"."+ref.Field.Name+"="+restkit.Format(key)], nil
	}
	if _, err := restkit.PlanDelete(nodes, int64(1), find); !restkit.IsKind(err, restkit.Conflict) || !strings.Contains(restkit.ErrorMessage(err), "cycle") {
		t.Fatalf("a parent loop: %v", err)
	}
	plan, err := restkit.PlanDelete(b, int64(1), find)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Clears) != 1 || plan.Clears[0].Resource != b || len(plan.Deletes) != 2 || plan.Deletes[0].Resource != a || plan.Deletes[1].Resource != b {
		t.Fatalf("cascade one way, set_null back: %+v", plan)
	}
}
