package restkit

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TimeLayout is the storage form of datetimes: UTC with a fixed-width fraction, so the
// text sorts in time order (RFC 3339's own form trims zeros and does not).
const TimeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// valueError is a client-facing reason a value is rejected, without the field name.
type valueError struct{ Message string }

func bad(format string, args ...any) *valueError {
	return &valueError{Message: fmt.Sprintf(format, args...)}
}

// Canonical converts v to the field's canonical Go value (see FieldType). It accepts
// what the JSON decoder yields (string, json.Number, bool, []any, map[string]any) and
// canonical values themselves, plus Go ints and floats from declarations made in code
// or YAML. It checks the type only; Check tests constraints. A nil v gives nil.
func (f *Field) Canonical(v any) (any, *valueError) {
	if v == nil {
		return nil, nil
	}
	switch f.Type {
	case TypeRelation:
		return f.canonicalRelation(v)
	case TypeJSON:
		return canonicalJSON(v)
	case TypeArray:
		return f.canonicalArray(v)
	}
	return f.canonicalScalar(v)
}

// canonicalScalar is Canonical for the scalar types.
func (f *Field) canonicalScalar(v any) (any, *valueError) {
	switch f.Type {
	case TypeString, TypeEnum, TypeEmail, TypeURL:
		s, ok := v.(string)
		if !ok {
			return nil, bad("must be a string")
		}
		return s, nil
	case TypeBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, bad("must be true or false")
		}
		return b, nil
	case TypeInteger:
		switch n := v.(type) {
		case int64:
			return n, nil
		case int:
			return int64(n), nil
		case uint64:
			if n > math.MaxInt64 {
				return nil, bad("is out of range")
			}
			return int64(n), nil
		case float64:
			if math.IsInf(n, 0) || math.IsNaN(n) {
				return nil, bad("must be a finite number")
			}
			return floatToInt(n)
		case json.Number:
			if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
				return i, nil
			}
			x, err := strconv.ParseFloat(string(n), 64)
			if err != nil {
				return nil, bad("is out of range")
			}
			return floatToInt(x)
		}
		return nil, bad("must be an integer")
	case TypeNumber:
		switch n := v.(type) {
		case float64:
			if math.IsInf(n, 0) || math.IsNaN(n) {
				return nil, bad("must be a finite number")
			}
			return n, nil
		case int64:
			return float64(n), nil
		case int:
			return float64(n), nil
		case uint64:
			return float64(n), nil
		case json.Number:
			x, err := strconv.ParseFloat(string(n), 64)
			if err != nil || math.IsInf(x, 0) {
				return nil, bad("is out of range")
			}
			return x, nil
		}
		return nil, bad("must be a number")
	case TypeDatetime:
		var p time.Time
		switch t := v.(type) {
		case time.Time:
			p = t.UTC()
		case string:
			var err error
			if p, err = time.Parse(time.RFC3339Nano, t); err != nil {
				return nil, bad("must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z")
			}
			p = p.UTC()
		default:
			return nil, bad("must be an RFC 3339 date-time string")
		}
		// The range is checked in UTC, the form every store keeps: 9999-12-31T23:00:00-05:00
		// is in year 10000 there, which four-digit storage cannot hold.
		if p.Year() < 1 || p.Year() > 9999 {
			return nil, bad("must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
		}
		return p, nil
	}
	return nil, bad("has an unknown type")
}

func floatToInt(x float64) (any, *valueError) {
	if x != math.Trunc(x) {
		return nil, bad("must be an integer")
	}
	if x < -(1<<63) || x >= 1<<63 {
		return nil, bad("is out of range")
	}
	return int64(x), nil
}

// Check tests a canonical value against the field's constraints and returns the
// client-facing reason it fails, or "".
func (f *Field) Check(v any) string {
	if f.Type == TypeRelation && !f.Many && f.target != nil && v != nil {
		return f.target.CheckKey(v)
	}
	switch x := v.(type) {
	case []any:
		return f.checkList(x)
	case JSONText:
		if len(x) > f.MaxBytes && f.MaxBytes > 0 {
			return fmt.Sprintf("must be at most %d bytes of JSON, not %d", f.MaxBytes, len(x))
		}
		return ""
	case string:
		if msg := checkText(x); msg != "" {
			return msg
		}
		n := utf8.RuneCountInString(x)
		if f.MinLength != nil && n < *f.MinLength {
			return fmt.Sprintf("must be at least %d characters long", *f.MinLength)
		}
		if f.MaxLength != nil && n > *f.MaxLength {
			return fmt.Sprintf("must be at most %d characters long", *f.MaxLength)
		}
		if f.pattern != nil && !f.pattern.MatchString(x) {
			return fmt.Sprintf("must match the pattern %s", f.Pattern)
		}
		switch f.Type {
		case TypeEnum:
			if !contains(f.Values, x) {
				return "must be one of " + strings.Join(f.Values, ", ")
			}
		case TypeEmail:
			if a, err := mail.ParseAddress(x); err != nil || a.Address != x || a.Name != "" {
				return "must be an email address such as name@example.com"
			}
		case TypeURL:
			u, err := url.Parse(x)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return "must be an absolute http or https URL"
			}
		}
	case int64:
		return f.checkRange(float64(x))
	case float64:
		return f.checkRange(x)
	}
	return ""
}

// checkText returns why s cannot be stored as text, or "". Each refusal is a string
// that could be stored but not given back as it came: no store keeps NUL the same way
// (PostgreSQL refuses it in text), and XML 1.0 (§2.2) can write neither the C0 control
// characters other than tab, line feed and carriage return nor U+FFFE and U+FFFF, not
// even as character references. So they are refused here, once, for every store and
// every representation; DEL and the C1 controls are XML characters and are kept.
func checkText(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8"
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			return `must not contain the NUL character (\u0000)`
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			return fmt.Sprintf(`must not contain control characters other than tab, line feed and carriage return (found \u%04x)`, c)
		case c == 0xEF && i+2 < len(s) && s[i+1] == 0xBF && (s[i+2] == 0xBE || s[i+2] == 0xBF):
			return fmt.Sprintf(`must not contain U+%04X, which is not a character`, 0xFFFE+int(s[i+2]-0xBE))
		}
	}
	return ""
}

func (f *Field) checkRange(x float64) string {
	if f.Min != nil && x < *f.Min {
		return fmt.Sprintf("must be at least %v", *f.Min)
	}
	if f.Max != nil && x > *f.Max {
		return fmt.Sprintf("must be at most %v", *f.Max)
	}
	return ""
}

// Parse converts the text form of a value (a URL path segment, a query parameter) to
// the field's canonical value. Strings are taken as they are; booleans are true/false.
func (f *Field) Parse(s string) (any, error) {
	if f.Type == TypeRelation && !f.Many && f.target != nil { // a reference is its target's key
		v, err := f.target.KeyField().Parse(s)
		if err != nil {
			return nil, &Error{Kind: Invalid, Message: fmt.Sprintf("%s: %q is not the %s of a %s", f.Name, s, f.target.Key, f.target.Singular)}
		}
		return v, nil
	}
	var v any = s
	switch f.Type {
	case TypeInteger, TypeNumber:
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return nil, &Error{Kind: Invalid, Message: fmt.Sprintf("%s: %q is not a number", f.Name, s)}
		}
		v = json.Number(s)
	case TypeBoolean:
		b, err := strconv.ParseBool(s)
		if err != nil || (s != "true" && s != "false") {
			return nil, &Error{Kind: Invalid, Message: fmt.Sprintf("%s: %q is not true or false", f.Name, s)}
		}
		v = b
	}
	c, verr := f.Canonical(v)
	if verr != nil {
		return nil, &Error{Kind: Invalid, Message: f.Name + " " + verr.Message}
	}
	return c, nil
}

// Format returns the text form of a canonical value, the inverse of Parse.
func Format(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case JSONText:
		return string(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = Format(e)
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v)
}

// Equal reports whether two canonical values are the same value.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case time.Time:
		tb, ok := b.(time.Time)
		return ok && x.Equal(tb)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if _, ok := b.([]any); ok {
		return false
	}
	return a == b
}

// Compare orders two canonical values of one field type: -1, 0 or +1. nil sorts first.
func Compare(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case int64:
		y := b.(int64)
		return cmpOrdered(x, y)
	case float64:
		return cmpOrdered(x, b.(float64))
	case bool:
		y := b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case time.Time:
		return x.Compare(b.(time.Time))
	case JSONText:
		return strings.Compare(string(x), string(b.(JSONText)))
	case []any:
		y := b.([]any)
		for i := 0; i < len(x) && i < len(y); i++ {
			if c := Compare(x[i], y[i]); c != 0 {
				return c
			}
		}
		return cmpOrdered(int64(len(x)), int64(len(y)))
	}
	panic(fmt.Sprintf("restkit.Compare: %T is not a canonical value", a))
}

func cmpOrdered[T int64 | float64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// Item is an array field's item: a field of the Items type carrying the array's
// constraints (nil for other fields).
func (f *Field) Item() *Field { return f.item }
