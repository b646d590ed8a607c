package postgres

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
)

// ListRecords returns one page of the records matching q, read with one SELECT
// built from q (see the package doc for keyset paging), plus a count(*) with the same
// filters in the same REPEATABLE READ snapshot when q.Count. Limit <= 0 means no limit.
//
// Errors: Invalid for a query that names an unknown field, an operator that does not
// fit the field, a value of the wrong type, a text value PostgreSQL cannot hold, a
// cursor of the wrong length, or Offset combined with a cursor; Unavailable when the
// database is busy; Internal for database failures.
func (s *Store) ListRecords(ctx context.Context, res *restkit.Resource, q *restkit.Query) (*restkit.Page, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.ListRecords"
	t, err := s.tableOf(res, op)
	if err != nil {
		return nil, err
	}
	lq, err := t.buildList(q)
	if err != nil {
		return nil, err
	}
	page := &restkit.Page{Total: -1}
	var recs []*restkit.Record
	if q.Count {
		// One snapshot for both: the count and the page agree.
		tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return nil, wrap(op, err)
		}
		defer tx.Rollback(ctx)
		if err := tx.QueryRow(ctx, lq.count, lq.countArgs...).Scan(&page.Total); err != nil {
			return nil, wrap(op, err)
		}
		if recs, err = t.queryAll(ctx, tx, lq, q.Limit); err != nil {
			return nil, wrap(op, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return nil, wrap(op, err)
		}
	} else if recs, err = t.queryAll(ctx, s.pool, lq, q.Limit); err != nil {
		return nil, wrap(op, err)
	}
	if q.Limit > 0 && len(recs) > q.Limit {
		page.More = true
		recs = recs[:q.Limit]
	}
	if lq.backward {
		slices.Reverse(recs)
	}
	page.Records = recs
	return page, nil
}

// queryAll runs the page query and reads every row into records.
func (t *table) queryAll(ctx context.Context, db querier, lq *listQuery, limit int) ([]*restkit.Record, error) {
	rows, err := db.Query(ctx, lq.page, lq.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	n := min(max(limit+1, 1), 101)
	recs := make([]*restkit.Record, 0, n)
	block := make([]restkit.Record, n) // one allocation for a page's records
	vals := make([]any, len(t.cols)+3)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		clear(vals)
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		if len(block) == 0 {
			block = make([]restkit.Record, n)
		}
		rec := &block[0]
		block = block[1:]
		if err := t.decodeInto(rec, vals); err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, rows.Err()
}

// listQuery is the SQL of one list request.
type listQuery struct {
	page      string
	args      []any
	count     string
	countArgs []any
	backward  bool
}

// params numbers the parameters of a statement as it is written.
type params struct{ args []any }

// add appends v and returns its placeholder, "$n".
func (p *params) add(v any) string {
	p.args = append(p.args, v)
	return "$" + strconv.Itoa(len(p.args))
}

var comparisons = map[restkit.Op]string{
	restkit.OpEq: " = ", restkit.OpLt: " < ", restkit.OpLte: " <= ", restkit.OpGt: " > ", restkit.OpGte: " >= ",
	restkit.OpNe: " IS DISTINCT FROM ", // true when the column is NULL
}

// buildList checks q against the table and writes its SQL. Every value is a bound
// parameter; identifiers come from the declaration and are quoted. Text columns are
// COLLATE "C", so comparisons and order are by code point, as in SQLite.
//
// in is "= ANY($n)" with one array parameter, so the statement's text — and so its
// place in pgx's statement cache — does not depend on the number of values.
//
// prefix is a range, col >= p AND col < p', where p' is the smallest string after
// every string starting with p (prefixUpper): exactly "starts with p" — % and _ are
// ordinary characters, unlike LIKE — and a range the column's index serves.
func (t *table) buildList(q *restkit.Query) (*listQuery, error) {
	q, err := q.Resolve(t.res)
	if err != nil {
		return nil, err
	}
	var p params
	if err := checkFilters(q.Filters); err != nil {
		return nil, err
	}
	var b strings.Builder
	for i := range q.Filters { // resolved: declared fields, fitting ops, canonical values
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		t.cond(&b, &p, &q.Filters[i])
	}
	filters := b.String()
	lq := &listQuery{count: "SELECT count(*) FROM " + t.q + filters, countArgs: slices.Clip(p.args)}

	sort := q.Sort // resolved: ends with the key
	bound, after := q.After, true
	if q.Before != nil {
		bound, after = q.Before, false
	}
	lq.backward = q.Backward()
	order := t.orderBy(sort, lq.backward)
	limit := ""
	if q.Limit > 0 {
		limit = " LIMIT " + p.add(int64(q.Limit)+1)
	}

	if bound != nil { // resolved: one canonical value per sort entry
		lq.page = t.keyset(&p, filters, sort, bound, after, order, limit)
		lq.args = p.args
		return lq, nil
	}
	page := "SELECT " + t.selectList + " FROM " + t.q + filters + order + limit
	if q.Offset > 0 {
		page += " OFFSET " + p.add(int64(q.Offset))
	}
	lq.page, lq.args = page, p.args
	return lq, nil
}

// checkFilters refuses a text filter value PostgreSQL cannot hold, in groups and
// relation matches too: it could match nothing stored, and the server would refuse
// the parameter.
func checkFilters(filters []restkit.Filter) error {
	for _, f := range filters {
		if err := checkFilters(f.Filters); err != nil {
			return err
		}
		vals := f.Values
		if f.Op != restkit.OpIn {
			vals = []any{f.Value}
		}
		for _, v := range vals {
			if s, ok := v.(string); ok {
				if msg := textProblem(s); msg != "" {
					return &restkit.Error{Kind: restkit.Invalid, Message: f.Field + " " + msg,
						Fields: []restkit.FieldError{{Field: f.Field, Message: msg}}}
				}
			}
		}
	}
	return nil
}

// cond writes one filter as an SQL condition, its values as parameters. Groups nest
// in parentheses; a relation match is a subquery on the target table (through the
// join table for a many relation).
func (t *table) cond(b *strings.Builder, p *params, f *restkit.Filter) {
	switch f.Op {
	case restkit.OpOr, restkit.OpAnd:
		b.WriteString("(")
		for i := range f.Filters {
			if i > 0 {
				b.WriteString(" " + strings.ToUpper(string(f.Op)) + " ")
			}
			t.cond(b, p, &f.Filters[i])
		}
		b.WriteString(")")
		return
	case restkit.OpMatch:
		fd := t.res.Field(f.Field)
		tt := t.s.table(fd.Target())
		var sub strings.Builder
		for i := range f.Filters {
			if i > 0 {
				sub.WriteString(" AND ")
			}
			tt.cond(&sub, p, &f.Filters[i])
		}
		inner := "SELECT " + tt.cols[0].Quoted + " FROM " + tt.q + " WHERE " + sub.String()
		if fd.Many {
			b.WriteString(t.cols[0].Quoted + " IN (SELECT owner FROM " + t.joins[fd.Name].q + " WHERE target IN (" + inner + "))")
		} else {
			b.WriteString(quote(fd.Name) + " IN (" + inner + ")")
		}
		return
	}
	c := &t.cols[t.byName[f.Field]]
	switch f.Op {
	case restkit.OpEq, restkit.OpNe, restkit.OpLt, restkit.OpLte, restkit.OpGt, restkit.OpGte:
		b.WriteString(c.Quoted + comparisons[f.Op] + p.add(encode(f.Value)))
	case restkit.OpIn:
		if len(f.Values) == 0 {
			b.WriteString("false")
			return
		}
		b.WriteString(c.Quoted + " = ANY(" + p.add(encodeList(c.Kind, f.Values)) + "::" + arrayType(c.Kind) + ")")
	case restkit.OpPrefix:
		s := f.Value.(string)
		b.WriteString("(" + c.Quoted + " >= " + p.add(s))
		if upper, ok := prefixUpper(s); ok {
			b.WriteString(" AND " + c.Quoted + " < " + p.add(upper))
		}
		b.WriteString(")")
	case restkit.OpContains:
		t.contains(b, p, c, f.Value)
	case restkit.OpNull:
		if f.Value.(bool) {
			b.WriteString(c.Quoted + " IS NULL")
		} else {
			b.WriteString(c.Quoted + " IS NOT NULL")
		}
	}
}

// contains writes a contains filter: a substring of a text column (strpos: exact,
// case-sensitive, % and _ ordinary), a key in a many relation's join table, an item of
// an array (jsonb containment, which the array's GIN index serves).
func (t *table) contains(b *strings.Builder, p *params, c *column, v any) {
	switch {
	case c.Field.Type.Textual():
		b.WriteString("strpos(" + c.Quoted + ", " + p.add(v) + ") > 0")
	case c.Field.Type == restkit.TypeRelation:
		b.WriteString(t.cols[0].Quoted + " IN (SELECT owner FROM " + t.joins[c.Name].q + " WHERE target = " + p.add(encode(v)) + ")")
	default:
		item, _ := sqlstore.EncodeJSON([]any{v}) // canonical items always encode
		b.WriteString(c.Quoted + " @> " + p.add(json.RawMessage(item)) + "::jsonb")
	}
}

// encodeList converts an in list to a typed slice, which pgx sends as an array.
func encodeList(k sqlstore.Kind, vs []any) any {
	switch k {
	case sqlstore.KInt:
		out := make([]int64, len(vs))
		for i, v := range vs {
			out[i] = v.(int64)
		}
		return out
	case sqlstore.KReal:
		out := make([]float64, len(vs))
		for i, v := range vs {
			out[i] = v.(float64)
		}
		return out
	case sqlstore.KBool:
		out := make([]bool, len(vs))
		for i, v := range vs {
			out[i] = v.(bool)
		}
		return out
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = encode(v).(string)
	}
	return out
}

// orderBy writes the ORDER BY of sort, reversed when reading backward. NULL is the
// smallest value (restkit.Compare): NULLS FIRST ascending, NULLS LAST descending —
// PostgreSQL's own default is the opposite. The key is never null and gets no NULLS
// clause, so that the order matches the indexes (the primary key, and the key column
// of each "(field NULLS FIRST, key)" index) exactly.
func (t *table) orderBy(sort []restkit.SortKey, backward bool) string {
	var b strings.Builder
	b.WriteString(" ORDER BY ")
	for i, k := range sort {
		if i > 0 {
			b.WriteString(", ")
		}
		c := &t.cols[t.byName[k.Field]]
		b.WriteString(c.Quoted)
		desc := k.Desc != backward
		switch {
		case desc && c.Key:
			b.WriteString(" DESC")
		case desc:
			b.WriteString(" DESC NULLS LAST")
		case c.Key:
			b.WriteString(" ASC")
		default:
			b.WriteString(" ASC NULLS FIRST")
		}
	}
	return b.String()
}

// keyset writes the page query of a keyset bound: the rows strictly after (after) or
// before (!after) the bound's values in the order sort, in order, limited.
//
// When every column is read toward larger values (an ascending sort read forward, a
// descending one read backward) and the bound holds no NULL, the set is one row
// comparison, (a, b, key) > (A, B, K): rows whose a is NULL — smaller than A — are
// rightly left out, since a comparison with NULL is not true, and the index on
// (a NULLS FIRST, key) takes the comparison as its start.
//
// Otherwise it is the union of one range per sort prefix, as in the SQLite store's
// keysetUnion: for a sort (a ASC, b DESC, key ASC), after (A, B, K),
//
//	a > A  ∪  a = A AND b < B  ∪  a = A AND b IS NULL  ∪  a = A AND b = B AND key > K
//
// Toward smaller values NULLs come last and get a branch of their own (a range
// "b < B OR b IS NULL" is no single index range in PostgreSQL); equality with a NULL
// bound is IS NULL; after a NULL toward larger values is IS NOT NULL; and nothing is
// before a NULL toward smaller ones, so that branch is left out. Each branch is an
// index range, sorted and limited on its own, so a page reads at most a limit's worth
// of rows per branch whatever its depth; the outer ORDER BY … LIMIT merges them. The
// filters' and bound's parameters are bound once and shared by every branch.
func (t *table) keyset(p *params, filters string, sort []restkit.SortKey, bound []any, after bool, order, limit string) string {
	col := func(i int) *column { return &t.cols[t.byName[sort[i].Field]] }
	larger := func(i int) bool { return after != sort[i].Desc }
	and := " WHERE "
	if filters != "" {
		and = " AND "
	}
	// The bound's values, each bound once.
	marks := make([]string, len(bound))
	for i, v := range bound {
		if v != nil {
			marks[i] = p.add(encode(v))
		}
	}

	simple := !slices.Contains(bound, nil)
	for i := range sort {
		simple = simple && larger(i)
	}
	if simple {
		var cols []string
		for i := range sort {
			cols = append(cols, col(i).Quoted)
		}
		cmp := "(" + strings.Join(cols, ", ") + ") > (" + strings.Join(marks, ", ") + ")"
		if len(sort) == 1 {
			cmp = cols[0] + " > " + marks[0]
		}
		return "SELECT " + t.selectList + " FROM " + t.q + filters + and + cmp + order + limit
	}

	var branches []string
	for i := range sort {
		var prefix strings.Builder
		for j := 0; j < i; j++ {
			if bound[j] == nil {
				prefix.WriteString(col(j).Quoted + " IS NULL AND ")
			} else {
				prefix.WriteString(col(j).Quoted + " = " + marks[j] + " AND ")
			}
		}
		c := col(i)
		var conds []string
		switch {
		case bound[i] == nil && larger(i):
			conds = []string{c.Quoted + " IS NOT NULL"}
		case bound[i] == nil: // nothing is smaller than NULL
		case larger(i):
			conds = []string{c.Quoted + " > " + marks[i]}
		case c.Key:
			conds = []string{c.Quoted + " < " + marks[i]}
		default: // toward smaller values, and NULLs sort before every value
			conds = []string{c.Quoted + " < " + marks[i], c.Quoted + " IS NULL"}
		}
		for _, cond := range conds {
			branches = append(branches, "SELECT "+t.selectList+" FROM "+t.q+filters+and+prefix.String()+cond+order+limit)
		}
	}
	switch len(branches) {
	case 0:
		return "SELECT " + t.selectList + " FROM " + t.q + " WHERE false"
	case 1:
		return branches[0]
	}
	return "SELECT * FROM ((" + strings.Join(branches, ") UNION ALL (") + ")) AS page" + order + limit
}
