package restkit

import (
	"slices"
	"strings"
)

// Matches reports whether a record's values pass every filter (resolved: Query.Resolve),
// as the stores judge them — for those who must judge a record outside a store, such
// as an event stream with list filters. relation decides an OpMatch filter (the
// fields of a relation's target) given the relation's value; nil: it never passes.
func Matches(values map[string]any, filters []Filter, relation func(f *Filter, v any) bool) bool {
	for i := range filters {
		if !passes(values, &filters[i], relation) {
			return false
		}
	}
	return true
}

func passes(values map[string]any, f *Filter, relation func(f *Filter, v any) bool) bool {
	switch f.Op {
	case OpAnd:
		return Matches(values, f.Filters, relation)
	case OpOr:
		for i := range f.Filters {
			if passes(values, &f.Filters[i], relation) {
				return true
			}
		}
		return false
	case OpMatch:
		return relation != nil && relation(f, values[f.Field])
	}
	return MatchesValue(values[f.Field], f)
}

// MatchesValue applies one comparison filter (not a group, not OpMatch) to a value
// (nil when unset), as every store judges it: comparisons with an unset value, or
// with a nil filter value, are false, except OpNull and OpNe ("is distinct from").
func MatchesValue(v any, f *Filter) bool {
	switch f.Op {
	case OpContains:
		switch x := v.(type) {
		case string:
			return strings.Contains(x, f.Value.(string))
		case []any:
			return slices.ContainsFunc(x, func(e any) bool { return Equal(e, f.Value) })
		}
		return false
	case OpNull:
		return (v == nil) == f.Value.(bool)
	case OpNe:
		if v == nil || f.Value == nil {
			return (v == nil) != (f.Value == nil)
		}
		return Compare(v, f.Value) != 0
	case OpIn:
		if v == nil {
			return false
		}
		for _, c := range f.Values {
			if c != nil && Compare(v, c) == 0 {
				return true
			}
		}
		return false
	}
	if v == nil || f.Value == nil {
		return false
	}
	if f.Op == OpPrefix {
		return strings.HasPrefix(v.(string), f.Value.(string))
	}
	c := Compare(v, f.Value)
	switch f.Op {
	case OpEq:
		return c == 0
	case OpLt:
		return c < 0
	case OpLte:
		return c <= 0
	case OpGt:
		return c > 0
	case OpGte:
		return c >= 0
	}
	return false
}
