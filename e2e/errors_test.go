package e2e

import (
	"strings"
	"testing"
)

// TestBodyErrors sends every kind of bad body DESIGN §2 names and checks the precise
// status, the problem body, that nothing leaks, and that nothing was stored.
func TestBodyErrors(t *testing.T) {
	s := startServer(t, "")
	big := `{"id":3,"model":"` + strings.Repeat("x", 1<<20) + `","color":"red"}`
	steps := []step{
		{name: "no content type", method: "POST", path: "/cars", body: `{"id":3,"model":"A","color":"red"}`, headers: []string{"Content-Type", ""}, status: 415,
			wantJSON: problemJSON(415, "the body needs Content-Type: application/json")},
		{name: "text/plain", method: "POST", path: "/cars", body: `{"id":3,"model":"A","color":"red"}`, headers: []string{"Content-Type", "text/plain"}, status: 415,
			wantJSON: problemJSON(415, `the body must be application/json, not "text/plain"`)},
		{name: "form", method: "POST", path: "/cars", body: `id=3`, headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415},
		{name: "latin-1 charset", method: "POST", path: "/cars", body: `{"id":3,"model":"A","color":"red"}`, headers: []string{"Content-Type", "application/json; charset=iso-8859-1"}, status: 415,
			wantJSON: problemJSON(415, `JSON bodies must be UTF-8, not charset "iso-8859-1"`)},
		{name: "utf-8 charset is fine", method: "POST", path: "/cars", body: `{"id":30,"model":"A","color":"red"}`, headers: []string{"Content-Type", "application/json; charset=UTF-8"}, status: 201},
		{name: "too large", method: "POST", path: "/cars", body: big, status: 413,
			wantJSON: problemJSON(413, "the body is larger than the limit of 1048576 bytes")},
		{name: "malformed", method: "POST", path: "/cars", body: `{"id":3,"model":}`, status: 400, wantJSON: problemJSON(400, "malformed JSON at byte 16")},
		{name: "truncated", method: "POST", path: "/cars", body: `{"id":3`, status: 400, wantJSON: problemJSON(400, "the JSON ends too early")},
		{name: "invalid utf-8", method: "POST", path: "/cars", body: "{\"id\":3,\"model\":\"\xc3\x28\",\"color\":\"red\"}", status: 400, wantJSON: problemJSON(400, "the body is not valid UTF-8")},
		{name: "duplicate keys", method: "POST", path: "/cars", body: `{"id":3,"model":"A","model":"B","color":"red"}`, status: 400, wantJSON: problemJSON(400, `duplicate member "model"`)},
		{name: "trailing data", method: "POST", path: "/cars", body: `{"id":3,"model":"A","color":"red"}{"id":4}`, status: 400,
			wantJSON: problemJSON(400, "unexpected data after the JSON object, which ends at byte 34")},
		{name: "not an object", method: "POST", path: "/cars", body: `"car"`, status: 400, wantJSON: problemJSON(400, "the body must be a JSON object")},
		{name: "empty body", method: "POST", path: "/cars", status: 400, wantJSON: problemJSON(400, "the body is empty; send a JSON object")},
		{name: "unknown field and wrong types, all listed", method: "POST", path: "/cars", body: `{"id":"3","model":7,"color":"red","year":"2010","wheels":4}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "id", "must be an integer", "model", "must be a string", "wheels", "is not a field of cars", "year", "must be an integer")},
		{name: "fractional integer", method: "POST", path: "/cars", body: `{"id":3.5,"model":"A","color":"red"}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "id", "must be an integer")},
		{name: "huge integer", method: "POST", path: "/cars", body: `{"id":123456789012345678901234567890,"model":"A","color":"red"}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "id", "is out of range")},
		{name: "nothing was stored", method: "GET", path: "/cars?count=true", status: 200, wantHeader: map[string]string{"X-Total-Count": "1"},
			wantJSON: `[{"id":30,"model":"A","color":"red"}]`},
	}
	for i := range steps {
		steps[i].check = chain(steps[i].check, checkNoLeak)
	}
	s.run(t, steps)
}

func chain(fs ...func(testing.TB, *response)) func(testing.TB, *response) {
	return func(t testing.TB, r *response) {
		for _, f := range fs {
			if f != nil {
				f(t, r)
			}
		}
	}
}
