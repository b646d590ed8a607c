package openapi_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/openapi"
)

// webhooks declares people in two APIs (so people.* has two payload shapes), a noun
// and the repository, with endpoints that take some of their events.
const webhooks = `
apis:
  - base: /v1
    resources:
      people: {key: name, key_from: url, put_creates: true, collection: [GET], fields: {name: {type: string}, email: {type: email, required: true}}}
    nouns:
      led: {fields: {state: {type: enum, values: ["on", "off"], default: "off"}}, update: toggle state}
  - base: /v2
    resources:
      people: {key: id, key_from: generated, fields: {id: {type: integer}, name: {type: string, required: true}}}
artefacts: {}
webhooks:
  endpoints:
    - {url: "https://hooks.example/a", events: [people.created, people.deleted, led.*], secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=}
    - {url: "https://hooks.example/b", events: [artefacts.deleted], secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=}
`

// TestWebhooks: each event type an endpoint receives has a webhooks entry (OAS 3.1)
// — a POST whose body is the payload, its data the record's schema (the key's alone
// for a delete; one of several where APIs share a name) — with the three Standard
// Webhooks headers required, and needing no credentials; a noun's delete, which never
// happens, and types no endpoint takes are left out.
func TestWebhooks(t *testing.T) {
	doc, _ := build(t, "webhooks.yaml", []byte(webhooks)) // build validates it as OpenAPI 3.1
	hooks := dig(t, doc, "webhooks").(map[string]any)
	var types []string
	for typ := range hooks {
		types = append(types, typ)
	}
	if len(hooks) != 5 || hooks["people.created"] == nil || hooks["people.deleted"] == nil || hooks["led.created"] == nil ||
		hooks["led.updated"] == nil || hooks["artefacts.deleted"] == nil {
		t.Fatalf("webhooks: %v", types)
	}
	post := dig(t, hooks, "people.deleted", "post").(map[string]any)
	if post["operationId"] != "onPeopleDeleted" || dig(t, post, "requestBody", "content", "application/json", "schema", "$ref") != "#/components/schemas/PeopleDeletedEvent" ||
		len(post["security"].([]any)) != 0 || dig(t, post, "responses", "200", "description") == "" {
		t.Errorf("people.deleted: %v", post)
	}
	var headers []string
	for _, p := range post["parameters"].([]any) {
		p := p.(map[string]any)
		if p["in"] == "header" && p["required"] == true {
			headers = append(headers, p["name"].(string))
		}
	}
	if strings.Join(headers, " ") != "webhook-id webhook-timestamp webhook-signature" {
		t.Errorf("headers %v", headers)
	}
	schemas := dig(t, doc, "components", "schemas").(map[string]any)
	event := schemas["PeopleDeletedEvent"].(map[string]any)
	if dig(t, event, "properties", "type", "const") != "people.deleted" || len(event["required"].([]any)) != 4 {
		t.Errorf("PeopleDeletedEvent: %v", event)
	}
	deleted := dig(t, event, "properties", "data", "oneOf").([]any)
	if len(deleted) != 2 || dig(t, deleted[0], "required").([]any)[0] != "name" || dig(t, deleted[1], "properties", "id", "type") != "integer" {
		t.Errorf("people.deleted data: %v", deleted)
	}
	created := dig(t, schemas, "PeopleCreatedEvent", "properties", "data", "oneOf").([]any)
	if dig(t, created[0], "$ref") != "#/components/schemas/V1Person" || dig(t, created[1], "$ref") != "#/components/schemas/V2Person" {
		t.Errorf("people.created data: %v", created)
	}
	if dig(t, schemas, "LedUpdatedEvent", "properties", "data", "$ref") != "#/components/schemas/V1Led" {
		t.Error("led.updated's data is not the noun's state")
	}
	// Without webhooks the document has none.
	cfg, err := config.Parse("demo.yaml", config.Demo())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := openapi.JSON(openapi.Build(cfg.Schema, openapi.Options{}))
	if bytes.Contains(raw, []byte(`"webhooks"`)) {
		t.Error("the demo's document has webhooks")
	}
}

// TestDocsWebhooks: /docs lists the event types and the signature headers.
func TestDocsWebhooks(t *testing.T) {
	cfg, err := config.Parse("webhooks.yaml", []byte(webhooks))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := openapi.RenderDocs(&b, cfg.Schema, openapi.DocsOptions{Artefacts: "/artefacts", Webhooks: cfg.WebhookEvents()}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`<a href="#webhooks">Webhooks</a>`, `<section id="webhooks">`,
		"<tr><td><code>people.deleted</code></td><td>the deleted record&#39;s key</td></tr>",
		"<tr><td><code>led.updated</code></td><td>the state after the write, as GET shows it</td></tr>",
		"<tr><td><code>people.created</code></td><td>the record after the write, as GET shows it</td></tr>",
		"<code>webhook-id</code>", "<code>webhook-timestamp</code>", "<code>webhook-signature</code>"} {
		if !strings.Contains(page, want) {
			t.Errorf("/docs lacks %s", want)
		}
	}
	b.Reset()
	_ = openapi.RenderDocs(&b, cfg.Schema, openapi.DocsOptions{})
	if strings.Contains(b.String(), `id="webhooks"`) {
		t.Error("a page without webhooks has the section")
	}
}
