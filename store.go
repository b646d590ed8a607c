package restkit

import (
	"context"
	"fmt"
	"time"
)

// Change decides a write from the current record (nil when absent). It returns the
// record to store, or nil to delete cur, or an error to abort with nothing written.
// The store calls it inside its transaction with the record locked, so a
// read-modify-write through a Change is atomic: concurrent writers to one key are
// serialised and none loses the other's update. A Change must be quick and must not
// call the store, and it may be called more than once for one write (a store may run
// a transaction again after a deadlock): only its last call counts.
type Change func(cur *Record) (next *Record, err error)

// Store keeps the records of resources and the state of nouns.
//
// Errors are *Error: NotFound for an absent record, Conflict for a key or unique
// value already taken (naming the field), Invalid for a declaration the store cannot
// adopt (Migrate), and whatever kind a Change returned; anything else is Internal.
type Store interface {
	// Migrate prepares storage for a prepared Schema: creates what is missing and
	// applies additive changes. It refuses destructive ones (a field removed or
	// retyped while data may depend on it) with an Invalid error that says what to do.
	Migrate(ctx context.Context, s *Schema) error

	// FindRecord returns the record with the key.
	FindRecord(ctx context.Context, res *Resource, key any) (*Record, error)

	// ListRecords returns one page of the records matching q (a Limit of 0 or less
	// means no limit). Total counts every row matching the filters, whatever the
	// cursor, read in the same snapshot as the page.
	ListRecords(ctx context.Context, res *Resource, q *Query) (*Page, error)

	// WriteRecord runs change on the record with the key and stores its decision.
	// Stamps: the store sets Rev (cur.Rev+1, or 1 for a new record) whatever next
	// says; a zero next.Updated becomes the write time; a zero next.Created keeps
	// cur's, or equals Updated for a new record; times come back in UTC. It returns
	// what it stored, or nil after a delete. A change returning nil when cur is nil
	// writes nothing and returns (nil, nil). Values of nil are stored as null and
	// come back absent from Values.
	WriteRecord(ctx context.Context, res *Resource, key any, change Change) (*Record, error)

	// FindNoun returns the stored state of a noun, NotFound when never written.
	FindNoun(ctx context.Context, n *Noun) (*Record, error)

	// WriteNoun runs change on a noun's state (cur nil when never written) and stores
	// the result atomically, as WriteRecord does; change must not return nil.
	WriteNoun(ctx context.Context, n *Noun, change Change) (*Record, error)

	Close() error
}

// Stamp applies the stamping rules of Store.WriteRecord and WriteNoun to a record
// about to replace one at revision curRev (0 when there is none) created at curCreated:
// Rev is curRev+1; a zero Updated becomes now; a zero Created keeps curCreated, or
// equals Updated for a new record; both end in UTC. Stores call it so that all of them
// stamp alike.
func (r *Record) Stamp(curRev int64, curCreated time.Time) {
	r.Rev = curRev + 1
	if r.Updated.IsZero() {
		r.Updated = time.Now()
	}
	r.Updated = r.Updated.UTC()
	if r.Created.IsZero() {
		r.Created = curCreated
		if curRev == 0 {
			r.Created = r.Updated
		}
	}
	r.Created = r.Created.UTC()
}

// SchemaChecker is a Store that can tell whether Migrate has prepared it for a schema
// (an optional ability: every store of this module has it). httpapi.New asks it, so a
// server is never built over tables that do not match its declaration.
type SchemaChecker interface {
	// Migrated returns nil when the last Migrate covered every resource of s with the
	// same declaration, else an Invalid error naming the first resource it did not.
	Migrated(s *Schema) error
}

// BatchWriter is a Store that can write several records in one transaction (an
// optional ability: found by type assertion; bulk create needs it).
type BatchWriter interface {
	// WriteRecords runs change for each key, in order, in one transaction: every
	// record is written, or, when any change or write fails, none is. That failure
	// comes back as a *BatchError naming its index.
	WriteRecords(ctx context.Context, res *Resource, keys []any, change func(i int, cur *Record) (*Record, error)) ([]*Record, error)
}

// KeyAllocator is a Store that can allocate the keys of resources whose integer key
// the server generates (Resource.SequentialKeys): 1, 2, 3… An optional ability,
// found by type assertion; creating records of such a resource needs it.
//
// A number is handed out once, for the lifetime of the store: never again, not after
// the record that took it is deleted (the highest included), not after the store is
// closed and opened again, not when the create it was allocated for fails (which
// leaves a gap, as an SQL sequence does). Allocations by concurrent callers, and on
// PostgreSQL by several nodes, get distinct numbers. Migrate starts the count after
// the highest key the resource's records (and, when kept, their history) hold, so
// a resource whose integer key becomes generated goes on from there; it never lowers
// the count.
type KeyAllocator interface {
	// AllocateKeys reserves n (at least 1) consecutive keys of res and returns the
	// first: the keys are first, first+1, … first+n-1, each higher than every key
	// allocated before. Errors: Invalid when res does not generate integer keys or
	// n < 1; Unavailable or Internal when the store fails.
	AllocateKeys(ctx context.Context, res *Resource, n int) (first int64, err error)
}

// BatchError is the failure of one item of a batch: the batch wrote nothing.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("item %d: %v", e.Index, e.Err) }
func (e *BatchError) Unwrap() error { return e.Err }

// CheckMigrated is SchemaChecker.Migrated for a store that keeps, per storage name,
// the Resource its last Migrate adopted (adopted returns nil for a name it never
// saw): every resource of s must have been adopted with the same key and fields.
func CheckMigrated(s *Schema, adopted func(storeName string) *Resource) error {
	for _, api := range s.APIs {
		for _, res := range api.Resources {
			had := adopted(res.StoreName)
			if had == nil || !sameStorage(had, res) {
				return Errorf(Invalid, "resource %s has not been migrated for this declaration: call Migrate with the schema before serving it", res.Name)
			}
		}
	}
	return nil
}

// sameStorage reports whether a and b need the same table: the same key and the same
// fields, of the same types, in the same order.
func sameStorage(a, b *Resource) bool {
	if a == b {
		return true
	}
	if a.Key != b.Key || len(a.Fields) != len(b.Fields) {
		return false
	}
	for i, f := range a.Fields {
		if g := b.Fields[i]; f.Name != g.Name || f.Type != g.Type {
			return false
		}
	}
	return true
}
