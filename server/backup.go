package server

import (
	"context"
	"io"
	"path/filepath"

	"github.com/restkit/restkit/backup"
)

// backupFunc is what GET /_admin/backup serves (httpapi.Options.Backup): the archive
// package backup writes of the data directory, beside the live server as restkit
// backup --data makes it, its snapshot made in DATA/tmp (emptied at every start).
// Only SQLite and files are backed up this way; with PostgreSQL or S3 it is nil, and
// those are backed up with their own tools (README, "Backups").
func backupFunc(cfg *Config) func(context.Context, io.Writer) error {
	if cfg.Postgres != "" || cfg.S3 != "" {
		return nil
	}
	data := cfg.Data
	return func(ctx context.Context, w io.Writer) error {
		_, err := backup.Write(ctx, w, backup.WriteOptions{Data: data, TempDir: filepath.Join(data, "tmp")})
		return err
	}
}
