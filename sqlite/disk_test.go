package sqlite

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/restkit/restkit"
)

// TestFullDatabaseIsInsufficientStorage: when SQLite cannot grow the database
// (SQLITE_FULL: here through max_page_count, which fails a write exactly as a full disk
// does) a write is InsufficientStorage — a 507 — not Internal; nothing of it is kept;
// and once there is room again writes work without reopening the store.
func TestFullDatabaseIsInsufficientStorage(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "restkit.db"))
	defer s.Close()
	sc := cars(t, func(r *restkit.Resource) { r.History = true })
	noun := &restkit.Noun{Name: "note", Fields: []*restkit.Field{{Name: "text", Type: restkit.TypeString, Default: ""}}}
	sc.APIs[0].Nouns = []*restkit.Noun{noun}
	if err := sc.Prepare(); err != nil {
		t.Fatal(err)
	}
	mustMigrate(t, s, sc)
	res := sc.APIs[0].Resources[0]
	var pages int64
	if err := s.w.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.ExecContext(ctx, "PRAGMA max_page_count = "+strconv.FormatInt(pages, 10)); err != nil {
		t.Fatal(err)
	}
	long := string(make([]byte, 2000))
	var failed error
	var written int
	for i := 1; i <= 1000 && failed == nil; i++ {
		_, failed = s.WriteRecord(ctx, res, int64(i), func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: map[string]any{"model": "m" + long, "color": "c"}}, nil
		})
		if failed == nil {
			written++
		}
	}
	if !restkit.IsKind(failed, restkit.InsufficientStorage) {
		t.Fatalf("a write to a full database: %v, want InsufficientStorage", failed)
	}
	if msg := restkit.ErrorMessage(failed); msg == "internal error" {
		t.Errorf("the client is told %q", msg)
	}
	if _, err := s.FindRecord(ctx, res, int64(written+1)); !restkit.IsKind(err, restkit.NotFound) {
		t.Errorf("the failed write left a record: %v", err)
	}
	n, err := s.WriteNoun(ctx, noun, func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"text": long + long + long}}, nil
	})
	if !restkit.IsKind(err, restkit.InsufficientStorage) {
		t.Errorf("a noun write to a full database: %v %v, want InsufficientStorage", n, err)
	}

	// Space is freed: the next write works, on the same store.
	if _, err := s.w.ExecContext(ctx, "PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteRecord(ctx, res, int64(written+1), func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"model": "after", "color": "c"}}, nil
	}); err != nil {
		t.Fatalf("a write once there is room again: %v", err)
	}
}

// TestMigrateWritesNothingWhenNothingChanged: migrating a database to the schema it
// already has writes nothing at all (its WAL stays empty), so a server restarted on
// a full disk starts and serves reads.
func TestMigrateWritesNothingWhenNothingChanged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "restkit.db")
	sc := cars(t, func(r *restkit.Resource) {
		r.History = true
		field(r, "model").Unique = true
	})
	s := mustOpen(t, path)
	mustMigrate(t, s, sc)
	if _, err := s.WriteRecord(ctx, sc.APIs[0].Resources[0], int64(1), func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: map[string]any{"model": "Golf", "color": "red"}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, path)
	defer s.Close()
	if _, err := s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	walSize := func() int64 {
		fi, err := os.Stat(path + "-wal")
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	if n := walSize(); n != 0 {
		t.Fatalf("WAL holds %d bytes after a truncating checkpoint", n)
	}
	mustMigrate(t, s, sc)
	if n := walSize(); n != 0 {
		t.Fatalf("Migrate to the same schema wrote %d bytes to the WAL", n)
	}
}

// TestDatabaseFilesArePrivate: the database and its WAL and shared-memory files are
// readable by their owner only, and a database left with a wider mode is narrowed.
func TestDatabaseFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "restkit.db")
	check := func(when string) {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", when, err)
			}
			if perm := fi.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s: %s has mode %o, want 600", when, filepath.Base(p), perm)
			}
		}
	}
	s := mustOpen(t, path)
	mustMigrate(t, s, cars(t, nil))
	check("new database")
	s.Close()

	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		_ = os.Chmod(p, 0o644)
	}
	s = mustOpen(t, path)
	defer s.Close()
	check("reopened database made by an older version")
}
