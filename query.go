package restkit

import "fmt"

// Op is a filter operator.
type Op string

const (
	OpEq     Op = "eq"
	OpNe     Op = "ne"
	OpLt     Op = "lt"
	OpLte    Op = "lte"
	OpGt     Op = "gt"
	OpGte    Op = "gte"
	OpIn     Op = "in"     // Values holds the candidates
	OpPrefix Op = "prefix" // string fields only
	OpNull   Op = "null"   // Value is true (is null / unset) or false (has a value)
	// OpContains: a text field holds Value as a substring (case-sensitive); an array
	// holds the item Value; a many relation holds the key Value.
	OpContains Op = "contains"

	// The structural operators take Filters instead of a value.
	OpOr    Op = "or"    // any of Filters holds (Field is empty)
	OpAnd   Op = "and"   // all of Filters hold (Field is empty); a group inside an or
	OpMatch Op = "match" // Field is a relation whose target record (one of them, for many) matches all of Filters
)

// Ops lists the comparison operators in documentation order.
var Ops = []Op{OpEq, OpNe, OpLt, OpLte, OpGt, OpGte, OpIn, OpPrefix, OpNull, OpContains}

// MaxFilterDepth bounds how deeply or and and groups nest.
const MaxFilterDepth = 4

// Filter restricts a list to records whose Field compares to Value by Op. Values are
// canonical. Comparisons with an unset (null) field are false, except OpNull and OpNe.
// OpOr and OpAnd combine Filters; OpMatch applies Filters to a relation's target.
type Filter struct {
	Field   string
	Op      Op
	Value   any
	Values  []any
	Filters []Filter
}

// SortKey orders by one field.
type SortKey struct {
	Field string
	Desc  bool
}

// Query is a parsed list request, already checked against the resource.
//
// Keyset paging: Sort is a total order (it always ends with the key), so a page
// boundary is identified by the Sort values of the row at its edge. After asks for the
// rows strictly after such values, Before for the rows strictly before them (the Limit
// rows closest to the boundary, returned in Sort order). A store answers with an index
// range scan whose cost does not depend on how deep the page is, unlike OFFSET, which
// must count past every skipped row. Offset paging (page=N) remains for small sets.
type Query struct {
	Filters []Filter
	Sort    []SortKey // never empty once parsed; the key is the last entry
	Limit   int
	After   []any // keyset forward: Sort values of the last row of the previous page
	Before  []any // keyset backward: Sort values of the first row of the next page
	Last    bool  // the final Limit rows (a backward read from the end)
	Offset  int   // rows to skip (page=N); not combined with After/Before/Last
	Count   bool  // fill Page.Total
}

// Backward reports whether the query reads toward the start of the order.
func (q *Query) Backward() bool { return q.Before != nil || q.Last }

// Page is one page of a list.
type Page struct {
	Records []*Record // in Sort order
	More    bool      // more rows exist past this page in the direction read
	Total   int64     // matching rows when Query.Count, else -1
}

// Resolve checks q against res and returns a copy in canonical form: every filter
// names a declared field with an operator that fits it and canonical values, Sort
// names declared fields and ends with the key (appended ascending when missing), and
// the keyset bound (After or Before) has one canonical value per Sort entry. Every
// Store calls it first, so all of them apply the same rules. Errors are Invalid.
func (q *Query) Resolve(res *Resource) (*Query, error) {
	out := &Query{Limit: q.Limit, Offset: q.Offset, Count: q.Count, Last: q.Last}
	filters, err := resolveFilters(res, q.Filters, 0)
	if err != nil {
		return nil, err
	}
	out.Filters = filters
	for _, k := range q.Sort {
		if res.Field(k.Field) == nil {
			return nil, invalidParam(k.Field, "is not a field of "+res.Name)
		}
	}
	out.Sort = q.Sort
	if len(out.Sort) == 0 || out.Sort[len(out.Sort)-1].Field != res.Key {
		out.Sort = append(out.Sort[:len(out.Sort):len(out.Sort)], SortKey{Field: res.Key})
	}
	bound := q.After
	switch {
	case q.After != nil && q.Before != nil:
		return nil, Errorf(Invalid, "a list reads after a cursor or before one, not both")
	case q.Offset < 0:
		return nil, Errorf(Invalid, "the offset must not be negative")
	case q.Offset > 0 && (q.After != nil || q.Before != nil || q.Last):
		return nil, Errorf(Invalid, "an offset cannot be combined with a cursor")
	case q.Before != nil:
		bound = q.Before
	}
	if bound != nil {
		if len(bound) != len(out.Sort) {
			return nil, Errorf(Invalid, "the cursor does not fit the sort order")
		}
		canon := make([]any, len(bound))
		for i, k := range out.Sort {
			v, verr := res.Field(k.Field).Canonical(bound[i])
			if verr != nil {
				return nil, Errorf(Invalid, "the cursor does not fit the sort order")
			}
			canon[i] = v
		}
		if q.Before != nil {
			out.Before = canon
		} else {
			out.After = canon
		}
	}
	return out, nil
}

// resolveFilters resolves a list of filters against res (Resolve's rules), depth
// being how deeply they nest in groups.
func resolveFilters(res *Resource, filters []Filter, depth int) ([]Filter, error) {
	var out []Filter
	for _, f := range filters {
		c, err := resolveFilter(res, f, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func resolveFilter(res *Resource, f Filter, depth int) (Filter, error) {
	c := Filter{Field: f.Field, Op: f.Op}
	switch f.Op {
	case OpOr, OpAnd:
		if depth+1 > MaxFilterDepth {
			return c, Errorf(Invalid, "filter groups nest at most %d deep", MaxFilterDepth)
		}
		if len(f.Filters) == 0 {
			return c, Errorf(Invalid, "an %s group needs at least one condition", f.Op)
		}
		sub, err := resolveFilters(res, f.Filters, depth+1)
		c.Filters = sub
		return c, err
	}
	fd := res.Field(f.Field)
	if fd == nil {
		return c, invalidParam(f.Field, "is not a field of "+res.Name)
	}
	if f.Op == OpMatch {
		if fd.Type != TypeRelation || fd.target == nil {
			return c, invalidParam(f.Field, "is not a relation")
		}
		for _, sub := range f.Filters {
			if sub.Op == OpMatch || sub.Op == OpOr || sub.Op == OpAnd {
				return c, invalidParam(f.Field, "filters reach one level into a relation, with plain conditions")
			}
		}
		sub, err := resolveFilters(fd.target, f.Filters, depth+1)
		c.Filters = sub
		return c, err
	}
	// A single relation compares by its target's key; lists take contains and null.
	list := fd.Type == TypeArray || (fd.Type == TypeRelation && fd.Many)
	if fd.Type == TypeJSON || (list && f.Op != OpContains && f.Op != OpNull) {
		return c, invalidParam(f.Field, fmt.Sprintf("is a %s field: it takes %s", fd.Type, listOps(fd)))
	}
	switch f.Op {
	case OpEq, OpNe, OpLt, OpLte, OpGt, OpGte:
		v, verr := fd.Canonical(f.Value)
		if verr != nil {
			return c, invalidParam(f.Field, verr.Message)
		}
		c.Value = v
	case OpIn:
		c.Values = make([]any, len(f.Values))
		for i, x := range f.Values {
			v, verr := fd.Canonical(x)
			if verr != nil {
				return c, invalidParam(f.Field, verr.Message)
			}
			c.Values[i] = v
		}
	case OpPrefix:
		s, ok := f.Value.(string)
		if !ok || !fd.Type.Textual() {
			return c, invalidParam(f.Field, "does not take prefix: it needs a string field and a string value")
		}
		c.Value = s
	case OpContains:
		v, err := containsValue(fd, f.Value)
		if err != nil {
			return c, err
		}
		c.Value = v
	case OpNull:
		b, ok := f.Value.(bool)
		if !ok {
			return c, invalidParam(f.Field, "null takes true or false")
		}
		c.Value = b
	default:
		return c, invalidParam(f.Field, "has an unknown operator "+string(f.Op))
	}
	return c, nil
}

// containsValue is the canonical value a contains filter on fd looks for: a substring
// of a text field, an item of an array, a key of a many relation.
func containsValue(fd *Field, v any) (any, error) {
	switch {
	case fd.Type.Textual():
		s, ok := v.(string)
		if !ok || s == "" {
			return nil, invalidParam(fd.Name, "contains needs some text to look for")
		}
		return s, nil
	case fd.Type == TypeArray:
		c, verr := fd.item.Canonical(v)
		if verr != nil || c == nil {
			return nil, invalidParam(fd.Name, "contains needs a value of its items' type ("+string(fd.Items)+")")
		}
		return c, nil
	case fd.Type == TypeRelation && fd.Many:
		c, verr := fd.target.KeyField().Canonical(v)
		if verr != nil || c == nil {
			return nil, invalidParam(fd.Name, "contains needs the "+fd.target.Key+" of a "+fd.target.Singular)
		}
		return c, nil
	}
	return nil, invalidParam(fd.Name, "does not take contains: it applies to text, arrays and many relations")
}

// listOps names the operators a list or json field takes, for messages.
func listOps(fd *Field) string {
	if fd.Type == TypeJSON {
		return "no filters"
	}
	return "contains and null"
}

func invalidParam(field, msg string) error {
	return &Error{Kind: Invalid, Message: field + " " + msg, Fields: []FieldError{{Field: field, Message: msg}}}
}
