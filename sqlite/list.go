package sqlite

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/recordjson"
)

// ListRecords returns one page of the records matching q, read with one SELECT
// built from q (see the package doc for keyset paging), plus a COUNT(*) with the same
// filters in the same read transaction when q.Count. Limit <= 0 means no limit.
//
// Errors: Invalid for a query that names an unknown field, an operator that does not
// fit the field, a value of the wrong type, a cursor of the wrong length, or Offset
// combined with a cursor; Internal for database failures.
func (s *Store) ListRecords(ctx context.Context, res *restkit.Resource, q *restkit.Query) (*restkit.Page, error) {
	const op = "sqlite.ListRecords"
	t, err := s.tableOf(res, op)
	if err != nil {
		return nil, err
	}
	l, err := s.openList(ctx, t, q)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer l.close()
	recs, err := t.scanAll(l.rows, rowsExpected(q))
	if err != nil {
		return nil, wrap(op, err)
	}
	page := &restkit.Page{Total: l.total}
	if q.Limit > 0 && len(recs) > q.Limit {
		page.More = true
		recs = recs[:q.Limit]
	}
	if l.backward {
		slices.Reverse(recs)
	}
	page.Records = recs
	return page, nil
}

// openList is a list query under way: its rows, in the order read (reversed when
// reading backward), and the count when asked for.
type openList struct {
	rows     *sql.Rows
	total    int64 // -1 when not counted
	backward bool
	tx       *sql.Tx // the read transaction of a counted page
}

func (l *openList) close() {
	l.rows.Close()
	if l.tx != nil {
		l.tx.Rollback()
	}
}

// openList checks q, builds its SQL (buildList) and runs it: with a COUNT(*) first
// in the same read transaction when q.Count, so that the count and the page see the
// same snapshot. Invalid errors come back as they are; the caller wraps the rest.
func (s *Store) openList(ctx context.Context, t *table, q *restkit.Query) (*openList, error) {
	lq, err := t.buildList(q)
	if err != nil {
		return nil, err
	}
	pageStmt, err := s.listStmt(ctx, t, lq.page)
	if err != nil {
		return nil, err
	}
	l := &openList{total: -1, backward: lq.backward}
	if !q.Count {
		if pageStmt != nil {
			l.rows, err = pageStmt.QueryContext(ctx, lq.args...)
		} else {
			l.rows, err = s.r.QueryContext(ctx, lq.page, lq.args...)
		}
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	countStmt, err := s.listStmt(ctx, t, lq.count)
	if err != nil {
		return nil, err
	}
	tx, err := s.r.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	var row *sql.Row
	if countStmt != nil {
		row = tx.StmtContext(ctx, countStmt).QueryRowContext(ctx, lq.countArgs...)
	} else {
		row = tx.QueryRowContext(ctx, lq.count, lq.countArgs...)
	}
	if err = row.Scan(&l.total); err == nil {
		if pageStmt != nil {
			l.rows, err = tx.StmtContext(ctx, pageStmt).QueryContext(ctx, lq.args...)
		} else {
			l.rows, err = tx.QueryContext(ctx, lq.page, lq.args...)
		}
	}
	if err != nil {
		tx.Rollback()
		return nil, err
	}
	l.tx = tx
	return l, nil
}

// rowsExpected is how many rows q will likely read, to size its page in one
// allocation: a limited page's limit and one more, the keys of an unlimited key IN
// (…) lookup (an expansion's), else a small guess.
func rowsExpected(q *restkit.Query) int {
	if q.Limit > 0 {
		return min(q.Limit+1, 101)
	}
	if len(q.Filters) == 1 && q.Filters[0].Op == restkit.OpIn {
		return max(min(len(q.Filters[0].Values), 1000), 1)
	}
	return 16
}

// scanAll reads every row into records, n of them in one block (rowsExpected).
func (t *table) scanAll(rows *sql.Rows, n int) ([]*restkit.Record, error) {
	b := t.bufs.Get().(*scanBuf)
	defer t.bufs.Put(b)
	recs := make([]*restkit.Record, 0, n)
	block := make([]restkit.Record, n) // one allocation for a page's records
	for rows.Next() {
		if err := rows.Scan(b.ptrs...); err != nil {
			return nil, err
		}
		if len(block) == 0 {
			block = make([]restkit.Record, n)
		}
		rec := &block[0]
		block = block[1:]
		if err := t.decodeInto(rec, b.vals); err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	clear(b.vals)
	return recs, rows.Err()
}

// stmtCache holds a table's prepared list statements by SQL text. Values are always
// bound parameters, so the text depends only on the shape of a query (which filters,
// sort and cursor nulls), and a handful of shapes cover a client's paging.
type stmtCache struct {
	m sync.Map // string → *sql.Stmt
	n atomic.Int32
}

// maxListStmts bounds the statements prepared per table; further shapes run unprepared.
const maxListStmts = 256

// listStmt returns the prepared statement for query, preparing it on first use, or
// nil once the table's cache is full.
func (s *Store) listStmt(ctx context.Context, t *table, query string) (*sql.Stmt, error) {
	if v, ok := t.lists.m.Load(query); ok {
		return v.(*sql.Stmt), nil
	}
	if t.lists.n.Load() >= maxListStmts {
		return nil, nil
	}
	st, err := s.prepare(ctx, s.r, query)
	if err != nil {
		return nil, err
	}
	if v, loaded := t.lists.m.LoadOrStore(query, st); loaded {
		st.Close()
		return v.(*sql.Stmt), nil
	}
	t.lists.n.Add(1)
	return st, nil
}

// listQuery is the SQL of one list request.
type listQuery struct {
	page      string
	args      []any
	count     string
	countArgs []any
	backward  bool
}

var comparisons = map[restkit.Op]string{
	restkit.OpEq: " = ?", restkit.OpLt: " < ?", restkit.OpLte: " <= ?", restkit.OpGt: " > ?", restkit.OpGte: " >= ?",
	restkit.OpNe: " IS NOT ?", // "is distinct from": true when the column is NULL
}

// buildList checks q against the table and writes its SQL. Every value is a bound
// parameter; identifiers come from the declaration and are quoted.
//
// prefix is a range, col >= p AND col < p', where p' is p with its last byte
// incremented: under SQLite's BINARY collation text compares as bytes, so this is
// exactly "starts with p" — % and _ are ordinary characters, unlike LIKE — and, unlike
// substr(col, 1, length(p)) = p, a range can use the column's index.
func (t *table) buildList(q *restkit.Query) (*listQuery, error) {
	q, err := q.Resolve(t.res)
	if err != nil {
		return nil, err
	}
	filters, args := t.where(q.Filters)
	lq := &listQuery{count: "SELECT count(*) FROM " + t.q + filters, countArgs: slices.Clip(args)}

	sort := q.Sort // resolved: ends with the key
	bound, after := q.After, true
	if q.Before != nil {
		bound, after = q.Before, false
	}
	lq.backward = q.Backward()

	var p strings.Builder
	p.Grow(len(t.selectList) + len(filters) + 128)
	p.WriteString("SELECT ")
	p.WriteString(t.selectList)
	p.WriteString(" FROM ")
	p.WriteString(t.q)
	p.WriteString(filters)
	if bound != nil && q.Limit > 0 && !slices.Contains(bound, nil) {
		lq.page, lq.args = t.keysetUnion(filters, slices.Clip(args), sort, bound, after, lq.backward, q.Limit)
		return lq, nil
	}
	if bound != nil { // resolved: one canonical value per sort entry
		enc := make([]any, len(bound))
		for i, v := range bound {
			enc[i] = encode(v)
		}
		if filters == "" {
			p.WriteString(" WHERE ")
		} else {
			p.WriteString(" AND ")
		}
		args = t.keyset(&p, args, sort, enc, after)
	}
	args = t.orderAndLimit(&p, args, q, lq.backward)
	lq.page, lq.args = p.String(), args
	return lq, nil
}

// where writes the WHERE clause of resolved filters (declared fields, fitting ops,
// canonical values) and returns it with its parameters; "" when there are none.
func (t *table) where(filters []restkit.Filter) (string, []any) {
	var b strings.Builder
	var args []any
	for i := range filters {
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" AND ")
		}
		args = t.cond(&b, args, &filters[i])
	}
	return b.String(), args
}

// cond writes one filter as an SQL condition and returns args with its parameters.
// Groups nest in parentheses; a relation match is a subquery on the target table
// (through the join table for a many relation), each an index seek.
func (t *table) cond(b *strings.Builder, args []any, f *restkit.Filter) []any {
	switch f.Op {
	case restkit.OpOr, restkit.OpAnd:
		b.WriteString("(")
		for i := range f.Filters {
			if i > 0 {
				b.WriteString(" " + strings.ToUpper(string(f.Op)) + " ")
			}
			args = t.cond(b, args, &f.Filters[i])
		}
		b.WriteString(")")
		return args
	case restkit.OpMatch:
		return t.match(b, args, f)
	}
	c := &t.cols[t.byName[f.Field]]
	switch f.Op {
	case restkit.OpEq, restkit.OpNe, restkit.OpLt, restkit.OpLte, restkit.OpGt, restkit.OpGte:
		b.WriteString(c.Quoted)
		b.WriteString(comparisons[f.Op])
		args = append(args, encode(f.Value))
	case restkit.OpIn:
		if len(f.Values) == 0 {
			b.WriteString("0")
			return args
		}
		b.WriteString(c.Quoted)
		if list, ok := jsonKeys(f.Values); ok {
			// One statement whatever the number of values (expand's lookups, id[in]=…):
			// its text does not vary, so it is prepared once (listStmt).
			b.WriteString(" IN (SELECT value FROM json_each(?))")
			args = append(args, list)
			break
		}
		b.WriteString(" IN (?")
		b.WriteString(strings.Repeat(", ?", len(f.Values)-1))
		b.WriteString(")")
		for _, v := range f.Values {
			args = append(args, encode(v))
		}
	case restkit.OpPrefix:
		p := f.Value.(string)
		b.WriteString("(" + c.Quoted + " >= ?")
		args = append(args, p)
		if upper, ok := prefixUpper(p); ok {
			b.WriteString(" AND " + c.Quoted + " < ?")
			args = append(args, upper)
		}
		b.WriteString(")")
	case restkit.OpContains:
		return t.contains(b, args, c, f.Value)
	case restkit.OpNull:
		b.WriteString(c.Quoted)
		if f.Value.(bool) {
			b.WriteString(" IS NULL")
		} else {
			b.WriteString(" IS NOT NULL")
		}
	}
	return args
}

// contains writes a contains filter: a substring of a text column (instr compares
// bytes: case-sensitive, and % or _ are ordinary characters), a key in a many
// relation's join table, an item of an array's JSON.
func (t *table) contains(b *strings.Builder, args []any, c *column, v any) []any {
	switch {
	case c.Field.Type.Textual():
		b.WriteString("instr(" + c.Quoted + ", ?) > 0")
		return append(args, v)
	case c.Field.Type == restkit.TypeRelation:
		j := t.joins[c.Name]
		b.WriteString(t.cols[0].Quoted + " IN (SELECT owner FROM " + j.q + " WHERE target = ?)")
		return append(args, encode(v))
	}
	b.WriteString("EXISTS (SELECT 1 FROM json_each(" + c.Quoted + ") WHERE value = ?)")
	return append(args, jsonItem(v))
}

// jsonItem is a canonical array item as json_each gives it back: a datetime as the
// RFC 3339 text encoding/json wrote, a boolean as 1 or 0, anything else as it is.
func jsonItem(v any) any {
	if tm, ok := v.(time.Time); ok {
		return tm.UTC().Format(time.RFC3339Nano)
	}
	return encode(v)
}

// match writes a relation match: the relation's target key is one of the target's
// records that pass every inner filter.
func (t *table) match(b *strings.Builder, args []any, f *restkit.Filter) []any {
	fd := t.res.Field(f.Field)
	tt := t.s.table(fd.Target())
	where, sub := tt.where(f.Filters)
	inner := "SELECT " + tt.cols[0].Quoted + " FROM " + tt.q + where
	if fd.Many {
		b.WriteString(t.cols[0].Quoted + " IN (SELECT owner FROM " + t.joins[fd.Name].q + " WHERE target IN (" + inner + "))")
	} else {
		b.WriteString(quote(fd.Name) + " IN (" + inner + ")")
	}
	return append(args, sub...)
}

// orderAndLimit writes ORDER BY (the sort, reversed when reading backward), LIMIT
// (one row more than the page, to know whether there is more) and OFFSET, and
// returns args with their parameters.
func (t *table) orderAndLimit(p *strings.Builder, args []any, q *restkit.Query, backward bool) []any {
	p.WriteString(" ORDER BY ")
	for i, k := range q.Sort {
		if i > 0 {
			p.WriteString(", ")
		}
		p.WriteString(t.cols[t.byName[k.Field]].Quoted)
		if k.Desc != backward {
			p.WriteString(" DESC")
		} else {
			p.WriteString(" ASC")
		}
	}
	switch {
	case q.Limit > 0:
		p.WriteString(" LIMIT ?")
		args = append(args, int64(q.Limit)+1)
	case q.Offset > 0:
		p.WriteString(" LIMIT -1")
	}
	if q.Offset > 0 {
		p.WriteString(" OFFSET ?")
		args = append(args, int64(q.Offset))
	}
	return args
}

// keyset writes the predicate "the row comes strictly after (after) or before
// (!after) the cursor vals in the order sort", and returns args with its parameters.
// See the package doc for the form and the handling of NULLs.
func (t *table) keyset(b *strings.Builder, args []any, sort []restkit.SortKey, vals []any, after bool) []any {
	col := func(i int) *column { return &t.cols[t.byName[sort[i].Field]] }
	// toward larger values (in ascending terms, where NULL is the smallest)?
	larger := func(i int) bool { return after != sort[i].Desc }

	// The leading bound on the first column lets SQLite seek in an index on it.
	if len(sort) > 1 {
		switch c := col(0); {
		case vals[0] != nil && larger(0):
			b.WriteString(c.Quoted)
			b.WriteString(" >= ? AND ")
			args = append(args, vals[0])
		case vals[0] == nil && !larger(0):
			b.WriteString(c.Quoted)
			b.WriteString(" IS NULL AND ")
		}
	}
	b.WriteString("(")
	terms := 0
	for i := range sort {
		c := col(i)
		if vals[i] == nil && !larger(i) {
			continue // nothing is smaller than NULL
		}
		if terms > 0 {
			b.WriteString(" OR ")
		}
		terms++
		b.WriteString("(")
		for j := 0; j < i; j++ {
			cj := col(j)
			b.WriteString(cj.Quoted)
			if vals[j] == nil {
				b.WriteString(" IS NULL AND ")
			} else {
				b.WriteString(" = ? AND ")
				args = append(args, vals[j])
			}
		}
		switch {
		case vals[i] == nil: // and larger
			b.WriteString(c.Quoted)
			b.WriteString(" IS NOT NULL")
		case larger(i):
			b.WriteString(c.Quoted)
			b.WriteString(" > ?")
			args = append(args, vals[i])
		case c.Key:
			b.WriteString(c.Quoted)
			b.WriteString(" < ?")
			args = append(args, vals[i])
		default:
			b.WriteString("(")
			b.WriteString(c.Quoted)
			b.WriteString(" < ? OR ")
			b.WriteString(c.Quoted)
			b.WriteString(" IS NULL)")
			args = append(args, vals[i])
		}
		b.WriteString(")")
	}
	if terms == 0 {
		b.WriteString("0")
	}
	b.WriteString(")")
	return args
}

// prefixUpper returns the smallest string greater than every string starting with p,
// or false when there is none (p empty or all 0xFF bytes).
func prefixUpper(p string) (string, bool) {
	u := []byte(p)
	for len(u) > 0 && u[len(u)-1] == 0xFF {
		u = u[:len(u)-1]
	}
	if len(u) == 0 {
		return "", false
	}
	u[len(u)-1]++
	return string(u), true
}

// keysetUnion writes a keyset page as one index seek per sort prefix. For a sort
// (a, b, key) and a boundary (A, B, K), the rows after the boundary are
//
//	a > A  ∪  a = A AND b > B  ∪  a = A AND b = B AND key > K
//
// — disjoint ranges, each an index range SQLite seeks straight to, merged in order
// under one ORDER BY … LIMIT. The single-predicate form, (a > A) OR (a = A AND …),
// makes SQLite seek only on a and then walk every row of the boundary's group, and a
// filter on a (year >= 1995) gives it a second lower bound it may start from instead:
// the walk then grows with the page's depth. So filters on a are written +a here,
// which keeps their meaning and takes them out of index selection.
//
// Bounds holding nulls take the general path in buildList.
func (t *table) keysetUnion(filters string, fargs []any, sort []restkit.SortKey, bound []any, after, backward bool, limit int) (string, []any) {
	lead := t.cols[t.byName[sort[0].Field]].Quoted
	// Identifiers are quoted, so `"year" ` cannot match inside another column's name.
	filters = strings.ReplaceAll(filters, lead+" ", "+"+lead+" ")
	var order strings.Builder
	for i, k := range sort {
		if i > 0 {
			order.WriteString(", ")
		}
		order.WriteString(t.cols[t.byName[k.Field]].Quoted)
		if k.Desc != backward {
			order.WriteString(" DESC")
		} else {
			order.WriteString(" ASC")
		}
	}
	var u strings.Builder
	var args []any
	for i := range sort {
		if i > 0 {
			u.WriteString(" UNION ALL ")
		}
		u.WriteString("SELECT " + t.selectList + " FROM " + t.q + filters)
		args = append(args, fargs...)
		if filters == "" {
			u.WriteString(" WHERE ")
		} else {
			u.WriteString(" AND ")
		}
		for j := 0; j < i; j++ {
			u.WriteString(t.cols[t.byName[sort[j].Field]].Quoted + " = ? AND ")
			args = append(args, encode(bound[j]))
		}
		c := t.cols[t.byName[sort[i].Field]]
		switch {
		case after != sort[i].Desc: // toward larger values
			u.WriteString(c.Quoted + " > ?")
		case c.Key: // toward smaller values; a key is never null
			u.WriteString(c.Quoted + " < ?")
		default: // toward smaller values, and nulls sort before every value
			u.WriteString("(" + c.Quoted + " < ? OR " + c.Quoted + " IS NULL)")
		}
		args = append(args, encode(bound[i]))
	}
	u.WriteString(" ORDER BY " + order.String() + " LIMIT ?")
	return u.String(), append(args, int64(limit)+1)
}

// jsonKeys encodes the values of an IN filter as a JSON array for json_each, when
// each is an integer or a valid UTF-8 string: json_each gives those back exactly, as
// values without affinity, so the comparison is the one of the list form
// (col IN (?, ?, …)). Anything else (a float, a time, invalid UTF-8) keeps the list.
func jsonKeys(values []any) (string, bool) {
	if len(values) < 2 {
		return "", false
	}
	b := make([]byte, 0, 16*len(values))
	b = append(b, '[')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		switch x := encode(v).(type) {
		case int64:
			b = strconv.AppendInt(b, x, 10)
		case string:
			if !utf8.ValidString(x) {
				return "", false
			}
			b = recordjson.AppendString(b, x)
		default:
			return "", false
		}
	}
	return string(append(b, ']')), true
}
