//go:build nocluster

package server

import (
	"context"
	"errors"
	"log/slog"

	"github.com/restkit/restkit"
)

// A device build (go build -tags nocluster ./cmd/restkit) has SQLite, files and the
// in-process limiter only; the scale-out flags say so instead of doing nothing.

var errNoCluster = errors.New("this restkit was built with -tags nocluster: it has no PostgreSQL, S3 or Redis support; use a default build for several nodes")

func openPostgres(context.Context, *Config, *backends) error { return errNoCluster }

func openS3(string, *backends) func(context.Context) (restkit.BlobStore, error) {
	return func(context.Context) (restkit.BlobStore, error) { return nil, errNoCluster }
}

func openRedis(context.Context, *Config, *backends, *slog.Logger, func(error)) error {
	return errNoCluster
}
