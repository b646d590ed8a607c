package restkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// JSONText is the canonical value of a json field: the value's compact JSON encoding,
// object members sorted by name (encoding/json's order), numbers as they were written.
// Stores keep it as text (SQLite) or jsonb (PostgreSQL, which reorders members on its
// own), and give it back through Canonical, which puts it in this one form again.
type JSONText string

// canonicalJSON is Canonical for a json field: any JSON value, as ParseObject gives it
// (or as YAML or Go give it: maps, slices, numbers), or JSONText and json text read
// back from a store. JSON null is no value.
func canonicalJSON(v any) (any, *valueError) {
	var raw []byte
	switch x := v.(type) {
	case JSONText:
		raw = []byte(x)
	case json.RawMessage:
		raw = x
	default:
		b, err := json.Marshal(normalizeYAML(v))
		if err != nil {
			return nil, bad("must be a JSON value")
		}
		raw = b
	}
	// Decode and encode again: one form whatever the input's spacing and order.
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var val any
	if err := dec.Decode(&val); err != nil || dec.More() {
		return nil, bad("must be a JSON value")
	}
	if val == nil {
		return nil, nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(val); err != nil {
		return nil, bad("must be a JSON value")
	}
	return JSONText(bytes.TrimRight(b.Bytes(), "\n")), nil
}

// normalizeYAML turns the map[any]any a YAML decoder may give into map[string]any,
// which encoding/json can write.
func normalizeYAML(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[fmt.Sprint(k)] = normalizeYAML(e)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = normalizeYAML(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeYAML(e)
		}
		return out
	}
	return v
}

// canonicalArray is Canonical for an array field: a list of values of the item type.
func (f *Field) canonicalArray(v any) (any, *valueError) {
	list, ok := v.([]any)
	if !ok {
		return nil, bad("must be an array of %s values", f.Items)
	}
	out := make([]any, len(list))
	for i, e := range list {
		if e == nil {
			return nil, bad("item %d must not be null", i)
		}
		c, verr := f.item.Canonical(e)
		if verr != nil {
			return nil, bad("item %d %s", i, verr.Message)
		}
		out[i] = c
	}
	return out, nil
}

// canonicalRelation is Canonical for a relation: the target's key, or a list of them.
func (f *Field) canonicalRelation(v any) (any, *valueError) {
	if f.target == nil {
		return nil, bad("refers to a resource the declaration does not resolve")
	}
	kf := f.target.KeyField()
	if !f.Many {
		c, verr := kf.Canonical(v)
		if verr != nil {
			return nil, bad("must be the %s of %s: it %s", kf.Name, article(f.target.Singular), verr.Message)
		}
		return c, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, bad("must be an array of %s %ss", f.target.Singular, kf.Name)
	}
	out := make([]any, len(list))
	for i, e := range list {
		c, verr := kf.Canonical(e)
		if verr != nil || c == nil {
			msg := "must not be null"
			if verr != nil {
				msg = verr.Message
			}
			return nil, bad("item %d must be the %s of %s: it %s", i, kf.Name, article(f.target.Singular), msg)
		}
		out[i] = c
	}
	return out, nil
}

// checkList is Check for the list values: an array's items and a many relation's keys.
func (f *Field) checkList(list []any) string {
	if f.MaxItems != nil && len(list) > *f.MaxItems {
		return fmt.Sprintf("must have at most %d items, not %d", *f.MaxItems, len(list))
	}
	switch {
	case f.Type == TypeArray && f.item != nil:
		for i, e := range list {
			if msg := f.item.Check(e); msg != "" {
				return fmt.Sprintf("item %d %s", i, msg)
			}
		}
	case f.Type == TypeRelation && f.target != nil:
		seen := make(map[any]bool, len(list))
		for i, k := range list {
			if seen[k] {
				return fmt.Sprintf("lists %s %s more than once", f.target.Key, Format(k))
			}
			seen[k] = true
			if msg := f.target.CheckKey(k); msg != "" {
				return fmt.Sprintf("item %d %s", i, msg)
			}
		}
	}
	return ""
}

// CloneValue returns a copy of a canonical value that shares nothing mutable with it
// (lists are copied; everything else is immutable).
func CloneValue(v any) any {
	if list, ok := v.([]any); ok {
		out := make([]any, len(list))
		copy(out, list) // items are scalars
		return out
	}
	return v
}

// mergeJSON applies a JSON Merge Patch (RFC 7396 §2) to a json field's current value:
// when both are objects, the patch's members replace the current ones recursively
// and a null member removes one; otherwise the patch replaces the value.
func mergeJSON(cur, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	var target map[string]any
	if t, ok := cur.(JSONText); ok {
		dec := json.NewDecoder(bytes.NewReader([]byte(t)))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			target, _ = v.(map[string]any)
		}
	}
	return mergeObject(target, p)
}

func mergeObject(target, patch map[string]any) map[string]any {
	out := make(map[string]any, len(target)+len(patch))
	for k, v := range target {
		out[k] = v
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			cur, _ := out[k].(map[string]any)
			out[k] = mergeObject(cur, pv)
		default:
			out[k] = v
		}
	}
	return out
}

// MarshalJSON writes the value itself, not a JSON string holding it: a record's
// values can then go through encoding/json (history states) unchanged.
func (t JSONText) MarshalJSON() ([]byte, error) { return []byte(t), nil }

// EncodeState writes canonical values as the JSON object a noun's state (and a
// revision in a history table, and an event) is stored as: datetimes as RFC 3339 strings, other
// values as themselves. Both stores keep it as text.
func EncodeState(values map[string]any) (string, error) {
	state := make(map[string]any, len(values))
	for name, v := range values {
		if t, ok := v.(time.Time); ok {
			state[name] = t.UTC().Format(time.RFC3339Nano)
		} else {
			state[name] = v
		}
	}
	data, err := json.Marshal(state)
	return string(data), err
}

// DecodeState reads what EncodeState wrote back into canonical values, through the
// declaration's fields (field returns nil for a name no longer declared). Members
// whose field is gone, or whose value no longer fits its type, are left out.
func DecodeState(state string, field func(name string) *Field) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(state)))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	values := make(map[string]any, len(raw))
	for name, v := range raw {
		f := field(name)
		if f == nil {
			continue
		}
		if cv, verr := f.Canonical(v); verr == nil && cv != nil {
			values[name] = cv
		}
	}
	return values, nil
}

// article puts "a" or "an" before a noun, by its first letter: an author, a book.
func article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiouAEIOU", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}
