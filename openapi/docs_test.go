package openapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/restkit/restkit/config"
)

func renderDemo(t *testing.T) (*html.Node, string) {
	t.Helper()
	cfg, err := config.Parse("demo.yaml", config.Demo())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Artefacts == nil {
		t.Fatal("the demo has no artefacts section")
	}
	var buf bytes.Buffer
	err = RenderDocs(&buf, cfg.Schema, DocsOptions{Artefacts: cfg.Artefacts.Path, Policy: cfg.Artefacts.Policy, ServerURL: "http://example.test:8080"})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	return doc, buf.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

func TestDocsDemoSections(t *testing.T) {
	doc, _ := renderDemo(t)
	cases := []struct {
		id, path string
		fields   []string
	}{
		{"cars", "/cars", []string{"id", "model", "color", "year"}},
		{"led", "/led", []string{"state", "brightness"}},
		{"v1-people", "/v1/people", []string{"comment", "name", "email"}},
	}
	for _, c := range cases {
		secs := findAll(doc, func(n *html.Node) bool { return n.Data == "section" && attr(n, "id") == c.id })
		if len(secs) != 1 {
			t.Errorf("%d sections with id %q, want 1", len(secs), c.id)
			continue
		}
		sec := secs[0]
		names := map[string]bool{}
		for _, tr := range findAll(sec, func(n *html.Node) bool { return n.Data == "tr" }) {
			if tds := findAll(tr, func(n *html.Node) bool { return n.Data == "td" }); len(tds) > 0 {
				names[strings.TrimSpace(textOf(tds[0]))] = true
			}
		}
		for _, f := range c.fields {
			if !names[f] {
				t.Errorf("section %s: no table row for field %s", c.id, f)
			}
		}
		curls := 0
		for _, code := range findAll(sec, func(n *html.Node) bool { return n.Data == "pre" }) {
			s := textOf(code)
			if strings.HasPrefix(s, "curl ") && strings.Contains(s, "http://example.test:8080"+c.path) {
				curls++
			}
		}
		if curls == 0 {
			t.Errorf("section %s: no curl example for %s", c.id, c.path)
		}
	}
}

func TestDocsDemoContent(t *testing.T) {
	doc, page := renderDemo(t)
	if len(findAll(doc, func(n *html.Node) bool { return n.Data == "script" })) > 0 {
		t.Error("the page has a <script> element")
	}
	for _, el := range []string{"html", "head", "body"} {
		if len(findAll(doc, func(n *html.Node) bool { return n.Data == el })) != 1 {
			t.Errorf("no single <%s>", el)
		}
	}
	if len(findAll(doc, func(n *html.Node) bool { return n.Data == "meta" && attr(n, "name") == "viewport" })) != 1 {
		t.Error(`no <meta name="viewport">`)
	}
	for _, id := range []string{"artefacts", "explain"} {
		if len(findAll(doc, func(n *html.Node) bool { return n.Data == "section" && attr(n, "id") == id })) != 1 {
			t.Errorf("no section %q", id)
		}
	}
	for _, want := range []string{
		`curl -s -i -X POST http://example.test:8080/cars -H &#39;Content-Type: application/json&#39; -d &#39;{&#34;id&#34;:1,&#34;model&#34;:&#34;Model T&#34;,&#34;color&#34;:&#34;red&#34;,&#34;year&#34;:2010}&#39;`,
		"toggle state",
		"/cars/{id}/revisions",
		"restkit push releases/app.tar.gz app.tar.gz",
		"restkit pull releases/app.tar.gz -o app.tar.gz",
		"uploads up to 1 GiB",
		"limit", "max_offset", "If-None-Match", "412", "428", "problem+json", "SHA-256", "Range",
		`href="/openapi.json"`,
	} {
		if want == "max_offset" {
			want = "reaches the first 10000 rows"
		}
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// Every internal link points at an id on the page.
	ids := map[string]bool{}
	for _, n := range findAll(doc, func(n *html.Node) bool { return attr(n, "id") != "" }) {
		ids[attr(n, "id")] = true
	}
	for _, a := range findAll(doc, func(n *html.Node) bool { return n.Data == "a" }) {
		if h := attr(a, "href"); strings.HasPrefix(h, "#") && !ids[h[1:]] {
			t.Errorf("link %s has no target", h)
		}
	}
}

func TestDocsHandler(t *testing.T) {
	cfg, err := config.Parse("demo.yaml", config.Demo())
	if err != nil {
		t.Fatal(err)
	}
	h := Docs(cfg.Schema, DocsOptions{})
	req := httptest.NewRequest(http.MethodGet, "/docs", nil)
	req.Host = "api.example.test:9000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" ||
		rec.Header().Get("Content-Security-Policy") != "default-src 'none'; style-src 'unsafe-inline'" {
		t.Fatalf("got %d %v", rec.Code, rec.Header())
	}
	if !strings.Contains(rec.Body.String(), "curl -s -i http://api.example.test:9000/led") {
		t.Error("the curl examples do not use the request's host")
	}
	if strings.Contains(rec.Body.String(), `id="artefacts"`) {
		t.Error("an artefacts section without a repository")
	}
	req = httptest.NewRequest(http.MethodHead, "/docs", nil)
	req.Host = "evil.test/<x>"
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d with %d bytes", rec.Code, rec.Body.Len())
	}
}

// TestDocsWithAuth: with auth on, the page says how to authenticate, each resource
// and noun says who may do what, and every curl example carries the bearer key.
func TestDocsWithAuth(t *testing.T) {
	cfg, err := config.Load("../examples/secure.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := RenderDocs(&buf, cfg.Schema, DocsOptions{Artefacts: cfg.Artefacts.Path, Policy: cfg.Artefacts.Policy}); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if auth := findAll(doc, func(n *html.Node) bool { return attr(n, "id") == "auth" }); len(auth) != 1 || !strings.Contains(textOf(auth[0]), "401") {
		t.Fatal("no #auth paragraph naming 401")
	}
	text := textOf(doc)
	if n := strings.Count(text, "Access — read: roles admin, reader; write: roles admin; delete: roles admin."); n != 3 {
		t.Errorf("%d access lines, want 3 (cars, people, led)", n)
	}
	codes := findAll(doc, func(n *html.Node) bool { return n.Data == "pre" || n.Data == "code" })
	curls, authorized := 0, 0
	for _, c := range codes {
		if s := textOf(c); strings.HasPrefix(s, "curl ") && !strings.HasPrefix(s, "curl -u USER") {
			curls++
			if strings.HasPrefix(s, `curl -H "Authorization: Bearer $RESTKIT_TOKEN" `) {
				authorized++
			}
		}
	}
	if curls == 0 || curls != authorized {
		t.Errorf("%d of %d curl examples carry the key", authorized, curls)
	}
}
