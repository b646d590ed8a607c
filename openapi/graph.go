package openapi

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/restkit/restkit"
)

// relationGraph draws the schema's relations as an SVG the server renders: one box
// per resource that has or receives a relation, on a circle, and an arrow from each
// relation field's resource to its target, labelled with the field (and its
// on_delete); a resource that refers to itself gets a loop. Everything is
// presentation attributes, no style and no script, so /docs' Content-Security-Policy
// holds. Nil when the schema declares no relation.
func relationGraph(s *restkit.Schema) template.HTML {
	type node struct {
		api  *restkit.API
		res  *restkit.Resource
		x, y float64
	}
	var nodes []*node
	index := map[*restkit.Resource]*node{}
	for _, api := range s.APIs {
		for _, r := range api.Resources {
			if len(r.Relations()) > 0 || len(r.Referrers()) > 0 {
				n := &node{api: api, res: r}
				nodes = append(nodes, n)
				index[r] = n
			}
		}
	}
	if len(nodes) == 0 {
		return ""
	}
	const boxW, boxH = 150.0, 34.0
	radius := math.Max(120, float64(len(nodes))*boxW/(2*math.Pi)*1.1)
	size := 2*radius + boxW + 80
	for i, n := range nodes {
		a := 2*math.Pi*float64(i)/float64(len(nodes)) - math.Pi/2
		n.x, n.y = size/2+radius*math.Cos(a), size/2+radius*math.Sin(a)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="relgraph-title" viewBox="0 0 %.0f %.0f" width="100%%" height="%.0f">`, size, size, size)
	b.WriteString(`<title id="relgraph-title">How the resources refer to each other</title>`)
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="currentColor"/></marker></defs>`)
	for _, n := range nodes {
		for _, f := range n.res.Relations() {
			t := index[f.Target()]
			label := template.HTMLEscapeString(f.Name)
			if f.Many {
				label += "[]"
			}
			label += " · " + string(f.OnDelete)
			if t == n {
				fmt.Fprintf(&b, `<path d="M %.1f %.1f c 40 -60 100 -60 60 0" fill="none" stroke="currentColor" marker-end="url(#arrow)"/>`, n.x+boxW/4, n.y-boxH/2)
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" fill="currentColor">%s</text>`, n.x+boxW/4, n.y-boxH/2-48, label)
				continue
			}
			x1, y1 := edge(n.x, n.y, t.x, t.y, boxW, boxH)
			x2, y2 := edge(t.x, t.y, n.x, n.y, boxW, boxH)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="currentColor" marker-end="url(#arrow)"/>`, x1, y1, x2, y2)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle" fill="currentColor">%s</text>`, (x1+x2)/2, (y1+y2)/2-4, label)
		}
	}
	for _, n := range nodes {
		fmt.Fprintf(&b, `<a href="#%s"><rect x="%.1f" y="%.1f" width="%.0f" height="%.0f" rx="6" fill="none" stroke="currentColor"/>`,
			template.HTMLEscapeString(anchor(n.api, n.res.Path)), n.x-boxW/2, n.y-boxH/2, boxW, boxH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="13" text-anchor="middle" fill="currentColor">%s</text></a>`,
			n.x, n.y+4, template.HTMLEscapeString(n.api.ListPath(n.res)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every name in it was escaped above
}

// edge is where the line from the box centred at (x, y) toward (tx, ty) leaves the box.
func edge(x, y, tx, ty, w, h float64) (float64, float64) {
	dx, dy := tx-x, ty-y
	if dx == 0 && dy == 0 {
		return x, y
	}
	scale := math.Min(math.Abs((w/2)/dx), math.Abs((h/2)/dy))
	if math.IsInf(scale, 0) {
		scale = math.Max(math.Abs((w/2)/dx), math.Abs((h/2)/dy))
	}
	return x + dx*scale, y + dy*scale
}
