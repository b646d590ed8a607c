// Package postgres is the restkit.Store for running restkit as several stateless
// nodes that share one PostgreSQL database. It implements what the embedded SQLite
// store does — restkit.Store, BatchWriter, HistoryStore and ArtefactStore — with the
// same tables, the same migration rules and the same answers (both pass storetest's
// suites), on github.com/jackc/pgx/v5 with a pgxpool connection pool.
//
// What changes is who must agree. SQLite's store is one process with one writer
// connection, so a Go mutex and BEGIN IMMEDIATE serialise everything. Here any number
// of processes write at once, and every guarantee has to be made by PostgreSQL itself:
// transactional DDL and advisory locks for migrations, advisory and row locks for
// read-modify-writes, index seeks for paging.
//
// # Opening
//
//	s, err := postgres.Open(ctx, "postgres://user:pw@host/db?sslmode=require",
//		postgres.WithMaxConns(20), postgres.WithStatementTimeout(10*time.Second))
//
// The URL is anything pgx (and libpq) accepts; search_path=NAME in it chooses the
// schema the tables live in (the first existing one of the search path), so several
// deployments — or tests, see NewTestSchema — can share a database. Every connection
// gets statement_timeout (30s unless set), so that a request stuck behind a lock fails
// with Unavailable instead of hanging, and application_name "restkit". Ping serves
// /readyz.
//
// # Tables
//
// Each resource is one table named after Resource.StoreName, with a typed column per
// declared field, as in SQLite:
//
//	string, enum, email, url → text COLLATE "C"    integer → bigint
//	number → double precision                      boolean → boolean
//	datetime → text in restkit.TimeLayout, COLLATE "C"
//	_rev bigint, _created text, _updated text; PRIMARY KEY (key) named "<table>:key"
//
// COLLATE "C" compares text by code point — UTF-8 byte order — whatever the
// database's locale, so sorting, ranges and prefix filters agree with SQLite and with
// restkit.Compare. Datetimes stay fixed-width UTC text with nanoseconds: timestamptz
// keeps only microseconds, and the suite round-trips nanoseconds. Text cannot hold NUL
// or invalid UTF-8 in PostgreSQL: writing such a value is Invalid (naming the field),
// and looking one up finds nothing; noun states and history are JSON text, where any
// string is escaped, so they hold anything.
//
// A unique field has a UNIQUE index ("<table>:<field>:unique"); a sortable or
// filterable one an index on (field NULLS FIRST, key) ("<table>:<field>:sort"), the
// order a keyset page by it walks. A field both unique and sortable gets both:
// PostgreSQL, unlike SQLite, does not append the key to a secondary index. Names
// beyond PostgreSQL's 63 bytes are shortened with a hash (index names) or refused
// (table names), since PostgreSQL would silently truncate them into one.
// _restkit_fields, _restkit_nouns, the history tables ("<table>__history") and the
// artefact tables are SQLite's, with these types.
//
// # Migrations
//
// Migrate follows SQLite's rules exactly — additive changes (and renames) are made,
// destructive or ambiguous ones refused with an Invalid error that says what to do;
// both stores take the rules and their messages from package internal/sqlstore. The
// way out of a destructive refusal is restkit migrate, which calls MigrateWith: it
// drops, converts and checks values in the same one transaction under the same lock
// (migrate_steps.go), so no psql session is ever needed. Run it while no node serves
// the old declaration: a node that does would not find the columns it knows.
//
// Nodes of a cluster start together, and each calls Migrate. So Migrate runs in one
// transaction that first takes pg_advisory_xact_lock on a key derived from the schema:
// the nodes migrate one after another, and each later one, reading the catalog after
// the first committed, finds the work done and changes nothing. PostgreSQL's DDL is
// transactional, so a refusal, an error or a crash in the middle leaves the schema as
// it was, and a transaction-level lock is released with the transaction, so a node
// that dies holds nothing. Open creates the store's own tables under the same lock
// (CREATE TABLE IF NOT EXISTS is not safe against a concurrent one). The transaction
// lifts statement_timeout: building an index on a large table may take a while, and
// so may waiting for another node's migration.
//
// A new field with a default is added with ADD COLUMN … DEFAULT, and the column keeps
// that default: PostgreSQL (≥ 11) records a constant default as the column's value for
// the existing rows without rewriting the table (SQLite's store must UPDATE every
// row), and during a rolling upgrade the nodes still on the old declaration, which
// insert without the new column, get the default too rather than NULL. Open creates
// the store's own tables only when one is missing: CREATE INDEX IF NOT EXISTS locks
// its table even when the index exists, and a node starting while others write would
// deadlock them. A new unique index is built inside a savepoint, so that
// duplicate values become a refusal naming the field rather than an aborted
// transaction. Index builds lock the table against writes while they run (CREATE
// INDEX CONCURRENTLY cannot run in a transaction); on a large table, migrate when
// traffic is low.
//
// All nodes should run one declaration. A node whose declaration lacks a field that
// another node's Migrate added refuses to start ("field removed") — the safe answer
// for a rolling upgrade that would otherwise write records without it.
//
// # Read-modify-write
//
// WriteRecord runs a restkit.Change inside a transaction, and the contract is that
// concurrent writers of one key never lose each other's update. Row locks alone cannot
// give that: SELECT … FOR UPDATE locks a row that exists, but two writers of a key not
// yet stored both find nothing, both run their Change on nil, and one fails on the
// primary key (or, with an upsert, silently overwrites the other). So a write first
// takes a transaction-level advisory lock on the key — pg_advisory_xact_lock of a
// 64-bit hash of the schema, table and key — and only then reads the row, FOR UPDATE
// (which also holds off writers outside restkit). The lock and the SELECT go in one
// round trip (a pgx batch; in READ COMMITTED each statement takes a fresh snapshot, so
// the SELECT sees whatever the lock's previous holder committed).
//
// A write is pipelined (pipeline.go): BEGIN waits to go with the lock and the SELECT,
// and the statements whose results the write does not need — the INSERT or UPDATE,
// the history row, the join rows, the change log — wait to go with COMMIT, and the
// change log's pg_notify follows the COMMIT in a transaction of its own (lateNotify).
// A create is two round trips. A statement that fails aborts the rest of its batch,
// and its error comes back mapped as it would have been alone: a unique violation is
// still the Conflict naming the field. For a resource that keeps history, the SELECT
// also returns, when the record is absent, the newest revision its history holds,
// which a record created again continues from (SQLite's store folds it into the
// INSERT; here the statements after the INSERT need it, and a pipeline cannot hand
// them the INSERT's RETURNING). The values are encoded to JSON once, for the history
// row and the event alike.
//
// The change log (events.go) serialises no writers: each draws Seq from a sequence
// holding the log's advisory lock in shared mode, and commits in whatever order its
// flush finishes — commits of concurrent writers share a WAL flush. Readers do the
// ordering: they deliver a run of consecutive Seqs, and pass a gap only once a proof
// (the same lock taken exclusively, for an instant) shows that every writer that
// drew a number up to it has ended. Writers of one key,
// on any node, run one after the other; writers of different keys never wait for
// each other, except on a hash collision, which costs a wait and nothing else.
// WriteRecords takes all its keys' locks first, in lock-key order, so two batches
// sharing keys cannot deadlock. WriteNoun locks the noun's name the same way, and
// PurgeHistory the record's key.
//
// A unique value taken by another record fails the INSERT or UPDATE with a unique
// violation (SQLSTATE 23505) naming the index; the store maps the index back to its
// field and answers Conflict "another <singular> already has this <field>", exactly
// as SQLite's store does. Failures a client may retry — a statement or lock timeout,
// a deadlock, a serialization failure, a server shutting down — are Unavailable ("the
// database is busy; try again"); anything else is Internal. Either way SQL and the
// server's text stay in the error's Err, for logs, never in its Message.
//
// # Keyset paging
//
// A list is ordered by Query.Sort, which ends with the key, so a row's sort values
// identify its place, and After/Before ask for the rows strictly after or before
// them. NULL is smaller than any value (restkit.Compare, and SQLite's order), the
// opposite of PostgreSQL's default, so every ORDER BY says NULLS FIRST ascending and
// NULLS LAST descending — except on the key, which is never null and keeps the
// default, so that the ORDER BY matches the primary key and the "(field NULLS FIRST,
// key)" indexes and PostgreSQL reads them in order, forward or backward, with no sort.
//
// When every sort column is read toward larger values (an ascending sort read
// forward, a descending one read backward) and the cursor holds no NULL, the bound is
// one row comparison, which PostgreSQL turns into the start of an index range scan:
//
//	WHERE (year, id) > ($1, $2) ORDER BY year ASC NULLS FIRST, id ASC LIMIT 21
//
// Rows whose year is NULL are smaller and rightly left out: a comparison with NULL is
// not true. Otherwise — mixed directions, reading toward smaller values, a NULL in the
// cursor — the bound is the union of one range per sort prefix, as in SQLite's store:
//
//	(… WHERE year < $1 ORDER BY … LIMIT 21)
//	UNION ALL (… WHERE year IS NULL ORDER BY … LIMIT 21)
//	UNION ALL (… WHERE year = $1 AND id < $2 ORDER BY … LIMIT 21)
//	ORDER BY year DESC NULLS LAST, id DESC LIMIT 21
//
// NULLs, which come last toward smaller values, get a branch of their own (an OR is
// no single index range); equality with a NULL in the cursor is IS NULL; after a NULL
// toward larger values is IS NOT NULL. Each branch is an index range read in order and
// stopped at the limit, and PostgreSQL merges them (Merge Append) without sorting, so
// a page reads about a page of rows at any depth; the tests check this with EXPLAIN
// ANALYZE at row 49,000 of 50,000. Mixed directions (year DESC, id ASC) sort one group
// of equal years at a time, as in SQLite. Filters are bound once and shared by every
// branch; an in filter is = ANY($n) with one array parameter, so a statement's text
// depends only on the query's shape and pgx's per-connection statement cache stays
// small. When Count is asked for, the count and the page are read in one REPEATABLE
// READ transaction, so they agree.
//
// # Artefacts
//
// Artefact metadata lives in SQLite's three tables. A version number is never given
// twice: _restkit_artefact_counters keeps each name's next number and is never
// deleted, not even with its artefact or directory, and AddVersion takes the number
// with one statement, INSERT … ON CONFLICT DO UPDATE SET next_version = next_version
// + 1 RETURNING, inside its transaction — a refused check rolls it back, so it uses no
// number. Writes take advisory locks first: AddVersion and deleting a version or an
// artefact hold the directory's lock shared and the artefact's exclusively, deleting
// a directory holds the directory's exclusively. So writers of one artefact on any
// node run one after the other, each reading what the previous committed, and a
// directory is never deleted halfway through a version being added to it (which could
// otherwise leave a version without its artefact row). Listings are keyset row
// comparisons, (updated, id) > ($2, $3), on (directory, column, id) indexes.
//
// The digests AddVersion and DeleteArtefacts return were unreferenced just after
// their transaction committed (checked on a fresh snapshot, so that of two nodes
// removing the last two references at once, the later one sees none left). Freeing the blobs safely across nodes — "publish a blob and
// record a reference" must not interleave with "find it unreferenced and delete it"
// on any two nodes — is what LockDigest (lock.go) is for: a session advisory lock per
// digest, held on a small pool of its own, which the artefact repository takes around
// both. Secret (secret.go) keeps values every node must share, such as the key that
// signs paging cursors.
//
// Every store call has a deadline (bound): the statement timeout plus a margin. The
// server enforces statement_timeout, but one that stops answering without closing the
// connection would otherwise hold the request until TCP gives up. Write transactions
// that die of a deadlock or a serialization failure are run again, up to three times
// (retried): their Change is a function of the record as it then is.
package postgres
