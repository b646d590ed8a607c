package sqlstore

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/restkit/restkit"
)

// spec is what _restkit_fields records of a field's constraints on its values (or
// on each item of an array): enough to notice a declaration that allows fewer values
// than the one the stored values were checked against.
type spec struct {
	Values    []string `json:"values,omitempty"`
	MinLength *int     `json:"minLength,omitempty"`
	MaxLength *int     `json:"maxLength,omitempty"`
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	Pattern   string   `json:"pattern,omitempty"`
	MaxItems  *int     `json:"maxItems,omitempty"`
	MaxBytes  int      `json:"maxBytes,omitempty"`
}

// FieldSpec is the spec a store records for f in _restkit_fields: a JSON object of
// its value constraints ("{}" for none).
func FieldSpec(f *restkit.Field) string {
	s := spec{Values: f.Values, MinLength: f.MinLength, MaxLength: f.MaxLength, Min: f.Min, Max: f.Max, Pattern: f.Pattern,
		MaxItems: f.MaxItems, MaxBytes: f.MaxBytes}
	if f.Type == restkit.TypeJSON && s.MaxBytes == 0 {
		s.MaxBytes = restkit.DefaultMaxJSON
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// narrowing says how a declared field allows fewer values than the stored one, or "".
// A stored spec of "" (recorded before specs were) is taken as unknown: only a change
// of text type can be seen then.
func narrowing(sf StoredField, f *restkit.Field) string {
	var why []string
	if sf.Type != f.DeclaredType() && f.Type != restkit.TypeString {
		why = append(why, sf.Type+" → "+f.DeclaredType())
	}
	var old spec
	if sf.Spec == "" || json.Unmarshal([]byte(sf.Spec), &old) != nil {
		return strings.Join(why, ", ")
	}
	var cur spec
	_ = json.Unmarshal([]byte(FieldSpec(f)), &cur)
	if old.Values != nil && cur.Values != nil {
		var gone []string
		for _, v := range old.Values {
			if !slices.Contains(cur.Values, v) {
				gone = append(gone, v)
			}
		}
		if len(gone) > 0 {
			why = append(why, "values no longer allowed: "+strings.Join(gone, ", "))
		}
	}
	why = appendTighter(why, "minLength", intPtr(old.MinLength), intPtr(cur.MinLength), 1)
	why = appendTighter(why, "maxLength", intPtr(old.MaxLength), intPtr(cur.MaxLength), -1)
	why = appendTighter(why, "min", old.Min, cur.Min, 1)
	why = appendTighter(why, "max", old.Max, cur.Max, -1)
	why = appendTighter(why, "max_items", intPtr(old.MaxItems), intPtr(cur.MaxItems), -1)
	if old.MaxBytes > 0 && cur.MaxBytes > 0 {
		why = appendTighter(why, "max_bytes", new(float64(old.MaxBytes)), new(float64(cur.MaxBytes)), -1)
	}
	if cur.Pattern != "" && cur.Pattern != old.Pattern {
		why = append(why, fmt.Sprintf("pattern %q", cur.Pattern))
	}
	return strings.Join(why, ", ")
}

// appendTighter adds "name old → new" when the bound cur is tighter than old: higher
// for a lower bound (dir 1), lower for an upper one (dir -1), or new.
func appendTighter(why []string, name string, old, cur *float64, dir float64) []string {
	if cur == nil || old != nil && (*cur-*old)*dir <= 0 {
		return why
	}
	from := "none"
	if old != nil {
		from = strconv.FormatFloat(*old, 'g', -1, 64)
	}
	return append(why, name+" "+from+" → "+strconv.FormatFloat(*cur, 'g', -1, 64))
}

func intPtr(p *int) *float64 {
	if p == nil {
		return nil
	}
	return new(float64(*p))
}

// scalarTypes are the types restkit migrate converts between.
var scalarTypes = []string{"string", "enum", "email", "url", "integer", "number", "boolean", "datetime"}

// convertible reports whether values stored as the declared type from can be
// converted, one by one, to f's type: between scalar types only.
func convertible(from string, f *restkit.Field) bool {
	return slices.Contains(scalarTypes, from) && slices.Contains(scalarTypes, f.DeclaredType())
}

// Convert converts a canonical value stored as the scalar type from to f's type, or
// says why it cannot: a number or a date into text, text that spells a number, a
// date or a boolean back, an integral number into an integer, 0 and 1 into booleans.
// The converted value must also pass f's constraints.
func Convert(v any, from string, f *restkit.Field) (any, string) {
	if v == nil {
		return nil, ""
	}
	var in any = v
	switch x := v.(type) {
	case string:
		switch f.Type {
		case restkit.TypeInteger, restkit.TypeNumber:
			if _, err := strconv.ParseFloat(x, 64); err != nil {
				return nil, fmt.Sprintf("%q is not a number", x)
			}
			in = json.Number(x)
		case restkit.TypeBoolean:
			b, err := strconv.ParseBool(x)
			if err != nil || (x != "true" && x != "false") {
				return nil, fmt.Sprintf("%q is not true or false", x)
			}
			in = b
		}
	case int64:
		if f.Type == restkit.TypeBoolean && (x == 0 || x == 1) {
			in = x == 1
		}
	}
	if f.Type.Textual() {
		in = restkit.Format(v)
	}
	cv, verr := f.Canonical(in)
	if verr != nil {
		return nil, fmt.Sprintf("%s %s", quoteValue(v), verr.Message)
	}
	if msg := f.Check(cv); msg != "" {
		return nil, fmt.Sprintf("%s %s", quoteValue(cv), msg)
	}
	return cv, ""
}

func quoteValue(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	return restkit.Format(v)
}
