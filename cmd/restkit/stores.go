package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/backup"
	"github.com/restkit/restkit/fsblob"
	"github.com/restkit/restkit/sqlite"
)

// metaStore is what the offline commands (backup, restore, verify, migrate) need of
// a metadata store: SQLite under --data, or PostgreSQL.
type metaStore interface {
	restkit.Store
	restkit.MigrationPlanner
	backup.Referrer
	Close() error
}

// storeFlags are the flags that say where a deployment keeps its data, resolved like
// serve's: a flag, then its RESTKIT_* variable, then the default.
type storeFlags struct {
	Data, Postgres, S3 string
}

func (c *storeFlags) add(cmd *cobra.Command, withCluster bool) {
	f := cmd.Flags()
	f.StringVar(&c.Data, "data", defaultData, "data directory: the SQLite database and files (RESTKIT_DATA)")
	if withCluster {
		f.StringVar(&c.Postgres, "postgres", "", "PostgreSQL URL, when the records and artefact metadata are kept there (RESTKIT_POSTGRES)")
		f.StringVar(&c.S3, "s3", "", "S3 URL, when artefact content is kept there (RESTKIT_S3)")
	}
}

func (c *storeFlags) resolve(cmd *cobra.Command) {
	for _, p := range []struct {
		dst       *string
		flag, env string
	}{{&c.Data, "data", "RESTKIT_DATA"}, {&c.Postgres, "postgres", "RESTKIT_POSTGRES"}, {&c.S3, "s3", "RESTKIT_S3"}} {
		if cmd.Flags().Lookup(p.flag) == nil || cmd.Flags().Changed(p.flag) {
			continue
		}
		if v := os.Getenv(p.env); v != "" {
			*p.dst = v
		}
	}
}

// openMeta opens the metadata store: PostgreSQL with --postgres, else the SQLite
// database of --data, which must exist (an offline command never makes one).
func (c *storeFlags) openMeta(ctx context.Context) (metaStore, error) {
	if c.Postgres != "" {
		return openPostgres(ctx, c.Postgres)
	}
	if err := backup.CheckData(c.Data); err != nil {
		return nil, err
	}
	s, err := sqlite.Open(filepath.Join(c.Data, backup.DatabaseName))
	if err != nil {
		return nil, fmt.Errorf("opening the database: %w", err)
	}
	return s, nil
}

// openBlobs opens the blob store: S3 with --s3, else the files of --data.
func (c *storeFlags) openBlobs(ctx context.Context) (restkit.BlobStore, error) {
	if c.S3 != "" {
		return openS3(ctx, c.S3)
	}
	return fsblob.Open(c.Data)
}
