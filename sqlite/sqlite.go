package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Store is a restkit.Store on one SQLite file. It is safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB // the writer: one connection, IMMEDIATE transactions
	r    *sql.DB // the readers: query_only connections

	tables atomic.Pointer[map[string]*table] // by StoreName; replaced by Migrate
	mu     sync.Mutex                        // serialises Migrate

	stmtMu sync.Mutex
	stmts  []*sql.Stmt // every statement prepared, closed by Close

	nounFind  *sql.Stmt // reader
	nounRead  *sql.Stmt // writer
	nounWrite *sql.Stmt // writer

	eventInsert *sql.Stmt // writer (events.go)
	eventRead   *sql.Stmt // reader
	notify      *restkit.Notifier
	noEvents    bool // the benchmarks' baseline: writes append no event

	wr writer // the queue of the writer goroutine, which group-commits record and noun writes (writer.go)

	closeOnce sync.Once
	closeErr  error
}

var _ restkit.Store = (*Store)(nil)

// Option configures Open.
type Option func(*options)

type options struct {
	readers     int
	busyTimeout time.Duration
}

// WithReaders sets the size of the reader pool; the default is max(4, 2×GOMAXPROCS).
func WithReaders(n int) Option { return func(o *options) { o.readers = n } }

// WithBusyTimeout sets how long a connection waits for a lock held by another
// process before failing with SQLITE_BUSY; the default is 5s. The store's own writes
// never wait on each other in SQLite: they queue for the single writer connection.
func WithBusyTimeout(d time.Duration) Option { return func(o *options) { o.busyTimeout = d } }

const metaSQL = `
CREATE TABLE IF NOT EXISTS _restkit_fields (
	store_name TEXT NOT NULL,
	field      TEXT NOT NULL,
	type       TEXT NOT NULL,
	position   INTEGER NOT NULL,
	is_key     INTEGER NOT NULL,
	spec       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (store_name, field)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS _restkit_nouns (
	name    TEXT PRIMARY KEY NOT NULL,
	state   TEXT NOT NULL,
	rev     INTEGER NOT NULL,
	created TEXT NOT NULL,
	updated TEXT NOT NULL
) STRICT, WITHOUT ROWID;
` + artefactSQL + eventsSQL + stateSQL

// Open opens (creating if needed) the database file at path, switches it to WAL
// and prepares the store's own tables. Call Migrate before using resources. The path
// must name a file: ":memory:", "file:" URIs and names holding '?' are refused.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{readers: max(4, 2*runtime.GOMAXPROCS(0)), busyTimeout: 5 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, restkit.Errorf(restkit.Invalid, "sqlite: %q is not a database file path", path)
	}
	if err := private(path); err != nil {
		return nil, wrap("sqlite.Open", err)
	}
	busy := fmt.Sprintf("_pragma=busy_timeout(%d)", o.busyTimeout.Milliseconds())
	s := &Store{path: path, notify: restkit.NewNotifier()}
	var err error
	// The writer sets WAL first: the mode is stored in the file, so the readers,
	// opened afterwards, find it there.
	s.w, err = sql.Open("sqlite", path+"?"+busy+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		return nil, wrap("sqlite.Open", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	fail := func(err error) (*Store, error) {
		s.w.Close()
		if s.r != nil {
			s.r.Close()
		}
		return nil, wrap("sqlite.Open", err)
	}
	ctx := context.Background()
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fail(err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fail(fmt.Errorf("%s: journal_mode is %q, not wal (does the file system support shared memory?)", path, mode))
	}
	if _, err := s.w.ExecContext(ctx, metaSQL); err != nil {
		return fail(err)
	}
	s.r, err = sql.Open("sqlite", path+"?"+busy+"&_pragma=foreign_keys(1)&_pragma=query_only(1)")
	if err != nil {
		return fail(err)
	}
	s.r.SetMaxOpenConns(o.readers)
	s.r.SetMaxIdleConns(o.readers)
	s.r.SetConnMaxLifetime(0)
	s.r.SetConnMaxIdleTime(0)
	if err := s.r.PingContext(ctx); err != nil {
		return fail(err)
	}
	if s.nounFind, err = s.prepare(ctx, s.r, `SELECT `+sqlstore.NounColumns+` FROM _restkit_nouns WHERE name = ?`); err != nil {
		return fail(err)
	}
	if s.nounRead, err = s.prepare(ctx, s.w, `SELECT `+sqlstore.NounColumns+` FROM _restkit_nouns WHERE name = ?`); err != nil {
		return fail(err)
	}
	if s.nounWrite, err = s.prepare(ctx, s.w, `INSERT INTO _restkit_nouns (name, state, rev, created, updated) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET state = excluded.state, rev = excluded.rev, created = excluded.created, updated = excluded.updated`); err != nil {
		return fail(err)
	}
	if err := s.prepareEvents(ctx); err != nil {
		return fail(err)
	}
	empty := map[string]*table{}
	s.tables.Store(&empty)
	s.startWriter()
	return s, nil
}

// private makes the database file readable and writable by its owner only (0600),
// creating it empty if it is missing (SQLite takes an empty file for a new database).
// SQLite gives the -wal and -shm files it creates the database file's mode, so they
// follow; files left by an older version with wider modes are narrowed. The records
// of an API are nobody else's business on a shared machine.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(p, perm&0o700); err != nil {
				return err
			}
		}
	}
	return nil
}

// prepare prepares a statement on db and remembers it for Close.
func (s *Store) prepare(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s.stmtMu.Lock()
	s.stmts = append(s.stmts, st)
	s.stmtMu.Unlock()
	return st, nil
}

// Close closes the statements and both pools. It may be called more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopWriter() // runs what is queued, then refuses writes
		s.stmtMu.Lock()
		for _, st := range s.stmts {
			st.Close()
		}
		s.stmts = nil
		s.stmtMu.Unlock()
		errR := s.r.Close()
		errW := s.w.Close()
		s.closeErr = wrap("sqlite.Close", errors.Join(errR, errW))
	})
	return s.closeErr
}

// tableOf returns the migrated table of res.
func (s *Store) tableOf(res *restkit.Resource, op string) (*table, error) {
	t := (*s.tables.Load())[res.StoreName]
	if t == nil {
		return nil, wrap(op, fmt.Errorf("resource %q is not in the migrated schema", res.StoreName))
	}
	return t, nil
}

// quote quotes an SQL identifier.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// sqlType is the STRICT column type of a kind: booleans are INTEGER 0/1, datetimes
// TEXT.
func sqlType(k sqlstore.Kind) string {
	switch k {
	case sqlstore.KInt, sqlstore.KBool:
		return "INTEGER"
	case sqlstore.KReal:
		return "REAL"
	}
	return "TEXT"
}

// encode converts a canonical value to what the column stores.
func encode(v any) any {
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1)
		}
		return int64(0)
	case time.Time:
		return sqlstore.FormatTime(x)
	case restkit.JSONText:
		return string(x)
	case []any:
		text, _ := sqlstore.EncodeJSON(x) // canonical items always encode
		return text
	}
	return v
}

// decode converts a column value (int64, float64, string; never nil) back to the
// canonical value of a field of kind k.
func decode(k sqlstore.Kind, v any) (any, error) {
	switch k {
	case sqlstore.KBool:
		if n, ok := v.(int64); ok {
			return n != 0, nil
		}
	case sqlstore.KTime:
		if s, ok := v.(string); ok {
			return sqlstore.ParseTime(s)
		}
	case sqlstore.KInt:
		if _, ok := v.(int64); ok {
			return v, nil
		}
	case sqlstore.KReal:
		switch x := v.(type) {
		case float64:
			return v, nil
		case int64:
			return float64(x), nil
		}
	case sqlstore.KText:
		switch x := v.(type) {
		case string:
			return v, nil
		case []byte:
			return string(x), nil
		}
	}
	return nil, fmt.Errorf("column holds %T, not a %s value", v, sqlType(k))
}

// constraintColumns returns the columns named by a UNIQUE or PRIMARY KEY constraint
// failure ("UNIQUE constraint failed: cars.model"), or nil for any other error.
func constraintColumns(err error, table string) []string {
	var se *msqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	if c := se.Code(); c != sqlite3.SQLITE_CONSTRAINT_UNIQUE && c != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return nil
	}
	msg := se.Error()
	const marker = "UNIQUE constraint failed: "
	i := strings.Index(msg, marker)
	if i < 0 {
		return []string{}
	}
	msg = msg[i+len(marker):]
	if j := strings.Index(msg, " ("); j >= 0 {
		msg = msg[:j]
	}
	var cols []string
	for _, part := range strings.Split(msg, ", ") {
		if name, ok := strings.CutPrefix(part, table+"."); ok {
			cols = append(cols, name)
		}
	}
	if cols == nil {
		cols = []string{}
	}
	return cols
}

// isUniqueFailure reports whether err is a UNIQUE constraint failure.
func isUniqueFailure(err error) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// Ping reports whether the database answers a read (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return wrap("sqlite.Ping", err)
	}
	return nil
}
