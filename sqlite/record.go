package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

// table is a migrated resource: its columns and its prepared statements.
type table struct {
	res    *restkit.Resource // the declaration adopted by Migrate
	name   string            // StoreName
	q      string            // quoted table name
	cols   []column          // the key first, then the other fields in declaration order
	byName map[string]int    // field name → index in cols

	selectList string // the columns of a record, as SELECT lists them
	sig        string // what the statements depend on; equal sig, same statements

	find   *sql.Stmt // reader: SELECT … WHERE key = ?
	wFind  *sql.Stmt // writer: the same
	insert *sql.Stmt
	// insertNumbered (History only) is insert with the _rev continuing the key's
	// history, RETURNING it: a record created again after a delete takes the revision
	// after the newest its history holds, so that (key, rev) stays unique in history,
	// in the one statement (it was a SELECT max(rev) of its own).
	insertNumbered *sql.Stmt
	update         *sql.Stmt
	delete         *sql.Stmt

	lists *stmtCache // list statements by SQL text
	hist  *history   // the history table, when the resource keeps History
	bufs  sync.Pool  // *scanBuf

	s         *Store           // for relations, which reach other tables
	relations bool             // the resource declares relation fields
	joins     map[string]*join // the join tables of its many relations, by field
}

// column is one column of the table, laid out as both SQL stores do (sqlstore.Columns).
type column = sqlstore.Column

// scanBuf is where one row is scanned: vals receives the columns, ptrs points at them.
type scanBuf struct {
	vals []any
	ptrs []any
}

// newTable lays out the table of res. Statements are prepared by prepareTable.
func newTable(s *Store, res *restkit.Resource) *table {
	t := &table{s: s, res: res, name: res.StoreName, q: quote(res.StoreName), byName: map[string]int{},
		relations: len(res.Relations()) > 0, joins: map[string]*join{}}
	t.cols = sqlstore.Columns(res, quote)
	names := make([]string, 0, len(t.cols)+3)
	for i, c := range t.cols {
		t.byName[c.Name] = i
		names = append(names, c.Quoted)
	}
	t.selectList = strings.Join(append(names, "_rev", "_created", "_updated"), ", ")
	t.sig = t.q + " " + t.selectList
	if res.History {
		t.sig += " history"
	}
	n := len(t.cols) + 3
	t.bufs.New = func() any {
		b := &scanBuf{vals: make([]any, n), ptrs: make([]any, n)}
		for i := range b.vals {
			b.ptrs[i] = &b.vals[i]
		}
		return b
	}
	return t
}

// prepareTable prepares t's statements, or takes them from old when its layout is
// the same (a repeated Migrate).
func (s *Store) prepareTable(ctx context.Context, t, old *table) error {
	if old != nil && old.sig == t.sig {
		t.find, t.wFind, t.insert, t.update, t.delete, t.lists = old.find, old.wFind, old.insert, old.update, old.delete, old.lists
		t.insertNumbered = old.insertNumbered
		return nil
	}
	key := t.cols[0].Quoted
	sel := "SELECT " + t.selectList + " FROM " + t.q + " WHERE " + key + " = ?"
	var cols, marks, sets []string
	for _, c := range t.cols {
		cols = append(cols, c.Quoted)
		marks = append(marks, "?")
		if !c.Key {
			sets = append(sets, c.Quoted+" = ?")
		}
	}
	cols = append(cols, "_rev", "_created", "_updated")
	marks = append(marks, "?", "?", "?")
	sets = append(sets, "_rev = ?", "_created = ?", "_updated = ?")
	var err error
	if t.find, err = s.prepare(ctx, s.r, sel); err != nil {
		return err
	}
	if t.wFind, err = s.prepare(ctx, s.w, sel); err != nil {
		return err
	}
	if t.insert, err = s.prepare(ctx, s.w, "INSERT INTO "+t.q+" ("+strings.Join(cols, ", ")+") VALUES ("+strings.Join(marks, ", ")+")"); err != nil {
		return err
	}
	if t.res.History {
		// ?1 … ?n are the columns (?1 the key), then _rev from the history, then the stamps.
		n := len(t.cols)
		nums := make([]string, n)
		for i := range nums {
			nums[i] = "?" + strconv.Itoa(i+1)
		}
		hq := quote(t.name + sqlstore.HistorySuffix)
		q := "INSERT INTO " + t.q + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(nums, ", ") +
			", (SELECT COALESCE(MAX(rev), 0) + 1 FROM " + hq + " WHERE key = ?1), ?" + strconv.Itoa(n+1) + ", ?" + strconv.Itoa(n+2) + ") RETURNING _rev"
		if t.insertNumbered, err = s.prepare(ctx, s.w, q); err != nil {
			return err
		}
	}
	if t.update, err = s.prepare(ctx, s.w, "UPDATE "+t.q+" SET "+strings.Join(sets, ", ")+" WHERE "+key+" = ?"); err != nil {
		return err
	}
	if t.delete, err = s.prepare(ctx, s.w, "DELETE FROM "+t.q+" WHERE "+key+" = ?"); err != nil {
		return err
	}
	t.lists = &stmtCache{}
	return nil
}

// scan reads one row into a record.
func (t *table) scan(row sqlstore.Scanner) (*restkit.Record, error) {
	b := t.bufs.Get().(*scanBuf)
	defer t.bufs.Put(b)
	if err := row.Scan(b.ptrs...); err != nil {
		return nil, err
	}
	rec, err := t.decodeRow(b.vals)
	clear(b.vals)
	return rec, err
}

func (t *table) decodeRow(vals []any) (*restkit.Record, error) {
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
	const op = "sqlite.FindRecord"
	t, err := s.tableOf(res, op)
	if err != nil {
		return nil, err
	}
	k, err := t.res.CanonicalKey(key)
	if err != nil {
		return nil, err
	}
	rec, err := t.scan(t.find.QueryRowContext(ctx, k))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, t.res.NotFound(k)
		}
		return nil, wrap(op, err)
	}
	return rec, nil
}

// WriteRecord runs change inside a write transaction and stores its decision (see
// restkit.Store): SELECT the current row; change; INSERT, UPDATE or DELETE, with the
// history revision and the change log's event. Writes are serialised by the single
// writer (writer.go), which commits concurrent ones together, each in a savepoint of
// its own, so a read-modify-write through change never loses a concurrent update, and
// WriteRecord returns only once its write is committed.
//
// Errors: a Change's error, unchanged; Conflict naming the field when a unique value
// is taken ("is already taken") or the key exists ("already exists"); Invalid for a
// key of the wrong type; Internal for a value of an undeclared field or of the wrong
// type, and for database failures.
func (s *Store) WriteRecord(ctx context.Context, res *restkit.Resource, key any, change restkit.Change) (*restkit.Record, error) {
	const op = "sqlite.WriteRecord"
	t, err := s.tableOf(res, op)
	if err != nil {
		return nil, err
	}
	k, err := t.res.CanonicalKey(key)
	if err != nil {
		return nil, err
	}
	var rec *restkit.Record
	if err := s.submit(ctx, op, func(ctx context.Context, tx *sql.Tx) error {
		var err error
		rec, err = t.write(ctx, tx, k, change, op)
		return err
	}); err != nil {
		return nil, err
	}
	return rec, nil
}

var _ restkit.BatchWriter = (*Store)(nil)

// WriteRecords runs change for each key, in order, in one transaction: all of the
// records are written, or none. The error of the first failing one comes back
// wrapped in a *restkit.BatchError naming its index.
func (s *Store) WriteRecords(ctx context.Context, res *restkit.Resource, keys []any, change func(i int, cur *restkit.Record) (*restkit.Record, error)) ([]*restkit.Record, error) {
	const op = "sqlite.WriteRecords"
	t, err := s.tableOf(res, op)
	if err != nil {
		return nil, err
	}
	out := make([]*restkit.Record, len(keys))
	if err := s.submit(ctx, op, func(ctx context.Context, tx *sql.Tx) error {
		for i, key := range keys {
			k, err := t.res.CanonicalKey(key)
			if err == nil {
				out[i], err = t.write(ctx, tx, k, func(cur *restkit.Record) (*restkit.Record, error) { return change(i, cur) }, op)
			}
			if err != nil {
				return &restkit.BatchError{Index: i, Err: err}
			}
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// write is one record's read-modify-write inside tx (WriteRecord's rules).
func (t *table) write(ctx context.Context, tx *sql.Tx, k any, change restkit.Change, op string) (*restkit.Record, error) {
	cur, err := t.findIn(ctx, tx, k, op)
	if err != nil {
		return nil, err
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
	rec, _, err := t.normalize(next, k, op)
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
	return t.put(ctx, tx, k, rec, kept, op)
}

// findIn reads the record with key k inside tx: nil when there is none.
func (t *table) findIn(ctx context.Context, tx *sql.Tx, k any, op string) (*restkit.Record, error) {
	cur, err := t.scan(tx.StmtContext(ctx, t.wFind).QueryRowContext(ctx, k))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, wrap(op, err)
	}
	return cur, nil
}

// put stores rec (normalized) as the record with key k over cur (nil when new): the
// stamps, the row, a many relation's join rows, and the history revision.
func (t *table) put(ctx context.Context, tx *sql.Tx, k any, rec, cur *restkit.Record, op string) (*restkit.Record, error) {
	var curRev int64
	var curCreated time.Time
	if cur != nil {
		curRev, curCreated = cur.Rev, cur.Created
	}
	rec.Stamp(curRev, curCreated)
	args := make([]any, len(t.cols), len(t.cols)+4)
	for i, c := range t.cols {
		if v, ok := rec.Values[c.Name]; ok {
			args[i] = encode(v)
		}
	}
	var err error
	switch {
	case curRev != 0:
		args = append(args[1:], rec.Rev, sqlstore.FormatTime(rec.Created), sqlstore.FormatTime(rec.Updated), k)
		_, err = tx.StmtContext(ctx, t.update).ExecContext(ctx, args...)
	case t.hist != nil && t.insertNumbered != nil: // the revision continues the key's history
		args = append(args, sqlstore.FormatTime(rec.Created), sqlstore.FormatTime(rec.Updated))
		err = tx.StmtContext(ctx, t.insertNumbered).QueryRowContext(ctx, args...).Scan(&rec.Rev)
	default:
		args = append(args, rec.Rev, sqlstore.FormatTime(rec.Created), sqlstore.FormatTime(rec.Updated))
		_, err = tx.StmtContext(ctx, t.insert).ExecContext(ctx, args...)
	}
	if err != nil {
		return nil, t.writeError(op, err, k)
	}
	if err := t.syncJoins(ctx, tx, k, rec, cur); err != nil {
		return nil, wrap(op, err)
	}
	// The JSON of the values, for the history and the change log alike.
	state, err := t.s.stateOf(t.hist != nil, rec.Values)
	if err != nil {
		return nil, wrap(op, err)
	}
	if t.hist != nil {
		if err := t.hist.append(ctx, tx, k, &restkit.Revision{Record: *rec}, state, t.res.HistoryKeep); err != nil {
			return nil, wrap(op, err)
		}
	}
	if err := t.s.appendEventState(ctx, tx, t.name, k, cur, rec, state); err != nil {
		return nil, wrap(op, err)
	}
	return rec, nil
}

// remove deletes the record with key k inside tx (its join rows go with it: ON DELETE
// CASCADE) and writes its tombstone; a record already gone is nothing to do.
func (t *table) remove(ctx context.Context, tx *sql.Tx, k any, op string) error {
	cur, err := t.findIn(ctx, tx, k, op)
	if err != nil || cur == nil {
		return err
	}
	if _, err := tx.StmtContext(ctx, t.delete).ExecContext(ctx, k); err != nil {
		return t.writeError(op, err, k)
	}
	state, err := t.s.stateOf(t.hist != nil, cur.Values)
	if err != nil {
		return wrap(op, err)
	}
	if t.hist != nil {
		if err := t.hist.append(ctx, tx, k, sqlstore.Tombstone(cur.Rev, cur.Created, cur.Values), state, t.res.HistoryKeep); err != nil {
			return wrap(op, err)
		}
	}
	return wrap(op, t.s.appendEventState(ctx, tx, t.name, k, cur, nil, state))
}

// normalize returns the record to store — next's values, canonical, without nils,
// with the key — and the column values in cols order. A value of an undeclared field
// or of the wrong type is Internal: Build produces canonical values, so it is a
// programming error, not a client's.
func (t *table) normalize(next *restkit.Record, k any, op string) (*restkit.Record, []any, error) {
	rec := &restkit.Record{Values: make(map[string]any, len(t.cols))}
	args := make([]any, len(t.cols), len(t.cols)+5)
	for name, v := range next.Values {
		i, ok := t.byName[name]
		if !ok {
			return nil, nil, wrap(op, fmt.Errorf("resource %s: value for undeclared field %q", t.res.Name, name))
		}
		cv, verr := t.cols[i].Field.Canonical(v)
		if verr != nil {
			return nil, nil, wrap(op, fmt.Errorf("resource %s: field %q: %T value %s", t.res.Name, name, v, verr.Message))
		}
		if cv == nil {
			continue
		}
		rec.Values[name] = cv
		args[i] = encode(cv)
	}
	if got, has := rec.Values[t.res.Key]; has && !restkit.Equal(got, k) {
		return nil, nil, wrap(op, fmt.Errorf("resource %s: the change returned key %v for key %v", t.res.Name, got, k))
	}
	rec.Values[t.res.Key] = k
	args[0] = k
	return rec, args, nil
}

// writeError maps a failed INSERT or UPDATE: a UNIQUE or PRIMARY KEY failure becomes
// a Conflict naming the field, anything else Internal. SQL text stays in Err, for
// logs only.
func (t *table) writeError(op string, err error, k any) error {
	cols := constraintColumns(err, t.name)
	if cols == nil {
		return wrap(op, err)
	}
	for _, name := range cols {
		if name == t.res.Key {
			return &restkit.Error{Kind: restkit.Conflict, Op: op, Err: err,
				Message: fmt.Sprintf("%s %s already exists", t.res.Singular, restkit.Format(k)),
				Fields:  []restkit.FieldError{{Field: name, Message: "already exists"}}}
		}
		if _, ok := t.byName[name]; ok {
			taken := t.res.Taken(name)
			taken.Op, taken.Err = op, err
			return taken
		}
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
