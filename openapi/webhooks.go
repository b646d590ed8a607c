package openapi

import (
	"fmt"
	"strings"

	"github.com/restkit/restkit"
)

// webhooks documents the deliveries restkit POSTs to webhook endpoints (OAS 3.1
// §4.8.1 webhooks), one per event type some endpoint receives: the payload's schema
// and the Standard Webhooks headers that sign it. types come from
// webhook.EventTypes ("cars.created", "led.updated", "artefacts.deleted").
func (b *builder) webhooks(types []string) {
	if len(types) == 0 {
		return
	}
	b.doc.Webhooks = map[string]*PathItem{}
	tag := b.tag("webhooks", "The deliveries restkit sends to the endpoints of its webhooks: section, "+
		"signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).")
	for _, typ := range types {
		name, op, _ := strings.Cut(typ, ".")
		schema := pascal(typ) + "Event"
		b.doc.Components.Schemas[schema] = &Schema{Type: Types{"object"},
			Description: fmt.Sprintf("The payload of a %s webhook.", typ),
			Required:    []string{"type", "timestamp", "seq", "data"},
			Properties: Properties{
				{"type", &Schema{Const: typ}},
				{"timestamp", &Schema{Type: Types{"string"}, Format: "date-time", Description: "When the write committed."}},
				{"seq", &Schema{Type: Types{"integer"}, Minimum: new(float64(1)),
					Description: "The event's place in the change log: deliveries to an endpoint come in increasing seq."}},
				{"data", b.eventData(name, restkit.EventOp(op))},
			}}
		o := b.operation("on"+pascal(typ), tag, eventSummary(name, restkit.EventOp(op)),
			"restkit POSTs this to each endpoint whose events match "+typ+", at least once and in seq order per endpoint; "+
				"a delivery that gets no 2xx answer (a redirect is not followed) within 10 s is retried with exponential backoff "+
				"for up to 24 hours, then dead-lettered (GET /_admin/webhooks/deliveries). "+
				"Verify webhook-signature, and use webhook-id to drop repeats.")
		o.Parameters = webhookHeaders()
		o.RequestBody = &RequestBody{Required: true, Content: jsonContent(ref(schema))}
		o.Responses["200"] = &Response{Description: "Any 2xx status acknowledges the delivery; the body is read up to 64 KiB and ignored."}
		o.Security = []SecurityRequirement{} // restkit sends these; the receiver checks the signature
		b.doc.Webhooks[typ] = &PathItem{Post: o}
	}
}

// webhookHeaders are the Standard Webhooks headers of every delivery.
func webhookHeaders() []*Parameter {
	req := func(name, desc string, s *Schema) *Parameter {
		return &Parameter{Name: name, In: "header", Required: true, Description: desc, Schema: s}
	}
	return []*Parameter{
		req("webhook-id", "The delivery's id, the same on every retry: drop a delivery whose id you have processed.",
			&Schema{Type: Types{"string"}, Pattern: "^evt_[0-9a-f]+_[0-9]+$"}),
		req("webhook-timestamp", "When this attempt was signed, in Unix seconds: refuse one far from your clock (a replay).",
			&Schema{Type: Types{"string"}, Pattern: "^[0-9]+$"}),
		req("webhook-signature", "v1, and the base64 of the HMAC-SHA256 of webhook-id, webhook-timestamp and the body joined by full stops, "+
			"keyed with the base64-decoded part of the endpoint's secret after whsec_.",
			&Schema{Type: Types{"string"}, Pattern: "^v1,[A-Za-z0-9+/]+={0,2}$"}),
	}
}

// eventSummary says what an event type means.
func eventSummary(name string, op restkit.EventOp) string {
	if name == "artefacts" {
		return fmt.Sprintf("An artefact was %s.", op)
	}
	return fmt.Sprintf("A %s record or state was %s.", name, op)
}

// eventData is the data of an event type's payload: the record (or state) as GET
// shows it, or for a delete its key alone. A name that several APIs declare has one
// of their schemas.
func (b *builder) eventData(name string, op restkit.EventOp) *Schema {
	var all []*Schema
	for _, api := range b.schema.APIs {
		for _, res := range api.Resources {
			if res.Name != name {
				continue
			}
			if op == restkit.Deleted {
				key := parameterSchema(res.KeyField())
				key.Description = "The key of the deleted " + res.Singular + "."
				all = append(all, &Schema{Type: Types{"object"}, Required: []string{res.Key}, Properties: Properties{{res.Key, key}}})
			} else {
				all = append(all, ref(schemaName(api, res.Singular)))
			}
		}
		for _, n := range api.Nouns {
			if n.Name == name {
				all = append(all, ref(schemaName(api, n.Name)))
			}
		}
	}
	if name == "artefacts" && len(all) == 0 {
		all = append(all, &Schema{Type: Types{"object"}, Description: "The artefact's metadata as the repository records it."})
	}
	if len(all) == 1 {
		return all[0]
	}
	return &Schema{OneOf: all}
}
