package httpapi

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

func testResource(t testing.TB) *restkit.Resource {
	t.Helper()
	res := &restkit.Resource{Name: "cars", Key: "id", Fields: []*restkit.Field{
		{Name: "id", Type: restkit.TypeInteger},
		{Name: "model", Type: restkit.TypeString, Filterable: true},
		{Name: "color", Type: restkit.TypeString, Sortable: true, Filterable: true},
		{Name: "year", Type: restkit.TypeInteger, Sortable: true, Filterable: true},
		{Name: "electric", Type: restkit.TypeBoolean, Filterable: true},
		{Name: "sold", Type: restkit.TypeDatetime, Nullable: true, Filterable: true, Sortable: true},
		{Name: "secret", Type: restkit.TypeString},
	}}
	s := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{res}}}}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	return res
}

var testKey = newCursorCodec([]byte("0123456789abcdef0123456789abcdef"))

func TestParseList(t *testing.T) {
	res := testResource(t)
	tests := []struct {
		query string
		want  restkit.Query
		page  int
	}{
		{"", restkit.Query{Limit: 20, Sort: []restkit.SortKey{{Field: "id"}}}, 0},
		{"limit=5&count=true", restkit.Query{Limit: 5, Count: true, Sort: []restkit.SortKey{{Field: "id"}}}, 0},
		{"sort=-year,color", restkit.Query{Limit: 20, Sort: []restkit.SortKey{{Field: "year", Desc: true}, {Field: "color"}, {Field: "id"}}}, 0},
		{"sort=-id", restkit.Query{Limit: 20, Sort: []restkit.SortKey{{Field: "id", Desc: true}}}, 0},
		{"sort=year,id,color", restkit.Query{Limit: 20, Sort: []restkit.SortKey{{Field: "year"}, {Field: "id"}}}, 0},
		{"page=3&limit=10", restkit.Query{Limit: 10, Offset: 20, Sort: []restkit.SortKey{{Field: "id"}}}, 3},
		{"color=red", restkit.Query{Limit: 20, Sort: []restkit.SortKey{{Field: "id"}}, Filters: []restkit.Filter{{Field: "color", Op: restkit.OpEq, Value: "red"}}}, 0},
		{"year[gte]=2010", restkit.Query{Limit: 20, Sort: []restkit.SortKey{{Field: "id"}}, Filters: []restkit.Filter{{Field: "year", Op: restkit.OpGte, Value: int64(2010)}}}, 0},
		{"year[in]=1,2,3", restkit.Query{Limit: 20, Sort: []restkit.SortKey{{Field: "id"}}, Filters: []restkit.Filter{{Field: "year", Op: restkit.OpIn, Values: []any{int64(1), int64(2), int64(3)}}}}, 0},
		{"model[prefix]=Go%25", restkit.Query{Limit: 20, Sort: []restkit.SortKey{{Field: "id"}}, Filters: []restkit.Filter{{Field: "model", Op: restkit.OpPrefix, Value: "Go%"}}}, 0},
		{"sold[null]=true", restkit.Query{Limit: 20, Sort: []restkit.SortKey{{Field: "id"}}, Filters: []restkit.Filter{{Field: "sold", Op: restkit.OpNull, Value: true}}}, 0},
		{"sold[lt]=2024-01-01T00:00:00Z", restkit.Query{Limit: 20, Sort: []restkit.SortKey{{Field: "id"}}, Filters: []restkit.Filter{{Field: "sold", Op: restkit.OpLt, Value: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}}, 0},
		{"electric[ne]=true", restkit.Query{Limit: 20, Sort: []restkit.SortKey{{Field: "id"}}, Filters: []restkit.Filter{{Field: "electric", Op: restkit.OpNe, Value: true}}}, 0},
	}
	for _, tt := range tests {
		lr, err := parseList(res, tt.query, testKey)
		if err != nil {
			t.Errorf("%q: %v %v", tt.query, err, restkit.ErrorFields(err))
			continue
		}
		if !reflect.DeepEqual(lr.q, tt.want) || lr.page != tt.page {
			t.Errorf("%q:\n got %+v page %d\nwant %+v page %d", tt.query, lr.q, lr.page, tt.want, tt.page)
		}
	}
}

func TestParseListErrors(t *testing.T) {
	res := testResource(t)
	tests := []struct{ query, field, msg string }{
		{"limit=0", "limit", "must be a whole number from 1 to 100"},
		{"limit=101", "limit", "must be a whole number from 1 to 100"},
		{"limit=x", "limit", "must be a whole number from 1 to 100"},
		{"limit=1&limit=2", "limit", "is given more than once"},
		{"count=maybe", "count", "must be true or false"},
		{"sort=model", "sort", "model is not sortable; sortable fields: id, color, year, sold"},
		{"sort=nope", "sort", `"nope" is not a field of cars`},
		{"sort=year,-year", "sort", "names year twice"},
		{"sort=", "sort", "has an empty field name"},
		{"fields=id,nope", "fields", `"nope" is not a field of cars`},
		{"page=0", "page", "must be a whole number from 1"},
		{"page=100000", "page", "is too deep for offset paging (more than 10000 rows); follow the cursor in the Link header's next instead"},
		{"page=2&cursor=abc", "page", "cannot be combined with cursor"},
		{"cursor=abc", "cursor", "is not a cursor this server issued; start again from the first page"},
		{"nope=1", "nope", "is not a field of cars, nor one of the parameters limit, cursor, page, sort, fields, count, expand, or"},
		{"secret=1", "secret", "secret is not filterable; filterable fields: id, model, color, year, electric, sold"},
		{"year=abc", "year", `year: "abc" is not a number`},
		{"year=1.5", "year", "year must be an integer"},
		{"year[like]=1", "year[like]", `unknown operator "like"; one of eq, ne, lt, lte, gt, gte, in, prefix, null, contains`},
		{"year[prefix]=1", "year[prefix]", "prefix applies to text fields; year is integer"},
		{"electric[gt]=true", "electric[gt]", "electric is a boolean; use eq, ne, in or null"},
		{"electric=yes", "electric", `electric: "yes" is not true or false`},
		{"sold[null]=maybe", "sold[null]", "null takes true or false"},
		{"sold=yesterday", "sold", "sold must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z"},
		{"color=a&color=b", "color", "is given more than once; to match several values use color[in]=a,b"},
		{"year[in]=" + strings.Repeat("1,", 100) + "1", "year[in]", "in takes at most 100 values"},
	}
	for _, tt := range tests {
		_, err := parseList(res, tt.query, testKey)
		fe := restkit.ErrorFields(err)
		if !restkit.IsKind(err, restkit.Invalid) || len(fe) == 0 || fe[0].Field != tt.field || fe[0].Message != tt.msg {
			t.Errorf("%q: got %v %v, want %s: %s", tt.query, err, fe, tt.field, tt.msg)
		}
	}
	if _, err := parseList(res, "%zz", testKey); restkit.ErrorMessage(err) != "the query string is malformed" {
		t.Errorf("bad escape: %v", err)
	}
	_, err := parseList(res, "limit=0&nope=1&sort=model", testKey)
	if n := len(restkit.ErrorFields(err)); n != 3 {
		t.Errorf("every problem is listed, got %d: %v", n, restkit.ErrorFields(err))
	}
}

func TestCursorRoundTripAndTamper(t *testing.T) {
	res := testResource(t)
	lr, err := parseList(res, "sort=-year", testKey)
	if err != nil {
		t.Fatal(err)
	}
	rec := &restkit.Record{Values: map[string]any{"id": int64(7), "year": int64(2011)}}
	c := testKey.encode(res, "-year", dirAfter, rec, lr.q.Sort)
	got, err := parseList(res, "sort=-year&cursor="+c, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.q.After, []any{int64(2011), int64(7)}) || got.q.Before != nil {
		t.Fatalf("after = %#v", got.q.After)
	}
	// Same cursor under another sort.
	if _, err := parseList(res, "sort=year&cursor="+c, testKey); !strings.Contains(restkit.ErrorFields(err)[0].Message, "belongs to sort") {
		t.Fatalf("sort mismatch: %v", restkit.ErrorFields(err))
	}
	// Flip one character of the payload: the MAC no longer matches.
	b := []byte(c)
	b[3] ^= 1
	if _, err := parseList(res, "sort=-year&cursor="+string(b), testKey); !restkit.IsKind(err, restkit.Invalid) {
		t.Fatalf("tampered cursor accepted")
	}
	// Another server's key.
	if _, err := parseList(res, "sort=-year&cursor="+c, newCursorCodec([]byte("another key"))); !restkit.IsKind(err, restkit.Invalid) {
		t.Fatalf("foreign cursor accepted")
	}
	// nil sort values survive (nullable fields).
	lr, _ = parseList(res, "sort=sold", testKey)
	c = testKey.encode(res, "sold", dirBefore, &restkit.Record{Values: map[string]any{"id": int64(1)}}, lr.q.Sort)
	got, err = parseList(res, "sort=sold&cursor="+c, testKey)
	if err != nil || !reflect.DeepEqual(got.q.Before, []any{nil, int64(1)}) {
		t.Fatalf("nil cursor value: %#v %v", got, err)
	}
}

// FuzzParseList: the query-string parser never panics; whatever it accepts is within
// the resource's limits and names only declared fields.
func FuzzParseList(f *testing.F) {
	res := testResource(f)
	for _, s := range []string{"", "limit=5&sort=-year,color", "sort=id,year", "year[gte]=2010&color[in]=a,b", "page=2", "cursor=eyJ9.AAAA", "sold[null]=true", "%zz", "a[b]]=1", "year[]=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		lr, err := parseList(res, q, testKey)
		if err != nil {
			if !restkit.IsKind(err, restkit.Invalid) {
				t.Fatalf("%q: non-Invalid error %v", q, err)
			}
			return
		}
		if lr.q.Limit < 1 || lr.q.Limit > res.MaxPageSize || lr.q.Offset < 0 || lr.q.Offset > res.MaxOffset {
			t.Fatalf("%q: limits %+v", q, lr.q)
		}
		if lr.page > 0 && lr.q.Offset != (lr.page-1)*lr.q.Limit {
			t.Fatalf("%q: page %d with limit %d gives offset %d", q, lr.page, lr.q.Limit, lr.q.Offset)
		}
		if lr.page == 0 && lr.q.Offset != 0 {
			t.Fatalf("%q: offset %d without page", q, lr.q.Offset)
		}
		if last := lr.q.Sort[len(lr.q.Sort)-1]; last.Field != "id" {
			t.Fatalf("%q: the key must end the sort: %v", q, lr.q.Sort)
		}
		for _, flt := range lr.q.Filters {
			if res.Field(flt.Field) == nil {
				t.Fatalf("%q: filter on undeclared %s", q, flt.Field)
			}
		}
	})
}

func TestNegotiate(t *testing.T) {
	tests := []struct{ accept, want string }{
		{"", mediaJSON},
		{"*/*", mediaJSON},
		{"application/xml", mediaXML},
		{"text/xml", mediaXML},
		{"application/json;q=0.5, application/xml", mediaXML},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", mediaHTML},
		{"text/csv", mediaCSV},
		{"application/*", mediaJSON},
		{"application/problem+json", mediaJSON},
		{"image/png", ""},
		{"application/json;q=0", ""},
	}
	for _, tt := range tests {
		r := httptestRequest(tt.accept)
		got, err := negotiate(r, mediaJSON, mediaXML, mediaCSV, mediaHTML)
		if got != tt.want || (tt.want == "" && !restkit.IsKind(err, restkit.NotAcceptable)) {
			t.Errorf("Accept %q: got %q %v, want %q", tt.accept, got, err, tt.want)
		}
	}
}

func TestETagLists(t *testing.T) {
	tag := `"3-abc"`
	for list, want := range map[string]bool{
		`"3-abc"`: true, ` "x", "3-abc"`: true, `"x","y"`: false, `W/"3-abc"`: false, `3-abc`: false, `"3-ab"`: false,
	} {
		if got := etagListMatch(list, tag); got != want {
			t.Errorf("etagListMatch(%q) = %v", list, got)
		}
	}
}
