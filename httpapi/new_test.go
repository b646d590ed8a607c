package httpapi

import (
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/memory"
)

// TestNewChecksItsPreconditions: New refuses, with an Invalid error, a Schema that is
// not prepared, a missing Store and a Store not migrated for the Schema — each of
// which would otherwise fail later, on a request.
func TestNewChecksItsPreconditions(t *testing.T) {
	declare := func() *restkit.Schema {
		return &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{{
			Name: "cars", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}}}}}
	}
	unprepared := declare()
	prepared := declare()
	if err := prepared.Prepare(); err != nil {
		t.Fatal(err)
	}
	migrated := memory.New()
	if err := migrated.Migrate(t.Context(), prepared); err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]Options{
		"no schema":          {Store: migrated},
		"unprepared schema":  {Schema: unprepared, Store: migrated},
		"no store":           {Schema: prepared},
		"store not migrated": {Schema: prepared, Store: memory.New()},
	} {
		s, err := New(opts)
		if s != nil || !restkit.IsKind(err, restkit.Invalid) {
			t.Errorf("%s: New = %v, %v; want no server and an Invalid error", name, s, err)
		}
	}
	if _, err := New(Options{Schema: prepared, Store: migrated}); err != nil {
		t.Fatalf("New with its preconditions met: %v", err)
	}
}
