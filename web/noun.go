package web

import (
	"net/http"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
)

// noun is one declared noun as the console serves it: a control panel.
type noun struct {
	c    *console
	api  *restkit.API
	noun *restkit.Noun
	page string // /ui/n/led
	path string // the API's: /led
}

func nounLink(api *restkit.API, n *restkit.Noun) string { return Path + "/n" + api.Base + "/" + n.Name }

func (c *console) routeNouns() {
	for _, api := range c.opts.Schema.APIs {
		for _, n := range api.Nouns {
			nn := &noun{c: c, api: api, noun: n, page: nounLink(api, n), path: api.Base + "/" + n.Name}
			c.handle("GET "+nn.page, nn.serve)
			c.handle("POST "+nn.page, nn.act)
		}
	}
}

type nounPage struct {
	Name       string
	API        string // the API path, for the script that keeps the state live
	Events     bool
	State      []fieldRow
	ETag       string
	Update     string // the update button's label, "" when the caller may not write
	UpdateBody bool   // the update takes the form's values (merge, a hook)
	Form       []formField
	CanReset   bool
	CSRF       string
	Errors     []string
}

// updateLabel names a noun's declared update the way its button says it.
func updateLabel(u restkit.Update) string {
	switch u.Op {
	case restkit.UpdateToggle:
		return "Toggle " + u.Field
	case restkit.UpdateIncrement:
		return "Increment " + u.Field
	case restkit.UpdateMerge:
		return "Merge"
	}
	return "Update"
}

// serve shows the panel: the state, a button for the declared update, a form that
// sets the state exactly (PUT) and reset (DELETE).
func (nn *noun) serve(w http.ResponseWriter, r *http.Request, v *visit) {
	nn.render(w, r, v, http.StatusOK, nil, nil)
}

func (nn *noun) render(w http.ResponseWriter, r *http.Request, v *visit, status int, errs map[string]string, other []string) {
	rp := nn.c.call(r, http.MethodGet, nn.path, nil)
	if !rp.ok() {
		nn.c.fail(w, r, v, rp.err())
		return
	}
	var state map[string]any
	if err := rp.decode(nn.api.Envelope, &state); err != nil {
		nn.c.fail(w, r, v, err)
		return
	}
	p := nounPage{Name: nn.noun.Name, API: nn.path, Events: nn.c.opts.Events, ETag: rp.header.Get("ETag"), CSRF: v.csrf(), Errors: other}
	for _, f := range nn.noun.Fields {
		p.State = append(p.State, fieldRow{Name: f.Name, Value: showValue(state[f.Name])})
	}
	write := nn.c.may(v, func(a *auth.Authority) restkit.Access { return a.NounAccess(nn.api, nn.noun) }, auth.Write)
	if write {
		p.Update = updateLabel(nn.noun.Update)
		p.UpdateBody = nn.noun.Update.Op == restkit.UpdateMerge || nn.noun.Update.Op == restkit.UpdateHook
		p.Form = fieldsOf(nn.settable(), r, valuesOf(state, nn.noun.Fields), errs)
	}
	p.CanReset = nn.c.may(v, func(a *auth.Authority) restkit.Access { return a.NounAccess(nn.api, nn.noun) }, auth.Delete)
	v.Title = nn.noun.Name
	v.Crumbs = []crumb{{nn.noun.Name, ""}}
	nn.c.render(w, r, v, status, "noun", p)
}

// settable are the fields PUT may set.
func (nn *noun) settable() []*restkit.Field {
	var out []*restkit.Field
	for _, f := range nn.noun.Fields {
		if !f.ReadOnly {
			out = append(out, f)
		}
	}
	return out
}

// act runs the button or form that was sent: action=update (POST), set (PUT) or
// reset (DELETE), then shows the panel again (303, so a reload does not repeat it).
func (nn *noun) act(w http.ResponseWriter, r *http.Request, v *visit) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		nn.c.fail(w, r, v, restkit.Errorf(restkit.Invalid, "the form could not be read"))
		return
	}
	var rp *reply
	switch r.PostFormValue("action") {
	case "update":
		var body map[string]any
		if nn.noun.Update.Op == restkit.UpdateMerge || nn.noun.Update.Op == restkit.UpdateHook {
			body, _ = formValues(r, nn.settable(), false)
		}
		if body == nil {
			rp = nn.c.callJSON(r, v, http.MethodPost, nn.path, nil)
		} else {
			rp = nn.c.callJSON(r, v, http.MethodPost, nn.path, body)
		}
	case "set":
		body, errs := formValues(r, nn.settable(), false)
		if len(errs) > 0 {
			nn.render(w, r, v, http.StatusBadRequest, errs, nil)
			return
		}
		rp = nn.c.callJSON(r, v, http.MethodPut, nn.path, body)
	case "reset":
		if r.PostFormValue("confirm") != "yes" { // no script asked: a page does
			v.Title = "Reset " + nn.noun.Name
			nn.c.render(w, r, v, http.StatusOK, "confirm", confirmPage{Question: "Reset " + nn.noun.Name + " to its defaults?", Verb: "Reset",
				Action: nn.page, Cancel: nn.page, CSRF: v.csrf(), Hidden: map[string]string{"action": "reset"}})
			return
		}
		rp = nn.c.callJSON(r, v, http.MethodDelete, nn.path, nil)
	default:
		nn.c.fail(w, r, v, restkit.Errorf(restkit.Invalid, "unknown action"))
		return
	}
	if !rp.ok() {
		if rp.status == http.StatusBadRequest {
			byField, other := apiErrors(rp.err(), nn.settable())
			nn.render(w, r, v, rp.status, byField, other)
			return
		}
		nn.c.fail(w, r, v, rp.err())
		return
	}
	http.Redirect(w, r, nn.page, http.StatusSeeOther)
}
