package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/restkit/restkit"
)

// Store is an in-memory restkit.Store. The zero value is not usable; call New.
type Store struct {
	mu      sync.RWMutex
	tables  map[string]*table          // by Resource.StoreName, filled by Migrate
	nouns   map[string]*restkit.Record // by Noun.StoreName
	lastKey map[string]int64           // by Resource.StoreName: the last key AllocateKeys handed out

	events  []restkit.Event // the change log, oldest first (events.go)
	seq     int64           // the last Seq handed out
	pending []restkit.Event // the events of the write under way, kept when it succeeds
	notify  *restkit.Notifier

	state map[string][]byte // ReadState/WriteState (state.go)
}

var (
	_ restkit.Store       = (*Store)(nil)
	_ restkit.BatchWriter = (*Store)(nil)
)

// table holds the records of one resource.
type table struct {
	res    *restkit.Resource           // the declaration adopted by the last Migrate
	rows   map[any]*restkit.Record     // canonical key → record
	unique map[string]map[any]any      // unique field → value → key
	hist   map[any][]*restkit.Revision // canonical key → its revisions, oldest first (see history.go)
}

// New returns an empty store.
func New() *Store {
	return &Store{tables: map[string]*table{}, nouns: map[string]*restkit.Record{}, lastKey: map[string]int64{}, notify: restkit.NewNotifier(), state: map[string][]byte{}}
}

// Close does nothing and may be called more than once; the data stays readable.
func (s *Store) Close() error { return nil }

// Migrate adopts the resources of a prepared schema. A resource seen for the first
// time starts empty. One seen before keeps its records: values of fields no longer
// declared, or no longer of the declared type, are dropped. It refuses (Invalid) a
// changed key while records exist and a new unique field whose values repeat.
// Nothing changes unless every resource can be adopted.
func (s *Store) Migrate(ctx context.Context, sc *restkit.Schema) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := map[string]*table{} // storage names are unique: Schema.Prepare refuses collisions
	lastKey := map[string]int64{}
	for _, api := range sc.APIs {
		for _, res := range api.Resources {
			if res.StoreName == "" || res.KeyField() == nil {
				return restkit.Errorf(restkit.Invalid, "resource %s: the schema is not prepared (call Schema.Prepare)", res.Name)
			}
			t, err := adopt(s.tables[res.StoreName], res)
			if err != nil {
				return err
			}
			next[res.StoreName] = t
			if res.SequentialKeys() {
				// Go on after the highest key held, never lower the count.
				lastKey[res.StoreName] = max(s.lastKey[res.StoreName], t.highestKey())
			}
		}
	}
	for name, t := range next {
		s.tables[name] = t
	}
	for name, n := range lastKey {
		s.lastKey[name] = n
	}
	return nil
}

// adopt builds the table of res from old (nil when new).
func adopt(old *table, res *restkit.Resource) (*table, error) {
	t := &table{res: res, rows: map[any]*restkit.Record{}, unique: map[string]map[any]any{}, hist: map[any][]*restkit.Revision{}}
	for _, f := range res.Fields {
		if f.Unique && f.Name != res.Key {
			t.unique[f.Name] = map[any]any{}
		}
	}
	if old == nil {
		return t, nil
	}
	t.hist = old.hist // kept as is, also when History is turned off; read through the new declaration
	ok, nk := old.res.KeyField(), res.KeyField()
	if len(old.rows) > 0 && (ok.Name != nk.Name || ok.Type != nk.Type) {
		return nil, restkit.Errorf(restkit.Invalid, "resource %s: the key changed from %q (%s) to %q (%s) while records exist",
			res.Name, ok.Name, ok.Type, nk.Name, nk.Type)
	}
	for key, rec := range old.rows {
		c := &restkit.Record{Values: make(map[string]any, len(rec.Values)), Rev: rec.Rev, Created: rec.Created, Updated: rec.Updated}
		for name, v := range rec.Values {
			f := res.Field(name)
			if f == nil {
				continue
			}
			if cv, verr := f.Canonical(v); verr == nil && cv != nil {
				c.Values[name] = cv
			}
		}
		for name, idx := range t.unique {
			v, has := c.Values[name]
			if !has {
				continue
			}
			if _, taken := idx[v]; taken {
				return nil, restkit.Errorf(restkit.Invalid, "resource %s: field %q is unique but the records hold duplicate values; remove the duplicates first, or leave the field non-unique", res.Name, name)
			}
			idx[v] = key
		}
		t.rows[key] = c
	}
	return t, nil
}

// tableOf returns the table of res; the caller holds s.mu.
func (s *Store) tableOf(res *restkit.Resource, op string) (*table, error) {
	t := s.tables[res.StoreName]
	if t == nil {
		return nil, restkit.Wrap(op, fmt.Errorf("resource %q is not in the migrated schema", res.StoreName))
	}
	return t, nil
}

// FindRecord returns a copy of the record with the key: NotFound when absent,
// Invalid when the key is not of the key's type.
func (s *Store) FindRecord(ctx context.Context, res *restkit.Resource, key any) (*restkit.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, err := s.tableOf(res, "memory.FindRecord")
	if err != nil {
		return nil, err
	}
	k, err := t.res.CanonicalKey(key)
	if err != nil {
		return nil, err
	}
	rec := t.rows[k]
	if rec == nil {
		return nil, t.res.NotFound(k)
	}
	return rec.Clone(), nil
}

// WriteRecord runs change on a copy of the current record under the store's write
// lock and stores its decision (see restkit.Store). A Change error is returned as it
// is; a unique value already taken is a Conflict naming the field; a value of an
// undeclared field or of the wrong type is Internal.
func (s *Store) WriteRecord(ctx context.Context, res *restkit.Resource, key any, change restkit.Change) (*restkit.Record, error) {
	const op = "memory.WriteRecord"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableOf(res, op)
	if err != nil {
		return nil, err
	}
	k, err := t.res.CanonicalKey(key)
	if err != nil {
		return nil, err
	}
	rec, err := s.write(ctx, t, k, change, op)
	s.settle(err)
	return rec, err
}

// WriteRecords writes all of the records or none (restkit.BatchWriter). The table is
// copied before the batch and put back if any item fails: O(table) per batch, the
// price of all-or-nothing without a transaction log, fine for this store's uses.
func (s *Store) WriteRecords(ctx context.Context, res *restkit.Resource, keys []any, change func(i int, cur *restkit.Record) (*restkit.Record, error)) ([]*restkit.Record, error) {
	const op = "memory.WriteRecords"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableOf(res, op)
	if err != nil {
		return nil, err
	}
	saved := t.snapshot()
	out := make([]*restkit.Record, len(keys))
	for i, key := range keys {
		k, err := t.res.CanonicalKey(key)
		if err == nil {
			out[i], err = s.write(ctx, t, k, func(cur *restkit.Record) (*restkit.Record, error) { return change(i, cur) }, op)
		}
		if err != nil {
			t.restore(saved)
			s.settle(err)
			return nil, &restkit.BatchError{Index: i, Err: err}
		}
	}
	s.settle(nil)
	return out, nil
}

// snapshot copies what a write can change; restore puts it back.
func (t *table) snapshot() *table {
	c := &table{res: t.res, rows: maps.Clone(t.rows), unique: make(map[string]map[any]any, len(t.unique)), hist: make(map[any][]*restkit.Revision, len(t.hist))}
	for f, idx := range t.unique {
		c.unique[f] = maps.Clone(idx)
	}
	for k, revs := range t.hist {
		c.hist[k] = slices.Clone(revs)
	}
	return c
}

func (t *table) restore(c *table) { t.rows, t.unique, t.hist = c.rows, c.unique, c.hist }

// write is one record's read-modify-write; the caller holds the write lock. A delete
// follows restkit.PlanDelete across tables; a write whose relations changed checks
// that their targets exist (restkit.CheckReferences).
func (s *Store) write(ctx context.Context, t *table, k any, change restkit.Change, op string) (*restkit.Record, error) {
	cur := t.rows[k]
	next, err := change(cur.Clone())
	if err != nil {
		return nil, err
	}
	if next == nil {
		if cur != nil {
			return nil, s.delete(ctx, t, k)
		}
		return nil, nil
	}
	rec, err := t.normalize(next, k, op)
	if err != nil {
		return nil, err
	}
	var curValues map[string]any
	if cur != nil {
		curValues = cur.Values
	}
	if err := restkit.CheckReferences(t.res, rec.Values, curValues, s.missing); err != nil {
		return nil, err
	}
	out, err := t.put(k, rec, cur)
	if err == nil {
		s.record(t.res.StoreName, k, cur, rec)
	}
	return out, err
}

// put stores rec as the record with key k, replacing cur (nil when new): stamps,
// unique values, history.
func (t *table) put(k any, rec, cur *restkit.Record) (*restkit.Record, error) {
	stampOver(rec, cur)
	if cur == nil {
		t.continueNumbering(k, rec)
	}
	for name, idx := range t.unique {
		v, has := rec.Values[name]
		if !has {
			continue
		}
		if owner, taken := idx[v]; taken && owner != k {
			return nil, t.res.Taken(name)
		}
	}
	if cur != nil {
		t.unindex(cur)
	}
	for name, idx := range t.unique {
		if v, has := rec.Values[name]; has {
			idx[v] = k
		}
	}
	t.rows[k] = rec
	t.appendRevision(k, &restkit.Revision{Record: *rec.Clone()})
	return rec.Clone(), nil
}

// delete deletes the record with key k of t and applies what its referrers'
// relations say (restkit.PlanDelete): a restricted delete changes nothing.
func (s *Store) delete(ctx context.Context, t *table, k any) error {
	plan, err := restkit.PlanDelete(t.res, k, s.referrers)
	if err == nil {
		err = restkit.CheckDelete(ctx, plan)
	}
	if err != nil {
		return err
	}
	now := time.Now()
	for _, c := range plan.Clears {
		ct := s.tables[c.Resource.StoreName]
		cur := ct.rows[c.Key]
		if cur == nil {
			continue
		}
		rec := &restkit.Record{Values: c.Cleared(cur.Values), Created: cur.Created, Updated: now}
		if _, err := ct.put(c.Key, rec, cur); err != nil {
			return err
		}
		s.record(ct.res.StoreName, c.Key, cur, rec)
	}
	for _, d := range plan.Deletes {
		dt := s.tables[d.Resource.StoreName]
		if cur := dt.rows[d.Key]; cur != nil {
			dt.unindex(cur)
			delete(dt.rows, d.Key)
			dt.appendTombstone(d.Key, cur)
			s.record(dt.res.StoreName, d.Key, cur, nil)
		}
	}
	return nil
}

// referrers is restkit.Referrers on the tables: the keys of ref.Resource's records
// whose ref.Field holds key.
func (s *Store) referrers(ref restkit.Reference, key any) ([]any, error) {
	t := s.tables[ref.Resource.StoreName]
	if t == nil {
		return nil, nil
	}
	var out []any
	for k, rec := range t.rows {
		switch v := rec.Values[ref.Field.Name].(type) {
		case nil:
		case []any:
			if slices.ContainsFunc(v, func(e any) bool { return restkit.Equal(e, key) }) {
				out = append(out, k)
			}
		default:
			if restkit.Equal(v, key) {
				out = append(out, k)
			}
		}
	}
	slices.SortFunc(out, restkit.Compare) // a stable order: the plan, and its messages, repeat
	return out, nil
}

// missing is restkit.Missing on the tables.
func (s *Store) missing(target *restkit.Resource, keys []any) ([]any, error) {
	t := s.tables[target.StoreName]
	var out []any
	for _, k := range keys {
		if t == nil || t.rows[k] == nil {
			out = append(out, k)
		}
	}
	return out, nil
}

func (t *table) unindex(rec *restkit.Record) {
	for name, idx := range t.unique {
		if v, has := rec.Values[name]; has {
			delete(idx, v)
		}
	}
}

// normalize returns a copy of next holding only canonical, non-nil values of
// declared fields and the key k. Anything else is an Internal error: Build produces
// canonical values, so a stray value is a programming error, not a client's.
func (t *table) normalize(next *restkit.Record, k any, op string) (*restkit.Record, error) {
	rec := &restkit.Record{Values: make(map[string]any, len(next.Values)), Created: next.Created, Updated: next.Updated}
	for name, v := range next.Values {
		f := t.res.Field(name)
		if f == nil {
			return nil, restkit.Wrap(op, fmt.Errorf("resource %s: value for undeclared field %q", t.res.Name, name))
		}
		cv, verr := f.Canonical(v)
		if verr != nil {
			return nil, restkit.Wrap(op, fmt.Errorf("resource %s: field %q: %T value %s", t.res.Name, name, v, verr.Message))
		}
		if cv != nil {
			rec.Values[name] = cv
		}
	}
	if got, has := rec.Values[t.res.Key]; has && !restkit.Equal(got, k) {
		return nil, restkit.Wrap(op, fmt.Errorf("resource %s: the change returned key %v for key %v", t.res.Name, got, k))
	}
	rec.Values[t.res.Key] = k
	return rec, nil
}

// FindNoun returns the state of a noun, NotFound when never written. Stored members
// whose field is no longer declared, or no longer of its type, are left out.
func (s *Store) FindNoun(ctx context.Context, n *restkit.Noun) (*restkit.Record, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec := s.nouns[n.StoreName]
	if rec == nil {
		return nil, restkit.Errorf(restkit.NotFound, "%s has no stored state", n.Name)
	}
	return nounView(n, rec), nil
}

// nounView copies rec keeping only values that fit n's declaration.
func nounView(n *restkit.Noun, rec *restkit.Record) *restkit.Record {
	c := &restkit.Record{Values: make(map[string]any, len(rec.Values)), Rev: rec.Rev, Created: rec.Created, Updated: rec.Updated}
	for name, v := range rec.Values {
		if f := n.Field(name); f != nil {
			if cv, verr := f.Canonical(v); verr == nil && cv != nil {
				c.Values[name] = cv
			}
		}
	}
	return c
}

// WriteNoun runs change on a copy of the noun's state (nil when never written) under
// the write lock and stores the result. A Change error is returned as it is; a nil
// result, an undeclared field or a value of the wrong type is Internal.
func (s *Store) WriteNoun(ctx context.Context, n *restkit.Noun, change restkit.Change) (*restkit.Record, error) {
	const op = "memory.WriteNoun"
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var cur *restkit.Record
	if stored := s.nouns[n.StoreName]; stored != nil {
		cur = nounView(n, stored)
	}
	next, err := change(cur.Clone())
	if err != nil {
		return nil, err
	}
	if next == nil {
		return nil, restkit.Wrap(op, fmt.Errorf("noun %s: the change returned no state", n.Name))
	}
	rec := &restkit.Record{Values: make(map[string]any, len(next.Values)), Created: next.Created, Updated: next.Updated}
	for name, v := range next.Values {
		f := n.Field(name)
		if f == nil {
			return nil, restkit.Wrap(op, fmt.Errorf("noun %s: value for undeclared field %q", n.Name, name))
		}
		cv, verr := f.Canonical(v)
		if verr != nil {
			return nil, restkit.Wrap(op, fmt.Errorf("noun %s: field %q: %T value %s", n.Name, name, v, verr.Message))
		}
		if cv != nil {
			rec.Values[name] = cv
		}
	}
	stampOver(rec, cur)
	s.nouns[n.StoreName] = rec
	s.record(n.StoreName, n.Name, cur, rec)
	s.settle(nil)
	return rec.Clone(), nil
}

// stampOver stamps rec as the successor of cur (nil when new): restkit.Record.Stamp.
func stampOver(rec, cur *restkit.Record) {
	if cur == nil {
		rec.Stamp(0, time.Time{})
		return
	}
	rec.Stamp(cur.Rev, cur.Created)
}

var _ restkit.SchemaChecker = (*Store)(nil)

// Migrated reports whether the last Migrate adopted every resource of sc.
func (s *Store) Migrated(sc *restkit.Schema) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return restkit.CheckMigrated(sc, func(name string) *restkit.Resource {
		if t := s.tables[name]; t != nil {
			return t.res
		}
		return nil
	})
}
