package httpapi_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
	"github.com/restkit/restkit/httpapi"
)

const capabilitiesYAML = `
capabilities:
  v2: {enabled: false, description: the second version}
  deletes: true
apis:
  - resources:
      authors:
        key: id
        fields: {id: {type: integer}, name: {type: string}}
      cars:
        key: id
        fields: {id: {type: integer}, author: {type: relation, to: /v2/people, nullable: true}}
        item: [GET, PUT, {verb: DELETE, capability: deletes}]
  - base: /v2
    capability: v2
    resources:
      people:
        key: id
        fields: {id: {type: integer}}
`

// TestCapabilities: a switched-off API is not served (404, not in /openapi.json,
// /docs or the index), a switched-off verb leaves Allow, read_only refuses every
// write with 503 and Retry-After; every switch takes effect at once.
func TestCapabilities(t *testing.T) {
	var opts httpapi.Options
	h := configServer(t, capabilitiesYAML, func(o *httpapi.Options) { opts = *o })
	sc := opts.Schema
	mustServe(t, h, 404, "GET", "/v2/people", "")
	mustServe(t, h, 404, "GET", "/v2/people/events", "")
	for _, doc := range []string{"/openapi.json", "/docs", "/"} {
		if r := mustServe(t, h, 200, "GET", doc, ""); strings.Contains(r.body, "/v2/people/{id}") || strings.Contains(r.body, `"path":"/v2/people"`) {
			t.Errorf("%s shows the switched-off /v2/people", doc)
		}
	}
	mustServe(t, h, 400, "GET", "/cars?expand=author", "")

	sc.Switch(map[string]bool{"v2": true})
	mustServe(t, h, 200, "GET", "/v2/people", "")
	if r := mustServe(t, h, 200, "GET", "/openapi.json", ""); !strings.Contains(r.body, `"/v2/people/{id}"`) {
		t.Error("/openapi.json lacks /v2/people once v2 is on")
	}
	mustServe(t, h, 201, "POST", "/cars", `{"id":1}`)
	if r := mustServe(t, h, 204, "OPTIONS", "/cars/1", ""); r.header.Get("Allow") != "GET, HEAD, PUT, DELETE, OPTIONS" {
		t.Errorf("Allow %q", r.header.Get("Allow"))
	}

	sc.Switch(map[string]bool{"v2": true, "deletes": false})
	if r := mustServe(t, h, 405, "DELETE", "/cars/1", ""); r.header.Get("Allow") != "GET, HEAD, PUT, OPTIONS" {
		t.Errorf("DELETE with deletes off: Allow %q", r.header.Get("Allow"))
	}
	if r := mustServe(t, h, 200, "GET", "/openapi.json", ""); strings.Contains(r.body, `"deleteCar"`) {
		t.Error("/openapi.json still documents DELETE /cars/{id}")
	}

	sc.Switch(map[string]bool{"v2": true, restkit.ReadOnly: true})
	r := mustServe(t, h, 503, "PUT", "/cars/1", `{"id":1}`)
	if r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "read-only") {
		t.Errorf("a write under read_only: %v %s", r.header, r.body)
	}
	mustServe(t, h, 503, "DELETE", "/cars/1", "")
	mustServe(t, h, 200, "GET", "/cars/1", "")
	sc.Switch(map[string]bool{"v2": true})
	mustServe(t, h, 200, "PUT", "/cars/1", `{"id":1}`)
}

// TestReadsFollowGET: what shows records — the event streams, a sub-collection,
// expand — is served only while GET of those records is: a write-only resource has
// no stream, and a GET switched off takes them away with it.
func TestReadsFollowGET(t *testing.T) {
	var opts httpapi.Options
	h := configServer(t, `
capabilities: {reads: true}
apis:
  - resources:
      dropbox:
        key: id
        fields: {id: {type: integer}, secret: {type: string}}
        collection: [POST]
        item: [PUT]
      authors:
        key: id
        fields: {id: {type: integer}}
      books:
        key: id
        fields: {id: {type: integer}, author: {type: relation, to: authors}}
        collection: [{verb: GET, capability: reads}, POST]
        item: [{verb: GET, capability: reads}, PUT]
      reviews:
        key: id
        fields: {id: {type: integer}, book: {type: relation, to: books}}
`, func(o *httpapi.Options) { opts = *o })
	mustServe(t, h, 201, "POST", "/dropbox", `{"id":1,"secret":"s3cr3t"}`)
	mustServe(t, h, 405, "GET", "/dropbox/events?since=0", "") // the item "events", which has no GET
	mustServe(t, h, 404, "GET", "/dropbox/1/events?since=0", "")
	if r := mustServe(t, h, 200, "GET", "/openapi.json", ""); strings.Contains(r.body, `"/dropbox/events"`) || strings.Contains(r.body, `"/dropbox/{id}/events"`) {
		t.Error("/openapi.json documents the streams of a resource without GET")
	}

	mustServe(t, h, 201, "POST", "/authors", `{"id":1}`)
	mustServe(t, h, 201, "POST", "/books", `{"id":1,"author":1}`)
	mustServe(t, h, 201, "POST", "/reviews", `{"id":1,"book":1}`)
	mustServe(t, h, 200, "GET", "/authors/1/books", "")
	mustServe(t, h, 200, "GET", "/reviews/1?expand=book", "")

	opts.Schema.Switch(map[string]bool{"reads": false})
	mustServe(t, h, 405, "GET", "/books/1", "")
	mustServe(t, h, 404, "GET", "/books/events?since=0", "")
	mustServe(t, h, 404, "GET", "/books/1/events?since=0", "")
	mustServe(t, h, 404, "GET", "/authors/1/books", "")
	mustServe(t, h, 400, "GET", "/reviews/1?expand=book", "")
	mustServe(t, h, 200, "PUT", "/books/1", `{"id":1,"author":1}`) // writes stay
}

// authConfigServer serves yaml with auth on; its users' passwords are all "pw" (write
// PASSWORD where a hash goes). as(user) is the Authorization header pair of a user.
func authConfigServer(t *testing.T, yaml string) (h http.Handler, as func(user string) []string) {
	t.Helper()
	hash, err := auth.HashPassword("pw", 4)
	if err != nil {
		t.Fatal(err)
	}
	h = configServer(t, strings.ReplaceAll(yaml, "PASSWORD", hash), func(o *httpapi.Options) {
		a, err := auth.New(o.Schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Auth = a
	})
	return h, func(user string) []string {
		return []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":pw"))}
	}
}

// TestRelatedFiltersNeedRead: filtering on a relation target's fields is reading
// them; a caller who may not read the target gets a 400, in or= groups and
// sub-collections too, instead of an oracle that spells a secret out by prefixes.
func TestRelatedFiltersNeedRead(t *testing.T) {
	h, as := authConfigServer(t, `
auth:
  users:
    alice: {password: PASSWORD, roles: [admin]}
    bob: {password: PASSWORD, roles: [reader]}
  access: {read: [admin, reader], write: [admin], delete: [admin]}
apis:
  - resources:
      secrets:
        key: id
        access: {read: [admin]}
        fields: {id: {type: integer}, code: {type: string, filterable: true}}
      agents:
        key: id
        fields: {id: {type: integer}, name: {type: string, filterable: true}, secret: {type: relation, to: secrets, filterable: true}}
`)
	alice, bob := as("alice"), as("bob")
	mustServe(t, h, 201, "POST", "/secrets", `{"id":1,"code":"s3cr3t"}`, alice...)
	mustServe(t, h, 201, "POST", "/agents", `{"id":1,"name":"a","secret":1}`, alice...)
	if r := mustServe(t, h, 200, "GET", "/agents?secret.code[prefix]=s3", "", alice...); !strings.Contains(r.body, `"id":1`) {
		t.Fatalf("alice's related filter: %s", r.body)
	}
	for _, q := range []string{"secret.code[prefix]=s3", "or=(secret.code[prefix]=s3,name=zz)", "or=(name=zz,and=(secret.code=x,name=a))"} {
		if r := mustServe(t, h, 400, "GET", "/agents?"+q, "", bob...); !strings.Contains(r.body, "may not read secrets") {
			t.Errorf("bob's %s: %s", q, r.body)
		}
	}
	mustServe(t, h, 200, "GET", "/agents?name=a", "", bob...)
}

// TestCascadeNeedsTheirRules: a delete that cascades to, or clears references in,
// records of other resources needs those resources' own delete or write rule, and
// an admin for records with owners; refused, it deletes nothing.
func TestCascadeNeedsTheirRules(t *testing.T) {
	h, as := authConfigServer(t, `
auth:
  users:
    alice: {password: PASSWORD, roles: [admin]}
    carol: {password: PASSWORD, roles: [writer]}
  access: {read: [admin, writer], write: [admin, writer], delete: [admin, writer]}
apis:
  - resources:
      docs:
        key: id
        fields: {id: {type: integer}}
      audit:
        key: id
        access: {read: [admin, writer], write: [admin, writer], delete: [admin]}
        fields: {id: {type: integer}, doc: {type: relation, to: docs, on_delete: cascade}}
      pins:
        key: id
        access: {read: [admin, writer], write: [admin], delete: [admin]}
        fields: {id: {type: integer}, doc: {type: relation, to: docs, nullable: true, on_delete: set_null}}
`)
	alice, carol := as("alice"), as("carol")
	for _, id := range []string{"1", "2", "3"} {
		mustServe(t, h, 201, "POST", "/docs", `{"id":`+id+`}`, carol...)
	}
	mustServe(t, h, 201, "POST", "/audit", `{"id":1,"doc":1}`, carol...)
	mustServe(t, h, 201, "POST", "/pins", `{"id":1,"doc":2}`, alice...)
	if r := mustServe(t, h, 403, "DELETE", "/docs/1", "", carol...); !strings.Contains(r.body, "delete records of audit") {
		t.Errorf("cascade into audit: %s", r.body)
	}
	mustServe(t, h, 200, "GET", "/audit/1", "", carol...)
	mustServe(t, h, 200, "GET", "/docs/1", "", carol...)
	if r := mustServe(t, h, 403, "DELETE", "/docs/2", "", carol...); !strings.Contains(r.body, "change records of pins") {
		t.Errorf("set_null into pins: %s", r.body)
	}
	mustServe(t, h, 204, "DELETE", "/docs/3", "", carol...) // nothing refers to it
	mustServe(t, h, 204, "DELETE", "/docs/1", "", alice...)
	mustServe(t, h, 404, "GET", "/audit/1", "", alice...)
}
