package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/restkit/restkit/webhook"
)

const webhookAPIs = "apis:\n  - resources: {cars: {key: id, fields: {id: {type: integer}}}}\n    nouns: {led: {fields: {on: {type: boolean}}}}\n"

const goodSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo="

func TestWebhooksSection(t *testing.T) {
	c := mustParse(t, webhookAPIs+`artefacts: {}
webhooks:
  allow_hosts: [127.0.0.1, "10.0.0.0/8", hooks.internal, "::1"]
  endpoints:
    - url: https://hooks.example/restkit?token=abc
      events: [cars.created, "led.*", artefacts.deleted, "*"]
      secret: `+goodSecret+`
      headers: {X-Env: prod, Authorization: Bearer t0ken}
    - {url: "http://127.0.0.1:9000/", events: [cars.deleted], secret: `+goodSecret+`}
`)
	want := &Webhooks{
		AllowHosts: []string{"127.0.0.1", "10.0.0.0/8", "hooks.internal", "::1"},
		Endpoints: []webhook.Endpoint{
			{URL: "https://hooks.example/restkit?token=abc", Events: []string{"cars.created", "led.*", "artefacts.deleted", "*"}, Secret: goodSecret,
				Headers: map[string]string{"X-Env": "prod", "Authorization": "Bearer t0ken"}},
			{URL: "http://127.0.0.1:9000/", Events: []string{"cars.deleted"}, Secret: goodSecret},
		},
	}
	if !reflect.DeepEqual(c.Webhooks, want) {
		t.Errorf("webhooks:\n got %+v\nwant %+v", c.Webhooks, want)
	}
	if got := strings.Join(c.WebhookEvents(), " "); got != "cars.created cars.updated cars.deleted led.created led.updated artefacts.created artefacts.updated artefacts.deleted" {
		t.Errorf("WebhookEvents = %s", got)
	}
	for _, src := range []string{"", "webhooks:\n", "webhooks: {endpoints: []}\n"} {
		c := mustParse(t, webhookAPIs+src)
		if c.WebhookEvents() != nil {
			t.Errorf("%q: events %v", src, c.WebhookEvents())
		}
	}
}

// TestWebhookErrors: every problem of the section is reported at its line and column.
func TestWebhookErrors(t *testing.T) {
	ep := func(fields string) string {
		return "webhooks:\n  endpoints:\n    - {url: \"https://h.example/x\", events: [cars.created], secret: " + goodSecret + fields + "}\n"
	}
	for src, want := range map[string]string{
		"webhooks: [a]\n":                       "4:11: webhooks must be a mapping, not a list",
		"webhooks: {allow: []}\n":               `4:12: unknown key "allow" in webhooks; did you mean "allow_hosts"?`,
		"webhooks: {allow_hosts: x}\n":          "4:25: allow_hosts must be a list, not \"x\"",
		"webhooks: {allow_hosts: [a_b]}\n":      `4:26: allow_hosts[0] must be a host name, an IP address or a CIDR prefix such as 10.0.0.0/8, not "a_b"`,
		"webhooks: {allow_hosts: [\"-a.b\"]}\n": `4:26: allow_hosts[0] must be a host name`,
		"webhooks: {endpoints: {}}\n":           "4:23: endpoints must be a list of endpoints such as {url: https://hooks.example/restkit, events: [cars.*], secret: whsec_…}, not a mapping",
		"webhooks: {endpoints: [x]}\n":          "4:24: endpoints[0] must be a mapping, not \"x\"",
		"webhooks: {endpoints: [{}]}\n": "4:24: webhooks.endpoints[0] needs url: where to POST deliveries, such as https://hooks.example/restkit\n" +
			"t.yaml:4:24: webhooks.endpoints[0] needs events: the event types to deliver, such as [cars.created, led.*]\n" +
			"t.yaml:4:24: webhooks.endpoints[0] needs secret: whsec_ and a base64 key of 24 to 64 bytes (openssl rand -base64 32 makes a key)",
		ep(", colour: red"): `6:120: unknown key "colour" in webhooks.endpoints[0]; expected one of: url, events, secret, headers`,
		strings.Replace(ep(""), "https://h.example/x", "ftp://h.example/x", 1):       `6:13: url must be an absolute http or https URL such as https://hooks.example/restkit, not "ftp://h.example/x"`,
		strings.Replace(ep(""), "https://h.example/x", "/x", 1):                      `6:13: url must be an absolute http or https URL`,
		strings.Replace(ep(""), "https://h.example/x", "https://u:p@h.example/x", 1): `6:13: url must not carry a user name or password: send credentials in headers, not "https://u:p@h.example/x"`,
		strings.Replace(ep(""), "https://h.example/x", "https://h.example/x#top", 1): `6:13: url must not have a fragment (#…): it is never sent`,
		strings.Replace(ep(""), "[cars.created]", "[]", 1):                           "6:44: events must name at least one event type, such as cars.created or cars.*",
		strings.Replace(ep(""), "[cars.created]", "cars.created", 1):                 `6:44: events must be a list, not "cars.created"`,
		strings.Replace(ep(""), "[cars.created]", "[cars]", 1):                       `6:45: events[0] "cars" must be NAME.OP (such as cars.created or cars.*) or *`,
		strings.Replace(ep(""), "[cars.created]", "[cars.made]", 1):                  `6:45: events[0] "cars.made" must end in .created, .updated, .deleted or .*`,
		strings.Replace(ep(""), "[cars.created]", "[led.*, trucks.*]", 1):            `6:52: events[1] "trucks.*" names trucks, which is no resource or noun here; events come from cars, led`,
		strings.Replace(ep(""), "[cars.created]", "[artefacts.*]", 1):                `6:45: events[0] "artefacts.*" names artefacts, which is no resource or noun here; events come from cars, led`,
		strings.Replace(ep(""), goodSecret, "hunter2", 1):                            "6:68: secret must start with whsec_ (Standard Webhooks), followed by a base64 key of 24 to 64 bytes",
		strings.Replace(ep(""), goodSecret, "whsec_not*base64", 1):                   "6:68: secret must be whsec_ followed by standard base64 (with = padding), such as the output of openssl rand -base64 32",
		strings.Replace(ep(""), goodSecret, "whsec_YWJj", 1):                         "6:68: secret holds a key of 3 bytes; it must be 24 to 64 bytes",
		strings.Replace(ep(""), goodSecret, "whsec_"+strings.Repeat("QUFB", 22), 1):  "6:68: secret holds a key of 66 bytes; it must be 24 to 64 bytes",
		ep(", headers: [x]"):                        "6:129: headers must be a mapping, not a list",
		ep(", headers: {\"a b\": x}"):               `6:130: header name "a b" is not an HTTP token`,
		ep(", headers: {Webhook-Signature: x}"):     "6:130: header Webhook-Signature is set by restkit for each delivery and cannot be configured",
		ep(", headers: {content-type: text/plain}"): "6:130: header content-type is set by restkit",
		ep(", headers: {Host: x}"):                  "6:130: header Host is set by restkit",
		ep(", headers: {X-A: \"a\\nb\"}"):           "6:130: the value of header X-A holds a control character",
		ep(", headers: {X-A: a, x-a: b}"):           "6:138: header x-a repeats the one at line 6 (header names ignore case)",
		ep(", headers: {X-A: {b: c}}"):              "6:135: X-A must be a string, not a mapping",
		ep("") + "    - {url: \"https://h.example/x\", events: [led.*], secret: " + goodSecret + "}\n": `7:13: url "https://h.example/x" is already the url of an endpoint at line 6; list all its events in that one`,
	} {
		_, err := Parse("t.yaml", []byte(webhookAPIs+src))
		if err == nil || !strings.Contains(err.Error(), "t.yaml:"+want) {
			t.Errorf("%s\ngot:  %v\nwant: t.yaml:%s", src, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "MfKQ9r8") {
			t.Errorf("an error quotes the secret: %v", err)
		}
	}
}
