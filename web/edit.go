package web

import (
	"net/http"

	"github.com/restkit/restkit"
)

// maxForm bounds a form's body: a record is at most max_body of JSON, and its form
// text is of the same order.
const maxForm = 4 << 20

// serveCreate shows the create form (GET) and creates the record (POST): POST to the
// list, or PUT to the item when the client names keys in the URL.
func (rs *resource) serveCreate(w http.ResponseWriter, r *http.Request, v *visit) {
	fields := rs.editable(true)
	p := formPage{Heading: "New " + rs.res.Singular, Action: rs.page + "/new", Submit: "Create", Cancel: rs.page, CSRF: v.csrf()}
	v.Title = p.Heading
	v.Crumbs = []crumb{{rs.res.Name, rs.page}, {"new", ""}}
	if r.Method != http.MethodPost {
		defaults := map[string]string{}
		for _, f := range fields {
			if f.Default != nil {
				defaults[f.Name] = showValue(f.Default)
			}
		}
		p.Fields = fieldsOf(fields, nil, defaults, nil)
		rs.c.render(w, r, v, http.StatusOK, "form", p)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		rs.c.fail(w, r, v, restkit.Errorf(restkit.Invalid, "the form could not be read"))
		return
	}
	body, errs := formValues(r, fields, false)
	if len(errs) > 0 {
		p.Fields = fieldsOf(fields, r, submitted(r, fields), errs)
		rs.c.render(w, r, v, http.StatusBadRequest, "form", p)
		return
	}
	var rp *reply
	if rs.res.KeySource == restkit.KeyFromURL {
		key := r.PostFormValue(rs.res.Key)
		delete(body, rs.res.Key)
		rp = rs.c.callJSON(r, v, http.MethodPut, rs.items+"/"+escapeSegment(key), body, "If-None-Match", "*")
	} else {
		rp = rs.c.callJSON(r, v, http.MethodPost, rs.list, body)
	}
	if !rp.ok() {
		byField, other := apiErrors(rp.err(), fields)
		p.Fields, p.Errors = fieldsOf(fields, r, submitted(r, fields), byField), other
		rs.c.render(w, r, v, rp.status, "form", p)
		return
	}
	var rec map[string]any
	if err := rp.decode(rs.api.Envelope, &rec); err != nil {
		rs.c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, rs.recordLink(rs.keyOf(rec)), http.StatusSeeOther)
}

// serveEdit shows the edit form (GET) and saves it (POST) with If-Match: the ETag the
// form started from. When someone else saved first (412), the page shows their
// version beside the form; "Overwrite" saves the form over theirs, "Merge" fills the
// form with theirs plus the fields this edit changed, to review and save.
func (rs *resource) serveEdit(w http.ResponseWriter, r *http.Request, v *visit) {
	key := r.PathValue("key")
	item := rs.items + "/" + escapeSegment(key)
	fields := rs.editable(false)
	p := formPage{Heading: "Edit " + rs.res.Singular + " " + key, Action: rs.recordLink(key) + "/edit", Submit: "Save", Cancel: rs.recordLink(key), CSRF: v.csrf()}
	v.Title = p.Heading
	v.Crumbs = []crumb{{rs.res.Name, rs.page}, {key, rs.recordLink(key)}, {"edit", ""}}
	if r.Method != http.MethodPost {
		cur, etag, err := rs.current(r, item)
		if err != nil {
			rs.c.fail(w, r, v, err)
			return
		}
		p.ETag, p.Orig = etag, valuesOf(cur, fields)
		p.Fields = fieldsOf(fields, nil, p.Orig, nil)
		rs.c.render(w, r, v, http.StatusOK, "form", p)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		rs.c.fail(w, r, v, restkit.Errorf(restkit.Invalid, "the form could not be read"))
		return
	}
	p.ETag, p.Orig = r.PostFormValue("etag"), map[string]string{}
	for _, f := range fields {
		p.Orig[f.Name] = r.PostFormValue("orig." + f.Name)
	}
	mine := submitted(r, fields)
	if r.PostFormValue("action") == "merge" {
		rs.merge(w, r, v, item, fields, mine, &p)
		return
	}
	usePut := rs.res.Allows(http.MethodPut, true)
	body, errs := formValues(r, fields, !usePut)
	if len(errs) > 0 {
		p.Fields = fieldsOf(fields, r, mine, errs)
		rs.c.render(w, r, v, http.StatusBadRequest, "form", p)
		return
	}
	method := http.MethodPut
	if !usePut {
		method = http.MethodPatch
	}
	rp := rs.c.callJSON(r, v, method, item, body, "If-Match", p.ETag)
	switch {
	case rp.ok():
		http.Redirect(w, r, rs.recordLink(key), http.StatusSeeOther)
	case rp.status == http.StatusPreconditionFailed:
		rs.conflict(w, r, v, item, fields, mine, &p)
	default:
		byField, other := apiErrors(rp.err(), fields)
		p.Fields, p.Errors = fieldsOf(fields, r, mine, byField), other
		rs.c.render(w, r, v, rp.status, "form", p)
	}
}

// current reads a record and its ETag.
func (rs *resource) current(r *http.Request, item string) (map[string]any, string, error) {
	rp := rs.c.call(r, http.MethodGet, item, nil)
	if !rp.ok() {
		return nil, "", rp.err()
	}
	var rec map[string]any
	if err := rp.decode(rs.api.Envelope, &rec); err != nil {
		return nil, "", err
	}
	return rec, rp.header.Get("ETag"), nil
}

// conflict shows the version saved meanwhile beside the form, which keeps the
// caller's values and now carries the new ETag (so saving it overwrites).
func (rs *resource) conflict(w http.ResponseWriter, r *http.Request, v *visit, item string, fields []*restkit.Field, mine map[string]string, p *formPage) {
	theirs, etag, err := rs.current(r, item)
	if err != nil {
		rs.c.fail(w, r, v, err)
		return
	}
	p.ETag = etag
	p.Conflict = &conflict{Theirs: rs.fieldRows(theirs)}
	p.Submit = "Overwrite with mine"
	p.Fields = fieldsOf(fields, r, mine, nil)
	rs.c.render(w, r, v, http.StatusPreconditionFailed, "form", *p)
}

// merge fills the form with the version saved meanwhile, plus every field this edit
// changed from where it started, for the caller to review and save.
func (rs *resource) merge(w http.ResponseWriter, r *http.Request, v *visit, item string, fields []*restkit.Field, mine map[string]string, p *formPage) {
	cur, etag, err := rs.current(r, item)
	if err != nil {
		rs.c.fail(w, r, v, err)
		return
	}
	theirs := valuesOf(cur, fields)
	merged := map[string]string{}
	for _, f := range fields {
		merged[f.Name] = theirs[f.Name]
		if mine[f.Name] != p.Orig[f.Name] {
			merged[f.Name] = mine[f.Name]
		}
	}
	p.ETag, p.Orig = etag, theirs
	p.Errors = []string{"Merged: the saved version with your changes. Review and save."}
	p.Fields = fieldsOf(fields, r, merged, nil)
	rs.c.render(w, r, v, http.StatusOK, "form", *p)
}

// serveDelete deletes a record once confirmed: a form post without confirm=yes (no
// script to ask) shows a page that asks.
func (rs *resource) serveDelete(w http.ResponseWriter, r *http.Request, v *visit) {
	key := r.PathValue("key")
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	_ = r.ParseForm()
	if r.PostFormValue("confirm") != "yes" {
		v.Title = "Delete " + rs.res.Singular + " " + key
		rs.c.render(w, r, v, http.StatusOK, "confirm", confirmPage{Question: "Delete " + rs.res.Singular + " " + key + "?",
			Action: rs.recordLink(key) + "/delete", Cancel: rs.recordLink(key), CSRF: v.csrf()})
		return
	}
	rp := rs.c.callJSON(r, v, http.MethodDelete, rs.items+"/"+escapeSegment(key), nil)
	if !rp.ok() {
		rs.c.fail(w, r, v, rp.err())
		return
	}
	http.Redirect(w, r, rs.page, http.StatusSeeOther)
}

// confirmPage asks before a destructive form is sent (when no script asked already).
type confirmPage struct {
	Question, Action, Cancel, CSRF string
	Verb                           string // the button: "Delete" when empty
	Hidden                         map[string]string
}
