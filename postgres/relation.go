package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Relations in PostgreSQL.
//
// As in SQLite (see that package): a single relation is a column of the target key's
// type with a foreign key and an index; a many relation is a jsonb array in its
// column plus rows of the join table <table>__<field> (owner, target, position) with
// foreign keys to both sides and an index on target. The rules are decided by
// restkit.PlanDelete and restkit.CheckReferences inside the write's transaction.
//
// Across nodes the transaction alone is not enough under READ COMMITTED: a plan can
// miss a referrer another node inserts at the same moment. The foreign keys close
// that gap. An insert that refers to a record takes a KEY SHARE lock on it; a delete
// of that record waits for it, and then either finds the new reference (the foreign
// key refuses the delete: a Conflict, "try again") or, if the delete commits first,
// the insert's foreign key check fails (a 400: the target does not exist). Never a
// dangling reference. Every record a delete clears or cascades to is locked as a
// write of its own would lock it (its advisory lock, then FOR UPDATE), so no write
// of it is lost either.

// join is the join table of a many relation.
type join struct {
	field                      *restkit.Field
	name, q                    string
	insert, deleteOwner, owner string // SQL
}

func newJoins(res *restkit.Resource) map[string]*join {
	out := map[string]*join{}
	for _, f := range res.Fields {
		if f.Type != restkit.TypeRelation || !f.Many {
			continue
		}
		name := sqlstore.JoinTable(res, f)
		q := quote(name)
		out[f.Name] = &join{field: f, name: name, q: q,
			insert:      "INSERT INTO " + q + " (owner, target, position) SELECT $1, t, p - 1 FROM unnest($2::" + arrayType(sqlstore.FieldKind(f.Target().KeyField())) + ") WITH ORDINALITY AS u(t, p)",
			deleteOwner: "DELETE FROM " + q + " WHERE owner = $1",
			owner:       "SELECT owner FROM " + q + " WHERE target = $1 ORDER BY owner"}
	}
	return out
}

// relationDDL creates, inside Migrate's transaction and only where they are missing,
// the foreign keys of single relations and the join tables of many ones (with their
// foreign keys and index). It runs after every table exists: a foreign key needs its
// target. DDL runs only for what is missing, so nodes starting together do not take
// the locks it needs for nothing.
func (s *Store) relationDDL(ctx context.Context, tx pgx.Tx, resources []*restkit.Resource) error {
	for _, res := range resources {
		for _, f := range res.Fields {
			if f.Type != restkit.TypeRelation || f.Target() == nil {
				continue
			}
			target := f.Target()
			if !f.Many {
				if err := ensureFK(ctx, tx, res.StoreName, indexName(res.StoreName, f.Name, "fk"), quote(f.Name), target, ""); err != nil {
					return err
				}
				continue
			}
			name := sqlstore.JoinTable(res, f)
			cols, err := tableColumns(ctx, tx, name)
			if err != nil {
				return err
			}
			if len(cols) == 0 {
				if _, err := tx.Exec(ctx, `CREATE TABLE `+quote(name)+` (
	owner    `+sqlType(sqlstore.FieldKind(res.KeyField()))+` NOT NULL,
	target   `+sqlType(sqlstore.FieldKind(target.KeyField()))+` NOT NULL,
	position integer NOT NULL,
	CONSTRAINT `+quote(keyConstraint(name))+` PRIMARY KEY (owner, target))`); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `CREATE INDEX `+quote(indexName(name, "target", "sort"))+` ON `+quote(name)+` (target, owner)`); err != nil {
					return err
				}
			}
			if err := ensureFK(ctx, tx, name, indexName(name, "owner", "fk"), "owner", res, " ON DELETE CASCADE"); err != nil {
				return err
			}
			if err := ensureFK(ctx, tx, name, indexName(name, "target", "fk"), "target", target, ""); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureFK adds the foreign key named constraint on table (column) → target's key,
// unless the table has it already.
func ensureFK(ctx context.Context, tx pgx.Tx, table, constraint, column string, target *restkit.Resource, onDelete string) error {
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() AND t.relname = $1 AND c.conname = $2)`, table, constraint).Scan(&exists); err != nil || exists {
		return err
	}
	_, err := tx.Exec(ctx, `ALTER TABLE `+quote(table)+` ADD CONSTRAINT `+quote(constraint)+` FOREIGN KEY (`+column+`) REFERENCES `+
		quote(target.StoreName)+` (`+quote(target.Key)+`)`+onDelete)
	return err
}

// syncJoins queues the rewrite of the join rows of the many relations whose value
// changed from cur (nil when new) to rec: one DELETE and one INSERT … unnest per
// relation; fail maps their errors.
func (t *table) syncJoins(tx *writeTx, k any, rec, cur *restkit.Record, fail func(error) error) {
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
			tx.later(fail, j.deleteOwner, k)
		}
		if len(next) > 0 {
			tx.later(fail, j.insert, k, encodeList(sqlstore.FieldKind(j.field.Target().KeyField()), next))
		}
	}
}

// deleteRecord deletes the record with key k of t and does what its referrers'
// relations say (restkit.PlanDelete), inside tx; restrict refuses before anything is
// written. Each other record it clears or deletes is locked first, as its own write
// would lock it.
func (s *Store) deleteRecord(ctx context.Context, tx *writeTx, t *table, k any, op string) error {
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
	// The other records' locks, in one sorted batch: two deletes reaching the same
	// records take them in the same order.
	var locks []int64
	for _, c := range plan.Clears {
		locks = append(locks, s.recordLock(s.table(c.Resource), c.Key))
	}
	for _, d := range plan.Deletes {
		if d.Resource != t.res || !restkit.Equal(d.Key, k) {
			locks = append(locks, s.recordLock(s.table(d.Resource), d.Key))
		}
	}
	slices.Sort(locks)
	if err := lock(ctx, tx, slices.Compact(locks)...); err != nil && len(locks) > 0 {
		return wrap(op, err)
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
		if _, err := ct.put(ctx, tx, c.Key, rec, cur, 0, op); err != nil {
			return err
		}
	}
	for _, d := range plan.Deletes {
		if err := s.table(d.Resource).remove(ctx, tx, d.Key, op); err != nil {
			return err
		}
	}
	return nil
}

// table is the migrated table of res.
func (s *Store) table(res *restkit.Resource) *table { return (*s.tables.Load())[res.StoreName] }

// referrers is restkit.Referrers inside tx: one indexed query per relation.
func (s *Store) referrers(ctx context.Context, tx querier) restkit.Referrers {
	return func(ref restkit.Reference, key any) ([]any, error) {
		rt := s.table(ref.Resource)
		q := "SELECT " + quote(ref.Resource.Key) + " FROM " + rt.q + " WHERE " + quote(ref.Field.Name) + " = $1 ORDER BY 1"
		if ref.Field.Many {
			q = rt.joins[ref.Field.Name].owner
		}
		return keys(ctx, tx, rt, q, encode(key))
	}
}

// missing is restkit.Missing inside tx: one query per relation value list.
func (s *Store) missing(ctx context.Context, tx querier) restkit.Missing {
	return func(target *restkit.Resource, want []any) ([]any, error) {
		tt := s.table(target)
		if tt == nil {
			return nil, fmt.Errorf("resource %s is not migrated", target.Name)
		}
		kind := tt.cols[0].Kind
		found, err := keys(ctx, tx, tt, "SELECT "+tt.cols[0].Quoted+" FROM "+tt.q+" WHERE "+tt.cols[0].Quoted+" = ANY($1::"+arrayType(kind)+")",
			encodeList(kind, want))
		if err != nil {
			return nil, err
		}
		return restkit.Absent(want, found), nil
	}
}

// keys runs a query that selects keys of t and returns them canonical.
func keys(ctx context.Context, tx querier, t *table, q string, args ...any) ([]any, error) {
	rows, err := tx.Query(ctx, q, args...)
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

// isForeignKey reports whether err is a foreign key violation.
func isForeignKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}
