package restkit

import "context"

// StateStore is a Store that keeps the server's own small state: named values that
// are no record of any resource, shared by every node of the store — capability
// switches, webhook cursors and leases. Writing state appends no event. Every store of
// this module has it.
type StateStore interface {
	// ReadState returns the value called name; nil (and no error) when there is none.
	ReadState(ctx context.Context, name string) ([]byte, error)
	// WriteState runs change on the value called name (nil when there is none) and
	// stores what it returns, atomically: concurrent WriteStates of a name — on any
	// node — run one after the other. A nil result deletes the value; an error from
	// change writes nothing and comes back unchanged. It returns what was stored.
	WriteState(ctx context.Context, name string, change func(cur []byte) ([]byte, error)) ([]byte, error)
}
