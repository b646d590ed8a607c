package recordjson

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/restkit/restkit"
)

// View says which members a record's JSON object has: its fields, in declaration
// order, and the timestamps of a resource with timestamps: true (fields= may name
// either).
type View struct {
	Fields           []*restkit.Field
	Created, Updated bool
}

// Full is the view of every field, with the timestamps when the resource keeps them.
func Full(fields []*restkit.Field, timestamps bool) View {
	return View{Fields: fields, Created: timestamps, Updated: timestamps}
}

// Page is a list page a store wrote as JSON objects straight from its rows
// (sqlite.Store.AppendJSONPage): how many, the records at its two ends in the order
// shown (the same one when it has one, nil when none: the cursors of its links come
// from them), whether more rows lie past it, and the count (-1 when not counted).
type Page struct {
	N           int
	First, Last *restkit.Record
	More        bool
	Total       int64
}

// Append appends the JSON object of one record.
func (v View) Append(b []byte, rec *restkit.Record) []byte {
	b, _ = v.AppendMembers(append(b, '{'), rec)
	return append(b, '}')
}

// AppendMembers appends the members of rec's object, without the braces, and
// reports whether it appended any (so that a caller adding more knows whether a
// comma comes first). Absent nullable fields are null; absent non-nullable fields
// (optional and unset) are left out.
func (v View) AppendMembers(b []byte, rec *restkit.Record) ([]byte, bool) {
	first := true
	for _, f := range v.Fields {
		val, ok := rec.Values[f.Name]
		if !ok && !f.Nullable {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = AppendString(b, f.Name)
		b = append(b, ':')
		b = AppendValue(b, val)
	}
	if v.Created {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `"created":`...)
		b = AppendValue(b, rec.Created)
	}
	if v.Updated {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `"updated":`...)
		b = AppendValue(b, rec.Updated)
	}
	return b, !first
}

// AppendValue appends one canonical value (restkit.Field.Canonical) as JSON.
func AppendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return AppendString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return AppendFloat(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		b = append(b, '"')
		b = x.UTC().AppendFormat(b, time.RFC3339Nano)
		return append(b, '"')
	case restkit.JSONText:
		return append(b, x...) // canonical, compact JSON
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = AppendValue(b, e)
		}
		return append(b, ']')
	}
	j, _ := json.Marshal(v) // not reached for canonical values
	return append(b, j...)
}

// AppendFloat formats like encoding/json: plain notation for ordinary magnitudes,
// exponent form for very large or small ones.
func AppendFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, "null"...)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(b, f, format, -1, 64)
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string. Input was checked to be valid UTF-8, but
// invalid bytes are still replaced with U+FFFD; U+2028 and U+2029 are escaped so the
// output is safe to embed in JavaScript.
func AppendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
