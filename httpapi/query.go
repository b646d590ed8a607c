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
)

// Reserved list parameters; every other parameter is a filter.
const (
	paramLimit  = "limit"
	paramCursor = "cursor"
	paramPage   = "page"
	paramSort   = "sort"
	paramFields = "fields"
	paramCount  = "count"
)

const maxInValues = 100

// listRequest is a parsed list query string.
type listRequest struct {
	q      restkit.Query
	view   view
	page   int        // page=N (1-based) when offset paging, else 0
	params url.Values // filters, sort, fields, count, limit: carried into Link URLs
}

// parseList parses and checks a list query string against the resource: limit,
// cursor, page, sort, fields, count and filters (field=v, field[op]=v). Every problem
// is an Invalid error naming the parameter.
func parseList(res *restkit.Resource, rawQuery string, cursors *cursorCodec) (*listRequest, error) {
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, restkit.Errorf(restkit.Invalid, "the query string is malformed")
	}
	// Names and values must be text: every store compares UTF-8 (PostgreSQL refuses
	// anything else, SQLite would quietly match nothing).
	for name, vs := range vals {
		for _, v := range vs {
			if !utf8.ValidString(name) || !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
				return nil, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters",
					Fields: []restkit.FieldError{{Field: strings.ToValidUTF8(name, "\ufffd"), Message: "must be valid UTF-8 without NUL"}}}
			}
		}
	}
	lr := &listRequest{params: url.Values{}, view: fullView(res.Fields, res.Timestamps)}
	var errs []restkit.FieldError
	bad := func(param, format string, args ...any) {
		errs = append(errs, restkit.FieldError{Field: param, Message: fmt.Sprintf(format, args...)})
	}
	one := func(name string) (string, bool) {
		v, ok := vals[name]
		if !ok {
			return "", false
		}
		if len(v) > 1 {
			bad(name, "is given more than once")
		}
		return v[0], true
	}

	lr.q.Limit = res.PageSize
	if s, ok := one(paramLimit); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > res.MaxPageSize {
			bad(paramLimit, "must be a whole number from 1 to %d", res.MaxPageSize)
		} else {
			lr.q.Limit = n
			lr.params.Set(paramLimit, s)
		}
	}
	if s, ok := one(paramCount); ok {
		switch s {
		case "true", "1":
			lr.q.Count = true
			lr.params.Set(paramCount, "true")
		case "false", "0":
		default:
			bad(paramCount, "must be true or false")
		}
	}

	// sort: a comma list of fields, - for descending; the key ends every order.
	sortSpec := ""
	if s, ok := one(paramSort); ok {
		sortSpec = s
		lr.params.Set(paramSort, s)
		seen := map[string]bool{}
		for _, part := range strings.Split(s, ",") {
			desc := strings.HasPrefix(part, "-")
			name := strings.TrimPrefix(part, "-")
			f := res.Field(name)
			switch {
			case name == "":
				bad(paramSort, "has an empty field name")
			case f == nil:
				bad(paramSort, "%q is not a field of %s", name, res.Name)
			case !f.Sortable:
				bad(paramSort, "%s is not sortable; sortable fields: %s", name, strings.Join(fieldNames(res, func(f *restkit.Field) bool { return f.Sortable }), ", "))
			case seen[name]:
				bad(paramSort, "names %s twice", name)
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

	if s, ok := one(paramFields); ok {
		lr.params.Set(paramFields, s)
		want := map[string]bool{}
		for _, name := range strings.Split(s, ",") {
			stamp := res.Timestamps && (name == "created" || name == "updated")
			if res.Field(name) == nil && !stamp {
				bad(paramFields, "%q is not a field of %s", name, res.Name)
			}
			want[name] = true
		}
		var fields []*restkit.Field
		for _, f := range res.Fields {
			if want[f.Name] {
				fields = append(fields, f)
			}
		}
		lr.view = view{fields: fields, created: res.Timestamps && want["created"], updated: res.Timestamps && want["updated"]}
	}

	cursor, hasCursor := one(paramCursor)
	pageStr, hasPage := one(paramPage)
	switch {
	case hasCursor && hasPage:
		bad(paramPage, "cannot be combined with cursor")
	case hasCursor:
		if err := cursors.decode(res, cursor, sortSpec, &lr.q); err != nil {
			bad(paramCursor, "%s", restkit.ErrorMessage(err))
		}
	case hasPage:
		n, err := strconv.Atoi(pageStr)
		switch {
		case err != nil || n < 1:
			bad(paramPage, "must be a whole number from 1")
		case n-1 > res.MaxOffset/lr.q.Limit || (n-1)*lr.q.Limit > res.MaxOffset: // the first test keeps the product from overflowing
			bad(paramPage, "is too deep for offset paging (more than %d rows); follow the cursor in the Link header's next instead", res.MaxOffset)
		default:
			lr.page = n
			lr.q.Offset = (n - 1) * lr.q.Limit
		}
	}

	for name, vs := range vals {
		switch name {
		case paramLimit, paramCursor, paramPage, paramSort, paramFields, paramCount:
			continue
		}
		fname, op := name, restkit.OpEq
		if i := strings.IndexByte(name, '['); i >= 0 && strings.HasSuffix(name, "]") {
			fname, op = name[:i], restkit.Op(name[i+1:len(name)-1])
		}
		f := res.Field(fname)
		if f == nil {
			bad(name, "is not a field of %s, nor one of the parameters limit, cursor, page, sort, fields, count", res.Name)
			continue
		}
		if !f.Filterable {
			bad(name, "%s is not filterable; filterable fields: %s", fname, strings.Join(fieldNames(res, func(f *restkit.Field) bool { return f.Filterable }), ", "))
			continue
		}
		if len(vs) > 1 {
			bad(name, "is given more than once; to match several values use %s[in]=a,b", fname)
			continue
		}
		raw := vs[0]
		if f.Name == res.Key { // keys are stored in NFC (resourceHandler.normalizeKey)
			raw = norm.NFC.String(raw)
		}
		flt, err := parseFilter(f, op, raw)
		if err != nil {
			bad(name, "%s", restkit.ErrorMessage(err))
			continue
		}
		lr.q.Filters = append(lr.q.Filters, flt)
		lr.params.Set(name, raw)
	}
	if len(errs) > 0 {
		restkit.SortFieldErrors(errs)
		return nil, &restkit.Error{Kind: restkit.Invalid, Message: "invalid query parameters", Fields: errs}
	}
	return lr, nil
}

func parseFilter(f *restkit.Field, op restkit.Op, raw string) (restkit.Filter, error) {
	flt := restkit.Filter{Field: f.Name, Op: op}
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
