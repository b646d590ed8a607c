//go:build !nocluster

package main

import (
	"context"
	"fmt"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/postgres"
	"github.com/restkit/restkit/s3blob"
)

// The offline commands (migrate, verify) open the scale-out stores here; a build with
// -tags nocluster has stores_nocluster.go instead.

func openPostgres(ctx context.Context, url string) (metaStore, error) {
	s, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("opening PostgreSQL (--postgres): %w", err)
	}
	return s, nil
}

func openS3(ctx context.Context, url string) (restkit.BlobStore, error) {
	s, err := s3blob.Open(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("opening the S3 blob store (--s3): %w", err)
	}
	return s, nil
}
