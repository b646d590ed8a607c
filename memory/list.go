package memory

import (
	"context"
	"slices"

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

// all reports whether rec passes every filter, relation matches included.
func (p *plan) all(rec *restkit.Record, filters []restkit.Filter) bool {
	return restkit.Matches(rec.Values, filters, p.relation)
}

// relation decides an OpMatch filter: one of the records the value refers to passes
// the filter's own filters.
func (p *plan) relation(f *restkit.Filter, v any) bool {
	target := p.s.tables[p.res.Field(f.Field).Target().StoreName]
	if target == nil {
		return false
	}
	var keys []any
	switch v := v.(type) {
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
