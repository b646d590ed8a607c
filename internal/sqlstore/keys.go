package sqlstore

import "github.com/restkit/restkit"

// KeysTable is the table of the SQL stores' key counts (restkit.KeyAllocator): one row
// per resource whose integer key the store generates, holding the last key handed out.
// Migrate creates it when a resource first needs it, and a row only grows.
const KeysTable = "_restkit_keys"

// CheckAllocation refuses (Invalid) an allocation of n keys of res when res does not
// generate integer keys or n < 1.
func CheckAllocation(res *restkit.Resource, n int) error {
	if !res.SequentialKeys() {
		return restkit.Errorf(restkit.Invalid, "resource %s does not generate integer keys", res.Name)
	}
	if n < 1 {
		return restkit.Errorf(restkit.Invalid, "cannot allocate %d keys", n)
	}
	return nil
}
