package e2e

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const counterConfig = `
apis:
  - resources:
      counters:
        key: id
        fields:
          id: {type: integer}
          n: {type: integer, min: 0}
`

// TestNoLostUpdates: 50 clients each add one to a counter by read-modify-write,
// guarded by If-Match and retried on 412. Every increment must survive: the final value
// is exactly 50 and the revision counts every write.
func TestNoLostUpdates(t *testing.T) {
	s := startServer(t, "", "--config", writeConfig(t, counterConfig))
	if r := s.do("POST", "/counters", `{"id":1,"n":0}`); r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	const clients = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	retries := 0
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for attempt := 0; attempt < 500; attempt++ {
				r := s.do("GET", "/counters/1", "")
				var c struct{ N int }
				if err := json.Unmarshal(r.Body, &c); err != nil || r.Status != 200 {
					t.Errorf("GET: %d %s", r.Status, r.Body)
					return
				}
				w := s.do("PUT", "/counters/1", fmt.Sprintf(`{"n":%d}`, c.N+1), "If-Match", r.Header.Get("ETag"))
				switch w.Status {
				case 200:
					return
				case 412:
					mu.Lock()
					retries++
					mu.Unlock()
				default:
					t.Errorf("PUT: %d %s", w.Status, w.Body)
					return
				}
			}
			t.Error("gave up after 500 attempts")
		}()
	}
	wg.Wait()
	r := s.do("GET", "/counters/1", "")
	if string(r.Body) != `{"id":1,"n":50}`+"\n" || r.Header.Get("ETag")[:4] != `"1f-` { // revision 51 is "1f" in base 36
		t.Fatalf("after %d increments (%d retries): %s etag %s", clients, retries, r.Body, r.Header.Get("ETag"))
	}
	t.Logf("%d clients, %d retries on 412", clients, retries)
}

// TestCSVExportStreamsEveryRow: text/csv without limit exports the whole filtered,
// sorted list (walking keyset batches inside the server), not one page.
func TestCSVExportStreamsEveryRow(t *testing.T) {
	s := startServer(t, "")
	for i := 1; i <= 1203; i++ {
		color := []string{"red", "blue", "green"}[i%3]
		if r := s.do("POST", "/cars", fmt.Sprintf(`{"id":%d,"model":"M,%d","color":"%s","year":%d}`, i, i, color, 1990+i%30)); r.Status != 201 {
			t.Fatalf("%d: %d", i, r.Status)
		}
	}
	r := s.do("GET", "/cars?color[in]=red,blue&sort=-year&fields=id,model,year&count=true", "", "Accept", "text/csv")
	if r.Status != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8; header=present" || r.Header.Get("X-Total-Count") != "802" {
		t.Fatalf("%d %q total %q", r.Status, r.Header.Get("Content-Type"), r.Header.Get("X-Total-Count"))
	}
	lines := strings.Split(strings.TrimSuffix(string(r.Body), "\n"), "\n")
	if len(lines) != 803 || lines[0] != "id,model,year" || lines[1] != `28,"M,28",2018` {
		t.Fatalf("%d lines, head %q %q", len(lines), lines[0], lines[1])
	}
	seen := map[string]bool{}
	prevYear := 9999
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		year, _ := strconv.Atoi(f[len(f)-1])
		if seen[f[0]] || year > prevYear {
			t.Fatalf("duplicate or out of order at %q", l)
		}
		seen[f[0]], prevYear = true, year
	}
	// With a limit, CSV is one page like JSON.
	r = s.do("GET", "/cars?limit=5&fields=id", "", "Accept", "text/csv")
	if got := strings.Count(string(r.Body), "\n"); got != 6 || parseLinks(r.Header.Get("Link"))["next"] == "" {
		t.Fatalf("one page: %d lines, link %q", got, r.Header.Get("Link"))
	}
}

const guardedConfig = `
apis:
  - resources:
      docs:
        key: id
        require_if_match: true
        put_creates: true
        cache_control: "private, max-age=60"
        max_offset: 4
        page_size: 2
        fields:
          id: {type: integer}
          text: {type: string}
`

// TestRequireIfMatchCacheControlAndOffsetCap: resource options of the query issue.
func TestRequireIfMatchCacheControlAndOffsetCap(t *testing.T) {
	s := startServer(t, "", "--config", writeConfig(t, guardedConfig))
	r := s.do("PUT", "/docs/1", `{"text":"first"}`)
	if r.Status != 201 {
		t.Fatalf("creating needs no If-Match: %d %s", r.Status, r.Body)
	}
	etag := r.Header.Get("ETag")
	s.run(t, []step{
		{name: "428 without If-Match", method: "PUT", path: "/docs/1", body: `{"text":"blind"}`, status: 428,
			wantJSON: problemJSON(428, "this doc can only be changed with If-Match: GET it for its ETag and send that")},
		{name: "428 on PATCH", method: "PATCH", path: "/docs/1", body: `{"text":"blind"}`, status: 428},
		{name: "428 on DELETE", method: "DELETE", path: "/docs/1", status: 428},
		{name: "unchanged", method: "GET", path: "/docs/1", status: 200, wantJSON: `{"id":1,"text":"first"}`,
			wantHeader: map[string]string{"Cache-Control": "private, max-age=60", "ETag": etag}},
		{name: "with If-Match", method: "PATCH", path: "/docs/1", body: `{"text":"seen"}`, headers: []string{"If-Match", etag}, status: 200},
		{method: "PUT", path: "/docs/2", body: `{"text":"b"}`, status: 201},
		{method: "PUT", path: "/docs/3", body: `{"text":"c"}`, status: 201},
		{name: "list cache control", method: "GET", path: "/docs", status: 200, wantHeader: map[string]string{"Cache-Control": "private, max-age=60"}},
		{name: "page within max_offset", method: "GET", path: "/docs?page=3", status: 200, wantJSON: `[]`},
		{name: "page past max_offset", method: "GET", path: "/docs?page=4", status: 400,
			wantJSON: problemJSON(400, "invalid query parameters", "page", "is too deep for offset paging (more than 4 rows); follow the cursor in the Link header's next instead")},
	})
}

// TestBulkCreateAllOrNothing: POST of a JSON array creates every record in one
// transaction, or none, answering the first failure with its index.
func TestBulkCreateAllOrNothing(t *testing.T) {
	s := startServer(t, "")
	s.do("POST", "/cars", `{"id":1,"model":"Golf","color":"red"}`)
	s.run(t, []step{
		{name: "an invalid item: nothing is created", method: "POST", path: "/cars",
			body:   `[{"id":10,"model":"A","color":"red"},{"id":11,"model":"B","color":"red"},{"id":12,"model":"C"}]`,
			status: 400, wantJSON: problemJSON(400, "item 2: validation failed", "[2].color", "is required")},
		{name: "an existing key: nothing is created", method: "POST", path: "/cars",
			body:   `[{"id":10,"model":"A","color":"red"},{"id":1,"model":"B","color":"red"}]`,
			status: 409, wantJSON: problemJSON(409, "item 1: a car with id 1 already exists", "[1].id", "already exists")},
		{name: "one key twice in the batch: nothing is created", method: "POST", path: "/cars",
			body:   `[{"id":10,"model":"A","color":"red"},{"id":10,"model":"B","color":"red"}]`,
			status: 409},
		{name: "none of them exists", method: "GET", path: "/cars?fields=id", status: 200, wantJSON: `[{"id":1}]`},
		{name: "a malformed item", method: "POST", path: "/cars", body: `[{"id":10},"car"]`, status: 400,
			wantJSON: problemJSON(400, "item 1 must be a JSON object")},
		{name: "an empty array", method: "POST", path: "/cars", body: `[]`, status: 400},
		{name: "all created", method: "POST", path: "/cars",
			body:   `[{"id":10,"model":"A","color":"red"},{"id":11,"model":"B","color":"blue","year":2001}]`,
			status: 201, wantJSON: `[{"id":10,"model":"A","color":"red"},{"id":11,"model":"B","color":"blue","year":2001}]`},
		{method: "GET", path: "/cars?fields=id", status: 200, wantJSON: `[{"id":1},{"id":10},{"id":11}]`},
	})
}
