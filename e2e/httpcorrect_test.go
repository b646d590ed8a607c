package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// The HTTP-correctness findings of issue 11 (4–10), against the real binary. The
// in-process tests of httpapi cover each rule in detail; these show the binary serves it.

// TestNegotiationIsCacheCorrect (finding 4): Vary: Accept on negotiated answers, and
// a JSON ETag never revalidates the XML.
func TestNegotiationIsCacheCorrect(t *testing.T) {
	s := startServer(t, "")
	s.do("POST", "/cars", `{"id":1,"model":"Golf","color":"red"}`)
	jsonTag := s.do("GET", "/cars/1", "").Header.Get("ETag")
	xmlTag := strings.TrimSuffix(jsonTag, `"`) + `-xml"`
	s.run(t, []step{
		{name: "JSON: its tag", method: "GET", path: "/cars/1", status: 200,
			wantHeader: map[string]string{"Vary": "Accept", "ETag": jsonTag}},
		{name: "a JSON tag does not revalidate the XML", method: "GET", path: "/cars/1", headers: []string{"Accept", "application/xml", "If-None-Match", jsonTag}, status: 200,
			wantHeader: map[string]string{"Vary": "Accept", "ETag": xmlTag, "Content-Type": "application/xml; charset=utf-8"}},
		{name: "the XML tag does", method: "GET", path: "/cars/1", headers: []string{"Accept", "application/xml", "If-None-Match", xmlTag}, status: 304,
			wantHeader: map[string]string{"Vary": "Accept", "ETag": xmlTag}},
		{name: "the browser redirect varies", method: "GET", path: "/cars", headers: []string{"Accept", "text/html"}, status: 303,
			wantHeader: map[string]string{"Vary": "Accept", "Location": "/docs#cars"}},
		{name: "a weak tag never passes If-Match", method: "PATCH", path: "/cars/1", body: `{"year":2001}`, headers: []string{"If-Match", "W/" + xmlTag}, status: 412},
		{name: "the XML tag passes If-Match", method: "PATCH", path: "/cars/1", body: `{"year":2001}`, headers: []string{"If-Match", xmlTag}, status: 200,
			wantHeader: map[string]string{"Vary": "Accept"}, wantJSON: `{"id":1,"model":"Golf","color":"red","year":2001}`},
		{name: "a noun varies too", method: "GET", path: "/led", headers: []string{"Accept", "application/xml"}, status: 200,
			wantHeader: map[string]string{"Vary": "Accept"},
			check: func(t testing.TB, r *response) {
				if !strings.HasSuffix(r.Header.Get("ETag"), `-xml"`) {
					t.Fatalf("noun XML ETag %q", r.Header.Get("ETag"))
				}
			}},
	})
}

// TestEmptyBodyIgnoresContentType (finding 5): curl -X POST /led -d "" sends
// Content-Length: 0 as application/x-www-form-urlencoded; it toggles the LED.
func TestEmptyBodyIgnoresContentType(t *testing.T) {
	s := startServer(t, "")
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}
	s.run(t, []step{
		{name: "curl -d '' toggles", method: "POST", path: "/led", headers: form, status: 200, wantJSON: `{"state":"on","brightness":50}`},
		{name: "a body is required for PUT", method: "PUT", path: "/led", headers: form, status: 400,
			wantJSON: problemJSON(400, "the body is empty; send a JSON object")},
		{name: "and for POST /cars", method: "POST", path: "/cars", headers: form, status: 400,
			wantJSON: problemJSON(400, "the body is empty; send a JSON object")},
		{name: "a form body is still a 415", method: "POST", path: "/led", body: "state=on", headers: form, status: 415},
	})
}

// TestURLKeysAreNFC (finding 6): Zoe%CC%88 and Zo%C3%AB are one person.
func TestURLKeysAreNFC(t *testing.T) {
	s := startServer(t, "")
	s.run(t, []step{
		{name: "decomposed creates", method: "PUT", path: "/v1/people/Zoe%CC%88", body: `{"email":"z@example.com"}`, status: 201,
			wantHeader: map[string]string{"Location": "/v1/people/Zo%C3%AB"},
			wantJSON:   `{"status":"ok","result":{"comment":null,"name":"Zo\u00eb","email":"z@example.com"}}`},
		{name: "precomposed replaces the same one", method: "PUT", path: "/v1/people/Zo%C3%AB", body: `{"email":"z@example.com"}`, status: 200},
		{name: "one record", method: "GET", path: "/v1/people", status: 200,
			wantJSON: `{"status":"ok","result":[{"comment":null,"name":"Zo\u00eb","email":"z@example.com"}]}`},
	})
}

// TestStringFieldText (finding 7): a lone surrogate escape or a C0 control is a 400
// naming the field, never a U+FFFD stored in its place.
func TestStringFieldText(t *testing.T) {
	s := startServer(t, "")
	const lone = "holds the lone surrogate escape \\ud800, which is no character; send the character itself or a whole surrogate pair"
	const esc = "must not contain control characters other than tab, line feed and carriage return (found \\u001b)"
	s.run(t, []step{
		{name: "lone surrogate", method: "POST", path: "/cars", body: `{"id":1,"model":"\ud800","color":"red"}`, status: 400,
			wantJSON: problemJSON(400, "invalid text in the body", "model", lone)},
		{name: "escape character", method: "POST", path: "/cars", body: `{"id":1,"model":"\u001b[31m","color":"red"}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "model", esc)},
		{name: "in a bulk create", method: "POST", path: "/cars", body: `[{"id":1,"model":"A","color":"red"},{"id":2,"model":"B","color":"\ud800"}]`, status: 400,
			wantJSON: problemJSON(400, "invalid text in the body", "[1].color", lone)},
		{name: "in a noun", method: "PUT", path: "/led", body: `{"state":"\u001b"}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "state", esc)},
		{name: "nothing stored", method: "GET", path: "/cars", status: 200, wantJSON: `[]`},
		{name: "a pair and a tab are fine", method: "POST", path: "/cars", body: `{"id":1,"model":"\ud83d\ude97\tGT","color":"red"}`, status: 201},
		{name: "and come back from XML", method: "GET", path: "/cars/1", headers: []string{"Accept", "application/xml"}, status: 200,
			wantIn: []string{"<model>\U0001F697&#x9;GT</model>"}},
	})
}

// TestRangeLimits (finding 8): 8,000 copies of one range cost one byte, not a 1.1 MB
// multipart answer; more than 16 ranges after coalescing get the whole file (200).
func TestRangeLimits(t *testing.T) {
	s := startServer(t, "")
	content := strings.Repeat("0123456789", 10_000)
	if r := s.do("PUT", "/artefacts/d/x", content, "Content-Type", "application/octet-stream"); r.Status != 201 {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	ranges := func(n int, f func(i int) string) []string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return []string{"Range", "bytes=" + strings.Join(parts, ",")}
	}
	s.run(t, []step{
		{name: "8000 × 0-0", method: "GET", path: "/artefacts/d/x", headers: ranges(8000, func(int) string { return "0-0" }), status: 206,
			wantHeader: map[string]string{"Content-Range": "bytes 0-0/100000", "Content-Length": "1"}},
		{name: "overlapping ranges coalesce", method: "GET", path: "/artefacts/d/x", headers: []string{"Range", "bytes=0-10,5-20"}, status: 206,
			wantHeader: map[string]string{"Content-Range": "bytes 0-20/100000", "Content-Length": "21"}},
		{name: "1000 disjoint ranges: the whole file", method: "GET", path: "/artefacts/d/x", headers: ranges(1000, func(i int) string { return fmt.Sprintf("%d-%d", 2*i, 2*i) }), status: 200,
			wantHeader: map[string]string{"Content-Range": "!", "Content-Length": "100000"}},
		{name: "a single range as before", method: "GET", path: "/artefacts/d/x", headers: []string{"Range", "bytes=6-14"}, status: 206,
			wantHeader: map[string]string{"Content-Range": "bytes 6-14/100000"}},
		{name: "416 as before", method: "GET", path: "/artefacts/d/x", headers: []string{"Range", "bytes=100000-,200000-"}, status: 416,
			wantHeader: map[string]string{"Content-Range": "bytes */100000"}},
	})
}

// TestEmptyVersionParameter (finding 9): ?version= is a 400 naming version, on a
// download and on a delete (which used to delete the whole artefact).
func TestEmptyVersionParameter(t *testing.T) {
	s := startServer(t, "")
	s.do("PUT", "/artefacts/d/x", "one", "Content-Type", "text/plain")
	s.do("PUT", "/artefacts/d/x", "two", "Content-Type", "text/plain")
	bad := problemJSON(400, "invalid query parameters", "version", "must be a version number from 1")
	s.run(t, []step{
		{name: "download", method: "GET", path: "/artefacts/d/x?version=", status: 400, wantJSON: bad},
		{name: "delete", method: "DELETE", path: "/artefacts/d/x?version=", status: 400, wantJSON: bad},
		{name: "both versions are there", method: "GET", path: "/artefacts/d/x/versions", status: 200,
			check: func(t testing.TB, r *response) {
				if n := strings.Count(string(r.Body), `"version":`); n != 2 {
					t.Fatalf("%d versions: %s", n, r.Body)
				}
			}},
	})
}

// TestEveryBodyDeclaresItsLength: restkit leaves net/http to count a small body
// (httpapi's writeBody) and declares a large one itself; either way a JSON answer,
// an error, a list page past net/http's buffer and a HEAD carry Content-Length, never
// chunked encoding.
func TestEveryBodyDeclaresItsLength(t *testing.T) {
	s := startServer(t, "")
	for i := 1; i <= 60; i++ {
		s.do("POST", "/cars", fmt.Sprintf(`{"id":%d,"model":"Model number %d, with a name long enough to fill a page","color":"red","year":2000}`, i, i))
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/cars/1"}, {"GET", "/cars?limit=2"}, {"GET", "/cars?limit=60"}, {"GET", "/cars/999"},
		{"GET", "/cars?limit=60&fields=id"}, {"HEAD", "/cars/1"}, {"HEAD", "/cars?limit=60"}, {"GET", "/led"}, {"GET", "/openapi.json"},
	} {
		r := s.do(c.method, c.path, "")
		n := len(r.Body)
		if c.method == "HEAD" {
			n = len(s.do("GET", c.path, "").Body)
		}
		if got := r.Header.Get("Content-Length"); got != strconv.Itoa(n) || n == 0 {
			t.Fatalf("%s %s: %d, Content-Length %q for a body of %d bytes", c.method, c.path, r.Status, got, n)
		}
	}
	if n := len(s.do("GET", "/cars?limit=60", "").Body); n <= 4096 {
		t.Fatalf("the long page is %d bytes: it no longer tests a body past net/http's buffer", n)
	}
}
