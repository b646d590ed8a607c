package sqlite

import (
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/recordjson"
)

// TestJSONPageFailsWhereTheRecordPathFails: a stored value that does not decode (a
// datetime column holding text that is no stamp, written behind the store's back) makes
// ListRecords fail for every page that holds its row, whatever the view. AppendJSONPage
// must fail for the same pages, or the HTTP answer (500 or 200) of one list request
// depends on the path it took and, through AppendJSONPage, on whether the bad row is
// at an edge of its page (the edges are decoded whole for the cursors).
func TestJSONPageFailsWhereTheRecordPathFails(t *testing.T) {
	things := &restkit.Resource{Name: "things", Key: "id", Fields: []*restkit.Field{
		{Name: "id", Type: restkit.TypeInteger},
		{Name: "d", Type: restkit.TypeDatetime, Nullable: true},
	}}
	s := migrated(t, things)
	ids := []any{int64(1), int64(2), int64(3)}
	if _, err := s.WriteRecords(ctx, things, ids, func(i int, _ *restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"id": ids[i]}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE "things" SET "d" = 'garbage' WHERE "id" = 2`); err != nil {
		t.Fatal(err)
	}
	onlyID := recordjson.View{Fields: []*restkit.Field{things.Field("id")}}
	for _, q := range []restkit.Query{{}, {Limit: 3}, {Limit: 1, After: []any{int64(1)}}} {
		qa, qb := q, q
		_, lerr := s.ListRecords(ctx, things, &qa)
		got, _, ok, jerr := s.AppendJSONPage(ctx, things, &qb, onlyID, nil)
		if !ok {
			t.Fatalf("%+v: AppendJSONPage cannot write the view", q)
		}
		if (lerr != nil) != (jerr != nil) {
			t.Errorf("%+v: ListRecords error %v, AppendJSONPage error %v (wrote %s)", q, lerr, jerr, got)
		}
	}
}
