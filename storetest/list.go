package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

// loadList stores the suite's list data set: twelve things whose fields repeat
// values and leave some unset, so that sorts have ties and nulls to order.
//
//	id name  note  count score flag  at       color
//	 1 a     -     5     1.5   true  t0+1h    red
//	 2 b     x     -     2.5   false t0       green
//	 3 c     y     5     -1    true  -        blue
//	 4 d     -     2     0     false t0+2h    red
//	 5 e     x     -     1.5   true  t0+1h    -
//	 6 f     z     9     3     -     t0-1h    green
//	 7 g     x     2     -     false t0       blue
//	 8 h     -     -3    2.5   true  t0+3h    red
//	 9 i%    x_    5     1.5   false t0+1h    green
//	10 i_x   xy    0     0     true  -        red
//	11 j     X     -     -     -     -        -
//	12 ia    ""    7     4     false t0+1ns   blue
func (f *fixture) loadList(t testing.TB, res *restkit.Resource) {
	t.Helper()
	h := time.Hour
	rows := map[int]map[string]any{
		1:  {"name": "a", "count": 5, "score": 1.5, "flag": true, "at": t0.Add(h), "color": "red"},
		2:  {"name": "b", "note": "x", "score": 2.5, "flag": false, "at": t0, "color": "green"},
		3:  {"name": "c", "note": "y", "count": 5, "score": -1.0, "flag": true, "color": "blue"},
		4:  {"name": "d", "count": 2, "score": 0.0, "flag": false, "at": t0.Add(2 * h), "color": "red"},
		5:  {"name": "e", "note": "x", "score": 1.5, "flag": true, "at": t0.Add(h)},
		6:  {"name": "f", "note": "z", "count": 9, "score": 3.0, "at": t0.Add(-h), "color": "green"},
		7:  {"name": "g", "note": "x", "count": 2, "flag": false, "at": t0, "color": "blue"},
		8:  {"name": "h", "count": -3, "score": 2.5, "flag": true, "at": t0.Add(3 * h), "color": "red"},
		9:  {"name": "i%", "note": "x_", "count": 5, "score": 1.5, "flag": false, "at": t0.Add(h), "color": "green"},
		10: {"name": "i_x", "note": "xy", "count": 0, "score": 0.0, "flag": true, "color": "red"},
		11: {"name": "j", "note": "X"},
		12: {"name": "ia", "note": "", "count": 7, "score": 4.0, "flag": false, "at": t0.Add(time.Nanosecond), "color": "blue"},
	}
	// Not in key order, so no store can get away with insertion order.
	for _, id := range []int{7, 3, 12, 1, 10, 5, 9, 2, 11, 8, 4, 6} {
		v := map[string]any{"id": int64(id)}
		for name, x := range rows[id] {
			c, err := res.Field(name).Canonical(x)
			if err != nil {
				t.Fatalf("data set: %s: %s", name, err.Message)
			}
			v[name] = c
		}
		f.create(t, res, v, t0)
	}
}

func testPageShape(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	f.loadList(t, f.things)
	byID := []restkit.SortKey{{Field: "id"}}
	byCount := []restkit.SortKey{{Field: "count"}, {Field: "id"}}
	for _, c := range []struct {
		name  string
		q     restkit.Query
		want  []any
		more  bool
		total int64
	}{
		{"first page", restkit.Query{Sort: byID, Limit: 5}, ints(1, 2, 3, 4, 5), true, -1},
		{"first page counted", restkit.Query{Sort: byID, Limit: 5, Count: true}, ints(1, 2, 3, 4, 5), true, 12},
		{"exact fit", restkit.Query{Sort: byID, Limit: 12}, ints(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), false, -1},
		{"one short", restkit.Query{Sort: byID, Limit: 11}, ints(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), true, -1},
		{"no limit", restkit.Query{Sort: byID}, ints(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), false, -1},
		{"no sort", restkit.Query{Limit: 3}, ints(1, 2, 3), true, -1},
		{"after 5", restkit.Query{Sort: byID, Limit: 5, After: ints(5)}, ints(6, 7, 8, 9, 10), true, -1},
		{"after 10", restkit.Query{Sort: byID, Limit: 5, After: ints(10)}, ints(11, 12), false, -1},
		{"after 10 counted", restkit.Query{Sort: byID, Limit: 5, After: ints(10), Count: true}, ints(11, 12), false, 12},
		{"after the end", restkit.Query{Sort: byID, Limit: 5, After: ints(12)}, ints(), false, -1},
		{"after before the start", restkit.Query{Sort: byID, Limit: 2, After: ints(0)}, ints(1, 2), true, -1},
		{"before 6", restkit.Query{Sort: byID, Limit: 3, Before: ints(6)}, ints(3, 4, 5), true, -1},
		{"before 3", restkit.Query{Sort: byID, Limit: 3, Before: ints(3)}, ints(1, 2), false, -1},
		{"before the start", restkit.Query{Sort: byID, Limit: 3, Before: ints(1)}, ints(), false, -1},
		{"before past the end", restkit.Query{Sort: byID, Limit: 3, Before: ints(99)}, ints(10, 11, 12), true, -1},
		{"last", restkit.Query{Sort: byID, Limit: 5, Last: true}, ints(8, 9, 10, 11, 12), true, -1},
		{"last all", restkit.Query{Sort: byID, Limit: 12, Last: true}, ints(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), false, -1},
		{"last more than all", restkit.Query{Sort: byID, Limit: 20, Last: true, Count: true}, ints(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), false, 12},
		{"offset 5", restkit.Query{Sort: byID, Limit: 5, Offset: 5}, ints(6, 7, 8, 9, 10), true, -1},
		{"offset 10", restkit.Query{Sort: byID, Limit: 5, Offset: 10}, ints(11, 12), false, -1},
		{"offset 12", restkit.Query{Sort: byID, Limit: 5, Offset: 12, Count: true}, ints(), false, 12},
		{"offset 20", restkit.Query{Sort: byID, Limit: 5, Offset: 20}, ints(), false, -1},
		{"sort completed with the key", restkit.Query{Sort: []restkit.SortKey{{Field: "count"}}, Limit: 100},
			ints(2, 5, 11, 8, 10, 4, 7, 1, 3, 9, 12, 6), false, -1},
		{"after a null", restkit.Query{Sort: byCount, Limit: 3, After: []any{nil, int64(5)}}, ints(11, 8, 10), true, -1},
		{"after the last null", restkit.Query{Sort: byCount, Limit: 3, After: []any{nil, int64(11)}}, ints(8, 10, 4), true, -1},
		{"before the first non-null", restkit.Query{Sort: byCount, Limit: 2, Before: []any{int64(-3), int64(8)}}, ints(5, 11), true, -1},
		{"before a null", restkit.Query{Sort: byCount, Limit: 5, Before: []any{nil, int64(5)}}, ints(2), false, -1},
		{"filtered and counted", restkit.Query{Sort: []restkit.SortKey{{Field: "count", Desc: true}, {Field: "id"}}, Limit: 3, Count: true,
			Filters: []restkit.Filter{{Field: "color", Op: restkit.OpEq, Value: "red"}}}, ints(1, 4, 10), true, 4},
	} {
		p := f.list(t, f.things, c.q)
		sameKeys(t, c.name, keysOf(f.things, p), c.want)
		if p.More != c.more || p.Total != c.total {
			t.Errorf("%s: More, Total = %v, %d; want %v, %d", c.name, p.More, p.Total, c.more, c.total)
		}
	}
}

// sorts are the orders testSort checks, with the data set's keys in each order,
// worked out by hand from the table in loadList.
var sorts = []struct {
	name string
	sort []restkit.SortKey
	want []any
}{
	{"id", []restkit.SortKey{{Field: "id"}}, ints(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)},
	{"-id", []restkit.SortKey{{Field: "id", Desc: true}}, ints(12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)},
	{"count,id", []restkit.SortKey{{Field: "count"}, {Field: "id"}}, ints(2, 5, 11, 8, 10, 4, 7, 1, 3, 9, 12, 6)},
	{"-count,id", []restkit.SortKey{{Field: "count", Desc: true}, {Field: "id"}}, ints(6, 12, 1, 3, 9, 4, 7, 10, 8, 2, 5, 11)},
	{"-count,-id", []restkit.SortKey{{Field: "count", Desc: true}, {Field: "id", Desc: true}}, ints(6, 12, 9, 3, 1, 7, 4, 10, 8, 11, 5, 2)},
	{"note,-count,id", []restkit.SortKey{{Field: "note"}, {Field: "count", Desc: true}, {Field: "id"}}, ints(1, 4, 8, 12, 11, 7, 2, 5, 9, 10, 3, 6)},
	{"-at,id", []restkit.SortKey{{Field: "at", Desc: true}, {Field: "id"}}, ints(8, 4, 1, 5, 9, 12, 2, 7, 6, 3, 10, 11)},
	{"flag,-score,id", []restkit.SortKey{{Field: "flag"}, {Field: "score", Desc: true}, {Field: "id"}}, ints(6, 11, 12, 2, 9, 4, 7, 8, 1, 5, 10, 3)},
	{"color,id", []restkit.SortKey{{Field: "color"}, {Field: "id"}}, ints(5, 11, 3, 7, 12, 2, 6, 9, 1, 4, 8, 10)},
	{"-name,id", []restkit.SortKey{{Field: "name", Desc: true}, {Field: "id"}}, ints(11, 12, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1)},
	{"score,-at,-id", []restkit.SortKey{{Field: "score"}, {Field: "at", Desc: true}, {Field: "id", Desc: true}}, ints(7, 11, 3, 4, 10, 9, 5, 1, 8, 2, 6, 12)},
}

func testSort(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	f.loadList(t, f.things)
	for _, c := range sorts {
		p := f.list(t, f.things, restkit.Query{Sort: c.sort, Limit: 100})
		sameKeys(t, "sort "+c.name, keysOf(f.things, p), c.want)
		for _, limit := range []int{1, 2, 3, 5, 11, 12, 13} {
			f.walk(t, f.things, "sort "+c.name, restkit.Query{Sort: c.sort, Limit: limit}, c.want)
		}
	}
	// A filtered order, walked too: red and blue things by count descending.
	q := restkit.Query{
		Sort:    []restkit.SortKey{{Field: "count", Desc: true}, {Field: "id"}},
		Filters: []restkit.Filter{{Field: "color", Op: restkit.OpIn, Values: []any{"red", "blue"}}},
	}
	for _, limit := range []int{1, 2, 3, 7, 8} {
		q.Limit = limit
		f.walk(t, f.things, "red and blue by -count", q, ints(12, 1, 3, 4, 7, 10, 8))
	}
}

// walk pages through q three ways — forward with After, backward from Last with
// Before, and by Offset — and fails unless each gives exactly want.
func (f *fixture) walk(t testing.TB, res *restkit.Resource, what string, q restkit.Query, want []any) {
	t.Helper()
	what = fmt.Sprintf("%s, pages of %d", what, q.Limit)
	sort := q.Sort
	if len(sort) == 0 || sort[len(sort)-1].Field != res.Key {
		t.Fatalf("%s: walk needs a sort ending with the key", what)
	}
	maxPages := len(want)/q.Limit + 2

	var got []any
	fwd := q
	for i := 0; ; i++ {
		p := f.list(t, res, fwd)
		got = append(got, keysOf(res, p)...)
		if p.More && len(p.Records) != q.Limit || !p.More && len(p.Records) > q.Limit {
			t.Errorf("%s: forward page %d has %d records, More %v", what, i, len(p.Records), p.More)
		}
		if !p.More || len(p.Records) == 0 || i > maxPages {
			break
		}
		fwd.After = sortValues(p.Records[len(p.Records)-1], sort)
	}
	sameKeys(t, what+", forward by cursor", got, want)

	got = nil
	back := q
	back.Last = true
	for i := 0; ; i++ {
		p := f.list(t, res, back)
		got = append(keysOf(res, p), got...)
		if p.More && len(p.Records) != q.Limit || !p.More && len(p.Records) > q.Limit {
			t.Errorf("%s: backward page %d has %d records, More %v", what, i, len(p.Records), p.More)
		}
		if !p.More || len(p.Records) == 0 || i > maxPages {
			break
		}
		back.Last = false
		back.Before = sortValues(p.Records[0], sort)
	}
	sameKeys(t, what+", backward by cursor", got, want)

	got = nil
	off := q
	for i := 0; ; i++ {
		p := f.list(t, res, off)
		got = append(got, keysOf(res, p)...)
		if !p.More || i > maxPages {
			break
		}
		off.Offset += q.Limit
	}
	sameKeys(t, what+", by offset", got, want)
}

func testFilter(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	f.loadList(t, f.things)
	h := time.Hour
	ist := time.FixedZone("IST", 5*3600+1800)
	flt := func(field string, op restkit.Op, v any) restkit.Filter {
		return restkit.Filter{Field: field, Op: op, Value: v}
	}
	in := func(field string, vs ...any) restkit.Filter {
		return restkit.Filter{Field: field, Op: restkit.OpIn, Values: vs}
	}
	for _, c := range []struct {
		filters []restkit.Filter
		want    []any
	}{
		// integer
		{[]restkit.Filter{flt("count", restkit.OpEq, int64(5))}, ints(1, 3, 9)},
		{[]restkit.Filter{flt("count", restkit.OpNe, int64(5))}, ints(2, 4, 5, 6, 7, 8, 10, 11, 12)},
		{[]restkit.Filter{flt("count", restkit.OpLt, int64(2))}, ints(8, 10)},
		{[]restkit.Filter{flt("count", restkit.OpLte, int64(2))}, ints(4, 7, 8, 10)},
		{[]restkit.Filter{flt("count", restkit.OpGt, int64(5))}, ints(6, 12)},
		{[]restkit.Filter{flt("count", restkit.OpGte, int64(5))}, ints(1, 3, 6, 9, 12)},
		{[]restkit.Filter{in("count", int64(2), int64(9), int64(100))}, ints(4, 6, 7)},
		{[]restkit.Filter{in("count")}, ints()},
		{[]restkit.Filter{flt("count", restkit.OpNull, true)}, ints(2, 5, 11)},
		{[]restkit.Filter{flt("count", restkit.OpNull, false)}, ints(1, 3, 4, 6, 7, 8, 9, 10, 12)},
		{[]restkit.Filter{flt("id", restkit.OpGt, int64(10))}, ints(11, 12)},
		{[]restkit.Filter{flt("id", restkit.OpLte, int64(2))}, ints(1, 2)},
		{[]restkit.Filter{in("id", int64(3), int64(99), int64(7))}, ints(3, 7)},
		// number
		{[]restkit.Filter{flt("score", restkit.OpGt, 1.5)}, ints(2, 6, 8, 12)},
		{[]restkit.Filter{flt("score", restkit.OpLte, 0.0)}, ints(3, 4, 10)},
		{[]restkit.Filter{flt("score", restkit.OpEq, 1.5)}, ints(1, 5, 9)},
		// string
		{[]restkit.Filter{flt("note", restkit.OpEq, "x")}, ints(2, 5, 7)},
		{[]restkit.Filter{flt("note", restkit.OpNe, "x")}, ints(1, 3, 4, 6, 8, 9, 10, 11, 12)},
		{[]restkit.Filter{flt("note", restkit.OpLt, "x")}, ints(11, 12)},
		{[]restkit.Filter{flt("note", restkit.OpGt, "x")}, ints(3, 6, 9, 10)},
		{[]restkit.Filter{flt("note", restkit.OpGte, "y")}, ints(3, 6)},
		{[]restkit.Filter{in("note", "y", "z", "nope")}, ints(3, 6)},
		{[]restkit.Filter{flt("note", restkit.OpNull, true)}, ints(1, 4, 8)},
		{[]restkit.Filter{flt("note", restkit.OpPrefix, "x")}, ints(2, 5, 7, 9, 10)},
		{[]restkit.Filter{flt("note", restkit.OpPrefix, "x_")}, ints(9)},
		{[]restkit.Filter{flt("note", restkit.OpPrefix, "")}, ints(2, 3, 5, 6, 7, 9, 10, 11, 12)},
		{[]restkit.Filter{flt("name", restkit.OpPrefix, "i%")}, ints(9)},
		{[]restkit.Filter{flt("name", restkit.OpPrefix, "i_")}, ints(10)},
		{[]restkit.Filter{flt("name", restkit.OpPrefix, "i")}, ints(9, 10, 12)},
		{[]restkit.Filter{flt("name", restkit.OpPrefix, "%")}, ints()},
		{[]restkit.Filter{flt("name", restkit.OpPrefix, "_")}, ints()},
		{[]restkit.Filter{flt("name", restkit.OpGte, "i")}, ints(9, 10, 11, 12)},
		// enum
		{[]restkit.Filter{in("color", "red", "blue")}, ints(1, 3, 4, 7, 8, 10, 12)},
		{[]restkit.Filter{flt("color", restkit.OpNe, "red")}, ints(2, 3, 5, 6, 7, 9, 11, 12)},
		{[]restkit.Filter{flt("color", restkit.OpEq, "purple")}, ints()},
		// datetime
		{[]restkit.Filter{flt("at", restkit.OpEq, t0.Add(h))}, ints(1, 5, 9)},
		{[]restkit.Filter{flt("at", restkit.OpEq, t0.Add(h).In(ist))}, ints(1, 5, 9)},
		{[]restkit.Filter{flt("at", restkit.OpGt, t0)}, ints(1, 4, 5, 8, 9, 12)},
		{[]restkit.Filter{flt("at", restkit.OpLt, t0.Add(time.Nanosecond))}, ints(2, 6, 7)},
		{[]restkit.Filter{flt("at", restkit.OpGte, t0)}, ints(1, 2, 4, 5, 7, 8, 9, 12)},
		{[]restkit.Filter{flt("at", restkit.OpLte, t0)}, ints(2, 6, 7)},
		{[]restkit.Filter{flt("at", restkit.OpNe, t0)}, ints(1, 3, 4, 5, 6, 8, 9, 10, 11, 12)},
		{[]restkit.Filter{flt("at", restkit.OpNull, true)}, ints(3, 10, 11)},
		{[]restkit.Filter{in("at", t0, t0.Add(3*h))}, ints(2, 7, 8)},
		// boolean
		{[]restkit.Filter{flt("flag", restkit.OpEq, true)}, ints(1, 3, 5, 8, 10)},
		{[]restkit.Filter{flt("flag", restkit.OpEq, false)}, ints(2, 4, 7, 9, 12)},
		{[]restkit.Filter{flt("flag", restkit.OpNe, true)}, ints(2, 4, 6, 7, 9, 11, 12)},
		{[]restkit.Filter{flt("flag", restkit.OpNull, true)}, ints(6, 11)},
		{[]restkit.Filter{flt("flag", restkit.OpLt, true)}, ints(2, 4, 7, 9, 12)},
		{[]restkit.Filter{flt("flag", restkit.OpGt, false)}, ints(1, 3, 5, 8, 10)},
		{[]restkit.Filter{in("flag", true)}, ints(1, 3, 5, 8, 10)},
		// several at once: AND
		{[]restkit.Filter{flt("count", restkit.OpGte, int64(2)), flt("flag", restkit.OpEq, true)}, ints(1, 3)},
		{[]restkit.Filter{flt("note", restkit.OpPrefix, "x"), flt("count", restkit.OpNull, true)}, ints(2, 5)},
		{[]restkit.Filter{flt("note", restkit.OpPrefix, "x"), flt("count", restkit.OpNull, true), flt("at", restkit.OpGt, t0)}, ints(5)},
		{[]restkit.Filter{flt("count", restkit.OpNe, int64(5)), flt("count", restkit.OpNe, int64(2))}, ints(2, 5, 6, 8, 10, 11, 12)},
		{[]restkit.Filter{flt("count", restkit.OpGt, int64(5)), flt("count", restkit.OpLt, int64(5))}, ints()},
	} {
		var desc []string
		for _, x := range c.filters {
			desc = append(desc, fmt.Sprintf("%s[%s]=%v%v", x.Field, x.Op, x.Value, x.Values))
		}
		what := strings.Join(desc, "&")
		p := f.list(t, f.things, restkit.Query{Filters: c.filters, Sort: []restkit.SortKey{{Field: "id"}}, Limit: 100, Count: true})
		sameKeys(t, what, keysOf(f.things, p), c.want)
		if p.Total != int64(len(c.want)) || p.More {
			t.Errorf("%s: Total, More = %d, %v; want %d, false", what, p.Total, p.More, len(c.want))
		}
	}

	// prefix compares bytes of UTF-8, including a prefix that ends inside a character's
	// encoding range (ü is C3 BC; ý, C3 BD, must not match "ü").
	for _, w := range []string{"über", "überall", "übel", "ü", "u", "v", "ý", "ü\U0010FFFF"} {
		f.create(t, f.words, map[string]any{"word": w, "text": w}, t0)
	}
	for _, c := range []struct {
		prefix string
		want   []any
	}{
		{"üb", []any{"übel", "über", "überall"}},
		{"ü", []any{"ü", "übel", "über", "überall", "ü\U0010FFFF"}},
		{"ü\U0010FFFF", []any{"ü\U0010FFFF"}},
		{"u", []any{"u"}},
	} {
		p := f.list(t, f.words, restkit.Query{Filters: []restkit.Filter{{Field: "text", Op: restkit.OpPrefix, Value: c.prefix}}, Limit: 100})
		sameKeys(t, "text prefix "+c.prefix, keysOf(f.words, p), c.want)
	}
}

func testQueryErrors(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	f.loadList(t, f.things)
	byCount := []restkit.SortKey{{Field: "count"}, {Field: "id"}}
	for _, c := range []struct {
		name string
		q    restkit.Query
	}{
		{"unknown filter field", restkit.Query{Filters: []restkit.Filter{{Field: "colour", Op: restkit.OpEq, Value: "red"}}}},
		{"unknown operator", restkit.Query{Filters: []restkit.Filter{{Field: "color", Op: "like", Value: "red"}}}},
		{"prefix on an integer", restkit.Query{Filters: []restkit.Filter{{Field: "count", Op: restkit.OpPrefix, Value: "1"}}}},
		{"prefix of a number", restkit.Query{Filters: []restkit.Filter{{Field: "note", Op: restkit.OpPrefix, Value: int64(1)}}}},
		{"string for an integer", restkit.Query{Filters: []restkit.Filter{{Field: "count", Op: restkit.OpEq, Value: "five"}}}},
		{"string in an in list", restkit.Query{Filters: []restkit.Filter{{Field: "count", Op: restkit.OpIn, Values: []any{int64(1), "two"}}}}},
		{"null without a boolean", restkit.Query{Filters: []restkit.Filter{{Field: "count", Op: restkit.OpNull, Value: "yes"}}}},
		{"unknown sort field", restkit.Query{Sort: []restkit.SortKey{{Field: "colour"}, {Field: "id"}}}},
		{"after and before", restkit.Query{Sort: byCount, After: []any{nil, int64(1)}, Before: []any{nil, int64(3)}}},
		{"short cursor", restkit.Query{Sort: byCount, After: ints(5)}},
		{"cursor of the wrong type", restkit.Query{Sort: byCount, After: []any{"five", int64(1)}}},
		{"offset and cursor", restkit.Query{Sort: byCount, Offset: 2, After: []any{nil, int64(1)}}},
		{"negative offset", restkit.Query{Sort: byCount, Offset: -1}},
	} {
		q := c.q
		q.Limit = 5
		p, err := f.s.ListRecords(f.ctx, f.things, &q)
		if p != nil {
			t.Errorf("%s: got a page of %d", c.name, len(p.Records))
		}
		wantKind(t, c.name, err, restkit.Invalid)
	}
}

// testPagingUnderInserts walks a sorted list by cursor while another goroutine
// inserts rows between the ones being walked: every row present from the start must
// appear exactly once, in strictly increasing order.
func testPagingUnderInserts(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := setup(t, open)
	thing := func(id int) map[string]any {
		return map[string]any{"id": int64(id), "name": fmt.Sprintf("n%03d", id), "count": int64(id % 13)}
	}
	for id := 2; id <= 400; id += 2 {
		f.create(t, f.things, thing(id), t0)
	}
	// Rows that a second writer deletes while the pages are walked.
	for id := 401; id <= 600; id++ {
		f.create(t, f.things, thing(id), t0)
	}
	sort := []restkit.SortKey{{Field: "count"}, {Field: "id"}}
	started := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-started
		for id := 401; id <= 600; id++ {
			if _, err := f.s.WriteRecord(f.ctx, f.things, int64(id), func(*restkit.Record) (*restkit.Record, error) { return nil, nil }); err != nil {
				t.Errorf("delete %d: %v", id, err)
				return
			}
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for id := 1; id < 400; id += 2 {
			if _, err := f.s.WriteRecord(f.ctx, f.things, int64(id), createOnly(thing(id), t0)); err != nil {
				t.Errorf("insert %d: %v", id, err)
				return
			}
			if id == 21 {
				close(started)
			}
		}
	}()
	<-started
	seen := map[int64]int{}
	var prev *restkit.Record
	q := restkit.Query{Sort: sort, Limit: 7}
	for pages := 0; pages < 200; pages++ {
		p := f.list(t, f.things, q)
		for _, rec := range p.Records {
			seen[rec.Values["id"].(int64)]++
			if prev != nil && compareSort(prev, rec, sort) >= 0 {
				t.Errorf("order broken: %v then %v", sortValues(prev, sort), sortValues(rec, sort))
			}
			prev = rec
		}
		if !p.More {
			break
		}
		q.After = sortValues(p.Records[len(p.Records)-1], sort)
	}
	wg.Wait()
	for id := int64(2); id <= 400; id += 2 {
		if seen[id] != 1 {
			t.Errorf("record %d seen %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("record %d seen %d times", id, n)
		}
	}
	p := f.list(t, f.things, restkit.Query{Sort: sort, Limit: 1, Count: true})
	if p.Total != 400 {
		t.Errorf("Total after the inserts and deletes = %d, want 400", p.Total)
	}
}

// compareSort orders two records by sort, as restkit.Compare does.
func compareSort(a, b *restkit.Record, sort []restkit.SortKey) int {
	for _, k := range sort {
		c := restkit.Compare(a.Values[k.Field], b.Values[k.Field])
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
