package restkit

import (
	"context"
	"fmt"
)

// Revision is one past (or the current) state of a record of a resource declared
// with History.
//
// Record holds the values, revision number and times of that state; a tombstone
// (Deleted) is the revision a delete wrote: its Rev is one past the deleted record's,
// its Updated is the time of the delete, and its Values are the record's last values,
// so that what was deleted stays visible.
type Revision struct {
	Record
	Deleted bool
	Actor   string // who made the change; "" until requests carry an identity
}

// HistoryStore is the optional ability of a Store to keep the revisions of resources
// declared with History; find it with a type assertion.
//
// For such a resource, WriteRecord appends every state it writes (the current one
// included) to the record's history in the same transaction, and a delete appends a
// tombstone. Revision numbers are unique per key for as long as the history is kept:
// a record created again after a delete continues from its tombstone's number (Rev =
// tombstone's Rev + 1) rather than starting at 1. With Resource.HistoryKeep > 0, each
// append drops the oldest revisions of the key beyond that many. Otherwise a history
// stays, also after the record is deleted, until PurgeHistory.
//
// Revisions written while History was off are not there: the history starts with
// the first write after it was turned on. Errors are *Error: NotFound as documented
// below, Invalid for a key of the wrong type, anything else Internal.
type HistoryStore interface {
	// ListRevisions returns a record's revisions newest first: up to limit (0: all)
	// with Rev < before (0: from the newest), and whether older ones exist. NotFound
	// when the key has no revisions at all (never written, purged, or a resource
	// without History).
	ListRevisions(ctx context.Context, res *Resource, key any, before int64, limit int) (revs []*Revision, more bool, err error)

	// FindRevision returns one revision of a record: NotFound when it is absent
	// (never written, pruned or purged).
	FindRevision(ctx context.Context, res *Resource, key any, rev int64) (*Revision, error)

	// PurgeHistory deletes every revision of a record, the current one's included;
	// the record itself, if it exists, is untouched and its next write starts the
	// history again. NotFound when there were none.
	PurgeHistory(ctx context.Context, res *Resource, key any) error
}

// NoRevisions is the error for a key without history: "no revisions of car with id 7".
func (r *Resource) NoRevisions(key any) error {
	return Errorf(NotFound, "no revisions of %s with %s %s", r.Singular, r.Key, Format(key))
}

// NoRevision is the error for an absent revision: "car with id 7 has no revision 3".
func (r *Resource) NoRevision(key any, rev int64) error {
	return Errorf(NotFound, "%s with %s %s has no revision %s", r.Singular, r.Key, Format(key), fmt.Sprint(rev))
}
