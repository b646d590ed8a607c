package httpapi

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"math"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/restkit/restkit"
)

// view says how records are rendered: which fields, in declaration order, and which of
// the timestamps of a resource with timestamps: true (fields= may name either). Records are written by hand rather than through
// encoding/json so that fields keep their declared order and a GET by id costs a
// handful of appends instead of a reflection walk over a map.
type view struct {
	fields           []*restkit.Field
	created, updated bool
}

func fullView(fields []*restkit.Field, timestamps bool) view {
	return view{fields: fields, created: timestamps, updated: timestamps}
}

// appendRecord appends the JSON object of one record. Absent nullable fields are null;
// absent non-nullable fields (optional and unset) are left out.
func (v view) appendRecord(b []byte, rec *restkit.Record) []byte {
	return v.appendExpanded(b, rec, nil, nil)
}

// appendExpanded is appendRecord with what expand= added (nil: nothing).
func (v view) appendExpanded(b []byte, rec *restkit.Record, ex expanded, exps []*expansion) []byte {
	b = append(b, '{')
	first := true
	for _, f := range v.fields {
		val, ok := rec.Values[f.Name]
		if !ok && !f.Nullable {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, f.Name)
		b = append(b, ':')
		b = appendValue(b, val)
	}
	if v.created {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, `"created":`...)
		b = appendValue(b, rec.Created)
	}
	if v.updated {
		if !first {
			b = append(b, ',')
		}
		b = append(b, `"updated":`...)
		b = appendValue(b, rec.Updated)
	}
	b = appendExpand(b, ex, exps)
	return append(b, '}')
}

func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return appendFloat(b, x)
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
			b = appendValue(b, e)
		}
		return append(b, ']')
	}
	j, _ := json.Marshal(v) // not reached for canonical values
	return append(b, j...)
}

// appendFloat formats like encoding/json: plain notation for ordinary magnitudes,
// exponent form for very large or small ones.
func appendFloat(b []byte, f float64) []byte {
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

// appendString appends s as a JSON string. Input was checked to be valid UTF-8, but
// invalid bytes are still replaced with U+FFFD; U+2028 and U+2029 are escaped so the
// output is safe to embed in JavaScript.
func appendString(b []byte, s string) []byte {
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

// writeJSON writes any Go value as JSON (for small non-record bodies: problems, indexes).
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		body = []byte(`{"status":500,"title":"Internal Server Error","detail":"internal error"}`)
		status = http.StatusInternalServerError
	}
	body = append(body, '\n')
	writeBody(w, status, contentType, body)
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// wrapEnvelope wraps a JSON document as {"status":"ok","result":…}.
func wrapEnvelope(b []byte, doc []byte) []byte {
	b = append(b, `{"status":"ok","result":`...)
	b = append(b, doc...)
	return append(b, '}')
}

// appendXMLRecord appends <elem><field>value</field>…</elem>. A null is an empty
// element with nil="true", so it differs from an empty string.
func (v view) appendXMLRecord(b []byte, elem string, rec *restkit.Record) []byte {
	return v.appendXMLExpanded(b, elem, rec, nil, nil)
}

// appendXMLExpanded is appendXMLRecord with what expand= added (nil: nothing).
func (v view) appendXMLExpanded(b []byte, elem string, rec *restkit.Record, ex expanded, exps []*expansion) []byte {
	b = append(b, '<')
	b = append(b, elem...)
	b = append(b, '>')
	for _, f := range v.fields {
		val, ok := rec.Values[f.Name]
		if !ok && !f.Nullable {
			continue
		}
		b = appendXMLField(b, f, val)
	}
	if v.created {
		b = appendXMLElem(b, "created", rec.Created)
	}
	if v.updated {
		b = appendXMLElem(b, "updated", rec.Updated)
	}
	b = appendXMLExpand(b, ex, exps)
	b = append(b, "</"...)
	b = append(b, elem...)
	return append(b, '>')
}

// appendXMLField appends a field's element: a list (an array, a many relation) holds
// one child element per item — <item>, or the target's singular for a relation — and
// a json value is its JSON text.
func appendXMLField(b []byte, f *restkit.Field, val any) []byte {
	list, ok := val.([]any)
	if !ok {
		return appendXMLElem(b, f.Name, val)
	}
	item := "item"
	if f.Type == restkit.TypeRelation {
		item = f.Target().Singular
	}
	b = append(b, '<')
	b = append(b, f.Name...)
	b = append(b, '>')
	for _, e := range list {
		b = appendXMLElem(b, item, e)
	}
	b = append(b, "</"...)
	b = append(b, f.Name...)
	return append(b, '>')
}

func appendXMLElem(b []byte, name string, val any) []byte {
	b = append(b, '<')
	b = append(b, name...)
	if val == nil {
		return append(b, ` nil="true"/>`...)
	}
	b = append(b, '>')
	var buf bytes.Buffer
	_ = xml.EscapeText(&buf, []byte(restkit.Format(val)))
	b = append(b, buf.Bytes()...)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"
