package memory_test

import (
	"context"
	"testing"

	"restkit"
	"restkit/memory"
	"restkit/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) restkit.Store { return memory.New() })
}

func TestMigrateRefusesSharedStoreNames(t *testing.T) {
	id := func() []*restkit.Field { return []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}} }
	for _, sc := range []*restkit.Schema{
		{APIs: []*restkit.API{
			{Resources: []*restkit.Resource{{Name: "v1_people", Key: "id", Fields: id()}}},
			{Base: "/v1", Resources: []*restkit.Resource{{Name: "people", Key: "id", Fields: id()}}},
		}},
		{APIs: []*restkit.API{
			{Nouns: []*restkit.Noun{{Name: "v1_led"}}},
			{Base: "/v1", Nouns: []*restkit.Noun{{Name: "led"}}},
		}},
	} {
		if err := sc.Prepare(); err != nil {
			t.Fatal(err)
		}
		if err := memory.New().Migrate(context.Background(), sc); !restkit.IsKind(err, restkit.Invalid) {
			t.Errorf("Migrate = %v, want Invalid", err)
		}
	}
}
