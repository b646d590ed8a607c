package restkit

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// OnDelete says what deleting a record does to the records whose relation refers to it.
type OnDelete string

const (
	// Restrict refuses the delete (Conflict, naming how many records refer to it and
	// from where) while any record refers to the target. The default.
	Restrict OnDelete = "restrict"
	// Cascade deletes the referring records in the same transaction (with their own
	// history tombstones, and their own referrers' rules applied in turn).
	Cascade OnDelete = "cascade"
	// SetNull clears the reference: a single relation becomes null (it must be
	// nullable), a many relation loses the key; either is a new revision of the
	// referring record.
	SetNull OnDelete = "set_null"
)

// Reference is one relation field pointing at a resource: the field, and the
// resource and API that declare it.
type Reference struct {
	API      *API
	Resource *Resource
	Field    *Field
}

// Target is the resource a relation refers to (nil for other fields, and before
// Prepare).
func (f *Field) Target() *Resource { return f.target }

// TargetAPI is the API of the relation's target.
func (f *Field) TargetAPI() *API { return f.targetAPI }

// Referrers lists the relations that point at r, in declaration order: what a delete
// of one of r's records must look at.
func (r *Resource) Referrers() []Reference { return r.referrers }

// Relations lists r's own relation fields, in declaration order.
func (r *Resource) Relations() []*Field {
	var out []*Field
	for _, f := range r.Fields {
		if f.Type == TypeRelation {
			out = append(out, f)
		}
	}
	return out
}

// StorageType is the type a field's values are kept as: a single relation is kept as
// its target's key (integer or string), a many relation as an array; every other
// field as its own type.
func (f *Field) StorageType() FieldType {
	if f.Type != TypeRelation {
		return f.Type
	}
	if f.Many {
		return TypeArray
	}
	if f.target != nil {
		return f.target.KeyField().Type
	}
	return TypeString
}

// DeclaredType is the field's type as stores record it to notice a change: the type,
// and for a relation its cardinality and target ("relation:authors",
// "relation[]:tags"), for an array its items ("array:string").
func (f *Field) DeclaredType() string {
	switch f.Type {
	case TypeRelation:
		many := ""
		if f.Many {
			many = "[]"
		}
		target := f.To
		if f.target != nil {
			target = f.target.StoreName
		}
		return "relation" + many + ":" + target
	case TypeArray:
		return "array:" + string(f.Items)
	}
	return string(f.Type)
}

// prepareRelations resolves every relation's target, checks relation defaults, lists
// each resource's referrers, and refuses what cannot work: a target that is not a
// resource, a relation in a noun, and cycles of cascading deletes between resources.
func (s *Schema) prepareRelations(add addFunc) {
	for i, a := range s.APIs {
		for _, n := range a.Nouns {
			for _, f := range n.Fields {
				if !f.Type.Scalar() {
					add(fmt.Sprintf("apis[%d].nouns.%s.fields.%s", i, n.Name, f.Name), "a noun's field is a single value; %s fields are for resources", f.Type)
				}
			}
		}
		for _, r := range a.Resources {
			r.referrers = nil
		}
	}
	for i, a := range s.APIs {
		for _, r := range a.Resources {
			for _, f := range r.Fields {
				if f.Type != TypeRelation || f.To == "" {
					continue
				}
				at := fmt.Sprintf("apis[%d].resources.%s.fields.%s", i, r.Name, f.Name)
				api, target := s.resolveTarget(a, f.To)
				if target == nil {
					add(at+".to", "%s", s.unknownTarget(a, f.To))
					continue
				}
				if target.KeyField() == nil {
					continue // reported at the target
				}
				f.target, f.targetAPI = target, api
				if f.Name == r.Key {
					add(at, "a key cannot be a relation")
				}
				prepareDefault(f, at, add)
				target.referrers = append(target.referrers, Reference{API: a, Resource: r, Field: f})
			}
		}
	}
	s.refuseCascadeCycles(add)
}

// resolveTarget finds the resource a relation's to: names: "name" in the API from,
// or "/base/name" (or "/name" at the root) in the API with that base.
func (s *Schema) resolveTarget(from *API, to string) (*API, *Resource) {
	api, name := from, to
	if strings.HasPrefix(to, "/") {
		i := strings.LastIndexByte(to, '/')
		base, n := to[:i], to[i+1:]
		api, name = nil, n
		for _, a := range s.APIs {
			if a.Base == base {
				api = a
			}
		}
		if api == nil {
			return nil, nil
		}
	}
	for _, r := range api.Resources {
		if r.Name == name {
			return api, r
		}
	}
	return nil, nil
}

// unknownTarget explains a to: that names no resource, with what it could have meant.
func (s *Schema) unknownTarget(from *API, to string) string {
	var here, elsewhere []string
	for _, a := range s.APIs {
		for _, r := range a.Resources {
			if a == from {
				here = append(here, r.Name)
			} else {
				elsewhere = append(elsewhere, a.Base+"/"+r.Name)
			}
		}
	}
	msg := fmt.Sprintf("%q is not a resource", to)
	if !strings.HasPrefix(to, "/") {
		for _, e := range elsewhere {
			if strings.HasSuffix(e, "/"+to) {
				return msg + fmt.Sprintf(" of this API; a relation to another API names it with its base: to: %s", e)
			}
		}
	}
	if len(here) > 0 {
		msg += "; this API has " + strings.Join(here, ", ")
	}
	if len(elsewhere) > 0 {
		msg += "; other APIs have " + strings.Join(elsewhere, ", ")
	}
	return msg
}

// refuseCascadeCycles refuses a cycle of on_delete: cascade between two or more
// resources (authors → books → authors): deleting any record of the cycle could then
// delete every record of every resource in it, which is never what a declaration
// means. A resource cascading to itself is allowed: a tree deleting its subtree.
func (s *Schema) refuseCascadeCycles(add addFunc) {
	edges := map[*Resource][]Reference{} // target → the cascading relations that point at it
	var all []*Resource
	where := map[*Resource]string{}
	for i, a := range s.APIs {
		for _, r := range a.Resources {
			all = append(all, r)
			where[r] = fmt.Sprintf("apis[%d].resources.%s", i, r.Name)
			for _, ref := range r.referrers {
				if ref.Field.OnDelete == Cascade && ref.Resource != r {
					edges[r] = append(edges[r], ref)
				}
			}
		}
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := map[*Resource]int{}
	var path []Reference
	reported := map[string]bool{}
	var visit func(r *Resource)
	visit = func(r *Resource) {
		state[r] = onPath
		for _, ref := range edges[r] {
			next := ref.Resource
			path = append(path, ref)
			switch state[next] {
			case onPath:
				var steps []string
				start := 0
				for i, p := range path {
					if p.Field.target == next {
						start = i
					}
				}
				for _, p := range path[start:] {
					steps = append(steps, p.Field.target.Name+" → "+p.Resource.Name+"."+p.Field.Name)
				}
				sort.Strings(steps) // one message per cycle, whichever resource it was found from
				msg := strings.Join(steps, ", ")
				if !reported[msg] {
					reported[msg] = true
					add(where[next]+".fields."+path[len(path)-1].Field.Name+".on_delete",
						"on_delete: cascade forms a cycle (%s): deleting one record could delete every record of these resources; make one of them restrict or set_null", msg)
				}
			case unseen:
				visit(next)
			}
			path = path[:len(path)-1]
		}
		state[r] = done
	}
	for _, r := range all {
		if state[r] == unseen {
			visit(r)
		}
	}
}

// Referrers finds, for a store inside its write transaction, the keys of the records
// of ref.Resource whose relation ref.Field refers to key: the records a delete of key
// affects through that relation.
type Referrers func(ref Reference, key any) ([]any, error)

// DeletePlan is what deleting one record does across resources, decided before
// anything is written: the records to delete (every record whose cascade reaches it,
// referrers before the records they refer to, so a database checking foreign keys
// after each statement never sees a dangling reference; the record asked for last)
// and the records that live on with references cleared (set_null).
type DeletePlan struct {
	Deletes []Removal
	Clears  []Clearing
}

// Removal is a record a DeletePlan deletes.
type Removal struct {
	Resource *Resource
	Key      any
}

// Clearing is a record a DeletePlan keeps, with the references to deleted records
// cleared: Fields maps each relation field to the keys it loses (a single relation
// becomes null; a many relation drops them).
type Clearing struct {
	Resource *Resource
	Key      any
	Fields   map[string][]any
}

// DeleteCheck decides whether a caller may carry out plan, beyond the record it asked
// to delete: the records its cascade deletes and those whose references it clears
// are theirs to delete or change only under their own resources' rules. The HTTP
// layer puts one in the write's context (WithDeleteCheck); every store calls it
// (CheckDelete) with the plan it made inside the transaction, before writing.
type DeleteCheck func(plan *DeletePlan) error

type deleteCheckKey struct{}

// WithDeleteCheck returns ctx carrying check for the deletes written under it.
func WithDeleteCheck(ctx context.Context, check DeleteCheck) context.Context {
	return context.WithValue(ctx, deleteCheckKey{}, check)
}

// CheckDelete runs the DeleteCheck of ctx on plan; nil when there is none.
func CheckDelete(ctx context.Context, plan *DeletePlan) error {
	if check, _ := ctx.Value(deleteCheckKey{}).(DeleteCheck); check != nil {
		return check(plan)
	}
	return nil
}

// PlanDelete decides what deleting the record of res with key does to the records
// that refer to it, following each relation's OnDelete: restrict refuses the delete
// (Conflict, saying how many records of which resource refer to it, and through
// which field), cascade deletes the referrers (and applies their own referrers'
// rules in turn), set_null clears the reference. find is asked once per deleted
// record and relation that points at its resource. Every store calls it, so all of
// them apply the same rules; it changes nothing itself.
func PlanDelete(res *Resource, key any, find Referrers) (*DeletePlan, error) {
	p := &planner{find: find, deleting: map[string]bool{}, planned: map[string]bool{}, clearing: map[string]*Clearing{}, mustClear: map[string]bool{}}
	if err := p.remove(res, key); err != nil {
		return nil, err
	}
	plan := &DeletePlan{Deletes: p.deletes}
	for _, id := range p.clearOrder {
		if c := p.clearing[id]; !p.deleting[id] || p.mustClear[id] { // a record deleted anyway needs no clearing, unless it is deleted too late
			plan.Clears = append(plan.Clears, *c)
		}
	}
	return plan, nil
}

type planner struct {
	find       Referrers
	deletes    []Removal
	deleting   map[string]bool // planned for deletion, or being planned
	planned    map[string]bool // planned: in deletes
	clearing   map[string]*Clearing
	clearOrder []string
	mustClear  map[string]bool // deleted too, but after a record it refers to: cleared first
}

func recordID(res *Resource, key any) string { return res.StoreName + "\x00" + Format(key) }

// remove plans the deletion of one record: its referrers first (post-order).
func (p *planner) remove(res *Resource, key any) error {
	id := recordID(res, key)
	if p.deleting[id] {
		if !p.planned[id] {
			// Reached again while its own referrers are being planned: records that
			// cascade refer to each other in a loop, and no order of deletes leaves no
			// dangling reference on the way.
			return &Error{Kind: Conflict,
				Message: fmt.Sprintf("the %s with %s %s is reached again through its own referrers: records refer to each other in a cycle; clear one of those references first, then delete", res.Singular, res.Key, Format(key))}
		}
		return nil
	}
	p.deleting[id] = true
	var refusals []string
	for _, ref := range res.referrers {
		keys, err := p.find(ref, key)
		if err != nil {
			return err
		}
		var others []any // a self-reference from the record itself does not count
		for _, k := range keys {
			if !(ref.Resource == res && Equal(k, key)) {
				others = append(others, k)
			}
		}
		if len(others) == 0 {
			continue
		}
		switch ref.Field.OnDelete {
		case Cascade:
			for _, k := range others {
				if err := p.remove(ref.Resource, k); err != nil {
					return err
				}
			}
		case SetNull:
			for _, k := range others {
				p.clear(ref, k, key)
			}
		default:
			what := ref.Resource.Singular
			if len(others) != 1 {
				what = ref.Resource.Name
			}
			refusals = append(refusals, fmt.Sprintf("%d %s (%s.%s)", len(others), what, ref.Resource.Name, ref.Field.Name))
		}
	}
	if len(refusals) > 0 {
		verb := "refer"
		if len(refusals) == 1 && strings.HasPrefix(refusals[0], "1 ") {
			verb = "refers"
		}
		return &Error{Kind: Conflict,
			Message: fmt.Sprintf("%s %s to the %s with %s %s; delete or change them first", strings.Join(refusals, " and "), verb, res.Singular, res.Key, Format(key)),
			Fields:  []FieldError{{Field: res.Key, Message: "is referred to by " + strings.Join(refusals, " and ")}}}
	}
	p.deletes = append(p.deletes, Removal{Resource: res, Key: key})
	p.planned[id] = true
	return nil
}

// clear plans the clearing of target from ref's field of the record with key k.
func (p *planner) clear(ref Reference, k, target any) {
	id := recordID(ref.Resource, k)
	if p.deleting[id] && !p.planned[id] {
		// A record deleted later than target (cascade one way, set_null back): its
		// reference must go before target does.
		p.mustClear[id] = true
	}
	c := p.clearing[id]
	if c == nil {
		c = &Clearing{Resource: ref.Resource, Key: k, Fields: map[string][]any{}}
		p.clearing[id] = c
		p.clearOrder = append(p.clearOrder, id)
	}
	c.Fields[ref.Field.Name] = append(c.Fields[ref.Field.Name], target)
}

// Cleared returns the values of a record after a Clearing: each single relation that
// lost its target becomes nil (absent), each many relation without the lost keys.
func (c *Clearing) Cleared(values map[string]any) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		out[k] = CloneValue(v)
	}
	for name, lost := range c.Fields {
		f := c.Resource.Field(name)
		if f == nil {
			continue
		}
		if !f.Many {
			delete(out, name)
			continue
		}
		list, _ := out[name].([]any)
		kept := list[:0:0]
		for _, k := range list {
			gone := false
			for _, l := range lost {
				gone = gone || Equal(k, l)
			}
			if !gone {
				kept = append(kept, k)
			}
		}
		out[name] = kept
	}
	return out
}

// Missing finds, for a store inside its write transaction, which of keys no record
// of target holds.
type Missing func(target *Resource, keys []any) ([]any, error)

// CheckReferences checks that every relation value of a record about to be stored
// names a record that exists: the first missing key of each field is an Invalid
// error naming the field and the key ("no author with id 7"). cur is the stored
// record (nil for a create): relations whose value did not change are not asked
// about again. Every store calls it before it writes.
func CheckReferences(res *Resource, values, cur map[string]any, missing Missing) error {
	var errs []FieldError
	for _, f := range res.Fields {
		if f.Type != TypeRelation || f.target == nil {
			continue
		}
		v, has := values[f.Name]
		if !has || v == nil || (cur != nil && Equal(v, cur[f.Name])) {
			continue
		}
		keys, ok := v.([]any)
		if !ok {
			keys = []any{v}
		}
		if len(keys) == 0 {
			continue
		}
		gone, err := missing(f.target, keys)
		if err != nil {
			return err
		}
		if len(gone) > 0 {
			errs = append(errs, FieldError{Field: f.Name,
				Message: fmt.Sprintf("refers to no %s with %s %s", f.target.Singular, f.target.Key, Format(gone[0]))})
		}
	}
	if len(errs) > 0 {
		return &Error{Kind: Invalid, Message: "a relation refers to a record that does not exist", Fields: errs}
	}
	return nil
}

// SubCollection is the list of the records that refer to one record of a resource
// through one relation: served at the record's URL followed by Name.
type SubCollection struct {
	Name string // the URL segment: "books", or "books_via_editor"
	Reference
}

// SubCollections lists r's sub-collections, one per relation pointing at r whose
// resource lists its records. The segment is the referring resource's path when one
// relation of it points here, or when several do, for the one named after r's
// singular (books.author for authors); the others are <path>_via_<field>
// (books_via_editor), as PocketBase names back-relations; so too when the path is
// taken by a record's own routes (revisions, events).
func (r *Resource) SubCollections() []SubCollection {
	var out []SubCollection
	for _, ref := range r.referrers {
		if !ref.Resource.Allows(GET, false) {
			continue
		}
		same, named := 0, false
		for _, other := range r.referrers {
			if other.Resource == ref.Resource {
				same++
				named = named || other.Field.Name == r.Singular
			}
		}
		name := ref.Resource.Path
		plain := same == 1 || (named && ref.Field.Name == r.Singular)
		if !plain || name == "revisions" || name == "events" {
			name += "_via_" + ref.Field.Name
		}
		out = append(out, SubCollection{Name: name, Reference: ref})
	}
	return out
}

// Absent returns the keys of want that found lacks, in want's order, comparing as
// Equal does: in linear time, for the thousands of keys a many relation may hold.
func Absent(want, found []any) []any {
	have := make(map[string]bool, len(found))
	for _, f := range found {
		have[keyText(f)] = true
	}
	var out []any
	for _, k := range want {
		if !have[keyText(k)] {
			out = append(out, k)
		}
	}
	return out
}

// keyText is a key's canonical text with its kind: 12 and "12" stay apart.
func keyText(k any) string {
	if s, ok := k.(string); ok {
		return "s" + s
	}
	return "n" + Format(k)
}
