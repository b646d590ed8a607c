// Package memory is a restkit.Store that keeps everything in process memory.
//
// It exists for tests and small demos: it needs no files, starts empty and forgets
// everything on exit. It is also the executable reading of the Store contract — the
// conformance suite (package storetest) runs against it and against package sqlite,
// so the two behave the same in every case the suite covers.
//
// # How it works
//
// One sync.RWMutex guards all data. Reads take the read lock; WriteRecord and
// WriteNoun take the write lock for the whole read-modify-write, Change included,
// which is what makes a Change atomic (a Change must be quick and must not call the
// store). Each resource is a map from its canonical key (int64 or string) to a record,
// plus, for every unique field, a map from value to key that is checked and updated
// under the same lock.
//
// Records are cloned on the way in and on the way out, so callers may change what
// they pass or receive without touching the store.
//
// ListRecords filters every record of the resource, sorts the matches with
// restkit.Compare (nil first in ascending order, last in descending) and then cuts the
// page: O(n log n) per call. That is fine for the sizes this store is meant for; use
// package sqlite for anything larger.
//
// # Behaviour shared with package sqlite
//
//   - A nil value is stored as null and reads back absent from Record.Values.
//   - Filters: comparisons against an unset field are false, except OpNull and OpNe
//     (ne means "is distinct from": a null field matches ne v).
//   - A Change returning an error leaves the store untouched and its error is returned
//     as it is.
//   - A unique value already taken gives a Conflict *restkit.Error whose Fields name
//     the field ("is already taken").
package memory
