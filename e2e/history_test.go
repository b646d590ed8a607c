package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// revisionEntry is one element of GET …/revisions.
type revisionEntry struct {
	Rev     int64           `json:"rev"`
	Deleted bool            `json:"deleted"`
	Updated string          `json:"updated"`
	Record  json.RawMessage `json:"record"`
}

// revisionList parses a revision list body (unwrapping the envelope when enveloped).
func revisionList(t testing.TB, body []byte, enveloped bool) []revisionEntry {
	t.Helper()
	if enveloped {
		var env struct {
			Status string          `json:"status"`
			Result json.RawMessage `json:"result"`
		}
		if err := json.Unmarshal(body, &env); err != nil || env.Status != "ok" {
			t.Fatalf("not an ok envelope: %v\n%s", err, body)
		}
		body = env.Result
	}
	var out []revisionEntry
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("revisions are not a JSON array of revisions: %v\n%s", err, body)
	}
	for _, e := range out {
		if _, err := time.Parse(time.RFC3339Nano, e.Updated); err != nil {
			t.Fatalf("rev %d: updated %q is not RFC 3339", e.Rev, e.Updated)
		}
	}
	return out
}

// wantRevisions checks a revision list: one entry per record, newest first and one
// apart (firstRev pins the first number), each record equal to the JSON text given; a
// tombstone's text is written with a leading "x".
func wantRevisions(records ...string) func(t testing.TB, r *response) {
	return wantRevisionsIn(false, records...)
}

func wantRevisionsIn(enveloped bool, records ...string) func(t testing.TB, r *response) {
	return func(t testing.TB, r *response) {
		t.Helper()
		got := revisionList(t, r.Body, enveloped)
		if len(got) != len(records) {
			t.Fatalf("%d revisions, want %d:\n%s", len(got), len(records), r.Body)
		}
		for i, want := range records {
			deleted := strings.HasPrefix(want, "x")
			want = strings.TrimPrefix(want, "x")
			e := got[i]
			name := fmt.Sprintf("revision %d", e.Rev)
			if e.Deleted != deleted {
				t.Fatalf("%s: deleted %v, want %v", name, e.Deleted, deleted)
			}
			assertJSON(t, name, e.Record, want)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Rev != got[i-1].Rev-1 {
				t.Fatalf("revisions not newest first, one apart: %d then %d", got[i-1].Rev, got[i].Rev)
			}
		}
	}
}

// firstRev requires the list to start at rev n.
func firstRev(n int64, enveloped bool) func(t testing.TB, r *response) {
	return func(t testing.TB, r *response) {
		t.Helper()
		if got := revisionList(t, r.Body, enveloped); len(got) == 0 || got[0].Rev != n {
			t.Fatalf("list does not start at rev %d:\n%s", n, r.Body)
		}
	}
}

func both(checks ...func(t testing.TB, r *response)) func(t testing.TB, r *response) {
	return func(t testing.TB, r *response) {
		t.Helper()
		for _, c := range checks {
			c(t, r)
		}
	}
}

const (
	golf1 = `{"id":1,"model":"Golf","color":"red","year":2010}`
	golf2 = `{"id":1,"model":"Golf GTI","color":"black","year":2012}`
	golf3 = `{"id":1,"model":"Golf GTI","color":"black","year":2015}`
)

func TestHistoryFlow(t *testing.T) {
	s := startServer(t, "")
	var next string
	s.run(t, []step{
		{name: "create", method: "POST", path: "/cars", body: golf1, status: 201},
		{name: "replace", method: "PUT", path: "/cars/1", body: `{"model":"Golf GTI","color":"black","year":2012}`, status: 200},
		{name: "patch", method: "PATCH", path: "/cars/1", body: `{"year":2015}`, status: 200, wantJSON: golf3},
		{name: "delete", method: "DELETE", path: "/cars/1", status: 204},
		{name: "the record is gone", method: "GET", path: "/cars/1", status: 404},

		{name: "its history is not: newest first, the tombstone first", method: "GET", path: "/cars/1/revisions", status: 200,
			wantHeader: map[string]string{"Content-Type": "application/json", "Cache-Control": "no-cache", "Link": `</cars/1/revisions>; rel="first"`},
			check:      both(firstRev(4, false), wantRevisions("x"+golf3, golf3, golf2, golf1))},
		{name: "trailing slash", method: "GET", path: "/cars/1/revisions/", status: 200, check: firstRev(4, false)},
		{name: "revision 1", method: "GET", path: "/cars/1/revisions/1", status: 200, wantJSON: golf1,
			wantHeader: map[string]string{"X-Revision": "1", "X-Revision-Deleted": "!", "Last-Modified": "*", "Content-Type": "application/json"},
			check:      etagOfRev(1)},
		{name: "revision 2", method: "GET", path: "/cars/1/revisions/2", status: 200, wantJSON: golf2,
			wantHeader: map[string]string{"X-Revision": "2"}, check: etagOfRev(2)},
		{name: "revision 3", method: "GET", path: "/cars/1/revisions/3", status: 200, wantJSON: golf3,
			wantHeader: map[string]string{"X-Revision": "3", "X-Revision-Deleted": "!"}, check: etagOfRev(3)},
		{name: "revision 4 is the tombstone, with the last values", method: "GET", path: "/cars/1/revisions/4", status: 200, wantJSON: golf3,
			wantHeader: map[string]string{"X-Revision": "4", "X-Revision-Deleted": "true"}, check: etagOfRev(4)},
		{name: "revision as XML", method: "GET", path: "/cars/1/revisions/1", headers: []string{"Accept", "application/xml"}, status: 200,
			wantIn: []string{`<car><id>1</id><model>Golf</model><color>red</color><year>2010</year></car>`}},
		{name: "revision projection", method: "GET", path: "/cars/1/revisions/2?fields=model", status: 200, wantJSON: `{"model":"Golf GTI"}`},
		{name: "head of a revision", method: "HEAD", path: "/cars/1/revisions/2", status: 200, wantHeader: map[string]string{"X-Revision": "2", "ETag": "*"},
			check: func(t testing.TB, r *response) {
				if len(r.Body) != 0 {
					t.Fatalf("HEAD has a body: %q", r.Body)
				}
			}},
		{name: "list as XML", method: "GET", path: "/cars/1/revisions?limit=1", headers: []string{"Accept", "application/xml"}, status: 200,
			wantIn: []string{`<revisions><revision rev="4" deleted="true" updated="`, `"><car><id>1</id><model>Golf GTI</model><color>black</color><year>2015</year></car></revision></revisions>`}},

		{name: "no revision 5", method: "GET", path: "/cars/1/revisions/5", status: 404,
			wantHeader: map[string]string{"ETag": "!", "X-Revision": "!"}, wantJSON: problemJSON(404, "car with id 1 has no revision 5")},
		{name: "revision 0", method: "GET", path: "/cars/1/revisions/0", status: 400,
			wantJSON: problemJSON(400, "invalid revision in the URL", "rev", `"0" is not a revision number (a whole number from 1)`)},
		{name: "revision 01", method: "GET", path: "/cars/1/revisions/01", status: 400},
		{name: "revision abc", method: "GET", path: "/cars/1/revisions/abc", status: 400},
		{name: "bad key", method: "GET", path: "/cars/x/revisions", status: 400,
			wantJSON: problemJSON(400, "invalid key in the URL", "id", `"x" is not a valid integer`)},
		{name: "a key never written", method: "GET", path: "/cars/99/revisions", status: 404,
			wantJSON: problemJSON(404, "no revisions of car with id 99")},
		{name: "unknown parameter", method: "GET", path: "/cars/1/revisions?sort=rev", status: 400,
			wantJSON: problemJSON(400, "invalid query parameters", "sort", "is not a parameter of a revision list; only limit, cursor and expand are")},
		{name: "limit too large", method: "GET", path: "/cars/1/revisions?limit=101", status: 400,
			wantJSON: problemJSON(400, "invalid query parameters", "limit", "must be a whole number from 1 to 100")},
		{name: "forged cursor", method: "GET", path: "/cars/1/revisions?cursor=AAAAAAAAAAAAAAAAAAAAAAAAAAAA", status: 400,
			wantJSON: problemJSON(400, "invalid query parameters", "cursor", "is not a cursor this server issued; start again from the first page")},

		{name: "options on the list", method: "OPTIONS", path: "/cars/1/revisions", status: 204, wantHeader: map[string]string{"Allow": "GET, HEAD, DELETE, OPTIONS"}},
		{name: "options on a revision", method: "OPTIONS", path: "/cars/1/revisions/1", status: 204, wantHeader: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{name: "post to the list", method: "POST", path: "/cars/1/revisions", body: `{}`, status: 405,
			wantHeader: map[string]string{"Allow": "GET, HEAD, DELETE, OPTIONS"},
			wantJSON:   problemJSON(405, "POST is not allowed here; allowed: GET, HEAD, DELETE, OPTIONS")},
		{name: "a revision cannot be deleted alone", method: "DELETE", path: "/cars/1/revisions/1", status: 405,
			wantHeader: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
		{name: "browsers go to the docs", method: "GET", path: "/cars/1/revisions", headers: []string{"Accept", "text/html"}, status: 303,
			wantHeader: map[string]string{"Location": "/docs#cars"}},
		{name: "unacceptable", method: "GET", path: "/cars/1/revisions", headers: []string{"Accept", "image/png"}, status: 406},

		{name: "page 1 of 2", method: "GET", path: "/cars/1/revisions?limit=2", status: 200,
			check: func(t testing.TB, r *response) {
				both(firstRev(4, false), wantRevisions("x"+golf3, golf3))(t, r)
				links := parseLinks(r.Header.Get("Link"))
				next = links["next"]
				if !strings.HasPrefix(next, "/cars/1/revisions?limit=2&cursor=") || links["first"] != "/cars/1/revisions?limit=2" {
					t.Fatalf("links: %v", links)
				}
			}},
	})
	s.run(t, []step{
		{name: "page 2 of 2", method: "GET", path: next, status: 200,
			check: func(t testing.TB, r *response) {
				both(firstRev(2, false), wantRevisions(golf2, golf1))(t, r)
				if links := parseLinks(r.Header.Get("Link")); links["next"] != "" {
					t.Fatalf("the last page has a next link: %v", links)
				}
			}},
		{name: "a cursor belongs to its record", method: "GET", path: strings.Replace(next, "/cars/1/", "/cars/2/", 1), status: 400,
			wantJSON: problemJSON(400, "invalid query parameters", "cursor", "is not a cursor this server issued; start again from the first page")},

		{name: "created again, numbering continues", method: "POST", path: "/cars", body: golf1, status: 201,
			check: func(t testing.TB, r *response) {
				if etag := r.Header.Get("ETag"); !strings.HasPrefix(etag, `"5-`) {
					t.Fatalf("ETag %q, want revision 5", etag)
				}
			}},
		{name: "the new life on top of the old", method: "GET", path: "/cars/1/revisions", status: 200,
			check: both(firstRev(5, false), wantRevisions(golf1, "x"+golf3, golf3, golf2, golf1))},

		{name: "purge", method: "DELETE", path: "/cars/1/revisions", status: 204},
		{name: "purged", method: "GET", path: "/cars/1/revisions", status: 404, wantJSON: problemJSON(404, "no revisions of car with id 1")},
		{name: "purged revision", method: "GET", path: "/cars/1/revisions/2", status: 404, wantJSON: problemJSON(404, "car with id 1 has no revision 2")},
		{name: "purge again", method: "DELETE", path: "/cars/1/revisions", status: 404, wantJSON: problemJSON(404, "no revisions of car with id 1")},
		{name: "the live record stays", method: "GET", path: "/cars/1", status: 200, wantJSON: golf1},
		{name: "its next write starts the history again", method: "PATCH", path: "/cars/1", body: `{"color":"blue"}`, status: 200},
		{name: "one revision", method: "GET", path: "/cars/1/revisions", status: 200,
			check: both(firstRev(6, false), wantRevisions(`{"id":1,"model":"Golf","color":"blue","year":2010}`))},

		{name: "people keep no history", method: "PUT", path: "/v1/people/fred", body: `{"email":"a@b.c"}`, status: 201},
		{name: "so they have no revisions route", method: "GET", path: "/v1/people/fred/revisions", status: 404,
			wantJSON: `{"status":"error","message":"no route for /v1/people/fred/revisions","errors":[]}`},
		{name: "nor a revision", method: "GET", path: "/v1/people/fred/revisions/1", status: 404},
	})
}

// etagOfRev requires the ETag of revision n.
func etagOfRev(n int) func(t testing.TB, r *response) {
	return func(t testing.TB, r *response) {
		t.Helper()
		etag := r.Header.Get("ETag")
		if !etagRE.MatchString(etag) || !strings.HasPrefix(etag, fmt.Sprintf(`"%d-`, n)) {
			t.Fatalf("ETag %q, want one of revision %d", etag, n)
		}
	}
}

func TestHistoryConditionalGet(t *testing.T) {
	s := startServer(t, "")
	s.run(t, []step{
		{method: "POST", path: "/cars", body: golf1, status: 201},
		{method: "PATCH", path: "/cars/1", body: `{"year":2011}`, status: 200},
	})
	etag := s.do("GET", "/cars/1/revisions/1", "").Header.Get("ETag")
	current := s.do("GET", "/cars/1", "").Header.Get("ETag")
	last := s.do("GET", "/cars/1/revisions/2", "").Header.Get("ETag")
	if etag == "" || etag == current || last != current {
		t.Fatalf("ETags: rev 1 %q, rev 2 %q, record %q: the newest revision's must be the record's", etag, last, current)
	}
	s.run(t, []step{
		{name: "a revision never changes: 304", method: "GET", path: "/cars/1/revisions/1", headers: []string{"If-None-Match", etag}, status: 304},
		{name: "another revision's ETag: 200", method: "GET", path: "/cars/1/revisions/2", headers: []string{"If-None-Match", etag}, status: 200},
	})
}

// TestHistoryKeepAndEnvelope: history_keep prunes; an enveloped API wraps revisions.
func TestHistoryKeepAndEnvelope(t *testing.T) {
	s := startServer(t, "", "--config", writeConfig(t, `
apis:
  - base: /v2
    envelope: true
    resources:
      notes:
        key: id
        history: true
        history_keep: 2
        item: [GET, PUT]
        fields:
          id: {type: integer}
          text: {type: string, required: true}
`))
	s.run(t, []step{
		{method: "POST", path: "/v2/notes", body: `{"id":1,"text":"a"}`, status: 201},
		{method: "PUT", path: "/v2/notes/1", body: `{"text":"b"}`, status: 200},
		{method: "PUT", path: "/v2/notes/1", body: `{"text":"c"}`, status: 200},
		{name: "only the newest two, enveloped", method: "GET", path: "/v2/notes/1/revisions", status: 200,
			check: both(firstRev(3, true), wantRevisionsIn(true, `{"id":1,"text":"c"}`, `{"id":1,"text":"b"}`))},
		{name: "pruned", method: "GET", path: "/v2/notes/1/revisions/1", status: 404,
			wantJSON: `{"status":"error","message":"note with id 1 has no revision 1","errors":[]}`},
		{name: "kept", method: "GET", path: "/v2/notes/1/revisions/2", status: 200, wantJSON: `{"status":"ok","result":{"id":1,"text":"b"}}`},
		{name: "no DELETE on items, so no purge", method: "DELETE", path: "/v2/notes/1/revisions", status: 405,
			wantHeader: map[string]string{"Allow": "GET, HEAD, OPTIONS"}},
	})
}

// TestHistorySurvivesRestart: revisions and their cursors outlive the process.
func TestHistorySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	s.run(t, []step{
		{method: "POST", path: "/cars", body: golf1, status: 201},
		{method: "PUT", path: "/cars/1", body: `{"model":"Golf GTI","color":"black","year":2012}`, status: 200},
		{method: "DELETE", path: "/cars/1", status: 204},
	})
	next := parseLinks(s.do("GET", "/cars/1/revisions?limit=1", "").Header.Get("Link"))["next"]
	if next == "" {
		t.Fatal("no next link")
	}
	s.stop()

	s2 := startServer(t, dir)
	s2.run(t, []step{
		{name: "history after a restart", method: "GET", path: "/cars/1/revisions", status: 200,
			check: both(firstRev(3, false), wantRevisions("x"+golf2, golf2, golf1))},
		{name: "a cursor after a restart", method: "GET", path: next, status: 200,
			check: both(firstRev(2, false), wantRevisions(golf2))},
		{name: "re-created after a restart", method: "POST", path: "/cars", body: golf1, status: 201, check: etagOfRev(4)},
	})
	s2.stop()
}
