package memory

import (
	"context"
	"slices"
	"strings"

	"restkit"
)

// ListRecords returns one page of the records matching q. It filters every record of
// the resource and sorts the matches on each call (O(n log n)); see the package doc.
//
// Errors: Invalid for a query that names an unknown field, an operator that does not
// fit the field, a value of the wrong type, a cursor of the wrong length, or Offset
// combined with a cursor.
func (s *Store) ListRecords(ctx context.Context, res *restkit.Resource, q *restkit.Query) (*restkit.Page, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, err := s.tableOf(res, "memory.ListRecords")
	if err != nil {
		return nil, err
	}
	p, err := resolve(t.res, q)
	if err != nil {
		return nil, err
	}
	var rows []*restkit.Record
	for _, rec := range t.rows {
		if p.match(rec) {
			rows = append(rows, rec)
		}
	}
	page := &restkit.Page{Total: -1}
	if q.Count {
		page.Total = int64(len(rows))
	}
	slices.SortFunc(rows, func(a, b *restkit.Record) int { return p.compare(a.Values, b) })

	switch {
	case q.After != nil:
		i, _ := slices.BinarySearchFunc(rows, p.bound, func(r *restkit.Record, _ []any) int {
			if p.compareBound(r) <= 0 {
				return -1
			}
			return 1
		})
		rows = rows[i:]
	case q.Before != nil:
		i, _ := slices.BinarySearchFunc(rows, p.bound, func(r *restkit.Record, _ []any) int {
			if p.compareBound(r) < 0 {
				return -1
			}
			return 1
		})
		rows = rows[:i]
	case q.Offset > 0:
		rows = rows[min(q.Offset, len(rows)):]
	}
	if q.Limit > 0 && len(rows) > q.Limit {
		page.More = true
		if q.Backward() {
			rows = rows[len(rows)-q.Limit:]
		} else {
			rows = rows[:q.Limit]
		}
	}
	page.Records = make([]*restkit.Record, len(rows))
	for i, rec := range rows {
		page.Records[i] = rec.Clone()
	}
	return page, nil
}

// plan is a Query checked against a resource, with canonical values.
type plan struct {
	filters []restkit.Filter
	sort    []restkit.SortKey // ends with the key
	bound   []any             // After or Before, canonical
}

// compare orders a record's values against rec by the plan's sort.
func (p *plan) compare(a map[string]any, b *restkit.Record) int {
	for _, k := range p.sort {
		c := restkit.Compare(a[k.Field], b.Values[k.Field])
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// compareBound orders rec against the cursor values.
func (p *plan) compareBound(rec *restkit.Record) int {
	for i, k := range p.sort {
		c := restkit.Compare(rec.Values[k.Field], p.bound[i])
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func (p *plan) match(rec *restkit.Record) bool {
	for i := range p.filters {
		if !matches(rec.Values[p.filters[i].Field], &p.filters[i]) {
			return false
		}
	}
	return true
}

// matches applies one filter to a value (nil when unset). Comparisons with an unset
// value, or with a nil filter value, are false, except OpNull and OpNe ("is distinct
// from"), as in package sqlite.
func matches(v any, f *restkit.Filter) bool {
	switch f.Op {
	case restkit.OpNull:
		return (v == nil) == f.Value.(bool)
	case restkit.OpNe:
		if v == nil || f.Value == nil {
			return (v == nil) != (f.Value == nil)
		}
		return restkit.Compare(v, f.Value) != 0
	case restkit.OpIn:
		if v == nil {
			return false
		}
		for _, c := range f.Values {
			if c != nil && restkit.Compare(v, c) == 0 {
				return true
			}
		}
		return false
	}
	if v == nil || f.Value == nil {
		return false
	}
	if f.Op == restkit.OpPrefix {
		return strings.HasPrefix(v.(string), f.Value.(string))
	}
	c := restkit.Compare(v, f.Value)
	switch f.Op {
	case restkit.OpEq:
		return c == 0
	case restkit.OpLt:
		return c < 0
	case restkit.OpLte:
		return c <= 0
	case restkit.OpGt:
		return c > 0
	case restkit.OpGte:
		return c >= 0
	}
	return false
}

func invalid(field, msg string) error {
	return &restkit.Error{Kind: restkit.Invalid, Message: field + " " + msg,
		Fields: []restkit.FieldError{{Field: field, Message: msg}}}
}

// resolve checks q against res and converts its values to canonical form. Package
// sqlite applies the same rules.
func resolve(res *restkit.Resource, q *restkit.Query) (*plan, error) {
	p := &plan{}
	for _, f := range q.Filters {
		fd := res.Field(f.Field)
		if fd == nil {
			return nil, invalid(f.Field, "is not a field of "+res.Name)
		}
		c := restkit.Filter{Field: f.Field, Op: f.Op}
		switch f.Op {
		case restkit.OpEq, restkit.OpNe, restkit.OpLt, restkit.OpLte, restkit.OpGt, restkit.OpGte:
			v, verr := fd.Canonical(f.Value)
			if verr != nil {
				return nil, invalid(f.Field, verr.Message)
			}
			c.Value = v
		case restkit.OpIn:
			c.Values = make([]any, len(f.Values))
			for i, x := range f.Values {
				v, verr := fd.Canonical(x)
				if verr != nil {
					return nil, invalid(f.Field, verr.Message)
				}
				c.Values[i] = v
			}
		case restkit.OpPrefix:
			s, ok := f.Value.(string)
			if !ok || !stringy(fd.Type) {
				return nil, invalid(f.Field, "does not take prefix: it needs a string field and a string value")
			}
			c.Value = s
		case restkit.OpNull:
			b, ok := f.Value.(bool)
			if !ok {
				return nil, invalid(f.Field, "null takes true or false")
			}
			c.Value = b
		default:
			return nil, invalid(f.Field, "has an unknown operator "+string(f.Op))
		}
		p.filters = append(p.filters, c)
	}
	for _, k := range q.Sort {
		if res.Field(k.Field) == nil {
			return nil, invalid(k.Field, "is not a field of "+res.Name)
		}
	}
	p.sort = q.Sort
	if len(p.sort) == 0 || p.sort[len(p.sort)-1].Field != res.Key {
		p.sort = append(slices.Clip(p.sort), restkit.SortKey{Field: res.Key})
	}
	bound := q.After
	switch {
	case q.After != nil && q.Before != nil:
		return nil, restkit.Errorf(restkit.Invalid, "a list reads after a cursor or before one, not both")
	case q.Offset < 0:
		return nil, restkit.Errorf(restkit.Invalid, "the offset must not be negative")
	case q.Offset > 0 && (q.After != nil || q.Before != nil || q.Last):
		return nil, restkit.Errorf(restkit.Invalid, "an offset cannot be combined with a cursor")
	case q.Before != nil:
		bound = q.Before
	}
	if bound != nil {
		if len(bound) != len(p.sort) {
			return nil, restkit.Errorf(restkit.Invalid, "the cursor does not fit the sort order")
		}
		p.bound = make([]any, len(bound))
		for i, k := range p.sort {
			v, verr := res.Field(k.Field).Canonical(bound[i])
			if verr != nil {
				return nil, restkit.Errorf(restkit.Invalid, "the cursor does not fit the sort order")
			}
			p.bound[i] = v
		}
	}
	return p, nil
}

func stringy(t restkit.FieldType) bool {
	return t == restkit.TypeString || t == restkit.TypeEnum || t == restkit.TypeEmail || t == restkit.TypeURL
}
