package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/httpapi"
)

// pages are the parsed templates: one set per page, each made of the layout, the
// shared partials and the page's own file.
type pages struct {
	sets map[string]*template.Template
}

func loadPages() (*pages, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("web: parsing the layout: %w", err)
	}
	names, err := fs.Glob(assets, "templates/page_*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, name := range names {
		set, err := template.Must(base.Clone()).ParseFS(assets, name)
		if err != nil {
			return nil, fmt.Errorf("web: parsing %s: %w", name, err)
		}
		p.sets[strings.TrimSuffix(strings.TrimPrefix(name, "templates/page_"), ".html")] = set
	}
	return p, nil
}

// view is what every template gets: the visit, the navigation and the page's data.
type view struct {
	Visit *visit
	Nav   []navAPI
	Repo  string // the console's artefact browser, "" when none
	Auth  bool   // sign-in is on
	Data  any
}

// navAPI is one API in the side navigation.
type navAPI struct {
	Name  string
	Links []crumb
}

// render writes the page name with data, status and the layout around it. A template
// that fails is a bug: logged, and a plain 500.
func (c *console) render(w http.ResponseWriter, r *http.Request, v *visit, status int, name string, data any) {
	set := c.pages.sets[name]
	var buf bytes.Buffer
	err := errors.New("no template " + name)
	if set != nil {
		err = set.ExecuteTemplate(&buf, "layout.html", view{Visit: v, Nav: c.nav(), Repo: c.repoLink(), Auth: c.opts.Auth != nil, Data: data})
	}
	if err != nil {
		c.log.ErrorContext(r.Context(), "web: rendering a page", "page", name, "error", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// nav lists every API's resources and nouns, for the side navigation.
func (c *console) nav() []navAPI {
	var out []navAPI
	for _, api := range c.opts.Schema.APIs {
		n := navAPI{Name: api.Base}
		if n.Name == "" {
			n.Name = "/"
		}
		for _, res := range api.Resources {
			n.Links = append(n.Links, crumb{res.Name, resourceLink(api, res)})
		}
		for _, noun := range api.Nouns {
			n.Links = append(n.Links, crumb{noun.Name, nounLink(api, noun)})
		}
		out = append(out, n)
	}
	return out
}

func (c *console) repoLink() string {
	if c.opts.Artefacts == "" {
		return ""
	}
	return Path + "/a/"
}

// errorPage is the data of the error page.
type errorPage struct {
	Status  int
	Title   string
	Message string
	Fields  []restkit.FieldError
}

// fail shows err as a page with its status: the API's own words for what it
// refused, "internal error" for anything else (the log has the rest).
func (c *console) fail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	status := httpapi.StatusOf(err)
	var re *restkit.Error
	msg := "internal error"
	if errors.As(err, &re) && re.Kind != restkit.Internal {
		msg = re.Message
	} else {
		c.log.ErrorContext(r.Context(), "web: a page failed", "path", r.URL.Path, "error", err.Error())
	}
	v.Title = http.StatusText(status)
	c.render(w, r, v, status, "error", errorPage{Status: status, Title: http.StatusText(status), Message: msg, Fields: restkit.ErrorFields(err)})
}

// funcs are the helpers templates use. None builds HTML: html/template escapes what
// they return for the place it goes.
var funcs = template.FuncMap{
	"show":  showValue,
	"size":  humanSize,
	"short": func(s string) string { return shorten(s, 12) },
	"when":  showTime,
	"query": func(v url.Values) string { return v.Encode() },
	"add":   func(a, b int) int { return a + b },
	"seg":   escapeSegment, // one path segment: html/template does not escape "?" or "#" in a path
	"list":  func(s ...string) []string { return s },
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
}

// showValue is how a field's value reads on a page: null as an em dash, JSON text
// for objects and arrays, everything else as its JSON scalar would read.
func showValue(v any) string {
	switch v := v.(type) {
	case nil:
		return "—"
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// humanSize is a byte count as people read it (binary units).
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func showTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// escapeSegment escapes one path segment. A segment . or .. is escaped too
// (%2E): as it is, a browser or ServeMux would resolve it away and the URL would name
// another path.
func escapeSegment(s string) string {
	if s == "." || s == ".." {
		return strings.ReplaceAll(s, ".", "%2E")
	}
	return url.PathEscape(s)
}
