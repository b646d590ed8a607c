package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// table is a migrated resource: its columns and the SQL of its statements. pgx
// prepares each statement once per connection and keeps it (its statement cache), so
// the text is all the store holds.
type table struct {
	res    *restkit.Resource // the declaration adopted by Migrate
	name   string            // StoreName
	q      string            // quoted table name
	cols   []column          // the key first, then the other fields in declaration order
	byName map[string]int    // field name → index in cols

	selectList string // the columns of a record, as SELECT lists them
	find       string // SELECT … WHERE key = $1
	lockFind   string // the same, FOR UPDATE
	// lockFindNumbered (History only) is lockFind returning one row even when the
	// record is absent: its columns, all NULL then, and the newest revision the
	// key's history holds, which a record created again continues from (see put).
	lockFindNumbered string
	insert           string
	update           string
	delete           string

	unique map[string]string // unique index name → field, to name the field of a violation
	hist   *history          // the history table, when the resource keeps History

	s         *Store           // for relations, which reach other tables
	relations bool             // the resource declares relation fields
	joins     map[string]*join // the join tables of its many relations, by field
}

// column is one column of the table, laid out as both SQL stores do (sqlstore.Columns).
type column = sqlstore.Column

// newTable lays out the table of res and writes its statements.
func newTable(s *Store, res *restkit.Resource) *table {
	t := &table{s: s, res: res, name: res.StoreName, q: quote(res.StoreName), byName: map[string]int{}, unique: map[string]string{},
		relations: len(res.Relations()) > 0, joins: newJoins(res)}
	t.cols = sqlstore.Columns(res, quote)
	for _, f := range res.Fields {
		if f.Unique {
			t.unique[indexName(t.name, f.Name, "unique")] = f.Name
		}
	}
	names := make([]string, 0, len(t.cols)+3)
	selects := make([]string, 0, len(t.cols)+3)
	var marks, sets []string
	for i, c := range t.cols {
		t.byName[c.Name] = i
		names = append(names, c.Quoted)
		if c.Kind == sqlstore.KJSON { // as text: exact numbers (pgx would decode jsonb to float64)
			selects = append(selects, c.Quoted+"::text")
		} else {
			selects = append(selects, c.Quoted)
		}
		marks = append(marks, "$"+strconv.Itoa(i+1))
		if !c.Key {
			sets = append(sets, c.Quoted+" = $"+strconv.Itoa(i+1))
		}
	}
	n := len(t.cols)
	for i, c := range []string{"_rev", "_created", "_updated"} {
		marks = append(marks, "$"+strconv.Itoa(n+i+1))
		sets = append(sets, c+" = $"+strconv.Itoa(n+i+1))
	}
	t.selectList = strings.Join(append(selects, "_rev", "_created", "_updated"), ", ")
	key := t.cols[0].Quoted
	t.find = "SELECT " + t.selectList + " FROM " + t.q + " WHERE " + key + " = $1"
	t.lockFind = t.find + " FOR UPDATE"
	t.insert = "INSERT INTO " + t.q + " (" + strings.Join(append(names, "_rev", "_created", "_updated"), ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
	t.update = "UPDATE " + t.q + " SET " + strings.Join(sets, ", ") + " WHERE " + key + " = $1"
	t.delete = "DELETE FROM " + t.q + " WHERE " + key + " = $1"
	if res.History {
		t.hist = newHistory(t)
		// The history is read only when the record is absent: a CASE evaluates the
		// subquery (an InitPlan, run on first use) only in the branch taken.
		t.lockFindNumbered = "SELECT c.*, CASE WHEN c._rev IS NULL THEN (SELECT coalesce(max(rev), 0) FROM " + t.hist.q +
			" WHERE key = $1) END FROM (VALUES (1)) AS v(one) LEFT JOIN LATERAL (" + t.lockFind + ") AS c ON true"
	}
	return t
}

// scanNumbered reads a row of lockFindNumbered: the record (nil when absent) and,
// when it is absent, the newest revision of its history (0: none).
func (t *table) scanNumbered(row pgx.Row) (*restkit.Record, int64, error) {
	n := len(t.cols) + 3
	vals := make([]any, n+1)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := row.Scan(ptrs...); err != nil {
		return nil, 0, err
	}
	if vals[0] == nil { // the key column: NULL only when no row joined
		last, _ := vals[n].(int64)
		return nil, last, nil
	}
	rec := &restkit.Record{}
	return rec, 0, t.decodeInto(rec, vals[:n])
}

// scanRow reads one row into a record.
func (t *table) scanRow(row pgx.Row) (*restkit.Record, error) {
	vals := make([]any, len(t.cols)+3)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := row.Scan(ptrs...); err != nil {
		return nil, err
	}
	rec := &restkit.Record{}
	return rec, t.decodeInto(rec, vals)
}

// decodeInto fills rec from one scanned row.
func (t *table) decodeInto(rec *restkit.Record, vals []any) error {
	return sqlstore.DecodeRow(rec, t.name, t.cols, vals, decode)
}

// FindRecord returns the record with the key: NotFound when absent, Invalid when
// the key is not of the key's type.
func (s *Store) FindRecord(ctx context.Context, res *restkit.Resource, key any) (*restkit.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.FindRecord"
	t, err := s.tableOf(res, op)
	if err != nil {
		return nil, err
	}
	k, err := t.res.CanonicalKey(key)
	if err != nil {
		return nil, err
	}
	if ks, ok := k.(string); ok && textProblem(ks) != "" {
		return nil, t.res.NotFound(k) // no such key can have been stored
	}
	rec, err := t.scanRow(s.pool.QueryRow(ctx, t.find, k))
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, t.res.NotFound(k)
		}
		return nil, wrap(op, err)
	}
	return rec, nil
}

// WriteRecord runs change inside a transaction and stores its decision (see
// restkit.Store): BEGIN; lock the key; SELECT the current row FOR UPDATE; change;
// INSERT, UPDATE or DELETE; the change log; COMMIT — in two round trips, the
// statements before the change in one and those after it in the other
// (pipeline.go). The key's lock is a transaction-level advisory
// lock, taken before the row is read, so that writers of one key — in this process
// or on another node — run one after the other even while the row does not exist
// yet, and a read-modify-write through change never loses a concurrent update (see
// the package doc).
//
// Errors: a Change's error, unchanged; Conflict naming the field when a unique value
// is taken ("is already taken") or the key exists ("already exists"); Invalid for a
// key of the wrong type, and for a text value PostgreSQL cannot hold (NUL, invalid
// UTF-8); Unavailable when the database is busy (a statement timeout, a deadlock);
// Internal for a value of an undeclared field or of the wrong type, and for database
// failures.
func (s *Store) WriteRecord(ctx context.Context, res *restkit.Resource, key any, change restkit.Change) (*restkit.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.WriteRecord"
	t, err := s.tableOf(res, op)
	if err != nil {
		return nil, err
	}
	k, err := t.canonicalKey(key)
	if err != nil {
		return nil, err
	}
	return retried(ctx, func() (*restkit.Record, error) {
		tx, err := s.begin(ctx)
		if err != nil {
			return nil, wrap(op, err)
		}
		defer tx.Rollback(ctx)
		lk := s.recordLock(t, k)
		rec, err := t.write(ctx, tx, &lk, k, change, op)
		if err != nil {
			return nil, err
		}
		if err := s.commit(ctx, tx); err != nil {
			return nil, wrap(op, err)
		}
		return rec, nil
	})
}

// retried runs a write transaction again, up to three times in all, while it fails
// with a deadlock or a serialization failure. Those abort a transaction that did
// nothing wrong — two writes taking unique-index entries in opposite orders, say —
// and running it again (its Change is a function of the record as it is then) gives
// the answer a serial execution would: usually the Conflict SQLite gives at once.
func retried[T any](ctx context.Context, attempt func() (T, error)) (T, error) {
	for i := 0; ; i++ {
		v, err := attempt()
		var pe *pgconn.PgError
		if err == nil || i == 2 || ctx.Err() != nil || !errors.As(err, &pe) || (pe.Code != "40P01" && pe.Code != "40001") {
			return v, err
		}
	}
}

// WriteRecords runs change for each key, in order, in one transaction: all of the
// records are written, or none. The error of the first failing one comes back
// wrapped in a *restkit.BatchError naming its index. The keys' locks are all taken
// first, in the order of their lock keys, so two batches sharing keys cannot
// deadlock.
func (s *Store) WriteRecords(ctx context.Context, res *restkit.Resource, keys []any, change func(i int, cur *restkit.Record) (*restkit.Record, error)) ([]*restkit.Record, error) {
	ctx, cancel := s.bound(ctx)
	defer cancel()
	const op = "postgres.WriteRecords"
	t, err := s.tableOf(res, op)
	if err != nil {
		return nil, err
	}
	canon := make([]any, len(keys))
	locks := make([]int64, 0, len(keys))
	for i, key := range keys {
		k, err := t.canonicalKey(key)
		if err != nil {
			return nil, &restkit.BatchError{Index: i, Err: err}
		}
		canon[i] = k
		locks = append(locks, s.recordLock(t, k))
	}
	slices.Sort(locks)
	locks = slices.Compact(locks)
	return retried(ctx, func() ([]*restkit.Record, error) {
		tx, err := s.begin(ctx)
		if err != nil {
			return nil, wrap(op, err)
		}
		defer tx.Rollback(ctx)
		tx.lockLater(locks...) // sent with the first key's SELECT
		out := make([]*restkit.Record, len(keys))
		for i, k := range canon {
			// A write's statements go with the next key's read, or the COMMIT: their
			// errors carry the index of the record they wrote.
			tx.mapErr = func(err error) error { return batchError(i, err) }
			out[i], err = t.write(ctx, tx, nil, k, func(cur *restkit.Record) (*restkit.Record, error) { return change(i, cur) }, op)
			if err != nil {
				return nil, batchError(i, err)
			}
		}
		tx.mapErr = nil
		if err := s.commit(ctx, tx); err != nil {
			return nil, wrap(op, err)
		}
		return out, nil
	})
}

// batchError is err as the error of the batch's record i, unless it is already the
// error of one (a pending write of an earlier record that failed).
func batchError(i int, err error) error {
	var be *restkit.BatchError
	if errors.As(err, &be) {
		return err
	}
	return &restkit.BatchError{Index: i, Err: err}
}

// canonicalKey is Resource.CanonicalKey, and refuses a string key PostgreSQL cannot
// hold.
func (t *table) canonicalKey(key any) (any, error) {
	k, err := t.res.CanonicalKey(key)
	if err != nil {
		return nil, err
	}
	if ks, ok := k.(string); ok {
		if msg := textProblem(ks); msg != "" {
			return nil, &restkit.Error{Kind: restkit.Invalid, Message: t.res.Key + " " + msg,
				Fields: []restkit.FieldError{{Field: t.res.Key, Message: msg}}}
		}
	}
	return k, nil
}

// recordLock is the advisory lock key of one record.
func (s *Store) recordLock(t *table, k any) int64 {
	return s.lockKey("record", t.name, restkit.Format(k))
}

// lock takes transaction-level advisory locks, in the order given, in one round trip.
func lock(ctx context.Context, tx querier, keys ...int64) error {
	if len(keys) == 1 {
		_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, keys[0])
		return err
	}
	b := &pgx.Batch{}
	for _, k := range keys {
		b.Queue(`SELECT pg_advisory_xact_lock($1)`, k)
	}
	return tx.SendBatch(ctx, b).Close()
}

// lockLater queues transaction-level advisory locks, in the order given, for the
// transaction's next round trip.
func (w *writeTx) lockLater(keys ...int64) {
	for _, k := range keys {
		w.later(nil, `SELECT pg_advisory_xact_lock($1)`, k)
	}
}

// write is one record's read-modify-write inside tx (WriteRecord's rules). With a
// lock key it first takes that lock, in the same round trip as the SELECT (a batch
// runs its statements in order, each with a snapshot of its own, so the SELECT sees
// what the lock's previous holder committed); without one, the caller holds it.
// The round trip also carries BEGIN and whatever writes are pending; the record's
// own writes wait for the next one (pipeline.go).
func (t *table) write(ctx context.Context, tx *writeTx, lockKey *int64, k any, change restkit.Change, op string) (*restkit.Record, error) {
	b := &pgx.Batch{}
	if lockKey != nil {
		b.Queue(`SELECT pg_advisory_xact_lock($1)`, *lockKey)
	}
	find := t.lockFind
	if t.lockFindNumbered != "" {
		find = t.lockFindNumbered
	}
	b.Queue(find, k)
	br := tx.SendBatch(ctx, b)
	var err error
	if lockKey != nil {
		_, err = br.Exec()
	}
	var cur *restkit.Record
	var lastRev int64
	if err == nil {
		if t.lockFindNumbered != "" {
			cur, lastRev, err = t.scanNumbered(br.QueryRow())
		} else {
			cur, err = t.scanRow(br.QueryRow())
		}
	}
	if cerr := br.Close(); err == nil || errors.Is(err, pgx.ErrNoRows) && cerr != nil {
		err = cerr
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		cur = nil
	case err != nil:
		return nil, wrap(op, err)
	}
	// The change owns cur and may change it; keep what the store needs.
	var kept *restkit.Record
	if cur != nil {
		kept = cur.Clone()
	}
	next, err := change(cur)
	if err != nil {
		return nil, err
	}
	if next == nil {
		if kept == nil {
			return nil, nil
		}
		return nil, t.s.deleteRecord(ctx, tx, t, k, op)
	}
	rec, err := t.normalize(next, k, op)
	if err != nil {
		return nil, err
	}
	rec.Created, rec.Updated = next.Created, next.Updated
	if t.relations {
		var curValues map[string]any
		if kept != nil {
			curValues = kept.Values
		}
		if err := restkit.CheckReferences(t.res, rec.Values, curValues, t.s.missing(ctx, tx)); err != nil {
			return nil, err
		}
	}
	return t.put(ctx, tx, k, rec, kept, lastRev, op)
}

// findIn reads the record with key k inside tx, FOR UPDATE: nil when there is none.
func (t *table) findIn(ctx context.Context, tx querier, k any, op string) (*restkit.Record, error) {
	cur, err := t.scanRow(tx.QueryRow(ctx, t.lockFind, k))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, wrap(op, err)
	}
	return cur, nil
}

// put stores rec (normalized) as the record with key k over cur (nil when new): the
// stamps, the row, a many relation's join rows, the history revision and the event,
// all queued for the transaction's next round trip. A record created again (cur nil)
// takes the revision after lastRev, the newest its history holds, so that (key, rev)
// stays unique in history across a delete and a re-create.
func (t *table) put(ctx context.Context, tx *writeTx, k any, rec, cur *restkit.Record, lastRev int64, op string) (*restkit.Record, error) {
	var curRev int64
	var curCreated time.Time
	if cur != nil {
		curRev, curCreated = cur.Rev, cur.Created
	}
	rec.Stamp(curRev, curCreated)
	if t.hist != nil && curRev == 0 && lastRev > 0 {
		rec.Rev = lastRev + 1
	}
	args := make([]any, len(t.cols), len(t.cols)+3)
	for i, c := range t.cols {
		if v, ok := rec.Values[c.Name]; ok {
			args[i] = encode(v)
		}
	}
	args = append(args, rec.Rev, sqlstore.FormatTime(rec.Created), sqlstore.FormatTime(rec.Updated))
	stmt := t.insert
	if curRev != 0 {
		stmt = t.update
	}
	fail := func(err error) error { return t.writeError(op, err, k) }
	tx.later(fail, stmt, args...)
	t.syncJoins(tx, k, rec, cur, fail)
	// The JSON of the values, for the history and the change log alike.
	state, err := t.stateOf(tx, rec.Values)
	if err != nil {
		return nil, wrap(op, err)
	}
	if t.hist != nil {
		t.hist.append(tx, k, &restkit.Revision{Record: *rec}, state, t.res.HistoryKeep, func(err error) error { return wrap(op, err) })
	}
	tx.noteState(t.name, k, cur, rec, state)
	return rec, nil
}

// stateOf encodes values once for the history and the event; nothing when neither
// wants it.
func (t *table) stateOf(tx *writeTx, values map[string]any) (string, error) {
	if t.hist == nil && tx.noEvents {
		return "", nil
	}
	return restkit.EncodeState(values)
}

// remove deletes the record with key k inside tx (its join rows go with it: ON DELETE
// CASCADE) and writes its tombstone; a record already gone is nothing to do. A record
// another transaction has just made refer to it stays: its foreign key refuses the
// delete, a Conflict.
func (t *table) remove(ctx context.Context, tx *writeTx, k any, op string) error {
	cur, err := t.findIn(ctx, tx, k, op)
	if err != nil || cur == nil {
		return err
	}
	tx.later(func(err error) error {
		if isForeignKey(err) {
			return &restkit.Error{Kind: restkit.Conflict, Op: op, Err: err,
				Message: fmt.Sprintf("a record that refers to the %s with %s %s was written meanwhile; try again", t.res.Singular, t.res.Key, restkit.Format(k))}
		}
		return wrap(op, err)
	}, t.delete, k)
	state, err := t.stateOf(tx, cur.Values)
	if err != nil {
		return wrap(op, err)
	}
	if t.hist != nil {
		t.hist.append(tx, k, sqlstore.Tombstone(cur.Rev, cur.Created, cur.Values), state, t.res.HistoryKeep, func(err error) error { return wrap(op, err) })
	}
	tx.noteState(t.name, k, cur, nil, state)
	return nil
}

// normalize returns the record to store: next's values, canonical, without nils,
// with the key. A value of an undeclared field or of the wrong type is Internal:
// Build produces canonical values, so it is a programming error, not a client's. A text value PostgreSQL cannot hold (NUL, not
// UTF-8) is Invalid, naming the field.
func (t *table) normalize(next *restkit.Record, k any, op string) (*restkit.Record, error) {
	rec := &restkit.Record{Values: make(map[string]any, len(t.cols))}
	var bad []restkit.FieldError
	for name, v := range next.Values {
		i, ok := t.byName[name]
		if !ok {
			return nil, restkit.Wrap(op, fmt.Errorf("resource %s: value for undeclared field %q", t.res.Name, name))
		}
		cv, verr := t.cols[i].Field.Canonical(v)
		if verr != nil {
			return nil, restkit.Wrap(op, fmt.Errorf("resource %s: field %q: %T value %s", t.res.Name, name, v, verr.Message))
		}
		if cv == nil {
			continue
		}
		if s, ok := cv.(string); ok {
			if msg := textProblem(s); msg != "" {
				bad = append(bad, restkit.FieldError{Field: name, Message: msg})
			}
		}
		rec.Values[name] = cv
	}
	if got, has := rec.Values[t.res.Key]; has && !restkit.Equal(got, k) {
		return nil, restkit.Wrap(op, fmt.Errorf("resource %s: the change returned key %v for key %v", t.res.Name, got, k))
	}
	if len(bad) > 0 {
		restkit.SortFieldErrors(bad)
		return nil, &restkit.Error{Kind: restkit.Invalid, Message: "validation failed", Fields: bad}
	}
	rec.Values[t.res.Key] = k
	return rec, nil
}

// writeError maps a failed INSERT or UPDATE: a unique violation becomes a Conflict
// naming the field, anything else goes through wrap. SQL text stays in Err, for logs
// only.
func (t *table) writeError(op string, err error, k any) error {
	if isForeignKey(err) { // CheckReferences saw the target; another node deleted it since
		return &restkit.Error{Kind: restkit.Invalid, Op: op, Err: err,
			Message: "a relation refers to a record that was deleted meanwhile"}
	}
	constraint, ok := isUnique(err)
	if !ok {
		return wrap(op, err)
	}
	if constraint == keyConstraint(t.name) {
		return &restkit.Error{Kind: restkit.Conflict, Op: op, Err: err,
			Message: fmt.Sprintf("%s %s already exists", t.res.Singular, restkit.Format(k)),
			Fields:  []restkit.FieldError{{Field: t.res.Key, Message: "already exists"}}}
	}
	if name, ok := t.unique[constraint]; ok {
		taken := t.res.Taken(name)
		taken.Op, taken.Err = op, err
		return taken
	}
	return &restkit.Error{Kind: restkit.Conflict, Op: op, Err: err, Message: "a unique value is already taken"}
}

var _ restkit.SchemaChecker = (*Store)(nil)

// Migrated reports whether the last Migrate adopted every resource of sc.
func (s *Store) Migrated(sc *restkit.Schema) error {
	tables := *s.tables.Load()
	return restkit.CheckMigrated(sc, func(name string) *restkit.Resource {
		if t := tables[name]; t != nil {
			return t.res
		}
		return nil
	})
}
