package httpapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestEmptyBodyIsNeverRefusedForItsContentType (issue 11, finding 5): curl -d "" and
// axios send application/x-www-form-urlencoded with no body. A request without a body
// is not a 415: where none is needed it succeeds, where one is needed it is a 400 that
// says the body is empty. A body that is there is still a 415 when it is not JSON.
func TestEmptyBodyIsNeverRefusedForItsContentType(t *testing.T) {
	h := demoServer(t, nil)
	mustServe(t, h, http.StatusCreated, "POST", "/cars", `{"id":1,"model":"Golf","color":"red"}`)
	const form = "application/x-www-form-urlencoded"
	const empty = `{"type":"about:blank","title":"Bad Request","status":400,"detail":"the body is empty; send a JSON object"}` + "\n"
	for _, chunked := range []bool{false, true} {
		send := func(method, path, body, contentType string) reply {
			var rd io.Reader = strings.NewReader(body)
			if chunked {
				rd = io.MultiReader(rd) // no known length: Transfer-Encoding: chunked
			}
			req := httptest.NewRequest(method, path, rd)
			if chunked != (req.ContentLength < 0) {
				t.Fatalf("chunked %v, ContentLength %d", chunked, req.ContentLength)
			}
			req.Header.Set("Content-Type", contentType)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return reply{status: w.Code, header: w.Header(), body: w.Body.String()}
		}
		for _, tc := range []struct {
			method, path, body, contentType string
			status                          int
			want                            string // the body, when not ""
		}{
			{"POST", "/led", "", form, 200, `{"state":"on","brightness":50}` + "\n"},
			{"POST", "/led", "", "text/plain", 200, `{"state":"off","brightness":50}` + "\n"},
			{"DELETE", "/led", "", form, 200, `{"state":"off","brightness":50}` + "\n"},
			{"PUT", "/led", "", form, 400, empty},
			{"POST", "/cars", "", form, 400, empty},
			{"PUT", "/cars/1", "", "text/plain", 400, empty},
			{"PATCH", "/cars/1", "", "multipart/form-data; boundary=x", 400, empty},
			{"PUT", "/v1/people/ann", "", form, 400, `{"status":"error","message":"the body is empty; send a JSON object","errors":[]}` + "\n"},
			// A body that is there must still be JSON.
			{"POST", "/led", "x", form, 415, ""},
			{"POST", "/cars", " ", "text/plain", 415, ""},
			{"PATCH", "/cars/1", "year=2001", form, 415, ""},
		} {
			r := send(tc.method, tc.path, tc.body, tc.contentType)
			if r.status != tc.status || (tc.want != "" && r.body != tc.want) {
				t.Errorf("chunked %v: %s %s %q as %s: %d %s, want %d %s", chunked, tc.method, tc.path, tc.body, tc.contentType, r.status, r.body, tc.status, tc.want)
			}
		}
	}
	// Nothing was changed by the refusals.
	if r := mustServe(t, h, 200, "GET", "/cars/1", ""); r.body != `{"id":1,"model":"Golf","color":"red"}`+"\n" {
		t.Fatalf("car 1 after the refusals: %s", r.body)
	}
	mustServe(t, h, 404, "GET", "/v1/people/ann", "")
}
