// Command seedmany is bench/paging.sh's seeder: it fills restkit's database with many
// cars directly in SQL, far faster than POSTing them (1,000,000 cars in seconds, not
// an hour).
//
//	seedmany -db DIR/restkit.db -n 1000000
//
// The file is prepared exactly as `restkit serve` prepares it — sqlite.Open, the
// built-in demo configuration, Store.Migrate — so the table, its columns and its
// indexes are restkit's own. The rows are then inserted with one prepared INSERT, in
// transactions of -batch rows, and the file is checkpointed and reopened with restkit's
// store as a check. Car id (1..n) is deterministic:
//
//	model  "M<id>"
//	color  one of 8 colours: colors[(id/35) % 8]
//	year   1990 + id % 35 (1990..2024, uniform; year >= 1995 keeps 6/7 of the cars)
//	_rev 1, _created = _updated = 2025-01-01T00:00:00Z + id ms
//
// The demo declares history: true, but no store keeps revisions yet, so a car
// written through POST has no more rows than these.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, as restkit's store uses

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/sqlite"
)

// Colors are the cars' colours, in the order colorOf cycles through them.
var Colors = []string{"red", "blue", "green", "black", "white", "silver", "yellow", "grey"}

func colorOf(id int) string { return Colors[(id/35)%len(Colors)] }
func yearOf(id int) int     { return 1990 + id%35 }

func main() {
	path := flag.String("db", "", "the database file to create (must not exist)")
	n := flag.Int("n", 1000000, "cars to insert, ids 1..n")
	batch := flag.Int("batch", 10000, "rows per transaction")
	flag.Parse()
	if *path == "" || *n < 1 || *batch < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), *path, *n, *batch); err != nil {
		fmt.Fprintln(os.Stderr, "seedmany:", err)
		os.Exit(1)
	}
}

// migrate opens path as `restkit serve` does and brings it in line with the demo.
func migrate(ctx context.Context, path string) error {
	cfg, err := config.Parse("demo.yaml", config.Demo())
	if err != nil {
		return err
	}
	store, err := sqlite.Open(path)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx, cfg.Schema); err != nil {
		store.Close()
		return err
	}
	return store.Close()
}

func run(ctx context.Context, path string, n, batch int) error {
	start := time.Now()
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists: seed into a new file", path)
	}
	if err := migrate(ctx, path); err != nil {
		return fmt.Errorf("preparing %s: %w", path, err)
	}
	// Bulk load: one connection; nothing is lost by synchronous=OFF here, since a crash
	// only means seeding again.
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=cache_size(-200000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var rows int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM "cars"`).Scan(&rows); err != nil {
		return fmt.Errorf("restkit's migration made no table cars: %w", err)
	}
	if rows != 0 {
		return fmt.Errorf("table cars already holds %d rows", rows)
	}
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for lo := 1; lo <= n; lo += batch {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO "cars" ("id", "model", "color", "year", _rev, _created, _updated) VALUES (?, ?, ?, ?, 1, ?, ?)`)
		if err != nil {
			tx.Rollback()
			return err
		}
		for id := lo; id < lo+batch && id <= n; id++ {
			stamp := base.Add(time.Duration(id) * time.Millisecond).Format(restkit.TimeLayout)
			if _, err := st.ExecContext(ctx, id, "M"+strconv.Itoa(id), colorOf(id), yearOf(id), stamp, stamp); err != nil {
				tx.Rollback()
				return fmt.Errorf("car %d: %w", id, err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	// Fold the WAL into the file, so a copy of restkit.db alone is the whole database.
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	// restkit's store must accept the file as its own: migrating again changes nothing.
	if err := migrate(ctx, path); err != nil {
		return fmt.Errorf("reopening %s with restkit's store: %w", path, err)
	}
	fmt.Fprintf(os.Stderr, "seedmany: %d cars in %v\n", n, time.Since(start).Round(time.Millisecond))
	return nil
}
