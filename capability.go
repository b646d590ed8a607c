package restkit

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Capabilities (DESIGN §13): named switches an operator flips at runtime to change
// what is served without a deploy — a new API version on for a canary, an old one
// read-only, a risky verb off. A declaration names them (Schema.Capabilities, each
// with its default) and attaches them to an API, a resource, a noun, a single verb
// (Resource.VerbCapabilities) or the artefact repository. While a capability is off,
// what it is attached to is not served: its routes answer 404 as unknown paths do,
// it leaves /openapi.json and /docs, and a switched-off verb leaves Allow (405).
//
// The built-in read_only is the other way round: while it is on, every write answers
// 503 with Retry-After.
//
// The states are the Schema's own, swapped atomically (Switch), so that every
// request sees one consistent set; Generation tells the documents when to be
// rebuilt. Where the states are kept and how they reach every node is the server's
// business (package server: the store's server state).

// Capability is one named switch.
type Capability struct {
	Name        string
	Description string
	Enabled     bool // the state it starts in, until switched
}

// ReadOnly is the built-in capability under which every write answers 503.
const ReadOnly = "read_only"

// switches are the capabilities' runtime states.
type switches struct {
	on  map[string]bool
	gen uint64
}

// prepareCapabilities checks the declared capabilities and every reference to one,
// adds read_only when it is not declared, and starts every switch at its default.
func (s *Schema) prepareCapabilities(add addFunc) {
	known := map[string]bool{}
	for i, c := range s.Capabilities {
		at := fmt.Sprintf("capabilities.%s", c.Name)
		switch {
		case !nameRE.MatchString(c.Name):
			add(fmt.Sprintf("capabilities[%d]", i), "capability name %q must match %s", c.Name, nameRE)
		case known[c.Name]:
			add(at, "capability %s is declared twice", c.Name)
		}
		known[c.Name] = true
	}
	if !known[ReadOnly] {
		s.Capabilities = append(s.Capabilities, &Capability{Name: ReadOnly,
			Description: "While on, every write answers 503 with Retry-After: the data is kept as it is."})
		known[ReadOnly] = true
	}
	check := func(at, name string) {
		if name != "" && !known[name] {
			add(at, "unknown capability %q; declare it under capabilities: (known: %s)", name, strings.Join(slices.Sorted(maps.Keys(known)), ", "))
		} else if name == ReadOnly {
			add(at, "read_only switches writes off everywhere; it cannot be attached to one part of the API")
		}
	}
	for i, a := range s.APIs {
		at := fmt.Sprintf("apis[%d]", i)
		a.schema = s
		check(at+".capability", a.Capability)
		for _, r := range a.Resources {
			r.schema, r.api = s, a
			rat := at + ".resources." + r.Name
			check(rat+".capability", r.Capability)
			for _, verb := range slices.Sorted(maps.Keys(r.VerbCapabilities)) {
				v, item := verb, false
				if after, ok := strings.CutPrefix(verb, "item "); ok {
					v, item = after, true
				}
				list, where := r.Collection, rat+".collection"
				if item {
					list, where = r.Item, rat+".item"
				}
				if !contains(list, v) {
					add(where, "capability %q is attached to %s, which is not one of its verbs", r.VerbCapabilities[verb], v)
				}
				check(where, r.VerbCapabilities[verb])
			}
		}
		for _, n := range a.Nouns {
			n.schema, n.api = s, a
			check(at+".nouns."+n.Name+".capability", n.Capability)
		}
	}
	on := map[string]bool{}
	for _, c := range s.Capabilities {
		on[c.Name] = c.Enabled
	}
	s.switches.Store(&switches{on: on})
}

// Enabled reports whether the capability called name is on ("" is always on; so is
// any capability of an unprepared schema).
func (s *Schema) Enabled(name string) bool {
	if name == "" || s == nil {
		return true
	}
	sw := s.switches.Load()
	if sw == nil {
		return true
	}
	on, ok := sw.on[name]
	return !ok || on
}

// ReadOnly reports whether the built-in read_only is on: writes are refused.
func (s *Schema) ReadOnly() bool {
	if s == nil {
		return false
	}
	sw := s.switches.Load()
	return sw != nil && sw.on[ReadOnly]
}

// States returns every capability's current state.
func (s *Schema) States() map[string]bool {
	if sw := s.switches.Load(); sw != nil {
		return maps.Clone(sw.on)
	}
	return map[string]bool{}
}

// Capability returns the declared capability called name, or nil.
func (s *Schema) Capability(name string) *Capability {
	for _, c := range s.Capabilities {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Switch sets the states of the capabilities named in states (names the schema does
// not declare are ignored; those it declares and states leaves out go back to their
// defaults) and reports whether anything changed. It is safe to call while requests
// are served: each sees the old states or the new ones, never a mix.
func (s *Schema) Switch(states map[string]bool) bool {
	for {
		cur := s.switches.Load()
		next := map[string]bool{}
		for _, c := range s.Capabilities {
			v, ok := states[c.Name]
			if !ok {
				v = c.Enabled
			}
			next[c.Name] = v
		}
		if cur != nil && maps.Equal(cur.on, next) {
			return false
		}
		sw := &switches{on: next}
		if cur != nil {
			sw.gen = cur.gen + 1
		}
		if s.switches.CompareAndSwap(cur, sw) {
			return true
		}
	}
}

// Generation counts the changes Switch made: what was built from the schema (a
// document, a reference page) is out of date when it differs.
func (s *Schema) Generation() uint64 {
	if sw := s.switches.Load(); sw != nil {
		return sw.gen
	}
	return 0
}

// Enabled reports whether the API is served now.
func (a *API) Enabled() bool { return a.schema.Enabled(a.Capability) }

// Enabled reports whether the resource is served now: its API's capability and its
// own are on.
func (r *Resource) Enabled() bool {
	return (r.api == nil || r.api.Enabled()) && r.schema.Enabled(r.Capability)
}

// Enabled reports whether the noun is served now.
func (n *Noun) Enabled() bool {
	return (n.api == nil || n.api.Enabled()) && n.schema.Enabled(n.Capability)
}
