package server

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/fsblob"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/ratelimit"
	"github.com/restkit/restkit/sqlite"
)

// metaStore is what serve needs of a store: records, artefact metadata, a schema
// migration at start, and Close.
type metaStore interface {
	restkit.Store
	restkit.ArtefactStore
	Migrate(ctx context.Context, s *restkit.Schema) error
	Close() error
}

// backends are the store, blob store and limiter serve runs on: SQLite, files and an
// in-process limiter under the data directory by default; PostgreSQL, S3 and Redis
// when their URLs are given (any of them alone too).
type backends struct {
	store   metaStore
	blobs   func(ctx context.Context) (restkit.BlobStore, error) // opened only when artefacts are served
	limiter ratelimit.Limiter                                    // nil: in-process, made by httpapi when limits are declared
	ready   []httpapi.ReadyCheck
	closers []func() error
	shared  bool   // the store is shared by several nodes (PostgreSQL)
	id      string // the metadata store's id (storeID), set before blobs is called
}

// storeID names the metadata store, for the blob store to check it serves only this
// one (s3blob.Store.Claim): kept in PostgreSQL when shared, else in the data directory.
func (b *backends) storeID(ctx context.Context, dir string) (string, error) {
	if s, ok := b.store.(interface {
		Secret(ctx context.Context, name string, size int) ([]byte, error)
	}); ok && b.shared {
		id, err := s.Secret(ctx, "store-id", 16)
		if err != nil {
			return "", fmt.Errorf("reading the store id: %w", err)
		}
		return "postgres-" + hex.EncodeToString(id), nil
	}
	id, err := keyFile(dir, "store.id", 16)
	if err != nil {
		return "", err
	}
	return "sqlite-" + hex.EncodeToString(id), nil
}

func (b *backends) Close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		_ = b.closers[i]()
	}
}

// openBackends opens what c names. On error, whatever was opened is closed.
func openBackends(ctx context.Context, c *Config, log *slog.Logger, onLimiterError func(error)) (_ *backends, err error) {
	b := &backends{}
	defer func() {
		if err != nil {
			b.Close() // b, not the nil being returned
		}
	}()
	if c.Postgres != "" {
		if err := openPostgres(ctx, c, b); err != nil {
			return nil, err
		}
	} else {
		lite, err := sqlite.Open(filepath.Join(c.Data, "restkit.db"))
		if err != nil {
			return nil, fmt.Errorf("opening the database: %w", err)
		}
		b.store = lite
		b.closers = append(b.closers, lite.Close)
		b.ready = append(b.ready, httpapi.ReadyCheck{Name: "store", Check: lite.Ping})
	}
	if c.S3 != "" {
		b.blobs = openS3(c.S3, b)
	} else {
		data := c.Data
		b.blobs = func(context.Context) (restkit.BlobStore, error) {
			s, err := fsblob.Open(data)
			if err != nil {
				return nil, fmt.Errorf("opening the blob store: %w", err)
			}
			return s, nil
		}
	}
	if c.Redis != "" {
		if err := openRedis(ctx, c, b, log, onLimiterError); err != nil {
			return nil, err
		}
	}
	return b, nil
}
