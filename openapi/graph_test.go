package openapi

import (
	"bytes"
	"encoding/xml"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/restkit/restkit/config"
)

// TestRelationGraph: /docs of examples/relations.yaml draws one box per resource
// that takes part in a relation, linked to its section, and one labelled arrow per
// relation field (self-references as loops); the drawing is well-formed SVG, and a
// declaration without relations draws none.
func TestRelationGraph(t *testing.T) {
	data, err := os.ReadFile("../examples/relations.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("relations.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := RenderDocs(&buf, cfg.Schema, DocsOptions{ServerURL: "http://example.test"}); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	start, end := strings.Index(page, "<svg"), strings.Index(page, "</svg>")
	if start < 0 || end < start {
		t.Fatal("/docs of relations.yaml has no <svg>")
	}
	svg := page[start : end+len("</svg>")]
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := dec.Token(); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("the graph is not well-formed XML: %v", err)
			}
			break
		}
	}
	for _, box := range []string{"/publishers", "/authors", "/tags", "/books", "/reviews"} {
		if !strings.Contains(svg, ">"+box+"</text></a>") {
			t.Errorf("no box for %s", box)
		}
	}
	for _, arrow := range []string{"publisher · set_null", "author · restrict", "editor · set_null", "tags[] · set_null", "book · cascade"} {
		if !strings.Contains(svg, ">"+arrow+"</text>") {
			t.Errorf("no arrow labelled %q", arrow)
		}
	}
	if n := len(regexp.MustCompile(`<line `).FindAllString(svg, -1)); n != 5 {
		t.Errorf("%d arrows, want 5 (one per relation field)", n)
	}
	for _, href := range regexp.MustCompile(`<a href="#([^"]+)">`).FindAllStringSubmatch(svg, -1) {
		if !strings.Contains(page, `id="`+href[1]+`"`) {
			t.Errorf("the box linking to #%s has no section with that id", href[1])
		}
	}

	_, demo := renderDemo(t)
	if strings.Contains(demo, "<svg") {
		t.Error("the demo, which has no relations, draws a graph")
	}
}
