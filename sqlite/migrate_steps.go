package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

// The steps of a migration beyond the additive ones (restkit migrate): renames,
// drops, retypes and narrows, carried out inside MigrateWith's transaction.
//
// SQLite's ALTER TABLE renames a column (and rewrites the indexes and foreign keys
// that name it) and drops one that no index, key or foreign key uses: restkit's
// indexes on a column are dropped first, and made again by indexes() as the
// declaration asks. A column with a foreign key (a single relation) cannot be
// dropped that way; the table is rebuilt instead, as SQLite's documentation
// describes: a copy without the column, the rows copied, the old table dropped and
// the copy renamed to its name. That is why the transaction runs with foreign keys
// off (migrationTx): with them on, dropping the old table would first delete its
// rows, cascading to the join tables that refer to it. PRAGMA foreign_key_check
// runs before the commit whenever a table was rebuilt.
//
// A retype adds a column of the new type, converts every value into it in Go
// (sqlstore.Convert, a page of rows at a time), drops the old column and gives the
// new one its name. History follows both: the states a history table keeps are JSON
// objects named by field, so a rename rewrites their members' names and a retype
// converts their values (sqlstore.RewriteStates), in the same transaction — reading
// history never has to know a field had another name.

// migrationTx begins Migrate's transaction on the writer connection with foreign
// keys off (they can only be switched outside a transaction); done rolls back what
// was not committed and switches them on again, or, if that fails, discards the
// connection rather than leave the store without foreign keys. done may be called
// more than once; until it is, the store's other writes wait for the connection.
func (s *Store) migrationTx(ctx context.Context) (*sql.Tx, func(), error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		conn.Close()
		return nil, nil, err
	}
	restore := func() {
		if _, err := conn.ExecContext(context.Background(), "PRAGMA foreign_keys = ON"); err != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		restore()
		return nil, nil, err
	}
	var once sync.Once
	return tx, func() { once.Do(func() { _ = tx.Rollback(); restore() }) }, nil
}

// upgradeMeta adds the spec column to a _restkit_fields made before it existed.
func (s *Store) upgradeMeta(ctx context.Context, tx *sql.Tx) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('_restkit_fields') WHERE name = 'spec'`).Scan(&n); err != nil || n > 0 {
		return err
	}
	_, err := tx.ExecContext(ctx, `ALTER TABLE _restkit_fields ADD COLUMN spec TEXT NOT NULL DEFAULT ''`)
	return err
}

// foreignKeyCheck fails when any row refers to a record that does not exist.
func foreignKeyCheck(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		return errors.New("a rebuilt table broke a foreign key")
	}
	return rows.Err()
}

// apply carries out a plan on an existing table; the new columns last.
func (m *migration) apply(ctx context.Context, p *sqlstore.Plan) error {
	for _, r := range p.Renames {
		if err := m.rename(ctx, r); err != nil {
			return err
		}
	}
	if err := m.drop(ctx, p.Drops); err != nil {
		return err
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
		if err := m.exec(ctx, `ALTER TABLE `+m.q+` ADD COLUMN `+quote(c.Field.Name)+` `+c.Type+references(c.Field)); err != nil {
			return err
		}
		if c.Fill {
			if err := m.exec(ctx, `UPDATE `+m.q+` SET `+quote(c.Field.Name)+` = ?`, encode(c.Field.Default)); err != nil {
				return err
			}
		}
	}
	return nil
}

// rename renames a column, the join table of a many relation, and the field in the
// history's states.
func (m *migration) rename(ctx context.Context, r sqlstore.Rename) error {
	if err := m.exec(ctx, `ALTER TABLE `+m.q+` RENAME COLUMN `+quote(r.From)+` TO `+quote(r.Field.Name)); err != nil {
		return err
	}
	for name, f := range m.existing { // SQLite renamed the column in its indexes, which keep their names
		if f == r.From {
			m.existing[name] = r.Field.Name
		}
	}
	if r.Field.Type == restkit.TypeRelation && r.Field.Many {
		from, to := m.name+"__"+r.From, sqlstore.JoinTable(m.Res, r.Field)
		if there, err := m.tableExists(ctx, from); err != nil || !there {
			return err
		}
		if err := m.exec(ctx, `ALTER TABLE `+quote(from)+` RENAME TO `+quote(to)); err != nil {
			return err
		}
		if err := m.exec(ctx, `DROP INDEX IF EXISTS `+quote(from+":target")); err != nil { // joinSQL makes it under the new name
			return err
		}
	}
	return m.rewriteHistory(ctx, sqlstore.RenameState(r.From, r.Field.Name))
}

// drop drops columns with their values (and a many relation's join table): with
// ALTER TABLE, or by rebuilding the table when one has a foreign key.
func (m *migration) drop(ctx context.Context, drops []sqlstore.Drop) error {
	if len(drops) == 0 {
		return nil
	}
	fks, err := m.foreignKeys(ctx)
	if err != nil {
		return err
	}
	rebuild := false
	for _, d := range drops {
		if err := m.dropIndexes(ctx, d.Name); err != nil {
			return err
		}
		if strings.HasPrefix(d.Type, "relation[]:") {
			if err := m.exec(ctx, `DROP TABLE IF EXISTS `+quote(m.name+"__"+d.Name)); err != nil {
				return err
			}
		}
		rebuild = rebuild || fks[d.Name] != ""
	}
	if rebuild {
		return m.rebuild(ctx, drops, fks)
	}
	for _, d := range drops {
		if err := m.exec(ctx, `ALTER TABLE `+m.q+` DROP COLUMN `+quote(d.Name)); err != nil {
			return err
		}
	}
	return nil
}

// dropIndexes drops restkit's indexes on a column.
func (m *migration) dropIndexes(ctx context.Context, field string) error {
	for name, f := range m.existing {
		if f == field {
			if err := m.exec(ctx, `DROP INDEX `+quote(name)); err != nil {
				return err
			}
			delete(m.existing, name)
		}
	}
	return nil
}

// foreignKeys returns the table's foreign keys: column → its REFERENCES clause.
func (m *migration) foreignKeys(ctx context.Context) (map[string]string, error) {
	rows, err := m.tx.QueryContext(ctx, `SELECT "from", "table", "to", on_delete FROM pragma_foreign_key_list(?)`, m.name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var from, table, to, onDelete string
		if err := rows.Scan(&from, &table, &to, &onDelete); err != nil {
			return nil, err
		}
		clause := " REFERENCES " + quote(table) + " (" + quote(to) + ")"
		if onDelete != "" && onDelete != "NO ACTION" {
			clause += " ON DELETE " + onDelete
		}
		out[from] = clause
	}
	return out, rows.Err()
}

// rebuild makes the table anew without the dropped columns, as SQLite documents
// for changes ALTER TABLE cannot make (see the top of this file).
func (m *migration) rebuild(ctx context.Context, drops []sqlstore.Drop, fks map[string]string) error {
	gone := map[string]bool{}
	for _, d := range drops {
		gone[d.Name] = true
	}
	rows, err := m.tx.QueryContext(ctx, `SELECT name, type, "notnull", pk FROM pragma_table_info(?) ORDER BY cid`, m.name)
	if err != nil {
		return err
	}
	var defs, kept []string
	for rows.Next() {
		var name, typ string
		var notNull, pk bool
		if err := rows.Scan(&name, &typ, &notNull, &pk); err != nil {
			rows.Close()
			return err
		}
		if gone[name] {
			continue
		}
		def := quote(name) + " " + typ
		if pk {
			def += " PRIMARY KEY"
		}
		if notNull {
			def += " NOT NULL"
		}
		defs, kept = append(defs, def+fks[name]), append(kept, quote(name))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	tail := ") STRICT"
	if sqlstore.FieldKind(m.Res.KeyField()) != sqlstore.KInt {
		tail += ", WITHOUT ROWID" // as createSQL makes it
	}
	tmp := quote(m.name + "__rebuild")
	cols := strings.Join(kept, ", ")
	for _, q := range []string{
		`CREATE TABLE ` + tmp + ` (` + strings.Join(defs, ", ") + tail,
		`INSERT INTO ` + tmp + ` (` + cols + `) SELECT ` + cols + ` FROM ` + m.q,
		`DROP TABLE ` + m.q,
		`ALTER TABLE ` + tmp + ` RENAME TO ` + m.q,
	} {
		if err := m.exec(ctx, q); err != nil {
			return err
		}
	}
	m.existing, m.rebuilt = map[string]string{}, true // the indexes went with the old table
	return nil
}

// retype converts a column's values to the field's new type: into a new column,
// which then takes the old one's place; and in the history's states.
func (m *migration) retype(ctx context.Context, r sqlstore.Retype) error {
	name := r.Field.Name
	tmp := "_restkit_retype_" + name
	if err := m.exec(ctx, `ALTER TABLE `+m.q+` ADD COLUMN `+quote(tmp)+` `+sqlType(sqlstore.FieldKind(r.Field))); err != nil {
		return err
	}
	if err := m.ConvertColumn(m.values(ctx), r, name, tmp); err != nil || len(m.Problems) > 0 {
		return err
	}
	if err := m.dropIndexes(ctx, name); err != nil {
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
		Page: func(col string, _ sqlstore.Kind, after any, n int) ([]any, []any, error) {
			q, args := `SELECT `+key+`, `+quote(col)+` FROM `+m.q, []any{}
			if after != nil {
				q, args = q+` WHERE `+key+` > ?`, append(args, after)
			}
			return pageOf(m.tx.QueryContext(ctx, q+` ORDER BY `+key+` LIMIT ?`, append(args, n)...))
		},
		Decode: decode,
		Set: func(col string, k, v any) error {
			if v != nil {
				v = encode(v)
			}
			return m.exec(ctx, `UPDATE `+m.q+` SET `+quote(col)+` = ? WHERE `+key+` = ?`, v, k)
		},
	}
}

func pageOf(rows *sql.Rows, err error) (keys, vals []any, _ error) {
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
	if there, err := m.tableExists(ctx, name); err != nil || !there {
		return err
	}
	h := quote(name)
	return sqlstore.RewriteStates(sqlstore.States{
		Page: func(afterKey any, afterRev int64, n int) ([]any, []int64, []string, error) {
			q, args := `SELECT key, rev, state FROM `+h, []any{}
			if afterKey != nil {
				q, args = q+` WHERE (key, rev) > (?, ?)`, append(args, afterKey, afterRev)
			}
			rows, err := m.tx.QueryContext(ctx, q+` ORDER BY key, rev LIMIT ?`, append(args, n)...)
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
			return m.exec(ctx, `UPDATE `+h+` SET state = ? WHERE key = ? AND rev = ?`, state, k, rev)
		},
	}, fn)
}

func (m *migration) tableExists(ctx context.Context, name string) (bool, error) {
	var there bool
	err := m.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)`, name).Scan(&there)
	if err != nil {
		return false, fmt.Errorf("looking for table %s: %w", name, err)
	}
	return there, nil
}
