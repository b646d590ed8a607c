//go:build nocluster

package main

import (
	"context"
	"errors"

	"github.com/restkit/restkit"
)

var errNoCluster = errors.New("this restkit was built with -tags nocluster: it has no PostgreSQL or S3 support; use a default build")

func openPostgres(context.Context, string) (metaStore, error) { return nil, errNoCluster }

func openS3(context.Context, string) (restkit.BlobStore, error) { return nil, errNoCluster }
