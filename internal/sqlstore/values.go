package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/restkit/restkit"
)

// Values is how a store lets the shared migration steps read and rewrite the values
// of one column of a table, a page at a time in key order, inside the migration's
// transaction: retypes convert them, narrows check them.
type Values struct {
	// Page returns the keys and values of column col, of kind k, of up to n rows with
	// a key above after (nil: from the first row), in key order, as the driver gives
	// them (nil for NULL; KJSON as text).
	Page func(col string, k Kind, after any, n int) (keys, vals []any, err error)
	// Decode converts a value of kind k, as the driver gave it (not nil), to its
	// canonical value (the store's own decode).
	Decode func(k Kind, v any) (any, error)
	// Set writes a canonical value (nil: NULL) to column col of the row with key.
	Set func(col string, key, v any) error
}

// valuePage is how many rows a migration step reads at once.
const valuePage = 500

// badValues counts the rows a step could not take and keeps the first few.
type badValues struct {
	rows, bad int
	examples  []string
}

func (b *badValues) add(key any, why string) {
	b.bad++
	if len(b.examples) < 3 {
		b.examples = append(b.examples, fmt.Sprintf("%s: %s", restkit.Format(key), why))
	}
}

func (b *badValues) String() string {
	return fmt.Sprintf("%d of %d records hold values it cannot take (%s%s)", b.bad, b.rows, strings.Join(b.examples, "; "),
		map[bool]string{true: "; …"}[b.bad > len(b.examples)])
}

// each runs fn on every row's value of column col, decoded as kind k (JSON through f).
func (v Values) each(col string, k Kind, f *restkit.Field, fn func(key, val any) error) error {
	var after any
	for {
		keys, vals, err := v.Page(col, k, after, valuePage)
		if err != nil {
			return err
		}
		for i, raw := range vals {
			var val any
			var derr error
			switch {
			case raw == nil:
			case k == KJSON:
				val, derr = DecodeJSON(f, raw)
			default:
				val, derr = v.Decode(k, raw)
			}
			if derr != nil {
				val = derr // the stored value is unreadable as the field: fn reports it
			}
			if err := fn(keys[i], val); err != nil {
				return err
			}
		}
		if len(keys) < valuePage {
			return nil
		}
		after = keys[len(keys)-1]
	}
}

// ConvertColumn converts every value of column from, stored as r.From, to r.Field's
// type and writes it to column to. Values that do not convert are counted and the
// field is refused (with --allow-destructive too: nothing is lost by a migration that
// is not carried out).
func (m *Migration) ConvertColumn(v Values, r Retype, from, to string) error {
	bad := &badValues{}
	err := v.each(from, KindOf(restkit.FieldType(r.From)), r.Field, func(key, val any) error {
		bad.rows++
		if e, ok := val.(error); ok {
			bad.add(key, e.Error())
			return nil
		}
		cv, why := Convert(val, r.From, r.Field)
		if why != "" {
			bad.add(key, why)
			return nil
		}
		return v.Set(to, key, cv)
	})
	if err == nil && bad.bad > 0 {
		m.Refuse(r.Field.Name, "field %q cannot change type from %s to %s: %s; change those records, or restore the type",
			r.Field.Name, r.From, r.Field.DeclaredType(), bad)
	}
	return err
}

// CheckColumn checks every stored value of a narrowed field against its declaration;
// values it refuses are counted and the field is refused.
func (m *Migration) CheckColumn(v Values, n Narrow) error {
	bad := &badValues{}
	err := v.each(n.Field.Name, FieldKind(n.Field), n.Field, func(key, val any) error {
		bad.rows++
		if e, ok := val.(error); ok {
			bad.add(key, e.Error())
			return nil
		}
		if val == nil {
			return nil
		}
		if cv, verr := n.Field.Canonical(val); verr != nil {
			bad.add(key, quoteValue(val)+" "+verr.Message)
		} else if msg := n.Field.Check(cv); msg != "" {
			bad.add(key, quoteValue(val)+" "+msg)
		}
		return nil
	})
	if err == nil && bad.bad > 0 {
		m.Refuse(n.Field.Name, "field %q cannot be narrowed (%s): %s; change those records, or restore the declaration", n.Field.Name, n.Why, bad)
	}
	return err
}

// States is how a store lets the shared migration steps rewrite the states of a
// history table (EncodeState's JSON objects), a page at a time in (key, rev) order.
type States struct {
	// Page returns up to n revisions after (afterKey, afterRev) (afterKey nil: from
	// the first), in (key, rev) order: their keys, revs and states.
	Page func(afterKey any, afterRev int64, n int) (keys []any, revs []int64, states []string, err error)
	// Set replaces the state of one revision.
	Set func(key any, rev int64, state string) error
}

// RewriteStates runs fn on every state of a history table; fn changes the decoded
// object in place and reports whether it did, and only those are written back.
func RewriteStates(s States, fn func(state map[string]any) bool) error {
	var afterKey any
	var afterRev int64
	for {
		keys, revs, states, err := s.Page(afterKey, afterRev, valuePage)
		if err != nil {
			return err
		}
		for i, text := range states {
			state, err := decodeObject(text)
			if err != nil {
				return fmt.Errorf("the state of revision %d of %s: %w", revs[i], restkit.Format(keys[i]), err)
			}
			if !fn(state) {
				continue
			}
			b, err := json.Marshal(state)
			if err != nil {
				return err
			}
			if err := s.Set(keys[i], revs[i], string(b)); err != nil {
				return err
			}
		}
		if len(keys) < valuePage {
			return nil
		}
		afterKey, afterRev = keys[len(keys)-1], revs[len(revs)-1]
	}
}

func decodeObject(text string) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// RenameState is a RewriteStates function that moves the value of from to to.
func RenameState(from, to string) func(map[string]any) bool {
	return func(state map[string]any) bool {
		v, ok := state[from]
		if !ok {
			return false
		}
		delete(state, from)
		state[to] = v
		return true
	}
}

// ConvertState is a RewriteStates function that converts a retyped field's value
// (see Convert); a value that does not convert is left as it is, and is dropped when
// the revision is read (DecodeState).
func ConvertState(r Retype) func(map[string]any) bool {
	old := &restkit.Field{Name: r.Field.Name, Type: restkit.FieldType(r.From)}
	return func(state map[string]any) bool {
		raw, ok := state[r.Field.Name]
		if !ok || raw == nil {
			return false
		}
		v, verr := old.Canonical(raw)
		if verr != nil {
			return false
		}
		cv, why := Convert(v, r.From, r.Field)
		if why != "" {
			return false
		}
		if t, ok := cv.(time.Time); ok {
			state[r.Field.Name] = t.UTC().Format(time.RFC3339Nano)
		} else {
			state[r.Field.Name] = cv
		}
		return true
	}
}
