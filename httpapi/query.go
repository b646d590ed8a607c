package httpapi

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/recordjson"
)

// Reserved list parameters; every other parameter is a filter.
const (
	paramLimit  = "limit"
	paramCursor = "cursor"
	paramPage   = "page"
	paramSort   = "sort"
	paramFields = "fields"
	paramCount  = "count"
	paramOr     = "or" // a group of filters any of which holds: or=(color=red,year[gte]=2020)
	paramAnd    = "and"
)

// reserved reports whether a parameter name is one of the list's own, not a filter.
func reserved(name string) bool {
	switch name {
	case paramLimit, paramCursor, paramPage, paramSort, paramFields, paramCount, paramExpand, paramOr:
		return true
	}
	return false
}

const maxInValues = 100

// listRequest is a parsed list query string.
type listRequest struct {
	q      restkit.Query
	view   view
	page   int        // page=N (1-based) when offset paging, else 0
	params url.Values // filters, sort, fields, count, limit, expand: carried into Link URLs
	expand string     // expand= as given; the handler checks it for its caller (parseExpand)
	path   string     // where the list is served, for its Link URLs
}

// parseList parses and checks a list query string against the resource: limit,
// cursor, page, sort, fields, count and filters (field=v, field[op]=v). Every problem
// is an Invalid error naming the parameter; all of them are reported at once.
func parseList(res *restkit.Resource, rawQuery string, cursors *cursorCodec) (*listRequest, error) {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, restkit.Errorf(restkit.Invalid, "the query string is malformed")
	}
	if err := checkText(vals); err != nil {
		return nil, err
	}
	p := &listParser{res: res, vals: vals, lr: &listRequest{params: url.Values{}, view: fullView(res.Fields, res.Timestamps)}}
	p.limitAndCount()
	sortSpec := p.sort()
	p.fields()
	p.paging(cursors, sortSpec)
	p.filters()
	p.groups()
	if s, ok := p.one(paramExpand); ok {
		p.lr.expand = s
		p.lr.params.Set(paramExpand, s)
	}
	if len(p.errs) > 0 {
		restkit.SortFieldErrors(p.errs)
		return nil, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters", Fields: p.errs}
	}
	return p.lr, nil
}

// checkText requires every name and value to be text: every store compares UTF-8
// (PostgreSQL refuses anything else, SQLite would quietly match nothing).
func checkText(vals url.Values) error {
	for name, vs := range vals {
		for _, v := range vs {
			if !utf8.ValidString(name) || !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
				return &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters",
					Fields: []restkit.FieldError{{Field: strings.ToValidUTF8(name, "\ufffd"), Message: "must be valid UTF-8 without NUL"}}}
			}
		}
	}
	return nil
}

// listParser is parseList's state: the parameters, the request being built and the
// problems found so far. Each method parses one aspect.
type listParser struct {
	res  *restkit.Resource
	vals url.Values
	lr   *listRequest
	errs []restkit.FieldError
}

func (p *listParser) bad(param, format string, args ...any) {
	p.errs = append(p.errs, restkit.FieldError{Field: param, Message: fmt.Sprintf(format, args...)})
}

// one returns the value of a parameter that may be given once.
func (p *listParser) one(name string) (string, bool) {
	v, ok := p.vals[name]
	if !ok {
		return "", false
	}
	if len(v) > 1 {
		p.bad(name, "is given more than once")
	}
	return v[0], true
}

// limitAndCount parses limit (default the resource's page size) and count.
func (p *listParser) limitAndCount() {
	res, lr := p.res, p.lr
	lr.q.Limit = res.PageSize
	if s, ok := p.one(paramLimit); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > res.MaxPageSize {
			p.bad(paramLimit, "must be a whole number from 1 to %d", res.MaxPageSize)
		} else {
			lr.q.Limit = n
			lr.params.Set(paramLimit, s)
		}
	}
	if s, ok := p.one(paramCount); ok {
		switch s {
		case "true", "1":
			lr.q.Count = true
			lr.params.Set(paramCount, "true")
		case "false", "0":
		default:
			p.bad(paramCount, "must be true or false")
		}
	}
}

// sort parses sort, a comma list of fields with - for descending, and ends the order
// with the key; it returns the parameter as given (cursors are bound to it).
func (p *listParser) sort() string {
	res, lr := p.res, p.lr
	sortSpec := ""
	if s, ok := p.one(paramSort); ok {
		sortSpec = s
		lr.params.Set(paramSort, s)
		seen := map[string]bool{}
		for _, part := range strings.Split(s, ",") {
			desc := strings.HasPrefix(part, "-")
			name := strings.TrimPrefix(part, "-")
			f := res.Field(name)
			switch {
			case name == "":
				p.bad(paramSort, "has an empty field name")
			case f == nil:
				p.bad(paramSort, "%q is not a field of %s", name, res.Name)
			case !f.Sortable:
				p.bad(paramSort, "%s is not sortable; sortable fields: %s", name, strings.Join(fieldNames(res, func(f *restkit.Field) bool { return f.Sortable }), ", "))
			case seen[name]:
				p.bad(paramSort, "names %s twice", name)
			default:
				seen[name] = true
				lr.q.Sort = append(lr.q.Sort, restkit.SortKey{Field: name, Desc: desc})
			}
		}
	}
	// The key ends every order, which makes it total. Fields after the key could never
	// decide anything (the key is unique), so they are dropped: the order, and the
	// cursor's values, then match what every store resolves.
	if i := slices.IndexFunc(lr.q.Sort, func(k restkit.SortKey) bool { return k.Field == res.Key }); i >= 0 {
		lr.q.Sort = lr.q.Sort[:i+1]
	} else {
		lr.q.Sort = append(lr.q.Sort, restkit.SortKey{Field: res.Key})
	}
	return sortSpec
}

// fields parses fields=, the projection.
func (p *listParser) fields() {
	res, lr := p.res, p.lr
	s, ok := p.one(paramFields)
	if !ok {
		return
	}
	lr.params.Set(paramFields, s)
	want := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		stamp := res.Timestamps && (name == "created" || name == "updated")
		if res.Field(name) == nil && !stamp {
			p.bad(paramFields, "%q is not a field of %s", name, res.Name)
		}
		want[name] = true
	}
	var fields []*restkit.Field
	for _, f := range res.Fields {
		if want[f.Name] {
			fields = append(fields, f)
		}
	}
	lr.view = view{recordjson.View{Fields: fields, Created: res.Timestamps && want["created"], Updated: res.Timestamps && want["updated"]}}
}

// paging parses cursor (keyset paging, bound to sortSpec) or page (offset paging,
// bounded by the resource's MaxOffset); not both.
func (p *listParser) paging(cursors *cursorCodec, sortSpec string) {
	res, lr := p.res, p.lr
	cursor, hasCursor := p.one(paramCursor)
	pageStr, hasPage := p.one(paramPage)
	switch {
	case hasCursor && hasPage:
		p.bad(paramPage, "cannot be combined with cursor")
	case hasCursor:
		if err := cursors.decode(res, cursor, sortSpec, &lr.q); err != nil {
			p.bad(paramCursor, "%s", restkit.ErrorMessage(err))
		}
	case hasPage:
		n, err := strconv.Atoi(pageStr)
		switch {
		case err != nil || n < 1:
			p.bad(paramPage, "must be a whole number from 1")
		case n-1 > res.MaxOffset/lr.q.Limit || (n-1)*lr.q.Limit > res.MaxOffset: // the first test keeps the product from overflowing
			p.bad(paramPage, "is too deep for offset paging (more than %d rows); follow the cursor in the Link header's next instead", res.MaxOffset)
		default:
			lr.page = n
			lr.q.Offset = (n - 1) * lr.q.Limit
		}
	}
}

// filters parses every other parameter as a filter: field=v or field[op]=v, or
// relation.field[op]=v on a filterable field of a relation's target.
func (p *listParser) filters() {
	for name, vs := range p.vals {
		if reserved(name) {
			continue
		}
		if len(vs) > 1 {
			fname, _ := splitOp(name)
			p.bad(name, "is given more than once; to match several values use %s[in]=a,b", fname)
			continue
		}
		flt, msg := p.filter(p.res, name, vs[0], true)
		if msg != "" {
			p.bad(name, "%s", msg)
			continue
		}
		p.lr.q.Filters = append(p.lr.q.Filters, flt)
		p.lr.params.Set(name, vs[0])
	}
}

// splitOp splits "field[op]" into the field and the operator (eq when there is none).
func splitOp(name string) (string, restkit.Op) {
	if i := strings.IndexByte(name, '['); i >= 0 && strings.HasSuffix(name, "]") {
		return name[:i], restkit.Op(name[i+1 : len(name)-1])
	}
	return name, restkit.OpEq
}

// filter parses one condition name=raw against res; a message says why it is refused.
// related allows relation.field (one level into a relation's target).
func (p *listParser) filter(res *restkit.Resource, name, raw string, related bool) (restkit.Filter, string) {
	fname, op := splitOp(name)
	if rel, sub, ok := strings.Cut(fname, "."); ok && related {
		f := res.Field(rel)
		if f == nil || f.Type != restkit.TypeRelation {
			return restkit.Filter{}, fmt.Sprintf("%s is not a relation of %s, so %s cannot be filtered", rel, res.Name, fname)
		}
		if !f.Filterable {
			return restkit.Filter{}, fmt.Sprintf("%s is not filterable; filterable fields: %s", rel, strings.Join(fieldNames(res, func(f *restkit.Field) bool { return f.Filterable }), ", "))
		}
		inner, msg := p.filter(f.Target(), sub+strings.TrimPrefix(name, fname), raw, false)
		if msg != "" {
			return restkit.Filter{}, msg
		}
		return restkit.Filter{Field: rel, Op: restkit.OpMatch, Filters: []restkit.Filter{inner}}, ""
	}
	f := res.Field(fname)
	if f == nil {
		return restkit.Filter{}, fmt.Sprintf("is not a field of %s, nor one of the parameters limit, cursor, page, sort, fields, count, expand, or", res.Name)
	}
	if !f.Filterable {
		return restkit.Filter{}, fmt.Sprintf("%s is not filterable; filterable fields: %s", fname, strings.Join(fieldNames(res, func(f *restkit.Field) bool { return f.Filterable }), ", "))
	}
	if f.Name == res.Key || (f.Type == restkit.TypeRelation && stringKeyed(f)) { // keys are stored in NFC (resourceHandler.normalizeKey)
		raw = norm.NFC.String(raw)
	}
	flt, err := parseFilter(f, op, raw)
	if err != nil {
		return restkit.Filter{}, restkit.ErrorMessage(err)
	}
	return flt, ""
}

// groups parses or=(…): conditions separated by commas, any of which holds; an
// and=(…) inside one groups conditions that must all hold, and groups nest up to
// restkit.MaxFilterDepth deep. A value holding a comma or a parenthesis is written in
// double quotes: or=(title="a, b",title=c). Several or= parameters must all hold.
func (p *listParser) groups() {
	for _, raw := range p.vals[paramOr] {
		flt, err := p.group(restkit.OpOr, raw, 1)
		if err != "" {
			p.bad(paramOr, "%s", err)
			continue
		}
		p.lr.q.Filters = append(p.lr.q.Filters, flt)
		p.lr.params.Add(paramOr, raw)
	}
}

// group parses "(item,item,…)" as an op group at depth.
func (p *listParser) group(op restkit.Op, raw string, depth int) (restkit.Filter, string) {
	if depth > restkit.MaxFilterDepth {
		return restkit.Filter{}, fmt.Sprintf("groups nest at most %d deep", restkit.MaxFilterDepth)
	}
	if len(raw) < 2 || raw[0] != '(' || raw[len(raw)-1] != ')' {
		return restkit.Filter{}, fmt.Sprintf("must be a group in parentheses such as %s=(color=red,year[gte]=2020), not %q", op, raw)
	}
	items, err := splitGroup(raw[1 : len(raw)-1])
	if err != "" {
		return restkit.Filter{}, err
	}
	g := restkit.Filter{Op: op}
	for _, item := range items {
		name, value, ok := strings.Cut(item, "=")
		if !ok || name == "" {
			return restkit.Filter{}, fmt.Sprintf("%q is not a condition such as color=red", item)
		}
		if name == paramOr || name == paramAnd {
			sub, msg := p.group(restkit.Op(name), value, depth+1)
			if msg != "" {
				return restkit.Filter{}, msg
			}
			g.Filters = append(g.Filters, sub)
			continue
		}
		flt, msg := p.filter(p.res, name, unquote(value), true)
		if msg != "" {
			return restkit.Filter{}, name + ": " + msg
		}
		g.Filters = append(g.Filters, flt)
	}
	return g, ""
}

// splitGroup splits a group's inside at the commas outside parentheses and quotes.
func splitGroup(s string) ([]string, string) {
	var items []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, "has a ) without its ("
			}
		case c == ',' && depth == 0:
			items = append(items, s[start:i])
			start = i + 1
		}
	}
	if quoted || depth != 0 {
		return nil, "has an unclosed quote or parenthesis"
	}
	items = append(items, s[start:])
	for _, it := range items {
		if it == "" {
			return nil, "has an empty condition"
		}
	}
	return items, ""
}

// unquote removes the double quotes around a group value, and the parentheses around
// an in list: color[in]=(red,blue) is color[in]=red,blue.
func unquote(v string) string {
	if len(v) >= 2 && ((v[0] == '"' && v[len(v)-1] == '"') || (v[0] == '(' && v[len(v)-1] == ')')) {
		return v[1 : len(v)-1]
	}
	return v
}

func parseFilter(f *restkit.Field, op restkit.Op, raw string) (restkit.Filter, error) {
	flt := restkit.Filter{Field: f.Name, Op: op}
	if list := f.Type == restkit.TypeArray || (f.Type == restkit.TypeRelation && f.Many); list && op != restkit.OpContains && op != restkit.OpNull {
		return flt, restkit.Errorf(restkit.Invalid, "%s is a list: it takes %s[contains]=value and %s[null]=true|false", f.Name, f.Name, f.Name)
	}
	stringy := f.Type == restkit.TypeString || f.Type == restkit.TypeEmail || f.Type == restkit.TypeURL || f.Type == restkit.TypeEnum
	switch op {
	case restkit.OpEq, restkit.OpNe:
	case restkit.OpLt, restkit.OpLte, restkit.OpGt, restkit.OpGte:
		if f.Type == restkit.TypeBoolean {
			return flt, restkit.Errorf(restkit.Invalid, "%s is a boolean; use eq, ne, in or null", f.Name)
		}
	case restkit.OpPrefix:
		if !stringy {
			return flt, restkit.Errorf(restkit.Invalid, "prefix applies to text fields; %s is %s", f.Name, f.Type)
		}
		flt.Value = raw
		return flt, nil
	case restkit.OpContains:
		return parseContains(f, raw)
	case restkit.OpIn:
		parts := strings.Split(raw, ",")
		if len(parts) > maxInValues {
			return flt, restkit.Errorf(restkit.Invalid, "in takes at most %d values", maxInValues)
		}
		for _, p := range parts {
			v, err := f.Parse(p)
			if err != nil {
				return flt, err
			}
			flt.Values = append(flt.Values, v)
		}
		return flt, nil
	case restkit.OpNull:
		switch raw {
		case "true":
			flt.Value = true
		case "false":
			flt.Value = false
		default:
			return flt, restkit.Errorf(restkit.Invalid, "null takes true or false")
		}
		return flt, nil
	default:
		ops := make([]string, len(restkit.Ops))
		for i, o := range restkit.Ops {
			ops[i] = string(o)
		}
		return flt, restkit.Errorf(restkit.Invalid, "unknown operator %q; one of %s", op, strings.Join(ops, ", "))
	}
	v, err := f.Parse(raw)
	if err != nil {
		return flt, err
	}
	flt.Value = v
	return flt, nil
}

// parseContains reads the value a contains filter looks for: text for a text field,
// an item for an array, a key for a many relation.
func parseContains(f *restkit.Field, raw string) (restkit.Filter, error) {
	flt := restkit.Filter{Field: f.Name, Op: restkit.OpContains}
	var err error
	switch {
	case f.Type.Textual():
		if raw == "" {
			return flt, restkit.Errorf(restkit.Invalid, "contains needs some text to look for")
		}
		flt.Value = raw
	case f.Type == restkit.TypeArray:
		flt.Value, err = f.Item().Parse(raw)
	case f.Type == restkit.TypeRelation && f.Many:
		flt.Value, err = f.Target().KeyField().Parse(raw)
	default:
		err = restkit.Errorf(restkit.Invalid, "contains applies to text, arrays and many relations; %s is %s", f.Name, f.Type)
	}
	return flt, err
}

func fieldNames(res *restkit.Resource, keep func(*restkit.Field) bool) []string {
	var names []string
	for _, f := range res.Fields {
		if keep(f) {
			names = append(names, f.Name)
		}
	}
	if len(names) == 0 {
		return []string{"(none)"}
	}
	return names
}
