package sqlite

import (
	"context"
	"fmt"
	"strconv"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/recordjson"
	"github.com/restkit/restkit/internal/sqlstore"
)

// AppendJSONPage reads the page of q, as ListRecords does, and appends its records
// to b as JSON objects separated by commas (no brackets), each showing the members of
// view exactly as view.Append would show the record ListRecords returns.
//
// It exists for speed: the objects are written straight from the columns the driver
// scanned, without a Record — a map per row — in between. Only the page's first and
// last records are decoded into Records, for the cursors of its Link header. It
// reports ok false, having read nothing, when view names a member that is not a
// column of the table; the caller then lists the usual way.
func (s *Store) AppendJSONPage(ctx context.Context, res *restkit.Resource, q *restkit.Query, view recordjson.View, b []byte) (_ []byte, page recordjson.Page, ok bool, err error) {
	const op = "sqlite.AppendJSONPage"
	t, err := s.tableOf(res, op)
	if err != nil {
		return b, page, true, err
	}
	var small, smallOthers [16]int
	cols := small[:0]
	shown := make([]bool, len(t.cols))
	for _, f := range view.Fields {
		i, found := t.byName[f.Name]
		if !found {
			return b, page, false, nil
		}
		cols = append(cols, i)
		shown[i] = true
	}
	others := smallOthers[:0] // checked, not shown: see appendRows
	for i, on := range shown {
		if !on {
			others = append(others, i)
		}
	}
	l, err := s.openList(ctx, t, q)
	if err != nil {
		return b, page, true, wrap(op, err)
	}
	defer l.close()
	b, page, err = t.appendRows(b, l, q.Limit, view, cols, others)
	if err != nil {
		return b, page, true, wrap(op, err)
	}
	page.Total = l.total
	return b, page, true, nil
}

// appendRows writes the rows of l as JSON objects (see AppendJSONPage); cols are the
// column indexes of view.Fields, others those of the columns view leaves out.
//
// The columns left out are still checked (checkCell): ListRecords decodes whole rows,
// so a stored value that does not decode fails every page holding its row, whatever
// fields= shows, and this path must fail the same pages.
//
// The store reads one row more than a limited page to learn whether there is more,
// and reads a backward page in reverse. So every row read is written, at an offset
// remembered, and then the extra row is cut off and, reading backward, the objects
// are put back in order. The page's edge rows are the first read and the last kept;
// their scanned values are kept (first, and the last two read) and decoded at the end.
func (t *table) appendRows(b []byte, l *openList, limit int, view recordjson.View, cols, others []int) ([]byte, recordjson.Page, error) {
	var page recordjson.Page
	sb := t.bufs.Get().(*scanBuf)
	defer func() {
		clear(sb.vals)
		t.bufs.Put(sb)
	}()
	n := len(sb.vals)
	kept := make([]any, 3*n) // the first row's values, and the last two rows'
	first, prev, last := kept[:n], kept[n:2*n], kept[2*n:]
	start := len(b)
	var offs [128]int
	at := offs[:0] // where each row's object starts, its comma included
	read := 0
	for l.rows.Next() {
		if err := l.rows.Scan(sb.ptrs...); err != nil {
			return b, page, err
		}
		at = append(at, len(b))
		if read > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = t.appendObject(b, sb.vals, view, cols); err != nil {
			return b, page, err
		}
		if err := t.checkRow(sb.vals, view, others); err != nil {
			return b, page, err
		}
		if read == 0 {
			copy(first, sb.vals)
		}
		prev, last = last, prev
		copy(last, sb.vals)
		read++
	}
	if err := l.rows.Err(); err != nil {
		return b, page, err
	}
	page.N = read
	edge := last // the last row kept, in the order read
	if limit > 0 && read > limit {
		page.More = true
		page.N = limit
		b = b[:at[limit]]
		edge = prev // read == limit+1: the row before the extra one
	}
	if page.N == 0 {
		return b, page, nil
	}
	if l.backward && page.N > 1 {
		b = reorder(b, start, at[:page.N])
	}
	var err error
	if page.First, err = t.decodeRow(first); err != nil {
		return b, page, err
	}
	page.Last = page.First
	if page.N > 1 {
		if page.Last, err = t.decodeRow(edge); err != nil {
			return b, page, err
		}
	}
	if l.backward {
		page.First, page.Last = page.Last, page.First
	}
	return b, page, nil
}

// reorder reverses the order of the comma-separated objects in b[start:], which
// begin at the offsets at (the first at start, each later one at its comma).
func reorder(b []byte, start int, at []int) []byte {
	objs := append([]byte(nil), b[start:]...)
	b = b[:start]
	end := len(objs)
	for i := len(at) - 1; i >= 0; i-- {
		from := at[i] - start
		if i > 0 {
			from++ // its comma
		}
		if i < len(at)-1 {
			b = append(b, ',')
		}
		b = append(b, objs[from:end]...)
		end = at[i] - start
	}
	return b
}

// appendObject appends the JSON object of one scanned row (vals: the columns, then
// _rev, _created and _updated), as recordjson.View.Append shows the decoded record:
// the fields of view in order, a NULL as null when the field is nullable and left out
// when not, then the timestamps.
func (t *table) appendObject(b []byte, vals []any, view recordjson.View, cols []int) ([]byte, error) {
	b = append(b, '{')
	first := true
	for _, i := range cols {
		c := &t.cols[i]
		v := vals[i]
		if v == nil && !c.Field.Nullable {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = recordjson.AppendString(b, c.Name)
		b = append(b, ':')
		var err error
		if b, err = appendCell(b, c, v); err != nil {
			return b, fmt.Errorf("%s.%s: %w", t.name, c.Name, err)
		}
	}
	n := len(t.cols)
	for i, on := range [2]bool{view.Created, view.Updated} {
		if !on {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		if i == 0 {
			b = append(b, `"created":`...)
		} else {
			b = append(b, `"updated":`...)
		}
		s, ok := vals[n+1+i].(string)
		if !ok {
			return b, fmt.Errorf("%s: bad _created or _updated", t.name)
		}
		var err error
		if b, err = appendStoredTime(b, s); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// checkRow reports whether the values of a row that appendObject did not write — the
// columns others, _rev, and the timestamps view leaves out — would decode, as
// sqlstore.DecodeRow requires of every row ListRecords reads.
func (t *table) checkRow(vals []any, view recordjson.View, others []int) error {
	for _, i := range others {
		c := &t.cols[i]
		if err := checkCell(c, vals[i]); err != nil {
			return fmt.Errorf("%s.%s: %w", t.name, c.Name, err)
		}
	}
	n := len(t.cols)
	if _, ok := vals[n].(int64); !ok {
		return fmt.Errorf("%s: bad _rev", t.name)
	}
	for i, on := range [2]bool{view.Created, view.Updated} {
		if on {
			continue // appendObject wrote it
		}
		s, ok := vals[n+1+i].(string)
		if !ok {
			return fmt.Errorf("%s: bad _created or _updated", t.name)
		}
		if !canonicalStamp(s) {
			if _, err := sqlstore.ParseTime(s); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkCell reports whether decode (or DecodeJSON) would take v, without keeping
// what it gives for the common kinds.
func checkCell(c *column, v any) error {
	if v == nil {
		return nil
	}
	switch c.Kind {
	case sqlstore.KText:
		if _, ok := v.(string); ok {
			return nil
		}
	case sqlstore.KInt, sqlstore.KBool:
		if _, ok := v.(int64); ok {
			return nil
		}
	case sqlstore.KReal:
		if _, ok := v.(float64); ok {
			return nil
		}
	case sqlstore.KTime:
		if s, ok := v.(string); ok && canonicalStamp(s) {
			return nil
		}
	case sqlstore.KJSON:
		_, err := sqlstore.DecodeJSON(c.Field, v)
		return err
	}
	_, err := decode(c.Kind, v)
	return err
}

// appendCell appends one column's value as JSON: what recordjson.AppendValue writes
// for the canonical value decode gives, written from the scanned value directly for
// the common kinds (no boxing of a decoded value).
func appendCell(b []byte, c *column, v any) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	switch c.Kind {
	case sqlstore.KText:
		if s, ok := v.(string); ok {
			return recordjson.AppendString(b, s), nil
		}
	case sqlstore.KInt:
		if n, ok := v.(int64); ok {
			return strconv.AppendInt(b, n, 10), nil
		}
	case sqlstore.KReal:
		if f, ok := v.(float64); ok {
			return recordjson.AppendFloat(b, f), nil
		}
	case sqlstore.KBool:
		if n, ok := v.(int64); ok {
			return strconv.AppendBool(b, n != 0), nil
		}
	case sqlstore.KTime:
		if s, ok := v.(string); ok {
			return appendStoredTime(b, s)
		}
	case sqlstore.KJSON:
		dv, err := sqlstore.DecodeJSON(c.Field, v)
		if err != nil {
			return b, err
		}
		return recordjson.AppendValue(b, dv), nil
	}
	dv, err := decode(c.Kind, v) // the uncommon scanned types, and the errors
	if err != nil {
		return b, err
	}
	return recordjson.AppendValue(b, dv), nil
}

// appendStoredTime appends a stored datetime (restkit.TimeLayout: fixed width, nine
// fraction digits, UTC) as the JSON string AppendValue writes for it, RFC 3339 with
// the fraction's trailing zeros dropped, by copying its digits: no time.Time between.
// Anything but a well-formed UTC stamp of a real date goes through ParseTime.
func appendStoredTime(b []byte, s string) ([]byte, error) {
	if !canonicalStamp(s) {
		tm, err := sqlstore.ParseTime(s)
		if err != nil {
			return b, err
		}
		return recordjson.AppendValue(b, tm), nil
	}
	frac := s[20:29]
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	b = append(b, '"')
	b = append(b, s[:19]...)
	if frac != "" {
		b = append(b, '.')
		b = append(b, frac...)
	}
	return append(b, 'Z', '"'), nil
}

// canonicalStamp reports whether s is a stamp appendStoredTime may copy: the layout
// with UTC's Z, digits where digits go, and a date and time that exist (so that
// ParseTime would give back the same fields, not a normalised date).
func canonicalStamp(s string) bool {
	if len(s) != 30 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[29] != 'Z' {
		return false
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28} {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	num := func(i, j int) int {
		n := 0
		for k := i; k < j; k++ {
			n = n*10 + int(s[k]-'0')
		}
		return n
	}
	y, mo, d := num(0, 4), num(5, 7), num(8, 10)
	if y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return false
	}
	return num(11, 13) < 24 && num(14, 16) < 60 && num(17, 19) < 60
}

// daysIn is the number of days of month m of year y (proleptic Gregorian).
func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
