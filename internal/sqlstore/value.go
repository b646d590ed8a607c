package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/restkit/restkit"
)

// FormatTime writes a datetime as both stores keep it in a column: restkit.TimeLayout
// in UTC, fixed-width with nanoseconds, so that text order is time order.
func FormatTime(t time.Time) string { return t.UTC().Format(restkit.TimeLayout) }

// ParseTime reads restkit.TimeLayout text. The common case — four-digit year, UTC,
// nine fraction digits, as FormatTime writes — is parsed by hand, several times faster
// than time.Parse; anything else falls back to it.
func ParseTime(s string) (time.Time, error) {
	if len(s) == 30 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' && s[29] == 'Z' {
		y, ok1 := digits(s[0:4])
		mo, ok2 := digits(s[5:7])
		d, ok3 := digits(s[8:10])
		h, ok4 := digits(s[11:13])
		mi, ok5 := digits(s[14:16])
		sec, ok6 := digits(s[17:19])
		ns, ok7 := digits(s[20:29])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && y >= 1 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24 && mi < 60 && sec < 60 {
			unix := daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+sec)
			return time.Unix(unix, int64(ns)).UTC(), nil
		}
	}
	t, err := time.Parse(restkit.TimeLayout, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

// daysFromCivil is the number of days from 1970-01-01 to the date y-m-d of the
// proleptic Gregorian calendar (y ≥ 1), by Howard Hinnant's days_from_civil
// (https://howardhinnant.github.io/date_algorithms.html): years start in March, so
// the leap day is a year's last, and a 400-year era has 146,097 days. Two of these
// per row of a page cost less than the normalising time.Date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y ≥ 0 here
	yoe := y - era*400
	mp := (m + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int(c)
	}
	return n, true
}

// Column is one column of a resource's table as both SQL stores lay it out.
type Column struct {
	Field  *restkit.Field
	Name   string
	Quoted string // the name quoted for the dialect
	Kind   Kind
	Key    bool
}

// Columns lays out the table of res: the key first, then the other fields in
// declaration order. quote quotes an identifier for the dialect.
func Columns(res *restkit.Resource, quote func(string) string) []Column {
	kf := res.KeyField()
	cols := make([]Column, 0, len(res.Fields))
	cols = append(cols, Column{Field: kf, Name: kf.Name, Quoted: quote(kf.Name), Kind: FieldKind(kf), Key: true})
	for _, f := range res.Fields {
		if f.Name != kf.Name {
			cols = append(cols, Column{Field: f, Name: f.Name, Quoted: quote(f.Name), Kind: FieldKind(f)})
		}
	}
	return cols
}

// DecodeRow fills rec from one scanned row of a table laid out by Columns: the
// columns' values in order (nil for SQL NULL, which stays absent from rec.Values),
// then _rev, _created and _updated. decode converts a non-nil column value to the
// canonical value of its kind (each driver returns its own Go types).
func DecodeRow(rec *restkit.Record, table string, cols []Column, vals []any, decode func(Kind, any) (any, error)) error {
	// Sized by the values present: a map hinted at 8 or fewer entries is one small
	// group, and a wide table's row is often mostly nulls.
	n := 0
	for _, v := range vals[:len(cols)] {
		if v != nil {
			n++
		}
	}
	rec.Values = make(map[string]any, n)
	for i := range cols {
		v := vals[i]
		if v == nil {
			continue
		}
		c := &cols[i]
		var dv any
		var err error
		if c.Kind == KJSON {
			dv, err = DecodeJSON(c.Field, v)
		} else {
			dv, err = decode(c.Kind, v)
		}
		if err != nil {
			return fmt.Errorf("%s.%s: %w", table, c.Name, err)
		}
		rec.Values[c.Name] = dv
	}
	n = len(cols)
	rev, ok := vals[n].(int64)
	created, ok2 := vals[n+1].(string)
	updated, ok3 := vals[n+2].(string)
	if !ok || !ok2 || !ok3 {
		return fmt.Errorf("%s: bad _rev, _created or _updated", table)
	}
	var err error
	rec.Rev = rev
	if rec.Created, err = ParseTime(created); err != nil {
		return err
	}
	if rec.Updated, err = ParseTime(updated); err != nil {
		return err
	}
	return nil
}

// EncodeJSON is the stored text of a KJSON value: a JSONText as it is, a list as a
// JSON array (datetimes in RFC 3339, which Canonical reads back).
func EncodeJSON(v any) (string, error) {
	if t, ok := v.(restkit.JSONText); ok {
		return string(t), nil
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// DecodeJSON reads a KJSON column (text, or bytes) back into the field's canonical
// value: JSONText for a json field, a list of canonical items for an array or a many
// relation. Numbers stay exact (UseNumber).
func DecodeJSON(f *restkit.Field, v any) (any, error) {
	var raw []byte
	switch x := v.(type) {
	case string:
		raw = []byte(x)
	case []byte:
		raw = x
	default:
		return nil, fmt.Errorf("column holds %T, not JSON text", v)
	}
	if f.Type == restkit.TypeJSON {
		c, verr := f.Canonical(json.RawMessage(raw))
		if verr != nil {
			return nil, fmt.Errorf("%s", verr.Message)
		}
		return c, nil
	}
	list, ok := simpleList(raw)
	if !ok {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&list); err != nil {
			return nil, err
		}
	}
	if list == nil {
		list = []any{}
	}
	c, verr := f.Canonical(list)
	if verr != nil {
		return nil, fmt.Errorf("%s", verr.Message)
	}
	return c, nil
}

// simpleList reads the common array column — integers and plain strings, as a
// relation's or an array's keys are stored — by hand: what a json.Decoder with
// UseNumber yields for it (json.Number for a number, the string itself), without the
// decoder's reflection, several times faster. It reports false for anything else (a
// fraction or exponent, an escape, a control byte, invalid UTF-8, a nested value,
// trailing text), which DecodeJSON then decodes with encoding/json.
func simpleList(raw []byte) ([]any, bool) {
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '[' {
		return nil, false
	}
	list := make([]any, 0, bytes.Count(raw, []byte{','})+1)
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == ']' {
		return list, skipSpace(raw, i+1) == len(raw)
	}
	for i < len(raw) {
		switch c := raw[i]; {
		case c == '"':
			j := i + 1
			for j < len(raw) && raw[j] != '"' && raw[j] != '\\' && raw[j] >= 0x20 {
				j++
			}
			if j >= len(raw) || raw[j] != '"' || !utf8.Valid(raw[i+1:j]) {
				return nil, false
			}
			list = append(list, string(raw[i+1:j]))
			i = j + 1
		case c == '-' || '0' <= c && c <= '9':
			j := i
			if raw[j] == '-' {
				j++
			}
			start := j
			for j < len(raw) && '0' <= raw[j] && raw[j] <= '9' {
				j++
			}
			if j == start || raw[start] == '0' && j-start > 1 { // no digits, or a leading zero
				return nil, false
			}
			if j < len(raw) && (raw[j] == '.' || raw[j] == 'e' || raw[j] == 'E') {
				return nil, false
			}
			list = append(list, json.Number(raw[i:j]))
			i = j
		default:
			return nil, false
		}
		i = skipSpace(raw, i)
		if i >= len(raw) {
			return nil, false
		}
		switch raw[i] {
		case ',':
			i = skipSpace(raw, i+1)
		case ']':
			return list, skipSpace(raw, i+1) == len(raw)
		default:
			return nil, false
		}
	}
	return nil, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
