// Package sqlite is the embedded restkit.Store: one SQLite file in the data
// directory, no server to run. It uses modernc.org/sqlite, a translation of SQLite to
// pure Go, so CGO_ENABLED=0 builds a static binary that cross-compiles to small ARM
// devices.
//
// # Tables
//
// Each resource is one STRICT table named after Resource.StoreName, with a typed
// column per declared field, so that SQLite can filter, sort and index real values
// rather than JSON:
//
//	key       integer → INTEGER PRIMARY KEY (the rowid)   string → TEXT PRIMARY KEY, WITHOUT ROWID
//	string, enum, email, url → TEXT     integer → INTEGER     number → REAL
//	boolean → INTEGER 0/1               datetime → TEXT in restkit.TimeLayout
//	_rev INTEGER, _created TEXT, _updated TEXT
//
// Datetimes are fixed-width UTC text with nanoseconds, so text order is time order and
// an index on the column serves ranges and sorts. A null value is a NULL column and
// reads back absent from Record.Values.
//
// Every unique field has a UNIQUE index ("<table>:<field>:unique"); every other
// sortable or filterable field has an index on (field, key) ("<table>:<field>:sort"),
// which is exactly the order a keyset page by that field walks. A unique index needs
// no companion: SQLite appends the primary key to every index entry, so an index on
// (field) already is one on (field, key).
//
// The nouns share one table, _restkit_nouns(name, state, rev, created, updated), with
// the state as a JSON object: a noun is one small row read and written whole.
//
// # History
//
// A resource declared with History (see restkit.HistoryStore) also has a table
// "<table>__history" (key, rev, deleted, actor, state, created, updated), STRICT and
// WITHOUT ROWID with PRIMARY KEY (key, rev), so a record's revisions lie together in
// rev order and a page of them, newest first, is one range scan. The key column is
// typed like the key; state is the JSON object of the revision's values, stored like
// a noun's state (datetimes as RFC 3339) and decoded through the current declaration,
// so a field removed since is dropped on read. WriteRecord appends the revision it
// writes (or a delete's tombstone) and prunes to HistoryKeep inside its own
// transaction: the history never disagrees with the table. Migrate creates the table
// when History is on and never drops it: turning History off leaves it for later.
//
// # Migrations
//
// _restkit_fields records what was declared for every table: each field's name,
// type, position and whether it is the key. Migrate compares a schema with it, in one
// transaction: a missing table is created; a new field becomes ALTER TABLE ADD COLUMN
// (existing rows take its default, if it has one); a field that became unique,
// sortable or filterable gets its index, and one that stopped loses it. Destructive or
// ambiguous changes are refused with an Invalid error that says what changed and what
// to do: a field removed while its column is still there, a type changed between
// storage classes, a field narrowed (string to enum, an enum value removed, a length
// shortened: _restkit_fields records each field's constraints to notice), the key
// changed, a new required field without a default on a table with rows, a new unique
// index over duplicate values. Widening between string, enum, email and url is
// accepted (they share TEXT), and so is a field declared renamed_from another, whose
// column, indexes and history take the new name. Nothing is changed unless
// everything can be. MigrateWith (restkit migrate) carries the destructive changes
// out, in the same one transaction, or plans them in a dry run (migrate_steps.go);
// no sqlite3 binary is ever needed. These rules, and their messages, are package
// internal/sqlstore's, shared with package postgres; this package finds out what is
// there and runs the SQL.
//
// # One writer, many readers
//
// The store opens two database/sql pools on the file. The writer pool has exactly one
// connection, and its transactions begin IMMEDIATE: every write is serialised in Go
// before it reaches SQLite, so our own writers never meet SQLITE_BUSY, and a
// WriteRecord — SELECT the current row; run the Change; INSERT, UPDATE or DELETE —
// is atomic: a concurrent read-modify-write can never lose an update.
//
// Record and noun writes go through one writer goroutine that commits them in groups
// (writer.go): what has queued while it was busy runs in one transaction, each write
// in a SAVEPOINT of its own, so a failing write is undone alone, and every write is
// answered after the one COMMIT, which a batch of writes pays once instead of once
// each. A COMMIT that fails fails them all.
// The reader pool (max(4, 2×GOMAXPROCS) connections, query_only) serves FindRecord,
// ListRecords and FindNoun. Thanks to WAL, readers never wait for the writer and the
// writer never waits for readers; each read sees the last committed state.
//
// The statements every call needs (FindRecord's SELECT, the writes) are prepared once
// per table and reused; list queries are prepared once per distinct SQL text (all
// values are bound parameters, so the text depends only on the query's shape). Rows
// are scanned into reused buffers and decoded by a switch on the column's type, with
// no reflection.
//
// # Crash safety
//
// The database runs in WAL mode with synchronous=NORMAL. A commit appends to the
// write-ahead log; the log is fsynced before each checkpoint copies it into the main
// file, not on every commit. That is still crash-safe: after a crash or power loss the
// database is always consistent and every transaction is either wholly there or wholly
// absent, because SQLite replays only complete, checksummed transactions from the log.
// What an operating-system crash or power loss can cost is durability of the last few
// transactions committed since the last sync; a crash of the process alone loses
// nothing, since committed log pages are already in the operating system. That trade
// (no fsync per commit) is the one SQLite's documentation recommends for WAL mode.
// Artefact transactions are the exception: they return blobs nothing references any
// more, which the repository deletes at once, so they commit at synchronous=FULL
// (durableTx) — otherwise a power loss could keep a blob's deletion and lose the
// commit that stopped referencing it.
//
// # Keyset paging
//
// A list is ordered by Query.Sort, which always ends with the key, so the order is
// total and a row's Sort values identify its place exactly. After asks for the rows
// strictly after such values. For a sort (a ASC, b DESC, id ASC) and cursor (va, vb,
// vid), "strictly after" expands to an OR of ANDs — the row differs first in a, or
// ties on a and differs first in b, and so on:
//
//	a > va
//	OR (a = va AND b < vb)
//	OR (a = va AND b = vb AND id > vid)
//
// That single predicate is what a cursor holding a NULL runs. For the common case of
// non-null cursor values the same set is written as disjoint ranges, one per sort
// prefix, joined by UNION ALL under one ORDER BY … LIMIT (keysetUnion):
//
//	SELECT … WHERE a > va
//	UNION ALL SELECT … WHERE a = va AND b < vb
//	UNION ALL SELECT … WHERE a = va AND b = vb AND id > vid
//
// because SQLite seeks an index only on the OR's first column and then walks the
// cursor's whole group, and a filter on a (a >= 1995) gives it another lower bound to
// start from — the walk then grows with the page's depth (bench/README.md measured
// 230× page 1 at row 500,000 of 1M). Each branch is an index seek to the cursor, SQLite
// merges them without sorting, and filters on a are written +a so they cannot become
// the seek's start. With an index on the sort fields a page then costs the same at any
// depth, unlike OFFSET, which steps over every skipped row.
//
// NULLs follow SQLite's order, which is restkit.Compare's: NULL is smaller than any
// value, so it comes first ascending and last descending. The predicate accounts for
// them: "after" a NULL in an ascending column means "IS NOT NULL"; after a value in a
// descending column includes the NULLs ("b < vb OR b IS NULL"); equality with a NULL
// cursor value is "IS NULL". Before is the mirror image, read in the reversed order
// (with the NULL placement reversing along with it) and returned reversed, so a page
// holds the Limit rows closest to the cursor, in Sort order. Each page asks for
// Limit+1 rows; the extra one only tells whether More exist.
//
// A cursor is the values of a row, not its position, so rows inserted or deleted
// while a client pages never make it skip or repeat a row that was there all along.
//
// # List pages as JSON
//
// ListRecords gives a Record per row, a map of its values, which the API then encodes;
// on a page of 20 small rows the maps were most of what restkit spent beyond a program
// scanning into structs. AppendJSONPage runs the same query and writes each row's JSON
// object straight from the values the driver scanned, column by column in the view's
// order (jsonpage.go): text escaped, integers and reals formatted, booleans from 0/1,
// datetimes copied from their fixed-width text with the fraction's trailing zeros cut,
// JSON columns decoded as ListRecords does. Only the page's two edge rows become
// Records, for the Link header's cursors; the extra row read to learn whether more
// exist is cut off, and a backward page's objects are put back in order. Columns the
// view leaves out are still checked, so both paths fail on the same pages. The API
// takes this path for JSON without expand= (httpapi's listJSON), and tests hold the
// two paths to the same bytes.
package sqlite
