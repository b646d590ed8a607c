package memory

import (
	"context"
	"slices"
	"strings"

	"github.com/restkit/restkit"
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
	p.s = s
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
	s       *Store // for relation matches; the caller holds its read lock
	res     *restkit.Resource
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

func (p *plan) match(rec *restkit.Record) bool { return p.all(rec, p.filters) }

// all reports whether rec passes every filter.
func (p *plan) all(rec *restkit.Record, filters []restkit.Filter) bool {
	for i := range filters {
		if !p.passes(rec, &filters[i]) {
			return false
		}
	}
	return true
}

// passes applies one filter, groups and relation matches included, to a record.
func (p *plan) passes(rec *restkit.Record, f *restkit.Filter) bool {
	switch f.Op {
	case restkit.OpAnd:
		return p.all(rec, f.Filters)
	case restkit.OpOr:
		for i := range f.Filters {
			if p.passes(rec, &f.Filters[i]) {
				return true
			}
		}
		return false
	case restkit.OpMatch:
		target := p.s.tables[p.res.Field(f.Field).Target().StoreName]
		if target == nil {
			return false
		}
		var keys []any
		switch v := rec.Values[f.Field].(type) {
		case nil:
		case []any:
			keys = v
		default:
			keys = []any{v}
		}
		sub := &plan{s: p.s, res: target.res}
		for _, k := range keys {
			if t := target.rows[k]; t != nil && sub.all(t, f.Filters) {
				return true
			}
		}
		return false
	}
	return matches(rec.Values[f.Field], f)
}

// matches applies one filter to a value (nil when unset). Comparisons with an unset
// value, or with a nil filter value, are false, except OpNull and OpNe ("is distinct
// from"), as in package sqlite.
func matches(v any, f *restkit.Filter) bool {
	switch f.Op {
	case restkit.OpContains:
		switch x := v.(type) {
		case string:
			return strings.Contains(x, f.Value.(string))
		case []any:
			return slices.ContainsFunc(x, func(e any) bool { return restkit.Equal(e, f.Value) })
		}
		return false
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

// resolve checks q against res (restkit.Query.Resolve: the rules every store shares).
func resolve(res *restkit.Resource, q *restkit.Query) (*plan, error) {
	rq, err := q.Resolve(res)
	if err != nil {
		return nil, err
	}
	p := &plan{res: res, filters: rq.Filters, sort: rq.Sort, bound: rq.After}
	if rq.Before != nil {
		p.bound = rq.Before
	}
	return p, nil
}
