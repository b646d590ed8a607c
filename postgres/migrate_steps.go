package postgres

import (
	"context"
	"strconv"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
)

// The steps of a migration beyond the additive ones (restkit migrate): renames,
// drops, retypes and narrows, carried out inside MigrateWith's transaction, which
// holds the migration lock. PostgreSQL's ALTER TABLE does each in place: a rename
// keeps the column's indexes and foreign key (renamed here to the names restkit
// gives them, so that relationDDL finds them), a drop takes them along. A retype
// adds a column of the new type, converts every value into it in Go
// (sqlstore.Convert, a page of rows at a time, the same rules as SQLite's), drops the
// old column and gives the new one its name. History follows both: a rename rewrites
// the members' names of the states a history table keeps, a retype converts their
// values (sqlstore.RewriteStates), in the same transaction.

// apply carries out a plan on an existing table; the new columns last.
func (m *migration) apply(ctx context.Context, p *sqlstore.Plan) error {
	for _, r := range p.Renames {
		if err := m.rename(ctx, r); err != nil {
			return err
		}
	}
	for _, d := range p.Drops {
		if err := m.exec(ctx, `ALTER TABLE `+m.q+` DROP COLUMN `+quote(d.Name)); err != nil {
			return err
		}
		if strings.HasPrefix(d.Type, "relation[]:") { // its join table
			if err := m.exec(ctx, `DROP TABLE IF EXISTS `+quote(m.name+"__"+d.Name)); err != nil {
				return err
			}
		}
	}
	for _, r := range p.Retypes {
		if err := m.retype(ctx, r); err != nil || len(m.Problems) > 0 {
			return err
		}
	}
	for _, n := range p.Narrows {
		if err := m.CheckColumn(m.values(ctx), n); err != nil {
			return err
		}
	}
	if len(m.Problems) > 0 {
		return nil
	}
	for _, c := range p.Add {
		if err := m.addColumn(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

// rename renames a column, its foreign key, the join table of a many relation with
// its key, index and foreign keys, and the field in the history's states.
func (m *migration) rename(ctx context.Context, r sqlstore.Rename) error {
	to := r.Field.Name
	if err := m.exec(ctx, `ALTER TABLE `+m.q+` RENAME COLUMN `+quote(r.From)+` TO `+quote(to)); err != nil {
		return err
	}
	if err := m.renameConstraint(ctx, m.name, indexName(m.name, r.From, "fk"), indexName(m.name, to, "fk")); err != nil {
		return err
	}
	if r.Field.Type == restkit.TypeRelation && r.Field.Many {
		from, next := m.name+"__"+r.From, sqlstore.JoinTable(m.Res, r.Field)
		cols, err := tableColumns(ctx, m.tx, from)
		if err != nil || len(cols) == 0 {
			return err
		}
		if err := m.exec(ctx, `ALTER TABLE `+quote(from)+` RENAME TO `+quote(next)); err != nil {
			return err
		}
		for _, c := range [][2]string{{keyConstraint(from), keyConstraint(next)},
			{indexName(from, "owner", "fk"), indexName(next, "owner", "fk")}, {indexName(from, "target", "fk"), indexName(next, "target", "fk")}} {
			if err := m.renameConstraint(ctx, next, c[0], c[1]); err != nil {
				return err
			}
		}
		if err := m.exec(ctx, `ALTER INDEX IF EXISTS `+quote(indexName(from, "target", "sort"))+` RENAME TO `+quote(indexName(next, "target", "sort"))); err != nil {
			return err
		}
	}
	return m.rewriteHistory(ctx, sqlstore.RenameState(r.From, to))
}

// renameConstraint renames a constraint of table, if it has it.
func (m *migration) renameConstraint(ctx context.Context, table, from, to string) error {
	var there bool
	if err := m.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
		JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() AND t.relname = $1 AND c.conname = $2)`, table, from).Scan(&there); err != nil || !there {
		return err
	}
	return m.exec(ctx, `ALTER TABLE `+quote(table)+` RENAME CONSTRAINT `+quote(from)+` TO `+quote(to))
}

// retype converts a column's values to the field's new type: into a new column
// (with the field's default, as addColumn gives one), which then takes the old one's
// place; and in the history's states.
func (m *migration) retype(ctx context.Context, r sqlstore.Retype) error {
	name := r.Field.Name
	tmp := "_restkit_retype_" + name
	if len(tmp) > maxIdent {
		tmp = "_restkit_retype"
	}
	def := ""
	if r.Field.Default != nil {
		if lit, problem := literal(r.Field); problem == "" {
			def = ` DEFAULT ` + lit
		}
	}
	if err := m.exec(ctx, `ALTER TABLE `+m.q+` ADD COLUMN `+quote(tmp)+` `+sqlType(sqlstore.FieldKind(r.Field))+def); err != nil {
		return err
	}
	if err := m.exec(ctx, `UPDATE `+m.q+` SET `+quote(tmp)+` = NULL`); err != nil { // the default is for new rows
		return err
	}
	if err := m.ConvertColumn(m.values(ctx), r, name, tmp); err != nil || len(m.Problems) > 0 {
		return err
	}
	if err := m.exec(ctx, `ALTER TABLE `+m.q+` DROP COLUMN `+quote(name)); err != nil {
		return err
	}
	if err := m.exec(ctx, `ALTER TABLE `+m.q+` RENAME COLUMN `+quote(tmp)+` TO `+quote(name)); err != nil {
		return err
	}
	return m.rewriteHistory(ctx, sqlstore.ConvertState(r))
}

// values reads and writes the table's columns for the shared steps.
func (m *migration) values(ctx context.Context) sqlstore.Values {
	key := quote(m.Res.Key)
	return sqlstore.Values{
		Page: func(col string, k sqlstore.Kind, after any, n int) ([]any, []any, error) {
			sel := quote(col)
			if k == sqlstore.KJSON {
				sel += "::text" // exact numbers
			}
			q, args := `SELECT `+key+`, `+sel+` FROM `+m.q, []any{}
			if after != nil {
				q, args = q+` WHERE `+key+` > $1`, append(args, after)
			}
			args = append(args, n)
			return pageOf(m.tx.Query(ctx, q+` ORDER BY `+key+` LIMIT $`+strconv.Itoa(len(args)), args...))
		},
		Decode: decode,
		Set: func(col string, k, v any) error {
			if v != nil {
				v = encode(v)
			}
			return m.exec(ctx, `UPDATE `+m.q+` SET `+quote(col)+` = $1 WHERE `+key+` = $2`, v, k)
		},
	}
}

func pageOf(rows pgx.Rows, err error) (keys, vals []any, _ error) {
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v any
		if err := rows.Scan(&k, &v); err != nil {
			return nil, nil, err
		}
		keys, vals = append(keys, k), append(vals, v)
	}
	return keys, vals, rows.Err()
}

// rewriteHistory runs fn on every state of the resource's history table, if it has
// one (also with History off now: the table waits for it to be on again).
func (m *migration) rewriteHistory(ctx context.Context, fn func(map[string]any) bool) error {
	name := m.name + sqlstore.HistorySuffix
	if cols, err := tableColumns(ctx, m.tx, name); err != nil || len(cols) == 0 {
		return err
	}
	h := quote(name)
	return sqlstore.RewriteStates(sqlstore.States{
		Page: func(afterKey any, afterRev int64, n int) ([]any, []int64, []string, error) {
			q, args := `SELECT key, rev, state FROM `+h, []any{}
			if afterKey != nil {
				q, args = q+` WHERE (key, rev) > ($1, $2)`, append(args, afterKey, afterRev)
			}
			args = append(args, n)
			rows, err := m.tx.Query(ctx, q+` ORDER BY key, rev LIMIT $`+strconv.Itoa(len(args)), args...)
			if err != nil {
				return nil, nil, nil, err
			}
			defer rows.Close()
			var keys []any
			var revs []int64
			var states []string
			for rows.Next() {
				var k any
				var rev int64
				var state string
				if err := rows.Scan(&k, &rev, &state); err != nil {
					return nil, nil, nil, err
				}
				keys, revs, states = append(keys, k), append(revs, rev), append(states, state)
			}
			return keys, revs, states, rows.Err()
		},
		Set: func(k any, rev int64, state string) error {
			return m.exec(ctx, `UPDATE `+h+` SET state = $1 WHERE key = $2 AND rev = $3`, state, k, rev)
		},
	}, fn)
}
