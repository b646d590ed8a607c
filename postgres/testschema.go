package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// NewTestSchema creates a new, empty schema with a random name ("restkit_test_…") in
// the database at dbURL, for a test to keep its tables apart from every other test
// sharing the database. It returns a connection URL like dbURL whose connections use
// that schema (search_path=NAME, which pgx sends as a run-time parameter, so Open and
// a restkit process given --postgres both find it), and a function that drops the
// schema and everything in it; call it when the test is done.
//
// dbURL is a postgres:// URL or a key=value connection string; tests read it from
// RESTKIT_TEST_POSTGRES.
func NewTestSchema(ctx context.Context, dbURL string) (schemaURL string, drop func(context.Context) error, err error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "restkit_test_" + hex.EncodeToString(b[:])
	schemaURL, err = withSearchPath(dbURL, name)
	if err != nil {
		return "", nil, err
	}
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return fmt.Errorf("postgres: connect: %w", err)
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(ctx, "CREATE SCHEMA "+quote(name)); err != nil {
		return "", nil, fmt.Errorf("postgres: create schema %s: %w", name, err)
	}
	drop = func(ctx context.Context) error {
		if err := exec(ctx, "DROP SCHEMA IF EXISTS "+quote(name)+" CASCADE"); err != nil {
			return fmt.Errorf("postgres: drop schema %s: %w", name, err)
		}
		return nil
	}
	return schemaURL, drop, nil
}

// withSearchPath returns the connection string dbURL with search_path set to schema.
func withSearchPath(dbURL, schema string) (string, error) {
	if strings.HasPrefix(dbURL, "postgres://") || strings.HasPrefix(dbURL, "postgresql://") {
		u, err := url.Parse(dbURL)
		if err != nil {
			return "", fmt.Errorf("postgres: the connection URL cannot be parsed")
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	// key=value form: a later key wins.
	return strings.TrimSpace(dbURL) + " search_path=" + schema, nil
}
