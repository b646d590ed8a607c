package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/auth"
)

// resource is one declared resource as the console serves it.
type resource struct {
	c     *console
	api   *restkit.API
	res   *restkit.Resource
	page  string // the console's list page: /ui/r/cars
	list  string // the API's list path: /cars
	items string // the API's item path before the key: /cars
}

func resourceLink(api *restkit.API, res *restkit.Resource) string {
	return Path + "/r" + api.ListPath(res)
}

// routeResources registers the pages of every resource: list, CSV export, create,
// record, edit and delete.
func (c *console) routeResources() {
	for _, api := range c.opts.Schema.APIs {
		for _, res := range api.Resources {
			rs := &resource{c: c, api: api, res: res, page: resourceLink(api, res), list: api.ListPath(res), items: api.ItemsPath(res)}
			c.handle("GET "+rs.page, rs.serveList)
			c.handle("GET "+rs.page+"/export.csv", rs.serveExport)
			c.handle(rs.page+"/new", rs.serveCreate)
			c.handle("GET "+rs.page+"/k/{key}", rs.serveRecord)
			c.handle(rs.page+"/k/{key}/edit", rs.serveEdit)
			c.handle("POST "+rs.page+"/k/{key}/delete", rs.serveDelete)
		}
	}
}

// handle registers a page. Two declarations whose console paths collide (an API
// whose base is another's resource name) keep the first; the second is logged.
func (c *console) handle(pattern string, h func(http.ResponseWriter, *http.Request, *visit)) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Warn("web: a console page is not served: its path is taken", "pattern", pattern, "error", fmt.Sprint(p))
		}
	}()
	c.mux.HandleFunc(pattern, c.page(h))
}

func (rs *resource) access(a *auth.Authority) restkit.Access { return a.ResourceAccess(rs.api, rs.res) }

func (rs *resource) may(v *visit, act auth.Action) bool { return rs.c.may(v, rs.access, act) }

// recordLink is the console's page of the record with key k.
func (rs *resource) recordLink(k string) string { return rs.page + "/k/" + escapeSegment(k) }

// keyOf is the key of a record as text.
func (rs *resource) keyOf(rec map[string]any) string { return showValue(rec[rs.res.Key]) }

// filterOps are the operators a list filter may use (DESIGN §2).
var filterOps = []string{"eq", "ne", "lt", "lte", "gt", "gte", "in", "prefix"}

// filter is one row of the filter form: field op value.
type filter struct{ Field, Op, Value string }

// listQuery is a list page's request, read from the console's own query string.
type listQuery struct {
	Sort    string
	Cursor  string
	Limit   string
	Count   bool
	Filters []filter
}

func readListQuery(q url.Values) listQuery {
	lq := listQuery{Sort: q.Get("sort"), Cursor: q.Get("cursor"), Limit: q.Get("limit"), Count: q.Get("count") == "true"}
	fields, ops, values := q["f"], q["op"], q["v"]
	for i := range fields {
		f := filter{Field: fields[i], Op: "eq"}
		if i < len(ops) && slices.Contains(filterOps, ops[i]) {
			f.Op = ops[i]
		}
		if i < len(values) {
			f.Value = values[i]
		}
		if f.Field != "" && f.Value != "" {
			lq.Filters = append(lq.Filters, f)
		}
	}
	return lq
}

// console is the page's own query string; without the cursor when paging is false.
func (lq listQuery) console(paging bool) url.Values {
	q := url.Values{}
	for _, f := range lq.Filters {
		q.Add("f", f.Field)
		q.Add("op", f.Op)
		q.Add("v", f.Value)
	}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("sort", lq.Sort)
	set("limit", lq.Limit)
	if lq.Count {
		q.Set("count", "true")
	}
	if paging {
		set("cursor", lq.Cursor)
	}
	return q
}

// api is the API's query string for the same list: filters as field[op]=value.
func (lq listQuery) api(withPaging bool) string {
	q := url.Values{}
	for _, f := range lq.Filters {
		name := f.Field
		if f.Op != "eq" {
			name += "[" + f.Op + "]"
		}
		q.Add(name, f.Value)
	}
	if lq.Sort != "" {
		q.Set("sort", lq.Sort)
	}
	if withPaging {
		if lq.Cursor != "" {
			q.Set("cursor", lq.Cursor)
		}
		if lq.Limit != "" {
			q.Set("limit", lq.Limit)
		}
		if lq.Count {
			q.Set("count", "true")
		}
	}
	return q.Encode()
}

// column is a column of the list: a field, and how clicking its header sorts.
type column struct {
	Name     string
	SortHref string // "" when the field is not sortable
	Sorted   string // "ascending", "descending" or ""
}

type row struct {
	Key   string
	Link  string
	Cells []string
}

type listPage struct {
	Name, Singular string
	Page           string
	Columns        []column
	Rows           []row
	FilterFields   []string
	Ops            []string
	Filters        []filter // the applied ones, then blank rows to fill
	Sort, Limit    string
	Count          bool
	Total          string
	Next, Prev     string
	Export         string
	New            string // "" when the caller may not create
	Events         string // the API's event stream, "" when not served
	Error          *errorPage
}

// serveList shows one page of a resource's records.
func (rs *resource) serveList(w http.ResponseWriter, r *http.Request, v *visit) {
	lq := readListQuery(r.URL.Query())
	target := rs.list
	if qs := lq.api(true); qs != "" {
		target += "?" + qs
	}
	rp := rs.c.call(r, http.MethodGet, target, nil)
	p := listPage{Name: rs.res.Name, Singular: rs.res.Singular, Page: rs.page, Ops: filterOps, Sort: lq.Sort, Limit: lq.Limit, Count: lq.Count,
		Export: rs.page + "/export.csv?" + lq.console(false).Encode()}
	if rs.res.Allows(http.MethodPost, false) && rs.may(v, auth.Write) {
		p.New = rs.page + "/new"
	}
	if rs.c.opts.Events {
		p.Events = rs.list + "/events?" + lq.api(false)
	}
	p.Columns = rs.columns(lq)
	for _, f := range rs.res.Fields {
		if f.Filterable || f.Name == rs.res.Key {
			p.FilterFields = append(p.FilterFields, f.Name)
		}
	}
	p.Filters = append(slices.Clone(lq.Filters), filter{Op: "eq"}, filter{Op: "eq"})
	if !rp.ok() {
		e := errorOf(rp)
		p.Error = &e
		v.Title = rs.res.Name
		rs.c.render(w, r, v, rp.status, "list", p)
		return
	}
	var recs []map[string]any
	if err := rp.decode(rs.api.Envelope, &recs); err != nil {
		rs.c.fail(w, r, v, err)
		return
	}
	for _, rec := range recs {
		k := rs.keyOf(rec)
		rw := row{Key: k, Link: rs.recordLink(k)}
		for _, f := range rs.res.Fields {
			rw.Cells = append(rw.Cells, showValue(rec[f.Name]))
		}
		p.Rows = append(p.Rows, rw)
	}
	p.Total = rp.header.Get("X-Total-Count")
	links := parseLinks(rp.header.Values("Link"))
	for rel, dst := range map[string]*string{"next": &p.Next, "prev": &p.Prev} {
		if cur, ok := links[rel]; ok {
			lq2 := lq
			lq2.Cursor = cur
			*dst = rs.page + "?" + lq2.console(true).Encode()
		}
	}
	v.Title = rs.res.Name
	v.Crumbs = []crumb{{rs.res.Name, ""}}
	rs.c.render(w, r, v, http.StatusOK, "list", p)
}

// columns are the list's columns: every field, the sortable ones with a link that
// sorts by them (ascending first, then descending).
func (rs *resource) columns(lq listQuery) []column {
	var out []column
	for _, f := range rs.res.Fields {
		col := column{Name: f.Name}
		if f.Sortable {
			next := f.Name
			switch lq.Sort {
			case f.Name:
				col.Sorted, next = "ascending", "-"+f.Name
			case "-" + f.Name:
				col.Sorted = "descending"
			}
			q := lq
			q.Sort, q.Cursor = next, ""
			col.SortHref = rs.page + "?" + q.console(false).Encode()
		}
		out = append(out, col)
	}
	return out
}

// parseLinks reads RFC 8288 Link values into rel → the cursor of the target.
func parseLinks(values []string) map[string]string {
	out := map[string]string{}
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			u, err := url.Parse(target[1 : len(target)-1])
			if err != nil {
				continue
			}
			for p := range strings.SplitSeq(params, ";") {
				name, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if name == "rel" {
					out[strings.Trim(val, `"`)] = u.Query().Get("cursor")
				}
			}
		}
	}
	return out
}

// serveExport streams the whole filtered, sorted list as CSV: the API's own CSV,
// written straight to the browser (never held in memory).
func (rs *resource) serveExport(w http.ResponseWriter, r *http.Request, v *visit) {
	lq := readListQuery(r.URL.Query())
	target := rs.list
	if qs := lq.api(false); qs != "" {
		target += "?" + qs
	}
	in := apiRequest(r, http.MethodGet, target, nil, "Accept", "text/csv")
	w.Header().Set("Content-Disposition", `attachment; filename="`+rs.res.Name+`.csv"`)
	rs.c.opts.API.ServeHTTP(w, in)
}

// errorOf is the error page data of a failed reply.
func errorOf(rp *reply) errorPage {
	err := rp.err()
	e := errorPage{Status: rp.status, Title: http.StatusText(rp.status), Fields: restkit.ErrorFields(err)}
	if re, ok := err.(*restkit.Error); ok {
		e.Message = re.Message
	}
	return e
}
