package restkit

import (
	"context"
	"maps"
	"math"
)

// Defaults returns a noun's initial state: every field with a default, and null for
// nullable fields without one.
func (n *Noun) Defaults() map[string]any {
	out := make(map[string]any, len(n.Fields))
	for _, f := range n.Fields {
		switch {
		case f.Default != nil:
			out[f.Name] = f.Default
		case f.Nullable:
			out[f.Name] = nil
		}
	}
	return out
}

// State returns the current state from what a store holds: the defaults, overlaid
// with every stored value of a declared field. A field declared after the state was
// last written so reads as its default (the additive schema change for nouns); nil
// stored means never written.
func (n *Noun) State(stored map[string]any) map[string]any {
	out := n.Defaults()
	for _, f := range n.Fields {
		if v, ok := stored[f.Name]; ok {
			out[f.Name] = v
		}
	}
	return out
}

// Set validates a PUT body: the new state is exactly the body, with absent fields
// taking their defaults. Read-only fields keep their current values.
func (n *Noun) Set(in, cur map[string]any) (map[string]any, error) {
	return n.build(in, cur, Replace, false)
}

// Apply runs the noun's POST update on a copy of cur and validates the result. body is
// the parsed request body (nil when empty); toggle and increment accept none.
func (n *Noun) Apply(ctx context.Context, cur, body map[string]any) (map[string]any, error) {
	u := n.Update
	if u.Op != UpdateMerge && u.Op != UpdateHook && len(body) > 0 {
		return nil, Errorf(Invalid, "POST %s takes no body: it runs %s %s", n.Name, u.Op, u.Field)
	}
	next := maps.Clone(cur)
	switch u.Op {
	case UpdateMerge:
		return n.build(body, cur, Patch, false)
	case UpdateToggle:
		f := n.byName[u.Field]
		if f.Type == TypeBoolean {
			b, _ := next[f.Name].(bool)
			next[f.Name] = !b
		} else if s, _ := next[f.Name].(string); s == f.Values[0] {
			next[f.Name] = f.Values[1]
		} else {
			next[f.Name] = f.Values[0]
		}
	case UpdateIncrement:
		f := n.byName[u.Field]
		msg := ""
		switch v := next[f.Name].(type) {
		case int64:
			sum := v + int64(u.By)
			if (u.By > 0 && sum < v) || (u.By < 0 && sum > v) {
				msg = "would overflow a 64-bit integer"
			}
			next[f.Name] = sum
		case float64:
			next[f.Name] = v + u.By
			if math.IsInf(v+u.By, 0) {
				msg = "would overflow a 64-bit float"
			}
		default: // unset: start from zero
			if f.Type == TypeInteger {
				next[f.Name] = int64(u.By)
			} else {
				next[f.Name] = u.By
			}
		}
		if msg == "" {
			msg = f.Check(next[f.Name])
		}
		if msg != "" {
			return nil, &Error{Kind: Conflict, Message: "the update would leave the state invalid",
				Fields: []FieldError{{f.Name, msg}}}
		}
		return next, nil
	case UpdateHook:
		out, err := u.Hook(ctx, next, body)
		if err != nil {
			return nil, err
		}
		return n.build(out, cur, Replace, true) // the hook is the server: it may set read-only fields
	}
	return next, nil
}

func (n *Noun) build(in, cur map[string]any, mode WriteMode, trusted bool) (map[string]any, error) {
	var errs []FieldError
	for name := range in {
		if n.byName[name] == nil {
			errs = append(errs, FieldError{Field: name, Message: "is not a field of " + n.Name})
		}
	}
	out := make(map[string]any, len(n.Fields))
	errs = append(errs, buildFields(n.Fields, "", in, cur, mode, trusted, out)...)
	if len(errs) > 0 {
		SortFieldErrors(errs)
		return nil, &Error{Kind: Invalid, Message: "validation failed", Fields: errs}
	}
	return out, nil
}
