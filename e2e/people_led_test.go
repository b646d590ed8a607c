package e2e

import (
	"testing"
)

func TestPeopleFlowWithEnvelope(t *testing.T) {
	s := startServer(t, "")
	s.run(t, []step{
		{name: "absent", method: "GET", path: "/v1/people/fred", status: 404, wantHeader: map[string]string{"Content-Type": "application/json"},
			wantJSON: `{"status":"error","message":"no person with name fred","errors":[]}`},
		{name: "create by PUT", method: "PUT", path: "/v1/people/fred", body: `{"email":"a@b.c"}`, status: 201,
			wantHeader: map[string]string{"Location": "/v1/people/fred", "ETag": "*"},
			wantJSON:   `{"status":"ok","result":{"comment":null,"name":"fred","email":"a@b.c"}}`},
		{name: "read: exactly the declared fields, in declared order", method: "GET", path: "/v1/people/fred", status: 200,
			check: func(t testing.TB, r *response) {
				if want := `{"status":"ok","result":{"comment":null,"name":"fred","email":"a@b.c"}}` + "\n"; string(r.Body) != want {
					t.Fatalf("body %s, want %s", r.Body, want)
				}
			}},
		{name: "update by PUT", method: "PUT", path: "/v1/people/fred", body: `{"email":"fred@example.com","comment":"likes cars"}`, status: 200,
			wantJSON: `{"status":"ok","result":{"comment":"likes cars","name":"fred","email":"fred@example.com"}}`},
		{name: "invalid email, envelope error lists the field", method: "PUT", path: "/v1/people/fred", body: `{"email":"not-an-email"}`, status: 400,
			wantJSON: `{"status":"error","message":"validation failed","errors":[{"field":"email","message":"must be an email address such as name@example.com"}]}`},
		{name: "missing required field", method: "PUT", path: "/v1/people/jane", body: `{"comment":"x"}`, status: 400,
			wantJSON: `{"status":"error","message":"validation failed","errors":[{"field":"email","message":"is required"}]}`},
		{name: "jane was not created", method: "GET", path: "/v1/people/jane", status: 404},
		{name: "patch", method: "PATCH", path: "/v1/people/fred", body: `{"comment":null}`, status: 200,
			wantJSON: `{"status":"ok","result":{"comment":null,"name":"fred","email":"fred@example.com"}}`},
		{name: "unicode name in the URL", method: "PUT", path: "/v1/people/J%C3%BCrgen%20%F0%9F%9A%97", body: `{"email":"j@x.de"}`, status: 201,
			wantHeader: map[string]string{"Location": "/v1/people/J%C3%BCrgen%20%F0%9F%9A%97"},
			wantJSON:   `{"status":"ok","result":{"comment":null,"name":"Jürgen 🚗","email":"j@x.de"}}`},
		{name: "list", method: "GET", path: "/v1/people", status: 200,
			wantJSON: `{"status":"ok","result":[{"comment":null,"name":"Jürgen 🚗","email":"j@x.de"},{"comment":null,"name":"fred","email":"fred@example.com"}]}`}, // keys sort by bytes: J < f
		{name: "no POST on people", method: "POST", path: "/v1/people", body: `{"name":"x","email":"a@b.c"}`, status: 405,
			wantHeader: map[string]string{"Allow": "GET, HEAD, OPTIONS"},
			wantJSON:   `{"status":"error","message":"POST is not allowed here; allowed: GET, HEAD, OPTIONS","errors":[]}`},
		{name: "NUL in a key", method: "GET", path: "/v1/people/a%00b", status: 400,
			wantJSON: `{"status":"error","message":"invalid key in the URL","errors":[{"field":"name","message":"must be valid UTF-8 without control characters"}]}`},
		{name: "invalid UTF-8 in a key", method: "GET", path: "/v1/people/%ff", status: 400},
		{name: "over-long key", method: "PUT", path: "/v1/people/" + string(make([]byte, 0)) + repeat("x", 101), body: `{"email":"a@b.c"}`, status: 400,
			wantJSON: `{"status":"error","message":"invalid key in the URL","errors":[{"field":"name","message":"must be at most 100 characters long"}]}`},
		{name: "delete", method: "DELETE", path: "/v1/people/fred", status: 204},
		{name: "delete again", method: "DELETE", path: "/v1/people/fred", status: 404,
			wantJSON: `{"status":"error","message":"no person with name fred","errors":[]}`},
		{name: "html", method: "GET", path: "/v1/people", headers: []string{"Accept", "text/html"}, status: 303, wantHeader: map[string]string{"Location": "/docs#v1-people"}},
	})
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

func TestLedFlow(t *testing.T) {
	s := startServer(t, "")
	s.run(t, []step{
		{name: "defaults", method: "GET", path: "/led", status: 200, wantHeader: map[string]string{"ETag": "*"}, wantJSON: `{"state":"off","brightness":50}`},
		{name: "toggle on", method: "POST", path: "/led", status: 200, wantJSON: `{"state":"on","brightness":50}`},
		{name: "toggle off", method: "POST", path: "/led", body: `{}`, status: 200, wantJSON: `{"state":"off","brightness":50}`},
		{name: "toggle on again", method: "POST", path: "/led", status: 200, wantJSON: `{"state":"on","brightness":50}`},
		{name: "set exactly: absent fields take defaults", method: "PUT", path: "/led", body: `{"brightness":80}`, status: 200, wantJSON: `{"state":"off","brightness":80}`},
		{name: "set both", method: "PUT", path: "/led", body: `{"state":"on","brightness":100}`, status: 200, wantJSON: `{"state":"on","brightness":100}`},
		{name: "bad enum", method: "PUT", path: "/led", body: `{"state":"blink"}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "state", "must be one of on, off")},
		{name: "out of range and unknown, both listed", method: "PUT", path: "/led", body: `{"brightness":101,"colour":"red"}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "brightness", "must be at most 100", "colour", "is not a field of led")},
		{name: "nested object refused", method: "PUT", path: "/led", body: `{"state":{"on":true}}`, status: 400,
			wantJSON: problemJSON(400, "state: only strings, numbers, booleans and null are accepted here, not objects or arrays")},
		{name: "array refused", method: "PUT", path: "/led", body: `{"brightness":[1]}`, status: 400},
		{name: "top-level array refused", method: "PUT", path: "/led", body: `[{"state":"on"}]`, status: 400,
			wantJSON: problemJSON(400, "the body must be a JSON object")},
		{name: "wrong type", method: "PUT", path: "/led", body: `{"brightness":"80"}`, status: 400,
			wantJSON: problemJSON(400, "validation failed", "brightness", "must be an integer")},
		{name: "oversized body", method: "PUT", path: "/led", body: `{"state":"` + repeat("x", 20000) + `"}`, status: 413},
		{name: "empty PUT", method: "PUT", path: "/led", status: 400, wantJSON: problemJSON(400, "the body is empty; send a JSON object")},
		{name: "toggle takes no body", method: "POST", path: "/led", body: `{"state":"on"}`, status: 400,
			wantJSON: problemJSON(400, "POST led takes no body: it runs toggle state")},
		{name: "nothing changed by the refusals", method: "GET", path: "/led", status: 200, wantJSON: `{"state":"on","brightness":100}`},
		{name: "xml", method: "GET", path: "/led", headers: []string{"Accept", "application/xml"}, status: 200,
			wantIn: []string{`<led><state>on</state><brightness>100</brightness></led>`}},
		{name: "reset", method: "DELETE", path: "/led", status: 200, wantJSON: `{"state":"off","brightness":50}`},
		{name: "after reset", method: "GET", path: "/led", status: 200, wantJSON: `{"state":"off","brightness":50}`},
		{name: "no PATCH", method: "PATCH", path: "/led", body: `{}`, status: 405, wantHeader: map[string]string{"Allow": "GET, HEAD, PUT, POST, DELETE, OPTIONS"}},
		{name: "stale if-match", method: "POST", path: "/led", headers: []string{"If-Match", `"0-0"`}, status: 412},
		{name: "docs", method: "GET", path: "/led", headers: []string{"Accept", "text/html"}, status: 303, wantHeader: map[string]string{"Location": "/docs#led"}},
	})
}
