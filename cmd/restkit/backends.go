package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"restkit"
	"restkit/fsblob"
	"restkit/httpapi"
	"restkit/postgres"
	"restkit/ratelimit"
	"restkit/s3blob"
	"restkit/sqlite"
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
	shared  bool // the store is shared by several nodes (PostgreSQL)
}

func (b *backends) Close() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		_ = b.closers[i]()
	}
}

// openBackends opens what c names. On error, whatever was opened is closed.
func openBackends(ctx context.Context, c *serveConfig, log *slog.Logger, onLimiterError func(error)) (b *backends, err error) {
	b = &backends{}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if c.Postgres != "" {
		opts := []postgres.Option{postgres.WithStatementTimeout(c.PostgresStatementTimeout)}
		if c.PostgresMaxConns > 0 {
			opts = append(opts, postgres.WithMaxConns(c.PostgresMaxConns))
		}
		octx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		pg, err := postgres.Open(octx, c.Postgres, opts...)
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL (--postgres): %w", err)
		}
		b.store, b.shared = pg, true
		b.closers = append(b.closers, pg.Close)
		b.ready = append(b.ready, httpapi.ReadyCheck{Name: "store", Check: pg.Ping})
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
		url := c.S3
		b.blobs = func(ctx context.Context) (restkit.BlobStore, error) {
			s, err := s3blob.Open(ctx, url)
			if err != nil {
				return nil, fmt.Errorf("opening the S3 blob store (--s3): %w", err)
			}
			b.ready = append(b.ready, httpapi.ReadyCheck{Name: "blobs", Check: s.Ping})
			return s, nil
		}
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
		// go-redis logs each failed dial on its own; the limiter already says, at most
		// every few seconds, that Redis is down: keep go-redis's lines for --debug.
		redis.SetLogger(redisLogger{log})
		rl, err := ratelimit.OpenRedis(c.Redis, ratelimit.RedisOptions{FailOpen: !c.RedisFailClosed, Logger: log, OnError: onLimiterError})
		if err != nil {
			return nil, fmt.Errorf("opening Redis (--redis): %w", err)
		}
		b.limiter = rl
		b.closers = append(b.closers, rl.Close)
		b.ready = append(b.ready, httpapi.ReadyCheck{Name: "limiter", Check: rl.Ping})
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := rl.Ping(pctx); err != nil {
			// Not fatal: the limiter fails open or closed as configured, and /readyz says so.
			log.Warn("Redis does not answer yet", "error", errors.Unwrap(err))
		}
	}
	return b, nil
}

// redisLogger sends go-redis's own log lines to the debug level.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
