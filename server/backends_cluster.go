//go:build !nocluster

package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/postgres"
	"github.com/restkit/restkit/redislimit"
	"github.com/restkit/restkit/s3blob"
)

// The scale-out backends. A build with -tags nocluster leaves them (and their
// client libraries, about half the binary) out: backends_nocluster.go.

func openPostgres(ctx context.Context, c *Config, b *backends) error {
	opts := []postgres.Option{postgres.WithStatementTimeout(c.PostgresStatementTimeout)}
	if c.PostgresMaxConns > 0 {
		opts = append(opts, postgres.WithMaxConns(c.PostgresMaxConns))
	}
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pg, err := postgres.Open(octx, c.Postgres, opts...)
	if err != nil {
		return fmt.Errorf("opening PostgreSQL (--postgres): %w", err)
	}
	b.store, b.shared = pg, true
	b.closers = append(b.closers, pg.Close)
	b.ready = append(b.ready, httpapi.ReadyCheck{Name: "store", Check: pg.Ping})
	return nil
}

func openS3(url string, b *backends) func(context.Context) (restkit.BlobStore, error) {
	return func(ctx context.Context) (restkit.BlobStore, error) {
		s, err := s3blob.Open(ctx, url)
		if err != nil {
			return nil, fmt.Errorf("opening the S3 blob store (--s3): %w", err)
		}
		// Collecting unreferenced blobs is safe only among nodes of one metadata store.
		if err := s.Claim(ctx, b.id); err != nil {
			return nil, fmt.Errorf("opening the S3 blob store (--s3): %w", err)
		}
		b.ready = append(b.ready, httpapi.ReadyCheck{Name: "blobs", Check: s.Ping})
		return s, nil
	}
}

func openRedis(ctx context.Context, c *Config, b *backends, log *slog.Logger, onLimiterError func(error)) error {
	// go-redis logs each failed dial on its own; the limiter already says, at most
	// every few seconds, that Redis is down: keep go-redis's lines for --debug.
	redis.SetLogger(redisLogger{log})
	rl, err := redislimit.Open(c.Redis, redislimit.Options{FailOpen: !c.RedisFailClosed, Logger: log, OnError: onLimiterError})
	if err != nil {
		return fmt.Errorf("opening Redis (--redis): %w", err)
	}
	b.limiter = rl
	b.closers = append(b.closers, rl.Close)
	b.ready = append(b.ready, httpapi.ReadyCheck{Name: "limiter", Check: rl.Ping, Degrades: !c.RedisFailClosed})
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rl.Ping(pctx); err != nil {
		// Not fatal: the limiter fails open or closed as configured, and /readyz says so.
		log.Warn("Redis does not answer yet", "error", errors.Unwrap(err))
	}
	return nil
}

// redisLogger sends go-redis's own log lines to the debug level.
type redisLogger struct{ log *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, v ...any) {
	l.log.DebugContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}
