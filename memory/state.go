package memory

import (
	"context"
	"slices"

	"github.com/restkit/restkit"
)

var _ restkit.StateStore = (*Store)(nil)

// ReadState returns the value called name (restkit.StateStore).
func (s *Store) ReadState(ctx context.Context, name string) ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.state[name]), nil
}

// WriteState changes the value called name under the store's write lock.
func (s *Store) WriteState(ctx context.Context, name string, change func(cur []byte) ([]byte, error)) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, err := change(slices.Clone(s.state[name]))
	if err != nil {
		return nil, err
	}
	if next == nil {
		delete(s.state, name)
		return nil, nil
	}
	s.state[name] = slices.Clone(next)
	return next, nil
}
