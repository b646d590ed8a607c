package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/restkit/restkit/httpapi"
)

// Issue 11, finding 4: negotiated responses carry Vary: Accept and each representation
// has its own ETag (DESIGN §10, RFC 9110 §12.5.5, §8.8.3, §13.1.1, §13.1.2).

const (
	acceptXML  = "application/xml"
	acceptHTML = "text/html"
)

// TestVaryAcceptOnEveryNegotiatedResponse: every answer whose body or status depends
// on Accept says so — records, lists, nouns, revisions, writes, bulk creates, the 303
// to the docs, 304s, HEAD and 406 — and CORS's Vary: Origin is kept beside it.
func TestVaryAcceptOnEveryNegotiatedResponse(t *testing.T) {
	h := demoServer(t, func(o *httpapi.Options) { o.CORS = &httpapi.CORS{Origins: []string{"https://app.example"}} })
	car := mustServe(t, h, http.StatusCreated, "POST", "/cars", `{"id":1,"model":"Golf","color":"red"}`)
	if got := car.vary(); got != "Accept" {
		t.Fatalf("POST /cars: Vary %q, want Accept", got)
	}
	etag := car.header.Get("ETag")
	if got := mustServe(t, h, 201, "PUT", "/v1/people/fred", `{"email":"f@example.com"}`).vary(); got != "Accept" {
		t.Fatalf("PUT creating /v1/people/fred: Vary %q, want Accept", got)
	}
	for _, tc := range []struct {
		method, path, body string
		headers            []string
		status             int
	}{
		{"GET", "/cars/1", "", nil, 200},
		{"GET", "/cars/1", "", []string{"Accept", acceptXML}, 200},
		{"HEAD", "/cars/1", "", nil, 200},
		{"GET", "/cars/1", "", []string{"If-None-Match", etag}, 304},
		{"GET", "/cars/1", "", []string{"Accept", acceptHTML}, 303},
		{"GET", "/cars/1", "", []string{"Accept", "image/png"}, 406},
		{"GET", "/cars", "", nil, 200},
		{"GET", "/cars", "", []string{"Accept", "text/csv"}, 200},
		{"GET", "/cars", "", []string{"Accept", acceptHTML}, 303},
		{"POST", "/cars", `[{"id":2,"model":"Zoe","color":"blue"},{"id":3,"model":"Up","color":"white"}]`, nil, 201},
		{"PUT", "/cars/1", `{"model":"Golf","color":"black"}`, nil, 200},
		{"PATCH", "/cars/1", `{"year":2010}`, []string{"Accept", acceptXML}, 200},
		{"GET", "/cars/1/revisions", "", nil, 200},
		{"GET", "/cars/1/revisions/1", "", []string{"Accept", acceptXML}, 200},
		{"PUT", "/v1/people/fred", `{"email":"f@example.com"}`, nil, 200},
		{"GET", "/v1/people/fred", "", nil, 200},
		{"GET", "/led", "", nil, 200},
		{"HEAD", "/led", "", []string{"Accept", acceptXML}, 200},
		{"PUT", "/led", `{"brightness":3}`, nil, 200},
		{"POST", "/led", "", nil, 200},
		{"DELETE", "/led", "", nil, 200},
	} {
		name := tc.method + " " + tc.path + " " + strings.Join(tc.headers, " ")
		undo := func() { // a create is undone so that it can be sent again
			switch {
			case tc.method == "POST" && tc.path == "/cars":
				mustServe(t, h, 204, "DELETE", "/cars/2", "")
				mustServe(t, h, 204, "DELETE", "/cars/3", "")
			}
		}
		r := mustServe(t, h, tc.status, tc.method, tc.path, tc.body, tc.headers...)
		if got := r.vary(); got != "Accept" {
			t.Errorf("%s: Vary %q, want Accept", name, got)
		}
		undo()
		// From a listed origin, CORS's Vary: Origin stays and Accept joins it.
		r = mustServe(t, h, tc.status, tc.method, tc.path, tc.body, append([]string{"Origin", "https://app.example"}, tc.headers...)...)
		if got := r.vary(); got != "Origin, Accept" {
			t.Errorf("%s from an origin: Vary %q, want Origin, Accept", name, got)
		}
		undo()
	}
	// What does not depend on Accept does not vary on it.
	for _, path := range []string{"/healthz", "/openapi.json"} {
		if got := mustServe(t, h, 200, "GET", path, "").vary(); got != "" {
			t.Errorf("GET %s: Vary %q, want none", path, got)
		}
	}
	if got := mustServe(t, h, 204, "DELETE", "/cars/1", "").vary(); got != "" {
		t.Errorf("DELETE /cars/1: Vary %q, want none", got)
	}
}

// TestETagPerRepresentation: the JSON of a revision keeps its tag, the XML has its own
// ("…-xml"); If-None-Match on GET and HEAD compares weakly against the tag of the
// representation served, so a JSON tag never earns a 304 for XML; If-Match compares
// strongly and takes the tag of either representation of the current revision, never
// a weak one.
func TestETagPerRepresentation(t *testing.T) {
	h := demoServer(t, nil)
	created := mustServe(t, h, http.StatusCreated, "POST", "/cars", `{"id":1,"model":"Golf","color":"red"}`, "Accept", acceptXML)
	jsonTag := mustServe(t, h, 200, "GET", "/cars/1", "").header.Get("ETag")
	xmlTag := mustServe(t, h, 200, "GET", "/cars/1", "", "Accept", acceptXML).header.Get("ETag")
	if !strings.HasPrefix(jsonTag, `"1-`) || xmlTag != strings.TrimSuffix(jsonTag, `"`)+`-xml"` {
		t.Fatalf("ETags: JSON %s, XML %s; want \"1-…\" and the same with -xml", jsonTag, xmlTag)
	}
	if got := created.header.Get("ETag"); got != xmlTag {
		t.Fatalf("POST with Accept XML: ETag %s, want the XML tag %s", got, xmlTag)
	}
	for _, tc := range []struct {
		name, method, accept, inm string
		status                    int
		etag                      string // the ETag of the answer
	}{
		{"JSON tag, JSON asked", "GET", "", jsonTag, 304, jsonTag},
		{"JSON tag, XML asked: no 304", "GET", acceptXML, jsonTag, 200, xmlTag},
		{"XML tag, XML asked", "GET", acceptXML, xmlTag, 304, xmlTag},
		{"XML tag, JSON asked: no 304", "GET", "", xmlTag, 200, jsonTag},
		{"weak XML tag, XML asked", "GET", acceptXML, "W/" + xmlTag, 304, xmlTag},
		{"weak JSON tag, XML asked: no 304", "GET", acceptXML, "W/" + jsonTag, 200, xmlTag},
		{"both tags, XML asked", "HEAD", acceptXML, jsonTag + ", " + xmlTag, 304, xmlTag},
		{"HEAD, JSON tag, XML asked", "HEAD", acceptXML, jsonTag, 200, xmlTag},
	} {
		headers := []string{"If-None-Match", tc.inm}
		if tc.accept != "" {
			headers = append(headers, "Accept", tc.accept)
		}
		r := serve(t, h, tc.method, "/cars/1", "", headers...)
		if r.status != tc.status || r.header.Get("ETag") != tc.etag {
			t.Errorf("%s: %d ETag %s, want %d ETag %s", tc.name, r.status, r.header.Get("ETag"), tc.status, tc.etag)
		}
	}

	// If-Match: either representation's tag of the current revision, compared strongly.
	mustServe(t, h, 412, "PATCH", "/cars/1", `{"year":2001}`, "If-Match", "W/"+xmlTag)
	mustServe(t, h, 412, "PATCH", "/cars/1", `{"year":2001}`, "If-Match", "W/"+jsonTag)
	mustServe(t, h, 412, "DELETE", "/cars/1", "", "If-Match", `"1-0-xml"`)
	r := mustServe(t, h, 200, "PATCH", "/cars/1", `{"year":2001}`, "If-Match", xmlTag)
	jsonTag2 := r.header.Get("ETag")
	if !strings.HasPrefix(jsonTag2, `"2-`) || strings.HasSuffix(jsonTag2, `-xml"`) {
		t.Fatalf("PATCH answered in JSON: ETag %s, want the JSON tag of revision 2", jsonTag2)
	}
	mustServe(t, h, 412, "PUT", "/cars/1", `{"model":"Golf","color":"red"}`, "If-Match", xmlTag) // stale now
	r = mustServe(t, h, 200, "PUT", "/cars/1", `{"model":"Golf","color":"red"}`, "If-Match", jsonTag2, "Accept", acceptXML)
	xmlTag3 := r.header.Get("ETag")
	if !strings.HasPrefix(xmlTag3, `"3-`) || !strings.HasSuffix(xmlTag3, `-xml"`) {
		t.Fatalf("PUT answered in XML: ETag %s, want the XML tag of revision 3", xmlTag3)
	}
	// If-None-Match on a write names the record in any representation, weakly.
	mustServe(t, h, 412, "PUT", "/cars/1", `{"model":"Golf","color":"red"}`, "If-None-Match", "W/"+xmlTag3)
	mustServe(t, h, 204, "DELETE", "/cars/1", "", "If-Match", xmlTag3)

	// A noun and a revision follow the same rules.
	nounJSON := mustServe(t, h, 200, "GET", "/led", "").header.Get("ETag")
	nounXML := mustServe(t, h, 200, "GET", "/led", "", "Accept", acceptXML).header.Get("ETag")
	if nounXML != strings.TrimSuffix(nounJSON, `"`)+`-xml"` {
		t.Fatalf("noun ETags: JSON %s, XML %s", nounJSON, nounXML)
	}
	mustServe(t, h, 200, "GET", "/led", "", "Accept", acceptXML, "If-None-Match", nounJSON)
	mustServe(t, h, 304, "GET", "/led", "", "Accept", acceptXML, "If-None-Match", nounXML)
	mustServe(t, h, 412, "PUT", "/led", `{"brightness":1}`, "If-Match", "W/"+nounXML)
	mustServe(t, h, 200, "PUT", "/led", `{"brightness":1}`, "If-Match", nounXML)

	mustServe(t, h, http.StatusCreated, "POST", "/cars", `{"id":5,"model":"Golf","color":"red"}`)
	revJSON := mustServe(t, h, 200, "GET", "/cars/5/revisions/1", "").header.Get("ETag")
	revXML := mustServe(t, h, 200, "GET", "/cars/5/revisions/1", "", "Accept", acceptXML).header.Get("ETag")
	if revXML != strings.TrimSuffix(revJSON, `"`)+`-xml"` {
		t.Fatalf("revision ETags: JSON %s, XML %s", revJSON, revXML)
	}
	mustServe(t, h, 200, "GET", "/cars/5/revisions/1", "", "Accept", acceptXML, "If-None-Match", revJSON)
	mustServe(t, h, 304, "GET", "/cars/5/revisions/1", "", "Accept", acceptXML, "If-None-Match", revXML)
}
