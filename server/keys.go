package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// cursorKey is the key that signs paging cursors: kept in PostgreSQL when the store
// is shared (every node must accept the cursors of the others), else in the data
// directory; made on first start either way, so cursors stay valid across restarts.
func (b *backends) cursorKey(ctx context.Context, dir string) ([]byte, error) {
	return b.sharedKey(ctx, dir, "cursor-key", "cursor.key", "cursor")
}

// sessionKey signs the web console's session cookies (httpapi/session.go), kept like
// the cursor key: a browser signed in on one node is signed in on all of them, and
// stays signed in across a restart.
func (b *backends) sessionKey(ctx context.Context, dir string) ([]byte, error) {
	return b.sharedKey(ctx, dir, "session-key", "session.key", "session")
}

// sharedKey is a 32-byte key named name in a shared store, else in the file file of
// the data directory; what names it in errors.
func (b *backends) sharedKey(ctx context.Context, dir, name, file, what string) ([]byte, error) {
	if s, ok := b.store.(interface {
		Secret(ctx context.Context, name string, size int) ([]byte, error)
	}); ok && b.shared {
		key, err := s.Secret(ctx, name, 32)
		if err != nil {
			return nil, fmt.Errorf("reading the shared %s key: %w", what, err)
		}
		return key, nil
	}
	key, err := keyFile(dir, file, 32)
	if err != nil {
		return nil, fmt.Errorf("the %s key: %w", what, err)
	}
	return key, nil
}

// keyFile reads size random bytes kept in dir/name, making them on first use (0600,
// written to a temporary file and renamed, so a crash never leaves half a key).
func keyFile(dir, name string, size int) ([]byte, error) {
	path := filepath.Join(dir, name)
	key, err := os.ReadFile(path)
	if err == nil && len(key) == size {
		return key, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	key = make([]byte, size)
	_, _ = rand.Read(key)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, key, 0o600); err != nil {
		return nil, fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("writing %s: %w", name, err)
	}
	return key, nil
}
