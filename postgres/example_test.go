package postgres_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/postgres"
)

// A node of a cluster: open the shared database, migrate (nodes starting together
// take turns under an advisory lock), write and page. Run it with
// RESTKIT_TEST_POSTGRES set; it works in a schema of its own, dropped at the end.
func Example() {
	ctx := context.Background()
	url, drop, err := postgres.NewTestSchema(ctx, os.Getenv("RESTKIT_TEST_POSTGRES"))
	if err != nil {
		log.Fatal(err)
	}
	defer drop(ctx)

	sc := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{{
		Name: "cars", Key: "id",
		Fields: []*restkit.Field{
			{Name: "id", Type: restkit.TypeInteger},
			{Name: "model", Type: restkit.TypeString, Required: true, Unique: true},
			{Name: "year", Type: restkit.TypeInteger, Sortable: true, Filterable: true},
		},
	}}}}}
	if err := sc.Prepare(); err != nil {
		log.Fatal(err)
	}
	cars := sc.APIs[0].Resources[0]

	s, err := postgres.Open(ctx, url, postgres.WithMaxConns(10), postgres.WithStatementTimeout(5*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx, sc); err != nil {
		log.Fatal(err)
	}

	// A POST: the Change sees the current record — locked, on every node — and
	// refuses to overwrite one.
	create := func(values map[string]any) restkit.Change {
		return func(cur *restkit.Record) (*restkit.Record, error) {
			if cur != nil {
				return nil, restkit.Errorf(restkit.Conflict, "car %v already exists", values["id"])
			}
			return &restkit.Record{Values: values, Updated: time.Now()}, nil
		}
	}
	for i, model := range []string{"T", "Beetle", "2CV"} {
		id := int64(i + 1)
		if _, err := s.WriteRecord(ctx, cars, id, create(map[string]any{"id": id, "model": model, "year": int64(1908 + 30*i)})); err != nil {
			log.Fatal(err)
		}
	}
	_, err = s.WriteRecord(ctx, cars, int64(4), create(map[string]any{"id": int64(4), "model": "T"}))
	fmt.Println(restkit.ErrorKind(err), restkit.ErrorFields(err))

	page, err := s.ListRecords(ctx, cars, &restkit.Query{
		Filters: []restkit.Filter{{Field: "year", Op: restkit.OpGte, Value: int64(1930)}},
		Sort:    []restkit.SortKey{{Field: "year", Desc: true}, {Field: "id"}},
		Limit:   1,
		Count:   true,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(page.Records[0].Values["model"], page.More, page.Total)
}
