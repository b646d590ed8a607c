package memory

import (
	"context"

	"github.com/restkit/restkit"
)

var _ restkit.KeyAllocator = (*Store)(nil)

// AllocateKeys reserves n consecutive keys of a resource whose integer key the store
// generates (restkit.KeyAllocator). The count of each resource lives beside its table,
// by storage name, under the store's lock; it only grows, also across Migrate.
func (s *Store) AllocateKeys(ctx context.Context, res *restkit.Resource, n int) (int64, error) {
	const op = "memory.AllocateKeys"
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.tableOf(res, op)
	if err != nil {
		return 0, err
	}
	if err := checkAllocation(t.res, n); err != nil {
		return 0, err
	}
	first := s.lastKey[res.StoreName] + 1
	s.lastKey[res.StoreName] += int64(n)
	return first, nil
}

// checkAllocation refuses an allocation for a resource that does not generate
// integer keys, or of fewer than one key.
func checkAllocation(res *restkit.Resource, n int) error {
	if !res.SequentialKeys() {
		return restkit.Errorf(restkit.Invalid, "resource %s does not generate integer keys", res.Name)
	}
	if n < 1 {
		return restkit.Errorf(restkit.Invalid, "cannot allocate %d keys", n)
	}
	return nil
}

// highestKey is the highest integer key t's records and history hold, 0 when none:
// where a resource whose key becomes generated goes on from.
func (t *table) highestKey() int64 {
	var top int64
	for k := range t.rows {
		if n, ok := k.(int64); ok {
			top = max(top, n)
		}
	}
	for k := range t.hist {
		if n, ok := k.(int64); ok {
			top = max(top, n)
		}
	}
	return top
}
