package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/restkit/restkit/auth"
)

type overviewAPI struct {
	Base      string
	Envelope  bool
	Resources []overviewResource
	Nouns     []overviewNoun
}

type overviewResource struct {
	Name, Path, Link string
	Fields           int
	Verbs            string
	History          bool
}

type overviewNoun struct {
	Name, Path, Link string
	State            []fieldRow
}

type capability struct {
	Name        string `json:"name"`
	Enabled     bool   `json:"enabled"`
	Description string `json:"description"`
}

type overviewPage struct {
	APIs         []overviewAPI
	Artefacts    string // the repository's API path
	Directories  int
	Health       string
	Ready        string
	Checks       []string
	Capabilities []capability
	CanFlip      bool
	CSRF         string
}

// serveOverview shows everything the server serves: each API's resources and nouns
// (with the nouns' states), the artefact repository, health and readiness, and the
// capability switches when the API serves them.
func (c *console) serveOverview(w http.ResponseWriter, r *http.Request, v *visit) {
	p := overviewPage{Artefacts: c.opts.Artefacts, CSRF: v.csrf()}
	for _, api := range c.opts.Schema.APIs {
		if !api.Enabled() { // switched off: not served, so not shown
			continue
		}
		oa := overviewAPI{Base: api.Base, Envelope: api.Envelope}
		if oa.Base == "" {
			oa.Base = "/"
		}
		for _, res := range api.Resources {
			if !res.Enabled() {
				continue
			}
			verbs := append(res.Verbs(false), res.Verbs(true)...) // what is allowed now
			oa.Resources = append(oa.Resources, overviewResource{Name: res.Name, Path: api.ListPath(res), Link: resourceLink(api, res),
				Fields: len(res.Fields), Verbs: strings.Join(dedupe(verbs), " "), History: res.History})
		}
		for _, n := range api.Nouns {
			if !n.Enabled() {
				continue
			}
			on := overviewNoun{Name: n.Name, Path: api.Base + "/" + n.Name, Link: nounLink(api, n)}
			if rp := c.call(r, http.MethodGet, on.Path, nil); rp.ok() {
				var state map[string]any
				if rp.decode(api.Envelope, &state) == nil {
					for _, f := range n.Fields {
						on.State = append(on.State, fieldRow{Name: f.Name, Value: showValue(state[f.Name])})
					}
				}
			}
			oa.Nouns = append(oa.Nouns, on)
		}
		p.APIs = append(p.APIs, oa)
	}
	if c.opts.Artefacts != "" {
		var dirs []directory
		if rp := c.call(r, http.MethodGet, c.opts.Artefacts, nil); rp.ok() && rp.decode(false, &dirs) == nil {
			p.Directories = len(dirs)
		}
	}
	c.health(r, &p)
	if c.opts.Capabilities {
		c.capabilities(r, v, &p)
	}
	v.Title = "Overview"
	c.render(w, r, v, http.StatusOK, "overview", p)
}

// health reads /healthz and /readyz as any monitor would.
func (c *console) health(r *http.Request, p *overviewPage) {
	p.Health = "unreachable"
	if rp := c.call(r, http.MethodGet, "/healthz", nil); rp.ok() {
		p.Health = "ok"
	}
	var ready struct {
		Status string `json:"status"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	rp := c.call(r, http.MethodGet, "/readyz", nil)
	if json.Unmarshal(rp.body, &ready) != nil || ready.Status == "" {
		p.Ready = "unknown"
		return
	}
	p.Ready = ready.Status
	for _, ch := range ready.Checks {
		state := "ok"
		if !ch.OK {
			state = "failing"
		}
		p.Checks = append(p.Checks, ch.Name+": "+state)
	}
}

// capabilities reads the switches (GET /_admin/capabilities, DESIGN §13:
// {"capabilities": [{name, enabled, description, …}], "audit": […]}).
func (c *console) capabilities(r *http.Request, v *visit, p *overviewPage) {
	rp := c.call(r, http.MethodGet, "/_admin/capabilities", nil)
	if !rp.ok() {
		return
	}
	var body struct {
		Capabilities []capability `json:"capabilities"`
	}
	if json.Unmarshal(rp.body, &body) != nil {
		return
	}
	p.Capabilities = body.Capabilities
	p.CanFlip = c.opts.Auth == nil || (v.Session != nil && c.opts.Auth.IsAdmin(&auth.Principal{User: v.Session.User, Roles: v.Session.Roles}))
}

// flipCapability sets a switch (PUT /_admin/capabilities/{name} {"enabled": …}).
func (c *console) flipCapability(w http.ResponseWriter, r *http.Request, v *visit) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	rp := c.callJSON(r, v, http.MethodPut, "/_admin/capabilities/"+escapeSegment(r.PathValue("name")),
		map[string]bool{"enabled": r.PostFormValue("enabled") == "true"})
	if !rp.ok() {
		c.fail(w, r, v, rp.err())
		return
	}
	http.Redirect(w, r, Path+"/", http.StatusSeeOther)
}

func dedupe(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
