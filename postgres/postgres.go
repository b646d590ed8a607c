package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Store is a restkit.Store on a PostgreSQL database, in the schema its connections'
// search_path names first. Several Stores — in one process or in several — may share
// one database: every read-modify-write locks what it changes in PostgreSQL itself.
// It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	schema string // current_schema() of the connections: where the tables are
	qs     string // schema, quoted, for the hints in refusals

	tables atomic.Pointer[map[string]*table] // by StoreName; replaced by Migrate
	mu     sync.Mutex                        // serialises this Store's Migrates

	closeOnce   sync.Once
	callTimeout time.Duration // the deadline of one store call (bound); 0: none
	lockState                 // the pool of digest locks (LockDigest), opened on first use

	notify     *restkit.Notifier // wakes Subscribe's callers (events.go)
	listenOnce sync.Once         // starts the LISTEN goroutine with the first subscriber
	stopListen context.CancelFunc
	noEvents   bool      // the benchmarks' baseline: writes append no event
	proofs     logProofs // what the change log's readers know to be final (events.go)
}

var (
	_ restkit.Store         = (*Store)(nil)
	_ restkit.BatchWriter   = (*Store)(nil)
	_ restkit.HistoryStore  = (*Store)(nil)
	_ restkit.ArtefactStore = (*Store)(nil)
)

// Option configures Open.
type Option func(*options)

type options struct {
	maxConns         int32
	statementTimeout time.Duration
}

// WithMaxConns sets the most connections the pool opens; the default is pgxpool's,
// max(4, GOMAXPROCS), or pool_max_conns from the URL. Every node of a cluster opens
// its own pool: keep nodes × max conns under the server's max_connections.
func WithMaxConns(n int) Option { return func(o *options) { o.maxConns = int32(n) } }

// WithStatementTimeout sets statement_timeout on every connection: a statement
// running (or waiting for a lock) longer fails with Unavailable instead of holding a
// request forever. The default is 30s; 0 leaves the server's setting. Migrate lifts
// it for its own transaction, which may build indexes on large tables.
func WithStatementTimeout(d time.Duration) Option {
	return func(o *options) { o.statementTimeout = d }
}

// DefaultStatementTimeout is the statement_timeout Open sets unless told otherwise.
const DefaultStatementTimeout = 30 * time.Second

const metaSQL = `
CREATE TABLE IF NOT EXISTS _restkit_fields (
	store_name text COLLATE "C" NOT NULL,
	field      text COLLATE "C" NOT NULL,
	type       text NOT NULL,
	position   integer NOT NULL,
	is_key     boolean NOT NULL,
	spec       text NOT NULL DEFAULT '',
	PRIMARY KEY (store_name, field)
);
CREATE TABLE IF NOT EXISTS _restkit_nouns (
	name    text COLLATE "C" PRIMARY KEY,
	state   text NOT NULL,
	rev     bigint NOT NULL,
	created text NOT NULL,
	updated text NOT NULL
);
CREATE TABLE IF NOT EXISTS _restkit_secrets (name text PRIMARY KEY, value bytea NOT NULL);
` + artefactSQL + eventsSQL + stateSQL + prunedSQL

// Open connects to the PostgreSQL database at url (a postgres:// URL or a key=value
// connection string, as libpq takes; search_path=NAME in it chooses the schema),
// checks that it answers and creates the store's own tables if they are missing. Call
// Migrate before using resources; Close when done.
//
// Errors: Invalid for a URL that cannot be parsed or a search_path that names no
// existing schema; Unavailable when the server cannot be reached; Internal otherwise.
// Messages never hold the password.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	const op = "postgres.Open"
	o := options{statementTimeout: DefaultStatementTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, &restkit.Error{Kind: restkit.Invalid, Op: op, Err: err, Message: "postgres: the connection URL cannot be parsed"}
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		// A database that does not answer must fail a request, not hold it for ever
		// (connect_timeout in the URL overrides this).
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	rp := cfg.ConnConfig.RuntimeParams
	if o.statementTimeout > 0 {
		rp["statement_timeout"] = strconv.FormatInt(o.statementTimeout.Milliseconds(), 10)
	}
	if rp["application_name"] == "" {
		rp["application_name"] = "restkit"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap(op, err)
	}
	s := &Store{pool: pool, notify: restkit.NewNotifier()}
	if o.statementTimeout > 0 {
		s.callTimeout = o.statementTimeout + min(o.statementTimeout, 10*time.Second)
	}
	fail := func(err error) (*Store, error) {
		pool.Close()
		return nil, err
	}
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fail(&restkit.Error{Kind: restkit.Unavailable, Op: op, Err: err, Message: "postgres: the database cannot be reached"})
	}
	if schema == nil {
		return fail(restkit.Errorf(restkit.Invalid, "postgres: the search_path names no existing schema to keep the tables in; create the schema or fix search_path"))
	}
	s.schema, s.qs = *schema, quote(*schema)
	// Several nodes may start at once on a new database: CREATE TABLE IF NOT EXISTS
	// is not safe against a concurrent one, so it runs under the schema's lock. And
	// only when something is missing: CREATE INDEX IF NOT EXISTS takes a SHARE lock
	// on its table even when the index exists, and a node starting while others write
	// artefacts would deadlock their transactions (it locks the tables in another order).
	var present bool
	if err := pool.QueryRow(ctx, `SELECT bool_and(to_regclass(n) IS NOT NULL) FROM unnest($1::text[]) AS n`, metaObjects).Scan(&present); err != nil {
		return fail(wrap(op, err))
	}
	if !present {
		if err := s.locked(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, metaSQL)
			return err
		}); err != nil {
			return fail(wrap(op, err))
		}
	}
	empty := map[string]*table{}
	s.tables.Store(&empty)
	return s, nil
}

// Close closes the pool, waiting for connections in use to be returned. It may be
// called more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.listenOnce.Do(func() {}) // no listener may start after this
		if s.stopListen != nil {
			s.stopListen()
		}
		s.pool.Close()
		if s.locks != nil {
			s.locks.Close()
		}
	})
	return nil
}

// bound gives a store call a deadline: the statement timeout plus a margin. The
// server enforces statement_timeout, but a server (or a network path) that stops
// answering without closing the connection would otherwise hold the request, and
// the connection, for as long as TCP takes to notice — minutes. Migrate and
// LockDigest wait for other nodes on purpose and are not bounded.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.callTimeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.callTimeout)
}

// Ping reports whether the database answers (for /readyz): nil, or Unavailable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return &restkit.Error{Kind: restkit.Unavailable, Op: "postgres.Ping", Err: err, Message: "the database is unavailable"}
	}
	return nil
}

// Schema returns the PostgreSQL schema the store keeps its tables in.
func (s *Store) Schema() string { return s.schema }

// locked runs fn in a transaction holding the schema's migration lock, then commits.
// The lock is a transaction-level advisory lock, released by the commit or rollback:
// a node that dies in the middle leaves nothing locked.
func (s *Store) locked(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	// DDL on big tables may take a while, and so may waiting for another node's.
	if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, s.lockKey("migrate")); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// metaObjects names every table and index metaSQL creates.
var metaObjects = func() []string {
	var out []string
	for _, m := range regexp.MustCompile(`CREATE (?:UNIQUE )?(?:TABLE|INDEX|SEQUENCE) IF NOT EXISTS (\w+)`).FindAllStringSubmatch(metaSQL, -1) {
		out = append(out, m[1])
	}
	return out
}()

// lockKey is the advisory lock key of a thing, named by its parts: a 64-bit FNV-1a
// hash of the schema and the parts. Advisory locks are per database, so the schema
// keeps stores in different schemas apart; two things sharing a hash only wait for
// each other, which costs time, never correctness.
func (s *Store) lockKey(parts ...string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s.schema))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return int64(h.Sum64())
}

// tableOf returns the migrated table of res.
func (s *Store) tableOf(res *restkit.Resource, op string) (*table, error) {
	t := (*s.tables.Load())[res.StoreName]
	if t == nil {
		return nil, restkit.Wrap(op, fmt.Errorf("resource %q is not in the migrated schema", res.StoreName))
	}
	return t, nil
}

// quote quotes an SQL identifier.
func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// quoteLiteral quotes a string constant (standard_conforming_strings is on in every
// supported PostgreSQL, so backslashes are ordinary).
func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// maxIdent is the longest identifier PostgreSQL keeps (NAMEDATALEN-1 bytes); longer
// ones are silently truncated, which could make two names one.
const maxIdent = 63

// shortName returns name when PostgreSQL can keep it whole, else a prefix of it and
// a hash of the whole, so that distinct long names stay distinct.
func shortName(name string) string {
	if len(name) <= maxIdent {
		return name
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	sum := fmt.Sprintf("~%016x", h.Sum64())
	cut := maxIdent - len(sum)
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + sum
}

// sqlType is the column type of a kind, as written in DDL and as tableColumns
// reports it back: text (and datetime, as restkit.TimeLayout text) COLLATE "C",
// bigint, double precision, boolean.
func sqlType(k sqlstore.Kind) string {
	switch k {
	case sqlstore.KInt:
		return "bigint"
	case sqlstore.KReal:
		return "double precision"
	case sqlstore.KBool:
		return "boolean"
	case sqlstore.KJSON:
		return "jsonb"
	}
	return `text COLLATE "C"`
}

// arrayType is the type of a parameter holding a list of the kind's values.
func arrayType(k sqlstore.Kind) string {
	switch k {
	case sqlstore.KInt:
		return "bigint[]"
	case sqlstore.KReal:
		return "double precision[]"
	case sqlstore.KBool:
		return "boolean[]"
	}
	return "text[]"
}

// encode converts a canonical value to what the column stores: JSON (json values,
// lists) as raw JSON, which pgx sends to a jsonb column as it is.
func encode(v any) any {
	switch x := v.(type) {
	case time.Time:
		return sqlstore.FormatTime(x)
	case restkit.JSONText:
		return json.RawMessage(x)
	case []any:
		text, _ := sqlstore.EncodeJSON(x) // canonical items always encode
		return json.RawMessage(text)
	}
	return v
}

// decode converts a column value (never nil) back to the canonical value of a field
// of kind k.
func decode(k sqlstore.Kind, v any) (any, error) {
	switch k {
	case sqlstore.KBool:
		if _, ok := v.(bool); ok {
			return v, nil
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
		if _, ok := v.(float64); ok {
			return v, nil
		}
	case sqlstore.KText:
		if _, ok := v.(string); ok {
			return v, nil
		}
	}
	return nil, fmt.Errorf("column holds %T, not a %s value", v, sqlType(k))
}

// textProblem says why PostgreSQL cannot hold s as text, or "": text is valid UTF-8
// (in a UTF8 database) and never holds NUL.
func textProblem(s string) string {
	switch {
	case !utf8.ValidString(s):
		return "must be valid UTF-8"
	case strings.IndexByte(s, 0) >= 0:
		return "must not contain NUL characters"
	}
	return ""
}

// prefixUpper returns the smallest string greater than every string starting with p
// in code point order (which is byte order of UTF-8, and so COLLATE "C" order), or
// false when there is none. It increments the last code point rather than the last
// byte, as SQLite's store does, because PostgreSQL refuses a parameter that is not
// valid UTF-8: "ü" (C3 BC) gives "ý" (C3 BD), and a trailing U+10FFFF is dropped and
// the code point before it incremented.
func prefixUpper(p string) (string, bool) {
	rs := []rune(p)
	for len(rs) > 0 {
		last := rs[len(rs)-1]
		switch {
		case last >= utf8.MaxRune:
			rs = rs[:len(rs)-1]
			continue
		case last == 0xD7FF: // the surrogates cannot be encoded
			rs[len(rs)-1] = 0xE000
		default:
			rs[len(rs)-1] = last + 1
		}
		return string(rs), true
	}
	return "", false
}

// isUnique reports whether err is a unique violation, and of which constraint.
func isUnique(err error) (constraint string, ok bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName, true
	}
	return "", false
}

// wrap is restkit.Wrap, except that the failures a client may retry — a statement
// timeout, a lock timeout, a deadlock or serialization failure, a lost connection —
// are Unavailable ("the database is busy; try again"), and a full disk on the
// database server is InsufficientStorage (507), not Internal. SQL and server
// messages stay in Err, for logs only.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var e *restkit.Error
	if errors.As(err, &e) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57014", "55P03", "40001", "40P01", "57P01", "57P02", "57P03", "53300":
			// query_canceled (statement_timeout), lock_not_available, serialization_failure,
			// deadlock_detected, admin_shutdown, crash_shutdown, cannot_connect_now,
			// too_many_connections
			return &restkit.Error{Kind: restkit.Unavailable, Op: op, Err: err, Message: "the database is busy; try again"}
		case "53100": // disk_full: the transaction rolled back
			return &restkit.Error{Kind: restkit.InsufficientStorage, Op: op, Err: err,
				Message: "the database server's disk is full, so nothing was written; try again once space has been freed"}
		}
		return restkit.Wrap(op, err)
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return &restkit.Error{Kind: restkit.Unavailable, Op: op, Err: err, Message: "the database is busy; try again"}
	}
	// A database that cannot be reached, or a connection lost mid-way, is an outage
	// (503, and /readyz says so), not a bug of ours (500).
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return &restkit.Error{Kind: restkit.Unavailable, Op: op, Err: err, Message: "the database is unavailable; try again"}
	}
	return restkit.Wrap(op, err)
}
