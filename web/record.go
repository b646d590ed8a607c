package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
)

// fieldRow is one field of a record as its page shows it.
type fieldRow struct {
	Name  string
	Value string
	Link  string // a link the value stands for (an http(s) URL), "" when none
}

// revision is one entry of a record's history.
type revision struct {
	Rev     int64          `json:"rev"`
	Deleted bool           `json:"deleted"`
	Updated time.Time      `json:"updated"`
	Record  map[string]any `json:"record"`
}

// change is one field of a diff between two revisions.
type change struct {
	Field    string
	From, To string
	Changed  bool
}

type recordPage struct {
	Singular, Key string
	List          string
	Fields        []fieldRow
	ETag          string
	Edit          string // "" when the caller may not change it
	Delete        string // "" when the caller may not delete it
	CSRF          string
	History       []revision
	From, To      int64
	Diff          []change
	DiffError     string
}

// serveRecord shows one record: its fields, its ETag, and with history its
// revisions and a diff between any two of them (?from=&to=).
func (rs *resource) serveRecord(w http.ResponseWriter, r *http.Request, v *visit) {
	key := r.PathValue("key")
	rp := rs.c.call(r, http.MethodGet, rs.items+"/"+escapeSegment(key), nil)
	if !rp.ok() {
		rs.c.fail(w, r, v, rp.err())
		return
	}
	var rec map[string]any
	if err := rp.decode(rs.api.Envelope, &rec); err != nil {
		rs.c.fail(w, r, v, err)
		return
	}
	p := recordPage{Singular: rs.res.Singular, Key: key, List: rs.page, ETag: rp.header.Get("ETag"), Fields: rs.fieldRows(rec), CSRF: v.csrf()}
	if (rs.res.Allows(http.MethodPut, true) || rs.res.Allows(http.MethodPatch, true)) && rs.may(v, auth.Write) {
		p.Edit = rs.recordLink(key) + "/edit"
	}
	if rs.res.Allows(http.MethodDelete, true) && rs.may(v, auth.Delete) {
		p.Delete = rs.recordLink(key) + "/delete"
	}
	if rs.res.History {
		rs.history(r, key, &p)
	}
	v.Title = rs.res.Singular + " " + key
	v.Crumbs = []crumb{{rs.res.Name, rs.page}, {key, ""}}
	rs.c.render(w, r, v, http.StatusOK, "record", p)
}

// fieldRows lists a record's fields in declaration order. A URL-typed value is a
// link (html/template refuses any scheme but http, https and mailto in an href, so
// a javascript: value stays text).
//
// Extension point (DESIGN §11, relations and ?expand=): a relation field's value
// will link to the target's record page here, and expanded records show as links.
func (rs *resource) fieldRows(rec map[string]any) []fieldRow {
	var out []fieldRow
	for _, f := range rs.res.Fields {
		fr := fieldRow{Name: f.Name, Value: showValue(rec[f.Name])}
		if s, ok := rec[f.Name].(string); ok && f.Type == restkit.TypeURL && (strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://")) {
			fr.Link = s
		}
		out = append(out, fr)
	}
	for _, extra := range []string{"created", "updated"} { // timestamps: true
		if val, ok := rec[extra]; ok && rs.res.Timestamps {
			out = append(out, fieldRow{Name: extra, Value: showValue(val)})
		}
	}
	return out
}

// history reads the newest revisions and, when asked, the diff of two of them.
func (rs *resource) history(r *http.Request, key string, p *recordPage) {
	base := rs.items + "/" + escapeSegment(key) + "/revisions"
	rp := rs.c.call(r, http.MethodGet, base+"?limit="+strconv.Itoa(min(50, max(rs.res.MaxPageSize, 1))), nil)
	if !rp.ok() || rp.decode(rs.api.Envelope, &p.History) != nil {
		p.History = nil
		return
	}
	q := r.URL.Query()
	from, err1 := strconv.ParseInt(q.Get("from"), 10, 64)
	to, err2 := strconv.ParseInt(q.Get("to"), 10, 64)
	if err1 != nil || err2 != nil {
		if len(p.History) < 2 {
			return
		}
		from, to = p.History[1].Rev, p.History[0].Rev // the last change, by default
	}
	p.From, p.To = from, to
	a, errA := rs.revision(r, base, from)
	b, errB := rs.revision(r, base, to)
	if errA != nil || errB != nil {
		p.DiffError = "revision " + strconv.FormatInt(from, 10) + " or " + strconv.FormatInt(to, 10) + " cannot be read"
		return
	}
	for _, f := range rs.res.Fields {
		x, y := showValue(a[f.Name]), showValue(b[f.Name])
		p.Diff = append(p.Diff, change{Field: f.Name, From: x, To: y, Changed: x != y})
	}
}

// revision reads one revision of a record.
func (rs *resource) revision(r *http.Request, base string, rev int64) (map[string]any, error) {
	rp := rs.c.call(r, http.MethodGet, base+"/"+strconv.FormatInt(rev, 10), nil)
	if !rp.ok() {
		return nil, rp.err()
	}
	var rec map[string]any
	if err := rp.decode(rs.api.Envelope, &rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// valuesOf turns a record's JSON values into form text: what an edit form starts from.
func valuesOf(rec map[string]any, fields []*restkit.Field) map[string]string {
	out := map[string]string{}
	for _, f := range fields {
		switch v := rec[f.Name].(type) {
		case nil:
			out[f.Name] = ""
		case string:
			out[f.Name] = v
		case map[string]any, []any:
			b, _ := json.MarshalIndent(v, "", "  ")
			out[f.Name] = string(b)
		default:
			out[f.Name] = showValue(v)
		}
	}
	return out
}
