package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var etagRE = regexp.MustCompile(`^"[0-9a-z]+-[0-9a-z]+"$`)

func TestCarsFlow(t *testing.T) {
	s := startServer(t, "")
	s.run(t, []step{
		{name: "create car 1", method: "POST", path: "/cars", body: `{"id":1,"model":"Golf","color":"red","year":2010}`,
			status: 201, wantHeader: map[string]string{"Location": "/cars/1", "ETag": "*", "Last-Modified": "*", "Content-Type": "application/json"},
			wantJSON: `{"id":1,"model":"Golf","color":"red","year":2010}`},
		{name: "create car 2 without the optional year", method: "POST", path: "/cars/", body: `{"id":2,"model":"Zoe","color":"blue"}`,
			status: 201, wantHeader: map[string]string{"Location": "/cars/2"}, wantJSON: `{"id":2,"model":"Zoe","color":"blue"}`},
		{name: "duplicate key", method: "POST", path: "/cars", body: `{"id":1,"model":"Polo","color":"red"}`,
			status: 409, wantHeader: map[string]string{"Content-Type": "application/problem+json"},
			wantJSON: problemJSON(409, "a car with id 1 already exists", "id", "already exists")},
		{name: "list", method: "GET", path: "/cars", status: 200,
			wantJSON: `[{"id":1,"model":"Golf","color":"red","year":2010},{"id":2,"model":"Zoe","color":"blue"}]`},
		{name: "get", method: "GET", path: "/cars/1", status: 200,
			wantHeader: map[string]string{"ETag": "*", "Last-Modified": "*", "Cache-Control": "no-cache"},
			wantJSON:   `{"id":1,"model":"Golf","color":"red","year":2010}`,
			check: func(t testing.TB, r *response) {
				if !etagRE.MatchString(r.Header.Get("ETag")) {
					t.Fatalf("ETag %q", r.Header.Get("ETag"))
				}
				if string(r.Body) != `{"id":1,"model":"Golf","color":"red","year":2010}`+"\n" {
					t.Fatalf("fields must come in declaration order: %s", r.Body)
				}
			}},
		{name: "get with trailing slash", method: "GET", path: "/cars/1/", status: 200, wantJSON: `{"id":1,"model":"Golf","color":"red","year":2010}`},
		{name: "replace", method: "PUT", path: "/cars/1", body: `{"model":"Golf GTI","color":"black","year":2012}`, status: 200,
			wantJSON: `{"id":1,"model":"Golf GTI","color":"black","year":2012}`},
		{name: "replace drops what is not given", method: "PUT", path: "/cars/1", body: `{"id":1,"model":"Golf","color":"black"}`, status: 200,
			wantJSON: `{"id":1,"model":"Golf","color":"black"}`},
		{name: "put does not create cars", method: "PUT", path: "/cars/9", body: `{"model":"X","color":"red"}`, status: 404,
			wantJSON: problemJSON(404, "no car with id 9")},
		{name: "put with another key in the body", method: "PUT", path: "/cars/1", body: `{"id":2,"model":"X","color":"red"}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "id", "does not match the key in the URL (1)")},
		{name: "merge patch", method: "PATCH", path: "/cars/1", body: `{"year":2015}`, headers: []string{"Content-Type", "application/merge-patch+json"}, status: 200,
			wantJSON: `{"id":1,"model":"Golf","color":"black","year":2015}`},
		{name: "merge patch null removes an optional value", method: "PATCH", path: "/cars/1", body: `{"year":null}`, status: 200,
			wantJSON: `{"id":1,"model":"Golf","color":"black"}`},
		{name: "merge patch cannot remove a required value", method: "PATCH", path: "/cars/1", body: `{"model":null}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "model", "is required")},
		{name: "patch of a missing car", method: "PATCH", path: "/cars/77", body: `{"year":2015}`, status: 404},
		{name: "head", method: "HEAD", path: "/cars/1", status: 200, wantHeader: map[string]string{"ETag": "*", "Content-Type": "application/json"},
			check: func(t testing.TB, r *response) {
				if len(r.Body) != 0 {
					t.Fatalf("HEAD has a body: %q", r.Body)
				}
			}},
		{name: "options on the collection", method: "OPTIONS", path: "/cars", status: 204, wantHeader: map[string]string{"Allow": "GET, HEAD, POST, OPTIONS"}},
		{name: "options on an item", method: "OPTIONS", path: "/cars/1", status: 204, wantHeader: map[string]string{"Allow": "GET, HEAD, PUT, PATCH, DELETE, OPTIONS"}},
		{name: "verb not allowed", method: "DELETE", path: "/cars", status: 405, wantHeader: map[string]string{"Allow": "GET, HEAD, POST, OPTIONS"},
			wantJSON: problemJSON(405, "DELETE is not allowed here; allowed: GET, HEAD, POST, OPTIONS")},
		{name: "xml item", method: "GET", path: "/cars/1", headers: []string{"Accept", "application/xml"}, status: 200,
			wantHeader: map[string]string{"Content-Type": "application/xml; charset=utf-8"},
			wantIn:     []string{`<car><id>1</id><model>Golf</model><color>black</color></car>`}},
		{name: "xml list", method: "GET", path: "/cars", headers: []string{"Accept", "application/xml"}, status: 200,
			wantIn: []string{`<cars><car><id>1</id>`, `</car><car><id>2</id><model>Zoe</model><color>blue</color></car></cars>`}},
		{name: "csv list", method: "GET", path: "/cars?sort=color", headers: []string{"Accept", "text/csv"}, status: 200,
			check: func(t testing.TB, r *response) {
				if want := "id,model,color,year\n1,Golf,black,\n2,Zoe,blue,\n"; string(r.Body) != want {
					t.Fatalf("csv:\n%s\nwant\n%s", r.Body, want)
				}
			}},
		{name: "browsers go to the docs", method: "GET", path: "/cars", headers: []string{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
			status: 303, wantHeader: map[string]string{"Location": "/docs#cars"}},
		{name: "unacceptable", method: "GET", path: "/cars/1", headers: []string{"Accept", "image/png"}, status: 406,
			wantJSON: problemJSON(406, "none of the requested media types is available; this offers application/json, application/xml, text/html")},
		{name: "projection", method: "GET", path: "/cars?fields=model,id", status: 200, wantJSON: `[{"id":1,"model":"Golf"},{"id":2,"model":"Zoe"}]`},
		{name: "item projection", method: "GET", path: "/cars/2?fields=color", status: 200, wantJSON: `{"color":"blue"}`},
		{name: "delete", method: "DELETE", path: "/cars/2", status: 204},
		{name: "gone", method: "GET", path: "/cars/2", status: 404, wantJSON: problemJSON(404, "no car with id 2")},
		{name: "delete again", method: "DELETE", path: "/cars/2", status: 404},
		{name: "bad key", method: "GET", path: "/cars/abc", status: 400,
			wantJSON: problemJSON(400, "invalid key in the URL", "id", `"abc" is not a valid integer`)},
		{name: "unknown route", method: "GET", path: "/trucks", status: 404, wantJSON: problemJSON(404, "no route for /trucks")},
	})
}

func TestConditionalRequests(t *testing.T) {
	s := startServer(t, "")
	r := s.do("POST", "/cars", `{"id":5,"model":"Golf","color":"red"}`)
	etag := r.Header.Get("ETag")
	lastMod := r.Header.Get("Last-Modified")
	s.run(t, []step{
		{name: "if-none-match hit", method: "GET", path: "/cars/5", headers: []string{"If-None-Match", etag}, status: 304, wantHeader: map[string]string{"ETag": etag}},
		{name: "if-none-match weak hit", method: "GET", path: "/cars/5", headers: []string{"If-None-Match", "W/" + etag}, status: 304},
		{name: "if-none-match miss", method: "GET", path: "/cars/5", headers: []string{"If-None-Match", `"other"`}, status: 200},
		{name: "if-modified-since", method: "GET", path: "/cars/5", headers: []string{"If-Modified-Since", lastMod}, status: 304},
		{name: "stale if-match on put", method: "PUT", path: "/cars/5", body: `{"model":"A","color":"red"}`, headers: []string{"If-Match", `"1-0"`}, status: 412},
		{name: "stale if-match on patch", method: "PATCH", path: "/cars/5", body: `{"year":2000}`, headers: []string{"If-Match", `"1-0"`}, status: 412},
		{name: "stale if-match on delete", method: "DELETE", path: "/cars/5", headers: []string{"If-Match", `"1-0"`}, status: 412},
		{name: "unchanged after refusals", method: "GET", path: "/cars/5", status: 200, wantHeader: map[string]string{"ETag": etag}, wantJSON: `{"id":5,"model":"Golf","color":"red"}`},
		{name: "fresh if-match", method: "PATCH", path: "/cars/5", body: `{"year":2000}`, headers: []string{"If-Match", etag}, status: 200,
			check: func(t testing.TB, r *response) {
				if r.Header.Get("ETag") == etag || !etagRE.MatchString(r.Header.Get("ETag")) {
					t.Fatalf("a write must change the ETag: %q", r.Header.Get("ETag"))
				}
			}},
		{name: "the old etag is now stale", method: "DELETE", path: "/cars/5", headers: []string{"If-Match", etag}, status: 412},
		{name: "if-match on a missing record", method: "PUT", path: "/cars/6", body: `{"model":"A","color":"red"}`, headers: []string{"If-Match", "*"}, status: 412},
	})
}

func TestPaging(t *testing.T) {
	s := startServer(t, "")
	colors := []string{"red", "blue", "green"}
	for i := 1; i <= 45; i++ {
		r := s.do("POST", "/cars", fmt.Sprintf(`{"id":%d,"model":"M%d","color":"%s","year":%d}`, i, i, colors[i%3], 2000+i%7))
		if r.Status != 201 {
			t.Fatalf("create %d: %d %s", i, r.Status, r.Body)
		}
	}
	// Walk forward by cursor: 20 + 20 + 5, every id once, in order.
	var ids []int
	path := "/cars?count=true"
	pages := 0
	for path != "" {
		r := s.do("GET", path, "")
		if r.Status != 200 || r.Header.Get("X-Total-Count") != "45" {
			t.Fatalf("GET %s: %d total=%q %s", path, r.Status, r.Header.Get("X-Total-Count"), r.Body)
		}
		var page []struct{ ID int }
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			ids = append(ids, c.ID)
		}
		links := parseLinks(r.Header.Get("Link"))
		if links["first"] != "/cars?count=true" || !strings.HasPrefix(links["last"], "/cars?count=true&cursor=") {
			t.Fatalf("first/last links: %v", links)
		}
		if pages > 0 && links["prev"] == "" {
			t.Fatalf("page %d has no prev link: %v", pages, links)
		}
		path = links["next"]
		pages++
	}
	if pages != 3 || len(ids) != 45 {
		t.Fatalf("pages=%d ids=%v", pages, ids)
	}
	for i, id := range ids {
		if id != i+1 {
			t.Fatalf("order broken at %d: %v", i, ids)
		}
	}
	// The last link reads the final page; its prev goes back.
	r := s.do("GET", "/cars?count=true&limit=10", "")
	last := parseLinks(r.Header.Get("Link"))["last"]
	r = s.do("GET", last, "")
	var page []struct{ ID int }
	_ = json.Unmarshal(r.Body, &page)
	if len(page) != 10 || page[0].ID != 36 || page[9].ID != 45 {
		t.Fatalf("last page: %s", r.Body)
	}
	prev := parseLinks(r.Header.Get("Link"))["prev"]
	r = s.do("GET", prev, "")
	_ = json.Unmarshal(r.Body, &page)
	if len(page) != 10 || page[0].ID != 26 || page[9].ID != 35 {
		t.Fatalf("prev of last: %s", r.Body)
	}
	if next := parseLinks(r.Header.Get("Link"))["next"]; next == "" {
		t.Fatalf("a backward page must link next: %s", r.Header.Get("Link"))
	}

	// Offset paging.
	r = s.do("GET", "/cars?page=3&limit=20&count=true", "")
	_ = json.Unmarshal(r.Body, &page)
	links := parseLinks(r.Header.Get("Link"))
	if len(page) != 5 || page[0].ID != 41 || links["prev"] != "/cars?count=true&limit=20&page=2" || links["next"] != "" || links["last"] != "/cars?count=true&limit=20&page=3" {
		t.Fatalf("page 3: %s links %v", r.Body, links)
	}

	// Sorted and filtered, walked by cursor.
	var got []string
	path = "/cars?sort=-year,color&color[in]=red,blue&limit=7&fields=id,year,color"
	for path != "" {
		r := s.do("GET", path, "")
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		var page []struct {
			ID    int
			Year  int
			Color string
		}
		_ = json.Unmarshal(r.Body, &page)
		for _, c := range page {
			got = append(got, fmt.Sprintf("%d/%s/%d", c.Year, c.Color, c.ID))
		}
		path = parseLinks(r.Header.Get("Link"))["next"]
	}
	if len(got) != 30 {
		t.Fatalf("want 30 red or blue cars, got %d: %v", len(got), got)
	}
	for i := 1; i < len(got); i++ {
		var y1, y2, id1, id2 int
		var c1, c2 string
		fmt.Sscanf(strings.ReplaceAll(got[i-1], "/", " "), "%d %s %d", &y1, &c1, &id1)
		fmt.Sscanf(strings.ReplaceAll(got[i], "/", " "), "%d %s %d", &y2, &c2, &id2)
		if y1 < y2 || (y1 == y2 && (c1 > c2 || (c1 == c2 && id1 >= id2))) {
			t.Fatalf("sort=-year,color broken between %s and %s", got[i-1], got[i])
		}
	}

	// A cursor edited by the client is refused, not followed.
	next := parseLinks(s.do("GET", "/cars", "").Header.Get("Link"))["next"]
	tampered := strings.Replace(next, "cursor=", "cursor=A", 1)
	s.run(t, []step{
		{name: "tampered cursor", method: "GET", path: tampered, status: 400,
			wantJSON: problemJSON(400, "invalid query parameters", "cursor", "is not a cursor this server issued; start again from the first page")},
		{name: "cursor under another sort", method: "GET", path: next + "&sort=year", status: 400},
		{name: "bad filter", method: "GET", path: "/cars?year[gte]=soon", status: 400,
			wantJSON: problemJSON(400, "invalid query parameters", "year[gte]", `year: "soon" is not a number`)},
		{name: "unknown parameter", method: "GET", path: "/cars?colour=red", status: 400,
			wantJSON: problemJSON(400, "invalid query parameters", "colour", "is not a field of cars, nor one of the parameters limit, cursor, page, sort, fields, count, expand, or")},
		{name: "limit over the max", method: "GET", path: "/cars?limit=1000", status: 400},
		{name: "filter by prefix", method: "GET", path: "/cars?model[prefix]=M4&fields=id", status: 200,
			wantJSON: `[{"id":4},{"id":40},{"id":41},{"id":42},{"id":43},{"id":44},{"id":45}]`},
	})
}

// parseLinks reads an RFC 8288 Link header into rel → target.
func parseLinks(h string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(h, ", ") {
		target, params, ok := strings.Cut(part, ">; ")
		if !ok {
			continue
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(params, `rel="`), `"`)
		out[rel] = strings.TrimPrefix(target, "<")
	}
	return out
}

// checkNoLeak fails when an error body shows internals.
func checkNoLeak(t testing.TB, r *response) {
	t.Helper()
	for _, bad := range []string{"sqlite", "SQL", ".go:", "/tmp", "goroutine", "runtime.", "json: ", "strconv."} {
		if strings.Contains(string(r.Body), bad) {
			t.Fatalf("error body leaks %q: %s", bad, r.Body)
		}
	}
	if r.Status >= 400 && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/") {
		t.Fatalf("error with Content-Type %q", r.Header.Get("Content-Type"))
	}
}

var _ = http.StatusOK
