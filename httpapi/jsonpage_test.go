package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/sqlite"
)

const jsonPageConfig = `
apis:
  - base: ""
    resources:
      notes:
        key: id
        timestamps: true
        fields:
          id: {type: integer}
          title: {type: string, required: true, sortable: true, filterable: true}
          body: {type: string, nullable: true}
          stars: {type: integer, nullable: true, sortable: true, filterable: true}
          score: {type: number, sortable: true}
          done: {type: boolean}
          due: {type: datetime, nullable: true, sortable: true}
          meta: {type: json, nullable: true}
          days: {type: array, items: datetime}
      authors:
        key: id
        fields:
          id: {type: integer}
          name: {type: string, required: true}
      books:
        key: id
        fields:
          id: {type: integer}
          title: {type: string, required: true, sortable: true}
          author: {type: relation, to: authors, required: true, filterable: true}
  - base: /v1
    envelope: true
    resources:
      people:
        key: name
        key_from: url
        put_creates: true
        collection: [GET]
        fields:
          name: {type: string}
          comment: {type: string, nullable: true}
`

// TestJSONPagesAsTheRecordPath: a SQLite store writes JSON list pages straight from
// its rows (sqlite.Store.AppendJSONPage). Served through that and through the Record
// path (the same store, its extra method hidden), every list request answers the
// same status, headers and body: pages walked by their next and prev links, from
// sorted, filtered, counted, offset, last, fields=, envelope and sub-collection starts.
func TestJSONPagesAsTheRecordPath(t *testing.T) {
	cfg, err := config.Parse("test.yaml", []byte(jsonPageConfig))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "restkit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(context.Background(), cfg.Schema); err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	opts := func(s restkit.Store) httpapi.Options {
		return httpapi.Options{Schema: cfg.Schema, Store: s, CursorKey: []byte("0123456789abcdef0123456789abcdef"),
			Now: func() time.Time { return clock }}
	}
	fast := newServer(t, opts(st))
	slow := newServer(t, opts(struct{ restkit.Store }{st})) // the Record path: AppendJSONPage is not seen
	for i := 1; i <= 47; i++ {
		clock = clock.Add(time.Duration(i) * 1234567 * time.Microsecond) // fractions with and without trailing zeros
		body := fmt.Sprintf(`{"id":%d,"title":"note \"%d\" \u2028 ✓","score":%g,"done":%v,"days":["2026-01-0%dT10:00:00.5Z"]`, i, i%7, float64(i)*1.25, i%2 == 0, 1+i%9)
		if i%3 > 0 {
			body += fmt.Sprintf(`,"stars":%d,"body":"b%d","due":"2026-03-%02dT08:00:00.120Z","meta":{"i":%d,"l":[1,"x"]}`, i%5, i, 1+i%28, i)
		}
		mustServe(t, fast, http.StatusCreated, http.MethodPost, "/notes", body+"}")
	}
	for i := 1; i <= 3; i++ {
		mustServe(t, fast, http.StatusCreated, http.MethodPost, "/authors", fmt.Sprintf(`{"id":%d,"name":"a%d"}`, i, i))
	}
	for i := 1; i <= 25; i++ {
		mustServe(t, fast, http.StatusCreated, http.MethodPost, "/books", fmt.Sprintf(`{"id":%d,"title":"t%02d","author":%d}`, i, i%11, 1+i%3))
		mustServe(t, fast, http.StatusCreated, http.MethodPut, fmt.Sprintf("/v1/people/p%02d", i), fmt.Sprintf(`{"comment":%q}`, strings.Repeat("c", i%4)))
	}

	next := regexp.MustCompile(`<([^>]*)>; rel="(next|prev|last)"`)
	starts := []string{"/notes", "/notes?limit=4", "/notes?limit=1", "/notes?sort=-stars&limit=6", "/notes?sort=due,-score&limit=5&count=true",
		"/notes?fields=due,title&limit=7", "/notes?fields=created,id&limit=9", "/notes?page=2&limit=6&count=true", "/notes?stars[gte]=2&limit=3",
		"/notes?title[prefix]=note&sort=title&limit=8", "/notes?stars=99", "/notes?limit=3&count=true&sort=-id",
		"/authors/2/books?limit=2", "/books?author=3&sort=-title&limit=4", "/v1/people?limit=6", "/v1/people?limit=4&count=true&sort=-name",
		"/notes?sort=nope", "/notes?limit=abc", "/notes?cursor=forged"}
	seen := map[string]bool{}
	var walk func(path string, depth int)
	walk = func(path string, depth int) {
		if seen[path] || depth > 30 {
			return
		}
		seen[path] = true
		a := serve(t, fast, http.MethodGet, path, "")
		b := serve(t, slow, http.MethodGet, path, "")
		if a.status != b.status || a.body != b.body {
			t.Fatalf("GET %s:\nfast %d %s\nslow %d %s", path, a.status, a.body, b.status, b.body)
		}
		for _, h := range []string{"Link", "X-Total-Count", "Content-Type", "Content-Length", "Cache-Control", "ETag"} {
			if av, bv := strings.Join(a.header.Values(h), ", "), strings.Join(b.header.Values(h), ", "); av != bv {
				t.Fatalf("GET %s: %s %q, Record path %q", path, h, av, bv)
			}
		}
		for _, m := range next.FindAllStringSubmatch(a.header.Get("Link"), -1) {
			walk(m[1], depth+1)
		}
	}
	for _, p := range starts {
		walk(p, 0)
	}
	if len(seen) < 60 {
		t.Fatalf("walked only %d pages", len(seen))
	}
	// The walk reached a page of each kind: one with a next and a prev link, an
	// empty one, an error.
	for _, c := range []struct{ path, want string }{{"/notes?limit=4", `rel="next"`}, {"/notes?stars=99", "[]"}, {"/notes?sort=nope", `"status":400`}} {
		r := serve(t, fast, http.MethodGet, c.path, "")
		if !strings.Contains(r.body+r.header.Get("Link"), c.want) {
			t.Fatalf("GET %s: %d %s %s, want %s", c.path, r.status, r.header.Get("Link"), r.body, c.want)
		}
	}
}
