package sqlstore

import (
	"fmt"
	"time"

	"github.com/restkit/restkit"
)

// RevisionColumns are the columns of a history table that ScanRevision reads, in its
// order; the key column comes before them.
const RevisionColumns = "rev, deleted, actor, state, created, updated"

// ScanRevision scans a row of RevisionColumns, decoding the values through the
// resource's current declaration (values of fields no longer declared are dropped).
// The row's own error (no rows) comes back as it is.
func ScanRevision(row Scanner, res *restkit.Resource) (*restkit.Revision, error) {
	var state, created, updated string
	rev := &restkit.Revision{}
	if err := row.Scan(&rev.Rev, &rev.Deleted, &rev.Actor, &state, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if rev.Values, err = restkit.DecodeState(state, res.Field); err != nil {
		return nil, fmt.Errorf("%s history: state of rev %d: %w", res.StoreName, rev.Rev, err)
	}
	if rev.Created, err = ParseTime(created); err != nil {
		return nil, err
	}
	if rev.Updated, err = ParseTime(updated); err != nil {
		return nil, err
	}
	return rev, nil
}

// Tombstone is the revision a delete of a record (at curRev, created curCreated,
// with curValues) appends to its history.
func Tombstone(curRev int64, curCreated time.Time, curValues map[string]any) *restkit.Revision {
	return &restkit.Revision{Record: restkit.Record{Values: curValues, Rev: curRev + 1, Created: curCreated, Updated: time.Now().UTC()}, Deleted: true}
}
