package sqlite

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/recordjson"
	"github.com/restkit/restkit/internal/sqlstore"
)

// TestJSONPageIsTheRecordPath: AppendJSONPage writes, for every kind of column and
// every shape of page (forward, backward, last, offset, counted, unlimited, sorted
// down, filtered, empty), the bytes that ListRecords' records give through
// View.Append, and the same edge records, More and Total.
func TestJSONPageIsTheRecordPath(t *testing.T) {
	owners := &restkit.Resource{Name: "owners", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}}
	things := &restkit.Resource{Name: "things", Key: "id", Timestamps: true, Fields: []*restkit.Field{
		{Name: "id", Type: restkit.TypeInteger},
		{Name: "s", Type: restkit.TypeString, Sortable: true},
		{Name: "sn", Type: restkit.TypeString, Nullable: true},
		{Name: "e", Type: restkit.TypeEnum, Values: []string{"red", "green", "bl\"ue"}},
		{Name: "n", Type: restkit.TypeInteger, Nullable: true, Sortable: true, Filterable: true},
		{Name: "f", Type: restkit.TypeNumber, Sortable: true},
		{Name: "b", Type: restkit.TypeBoolean, Nullable: true},
		{Name: "d", Type: restkit.TypeDatetime, Nullable: true, Sortable: true},
		{Name: "j", Type: restkit.TypeJSON, Nullable: true},
		{Name: "a", Type: restkit.TypeArray, Items: restkit.TypeDatetime},
		{Name: "owner", Type: restkit.TypeRelation, To: "owners", Nullable: true},
		{Name: "friends", Type: restkit.TypeRelation, To: "owners", Many: true},
	}}
	s := migrated(t, owners, things)
	ownerIDs := []any{int64(1), int64(2), int64(3)}
	if _, err := s.WriteRecords(ctx, owners, ownerIDs, func(i int, _ *restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"id": ownerIDs[i]}}, nil
	}); err != nil {
		t.Fatal(err)
	}

	r := rand.New(rand.NewPCG(7, 17))
	strs := []string{"", "plain", "quote \" and \\ back", "tab\tnew\nline\r\x01\x1f", "ünïcødé ✓ 😀", "line\u2028sep\u2029", "<script>&amp;"}
	floats := []float64{0, -1.5, 3.25, 1e21, 1.5e-7, 123456789.125, -2e-300, 0.1}
	stamps := []string{"2026-12-07T04:22:10.123456789Z", "2026-12-07T04:22:10Z", "0001-01-01T00:00:00.5Z", "9999-12-31T23:59:59.999999999Z",
		"2024-02-29T12:00:00.100Z", "1970-01-01T00:00:00.000000001Z"}
	jsons := []string{`{"a":[1,2.5,"x"],"b":null}`, `[]`, `"s\u2028"`, `12e3`, `{"nested":{"deep":[true,false]}}`}
	canon := func(name string, v any) any {
		c, verr := things.Field(name).Canonical(v)
		if verr != nil {
			t.Fatalf("%s %v: %s", name, v, verr.Message)
		}
		return c
	}
	const n = 60
	ids := make([]any, n)
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	if _, err := s.WriteRecords(ctx, things, ids, func(i int, _ *restkit.Record) (*restkit.Record, error) {
		v := map[string]any{"id": ids[i], "f": floats[r.IntN(len(floats))], "e": []string{"red", "green", "bl\"ue"}[r.IntN(3)]}
		if r.IntN(4) > 0 { // s is optional and not nullable: absent, then left out
			v["s"] = strs[r.IntN(len(strs))]
		}
		if r.IntN(3) > 0 {
			v["sn"] = strs[r.IntN(len(strs))]
		}
		if r.IntN(3) > 0 {
			v["n"] = int64(r.IntN(9) - 4) // duplicates, so the key breaks ties
		}
		if r.IntN(3) > 0 {
			v["b"] = r.IntN(2) == 0
		}
		if r.IntN(3) > 0 {
			v["d"] = canon("d", stamps[r.IntN(len(stamps))])
		}
		if r.IntN(3) > 0 {
			v["j"] = canon("j", json.RawMessage(jsons[r.IntN(len(jsons))]))
		}
		items := []any{}
		for range r.IntN(3) {
			items = append(items, stamps[r.IntN(len(stamps))])
		}
		v["a"] = canon("a", items)
		if r.IntN(2) > 0 {
			v["owner"] = ownerIDs[r.IntN(3)]
		}
		v["friends"] = canon("friends", []any{int64(2), int64(1)}[:r.IntN(3)])
		return &restkit.Record{Values: v}, nil
	}); err != nil {
		t.Fatal(err)
	}

	fields := things.Fields
	views := map[string]recordjson.View{
		"full":          recordjson.Full(fields, true),
		"no timestamps": recordjson.Full(fields, false),
		"some":          {Fields: []*restkit.Field{things.Field("d"), things.Field("s"), things.Field("id")}, Updated: true},
		"none":          {},
		"created only":  {Created: true},
	}
	// The records in each order, to take cursors from.
	all := func(sort []restkit.SortKey) []*restkit.Record {
		p, err := s.ListRecords(ctx, things, &restkit.Query{Sort: sort})
		if err != nil || len(p.Records) != n {
			t.Fatalf("all %v: %v", sort, err)
		}
		return p.Records
	}
	bound := func(rec *restkit.Record, sort []restkit.SortKey) []any {
		var b []any
		for _, k := range sort {
			b = append(b, rec.Values[k.Field])
		}
		return append(b, rec.Values["id"])
	}
	var queries []restkit.Query
	for _, sort := range [][]restkit.SortKey{nil, {{Field: "n", Desc: true}}, {{Field: "d"}}, {{Field: "s"}, {Field: "f", Desc: true}}} {
		recs := all(sort)
		for _, limit := range []int{0, 1, 2, 7, 100} {
			queries = append(queries, restkit.Query{Sort: sort, Limit: limit}, restkit.Query{Sort: sort, Limit: limit, Count: true},
				restkit.Query{Sort: sort, Limit: limit, Last: true}, restkit.Query{Sort: sort, Limit: limit, Offset: 5})
			for _, at := range []int{0, 1, 30, n - 2, n - 1} {
				b := bound(recs[at], sort)
				queries = append(queries, restkit.Query{Sort: sort, Limit: limit, After: b}, restkit.Query{Sort: sort, Limit: limit, Before: b, Count: true})
			}
		}
	}
	queries = append(queries,
		restkit.Query{Limit: 5, Filters: []restkit.Filter{{Field: "n", Op: restkit.OpGt, Value: int64(2)}}},
		restkit.Query{Limit: 5, Filters: []restkit.Filter{{Field: "n", Op: restkit.OpGt, Value: int64(100)}}, Count: true},
		restkit.Query{Limit: 3, Filters: []restkit.Filter{{Field: "n", Op: restkit.OpNull, Value: true}}, Last: true})

	pages := 0
	for _, q := range queries {
		for name, view := range views {
			what := fmt.Sprintf("%s %+v", name, q)
			qa, qb := q, q
			want, err := s.ListRecords(ctx, things, &qa)
			if err != nil {
				t.Fatalf("%s: ListRecords: %v", what, err)
			}
			var objs []string
			for _, rec := range want.Records {
				objs = append(objs, string(view.Append(nil, rec)))
			}
			got, page, ok, err := s.AppendJSONPage(ctx, things, &qb, view, []byte("prefix["))
			if err != nil || !ok {
				t.Fatalf("%s: AppendJSONPage: %v %v", what, ok, err)
			}
			if w := "prefix[" + strings.Join(objs, ","); string(got) != w {
				t.Fatalf("%s:\n got %s\nwant %s", what, got, w)
			}
			if page.N != len(want.Records) || page.More != want.More || page.Total != want.Total {
				t.Fatalf("%s: N %d More %v Total %d, want %d %v %d", what, page.N, page.More, page.Total, len(want.Records), want.More, want.Total)
			}
			if page.N == 0 {
				if page.First != nil || page.Last != nil {
					t.Fatalf("%s: edges of an empty page", what)
				}
				continue
			}
			pages++
			if !sameRecord(page.First, want.Records[0]) || !sameRecord(page.Last, want.Records[page.N-1]) {
				t.Fatalf("%s: edges %v %v, want %v %v", what, page.First, page.Last, want.Records[0], want.Records[page.N-1])
			}
		}
	}
	if pages < len(queries) { // most pages hold rows, so the edges were compared
		t.Fatalf("only %d pages with rows", pages)
	}

	// A view naming what is not a column: ok false, nothing appended.
	ghost := recordjson.View{Fields: []*restkit.Field{{Name: "ghost", Type: restkit.TypeString}}}
	if got, _, ok, err := s.AppendJSONPage(ctx, things, &restkit.Query{}, ghost, []byte("[")); ok || err != nil || string(got) != "[" {
		t.Fatalf("ghost field: %q %v %v", got, ok, err)
	}
	// A query the store refuses: the same Invalid error.
	_, _, _, err := s.AppendJSONPage(ctx, things, &restkit.Query{Sort: []restkit.SortKey{{Field: "nope"}}}, views["full"], nil)
	if !restkit.IsKind(err, restkit.Invalid) {
		t.Fatalf("unknown sort field: %v", err)
	}
}

func sameRecord(a, b *restkit.Record) bool {
	return a != nil && b != nil && reflect.DeepEqual(a.Values, b.Values) && a.Rev == b.Rev && a.Created.Equal(b.Created) && a.Updated.Equal(b.Updated)
}

// TestStoredTimeIsAppendValue: the stamps appendStoredTime copies come out as
// recordjson.AppendValue writes the time ParseTime reads, and the ones it does not
// copy (other widths, offsets, impossible dates) go through ParseTime itself.
func TestStoredTimeIsAppendValue(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	stamps := []string{"2026-02-29T00:00:00.000000000Z", "2026-02-31T00:00:00.000000000Z", "2026-04-31T10:00:00.000000000Z",
		"2024-02-29T23:59:59.000000000Z", "1900-02-29T00:00:00.000000000Z", "2000-02-29T00:00:00.000000000Z",
		"2026-12-07T04:22:10.120000000+01:00", "2026-12-07T04:22:10Z", "0000-01-01T00:00:00.000000000Z", "2026-13-01T00:00:00.000000000Z",
		"2026-12-07T24:00:00.000000000Z", "2026-12-07T04:22:1x.000000000Z"}
	for range 20000 {
		tm := time.Unix(r.Int64N(400_000_000_000)-62_135_596_800, 0).Add(time.Duration(r.Int64N(1e9)))
		if r.IntN(4) == 0 {
			tm = tm.Truncate(time.Second)
		}
		stamps = append(stamps, tm.UTC().Format(restkit.TimeLayout))
	}
	for _, s := range stamps {
		got, gerr := appendStoredTime(nil, s)
		tm, werr := sqlstore.ParseTime(s)
		if (gerr != nil) != (werr != nil) {
			t.Fatalf("%s: error %v, ParseTime's %v", s, gerr, werr)
		}
		if werr == nil {
			if want := recordjson.AppendValue(nil, tm); string(got) != string(want) {
				t.Fatalf("%s: %s, want %s", s, got, want)
			}
		}
	}
}
