package sqlite

import (
	"errors"

	"github.com/restkit/restkit"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// wrap is restkit.Wrap with the SQLite failures a client can act on classified: a
// full disk (SQLITE_FULL, which SQLite also reports when a write of the database or
// its WAL meets ENOSPC) is InsufficientStorage, 507, and nothing was written (the
// transaction rolled back); a database locked by another process past the busy
// timeout is Unavailable, 503. Anything else is Internal. SQL and SQLite's messages
// stay in Err, for logs only.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *restkit.Error
	if errors.As(err, &e) {
		return err
	}
	var se *msqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff { // the primary code of an extended one
		case sqlite3.SQLITE_FULL:
			return &restkit.Error{Kind: restkit.InsufficientStorage, Op: op, Err: err,
				Message: "the server's disk is full, so nothing was written; try again once space has been freed"}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return &restkit.Error{Kind: restkit.Unavailable, Op: op, Err: err, Message: "the database is busy; try again"}
		}
	}
	return restkit.Wrap(op, err)
}
