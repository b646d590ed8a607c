package config

import (
	"strings"
	"testing"

	"github.com/restkit/restkit"
)

func TestCapabilities(t *testing.T) {
	c, err := Parse("t.yaml", []byte(`
capabilities:
  v2: {enabled: false, description: "The second version, for a canary."}
  deletes: true
apis:
  - base: /v2
    capability: v2
    resources:
      people:
        key: id
        fields: {id: {type: integer}}
        item: [GET, PUT, {verb: DELETE, capability: deletes}]
        collection: [GET, {verb: post, capability: deletes}]
    nouns:
      led: {capability: deletes, fields: {on: {type: boolean}}}
artefacts: {capability: deletes}
`))
	if err != nil {
		t.Fatal(err)
	}
	sc := c.Schema
	if got := len(sc.Capabilities); got != 3 || sc.Capability(restkit.ReadOnly) == nil || sc.Capability("v2").Enabled || !sc.Capability("deletes").Enabled {
		t.Fatalf("capabilities %+v", sc.Capabilities)
	}
	api, res := sc.APIs[0], sc.APIs[0].Resources[0]
	if api.Capability != "v2" || res.VerbCapabilities["item DELETE"] != "deletes" || res.VerbCapabilities["POST"] != "deletes" ||
		strings.Join(res.Item, ",") != "GET,PUT,DELETE" || strings.Join(res.Collection, ",") != "GET,POST" || c.Artefacts.Capability != "deletes" {
		t.Fatalf("api %+v resource %+v artefacts %+v", api, res, c.Artefacts)
	}
	if res.Enabled() || sc.APIs[0].Nouns[0].Enabled() {
		t.Fatal("served while v2 is off")
	}
	sc.Switch(map[string]bool{"v2": true})
	if !res.Enabled() || !res.Allows("DELETE", true) || sc.ReadOnly() {
		t.Fatal("v2 on: not served")
	}
	gen := sc.Generation()
	sc.Switch(map[string]bool{"v2": true, "deletes": false, restkit.ReadOnly: true})
	if res.Allows("DELETE", true) || res.Allows("POST", false) || !res.Allows("PUT", true) || strings.Join(res.Verbs(true), ",") != "GET,PUT" ||
		!sc.ReadOnly() || sc.Generation() == gen || sc.APIs[0].Nouns[0].Enabled() {
		t.Fatal("deletes off / read_only on not applied")
	}
	if sc.Switch(map[string]bool{"v2": true, "deletes": false, restkit.ReadOnly: true}) {
		t.Fatal("the same states again changed something")
	}

	for src, want := range map[string]string{
		"capabilities: {x: {enabled: maybe}}\n": "t.yaml:2:29: enabled must be true or false",
		"capabilities: {x: {enable: true}}\n":   `unknown key "enable" in capability x`,
		"capabilities: {Bad: true}\n":           "capability name \"Bad\" must match",
		"capabilities: [a]\n":                   "capabilities must be a mapping",
		"apis:\n  - capability: nope\n    nouns: {led: {fields: {on: {type: boolean}}}}\n":                                                              `t.yaml:3:17: unknown capability "nope"`,
		"apis:\n  - capability: read_only\n    nouns: {led: {fields: {on: {type: boolean}}}}\n":                                                         "read_only switches writes off everywhere",
		"apis:\n  - resources:\n      cars:\n        key: id\n        fields: {id: {type: integer}}\n        item: [GET, {verb: PUT}]\n":                "a verb entry needs both verb and capability",
		"apis:\n  - resources:\n      cars:\n        key: id\n        fields: {id: {type: integer}}\n        item: [GET, {verb: PUT, capability: x}]\n": `unknown capability "x"`,
		"apis:\n  - nouns: {led: {fields: {on: {type: boolean}}}}\nartefacts: {capability: nope}\n":                                                     `unknown capability "nope"`,
	} {
		if !strings.Contains(src, "apis:") {
			src += "apis:\n  - nouns: {led: {fields: {on: {type: boolean}}}}\n"
		}
		_, err := Parse("t.yaml", []byte("\n"+src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", src, err, want)
		}
	}
}
