package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Relations in SQLite.
//
// A single relation is a column of the target key's type with a foreign key to the
// target's key, and an index. A many relation is kept twice, in the same
// transaction: as a JSON array in its column (the value as written, in order: what a
// read returns, without a join), and as rows of a join table <table>__<field>
// (owner, target, position) whose foreign keys make the database itself refuse a
// reference to a missing record, and whose index on target answers "who refers to
// this record" in one seek.
//
// The rules (restrict, cascade, set_null; a missing target is a 400) are decided by
// restkit.PlanDelete and restkit.CheckReferences, asked through the queries below
// inside the write's transaction; the foreign keys stand behind them. SQLite runs one
// writer at a time, so what the plan saw is what the delete does.

// join is the join table of a many relation.
type join struct {
	field       *restkit.Field
	q           string    // quoted table name
	insert      *sql.Stmt // (owner, target, position)
	deleteOwner *sql.Stmt
}

// joinSQL is the join table of a many relation f of res, and its index on target.
func joinSQL(res *restkit.Resource, f *restkit.Field) string {
	q := quote(sqlstore.JoinTable(res, f))
	target := f.Target()
	return `CREATE TABLE IF NOT EXISTS ` + q + ` (
	owner    ` + sqlType(sqlstore.FieldKind(res.KeyField())) + ` NOT NULL REFERENCES ` + quote(res.StoreName) + ` (` + quote(res.Key) + `) ON DELETE CASCADE,
	target   ` + sqlType(sqlstore.FieldKind(target.KeyField())) + ` NOT NULL REFERENCES ` + quote(target.StoreName) + ` (` + quote(target.Key) + `),
	position INTEGER NOT NULL,
	PRIMARY KEY (owner, target)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ` + quote(sqlstore.JoinTable(res, f)+":target") + ` ON ` + q + ` (target, owner)`
}

// references is the REFERENCES clause of a single relation's column.
func references(f *restkit.Field) string {
	if f.Type != restkit.TypeRelation || f.Many || f.Target() == nil {
		return ""
	}
	return " REFERENCES " + quote(f.Target().StoreName) + " (" + quote(f.Target().Key) + ")"
}

// prepareJoins prepares the statements of t's join tables.
func (s *Store) prepareJoins(ctx context.Context, t *table) error {
	for _, f := range t.res.Fields {
		if f.Type != restkit.TypeRelation || !f.Many {
			continue
		}
		j := &join{field: f, q: quote(sqlstore.JoinTable(t.res, f))}
		var err error
		if j.insert, err = s.prepare(ctx, s.w, "INSERT INTO "+j.q+" (owner, target, position) VALUES (?, ?, ?)"); err != nil {
			return err
		}
		if j.deleteOwner, err = s.prepare(ctx, s.w, "DELETE FROM "+j.q+" WHERE owner = ?"); err != nil {
			return err
		}
		t.joins[f.Name] = j
	}
	return nil
}

// syncJoins rewrites the join rows of the many relations whose value changed from
// cur (nil when new) to rec.
func (t *table) syncJoins(ctx context.Context, tx *sql.Tx, k any, rec, cur *restkit.Record) error {
	for name, j := range t.joins {
		next, _ := rec.Values[name].([]any)
		var prev []any
		if cur != nil {
			prev, _ = cur.Values[name].([]any)
		}
		if cur != nil && restkit.Equal(next, prev) {
			continue
		}
		if cur != nil {
			if _, err := tx.StmtContext(ctx, j.deleteOwner).ExecContext(ctx, k); err != nil {
				return err
			}
		}
		ins := tx.StmtContext(ctx, j.insert)
		for i, target := range next {
			if _, err := ins.ExecContext(ctx, k, target, i); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteRecord deletes the record with key k of t and does what its referrers'
// relations say (restkit.PlanDelete), inside tx: set_null clears references (a new
// revision of each referrer), cascade deletes, referrers first, each with its
// tombstone; restrict refuses before anything is written.
func (s *Store) deleteRecord(ctx context.Context, tx *sql.Tx, t *table, k any, op string) error {
	if len(t.res.Referrers()) == 0 {
		return t.remove(ctx, tx, k, op)
	}
	plan, err := restkit.PlanDelete(t.res, k, s.referrers(ctx, tx))
	if err == nil {
		err = restkit.CheckDelete(ctx, plan)
	}
	if err != nil {
		return err
	}
	now := time.Now()
	for _, c := range plan.Clears {
		ct := s.table(c.Resource)
		cur, err := ct.findIn(ctx, tx, c.Key, op)
		if err != nil {
			return err
		}
		if cur == nil {
			continue
		}
		rec := &restkit.Record{Values: c.Cleared(cur.Values), Created: cur.Created, Updated: now}
		if _, err := ct.put(ctx, tx, c.Key, rec, cur, op); err != nil {
			return err
		}
	}
	for _, d := range plan.Deletes {
		if err := s.table(d.Resource).remove(ctx, tx, d.Key, op); err != nil {
			var se *msqlite.Error
			if errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
				// Records deleted together refer to each other in a cycle (a tree whose
				// parent links loop, cascade one way and set_null back): no order of
				// deletes leaves no dangling reference on the way.
				return &restkit.Error{Kind: restkit.Conflict, Op: op, Err: err,
					Message: fmt.Sprintf("deleting this %s reaches records that refer to each other in a cycle; clear one of those references first, then delete", t.res.Singular)}
			}
			return err
		}
	}
	return nil
}

// table is the migrated table of res (which a migrated relation guarantees).
func (s *Store) table(res *restkit.Resource) *table { return (*s.tables.Load())[res.StoreName] }

// referrers is restkit.Referrers inside tx: one indexed query per relation.
func (s *Store) referrers(ctx context.Context, tx *sql.Tx) restkit.Referrers {
	return func(ref restkit.Reference, key any) ([]any, error) {
		rt := s.table(ref.Resource)
		var q string
		if ref.Field.Many {
			q = "SELECT owner FROM " + quote(sqlstore.JoinTable(ref.Resource, ref.Field)) + " WHERE target = ? ORDER BY owner"
		} else {
			q = "SELECT " + quote(ref.Resource.Key) + " FROM " + rt.q + " WHERE " + quote(ref.Field.Name) + " = ? ORDER BY 1"
		}
		return s.keys(ctx, tx, rt, q, encode(key))
	}
}

// missingChunk bounds the keys of one lookup (SQLite takes 32,766 parameters).
const missingChunk = 10000

// missing is restkit.Missing inside tx: one query per relation value list.
func (s *Store) missing(ctx context.Context, tx *sql.Tx) restkit.Missing {
	return func(target *restkit.Resource, keys []any) ([]any, error) {
		tt := s.table(target)
		if tt == nil {
			return nil, fmt.Errorf("resource %s is not migrated", target.Name)
		}
		// Keys as one JSON parameter where they can be (a many relation may hold more
		// keys than SQLite takes parameters), else in chunks of bound parameters.
		var found []any
		for start := 0; start < len(keys); start += missingChunk {
			chunk := keys[start:min(start+missingChunk, len(keys))]
			var q string
			var args []any
			if list, ok := jsonKeys(chunk); ok {
				q = "SELECT " + quote(target.Key) + " FROM " + tt.q + " WHERE " + quote(target.Key) + " IN (SELECT value FROM json_each(?))"
				args = []any{list}
			} else {
				for _, k := range chunk {
					args = append(args, encode(k))
				}
				q = "SELECT " + quote(target.Key) + " FROM " + tt.q + " WHERE " + quote(target.Key) + " IN (?" + strings.Repeat(", ?", len(chunk)-1) + ")"
			}
			f, err := s.keys(ctx, tx, tt, q, args...)
			if err != nil {
				return nil, err
			}
			found = append(found, f...)
		}
		return restkit.Absent(keys, found), nil
	}
}

// keys runs a query that selects keys of t and returns them canonical.
func (s *Store) keys(ctx context.Context, tx *sql.Tx, t *table, q string, args ...any) ([]any, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	kind := t.cols[0].Kind
	var out []any
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		k, err := decode(kind, v)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
