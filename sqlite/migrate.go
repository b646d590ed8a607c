package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

// Migrate brings the database in line with a prepared schema, in one transaction:
// it creates missing tables, adds columns for new fields (existing rows take the
// field's default), and creates or drops indexes as fields become or stop being
// unique, sortable or filterable. It refuses destructive or ambiguous changes — a
// field removed or retyped, the key changed, a new required field without a default
// on a table with rows, a new unique field with duplicate values — with an Invalid
// error naming each (Fields: "<table>.<field>") and saying what to do; then nothing
// is changed. Migrating the same schema again changes nothing. A resource with
// History also gets its history table (see history.go), which is never dropped.
func (s *Store) Migrate(ctx context.Context, sc *restkit.Schema) error {
	const op = "sqlite.Migrate"
	s.mu.Lock()
	defer s.mu.Unlock()
	resources, err := sqlstore.Resources(sc)
	if err != nil {
		return err
	}
	var problems []restkit.FieldError
	for _, res := range resources {
		if strings.HasPrefix(res.StoreName, "sqlite_") {
			problems = append(problems, restkit.FieldError{Field: res.StoreName,
				Message: fmt.Sprintf("%s: table names starting with sqlite_ are reserved by SQLite; rename the resource", sqlstore.Label(res))})
		}
	}
	problems = append(problems, sqlstore.HistoryClashes(resources)...)
	if len(problems) > 0 {
		return sqlstore.Refusal(problems)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return wrap(op, err)
	}
	defer tx.Rollback()
	for _, res := range resources {
		m := s.newMigration(ctx, tx, res)
		if err := m.run(ctx); err != nil {
			return wrap(op, err)
		}
		if res.History && len(m.Problems) == 0 {
			if err := m.history(ctx); err != nil {
				return wrap(op, err)
			}
		}
		if res.SequentialKeys() && len(m.Problems) == 0 {
			if err := m.keys(ctx); err != nil { // keys.go
				return wrap(op, err)
			}
		}
		problems = append(problems, m.Problems...)
	}
	if len(problems) == 0 {
		for _, res := range resources {
			for _, f := range res.Fields {
				if f.Type == restkit.TypeRelation && f.Many {
					if _, err := tx.ExecContext(ctx, joinSQL(res, f)); err != nil {
						return wrap(op, err)
					}
				}
			}
		}
	}
	for _, api := range sc.APIs {
		for _, n := range api.Nouns {
			p, err := s.checkNoun(ctx, tx, n)
			if err != nil {
				return wrap(op, err)
			}
			problems = append(problems, p...)
		}
	}
	if len(problems) > 0 {
		return sqlstore.Refusal(problems)
	}
	if err := tx.Commit(); err != nil {
		return wrap(op, err)
	}

	old := *s.tables.Load()
	next := make(map[string]*table, len(old)+len(resources))
	for name, t := range old {
		next[name] = t
	}
	for _, res := range resources {
		t := newTable(s, res)
		if err := s.prepareTable(ctx, t, old[res.StoreName]); err != nil {
			return wrap(op, err)
		}
		if res.History {
			if err := s.prepareHistory(ctx, t, old[res.StoreName]); err != nil {
				return wrap(op, err)
			}
		}
		if o := old[res.StoreName]; o != nil && o.sig == t.sig {
			t.joins = o.joins
		} else if err := s.prepareJoins(ctx, t); err != nil {
			return wrap(op, err)
		}
		next[res.StoreName] = t
	}
	s.tables.Store(&next)
	return nil
}

// checkNoun compares a noun's stored state with its declaration (sqlstore.CheckNoun).
func (s *Store) checkNoun(ctx context.Context, tx *sql.Tx, n *restkit.Noun) ([]restkit.FieldError, error) {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM _restkit_nouns WHERE name = ?`, n.StoreName).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	reset := "sqlite3 " + shellQuote(s.path) + " " + shellQuote("DELETE FROM _restkit_nouns WHERE name = '"+n.StoreName+"'")
	return sqlstore.CheckNoun(n, state, reset)
}

// migration is the work on one resource's table inside Migrate's transaction: the
// shared plan (sqlstore.Migration) and its SQL here.
type migration struct {
	sqlstore.Migration
	s        *Store
	tx       *sql.Tx
	name, q  string
	existing map[string]string // restkit's indexes on the table: name → field
}

func (s *Store) newMigration(ctx context.Context, tx *sql.Tx, res *restkit.Resource) *migration {
	m := &migration{Migration: sqlstore.Migration{Res: res}, s: s, tx: tx, name: res.StoreName, q: quote(res.StoreName)}
	m.Dialect = sqlstore.Dialect{
		ColumnType: sqlType,
		SameType:   strings.EqualFold, // SQLite reports a column's type as it was declared
		DropColumnHint: func(field string) string {
			return m.dropColumnHint(field, m.existing)
		},
		HasRows: func() (bool, error) {
			var rows int
			err := m.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+m.q+`)`).Scan(&rows)
			return rows == 1, err
		},
		Exists: func(res *restkit.Resource, key any) (bool, error) {
			var there int
			err := m.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?)`, res.StoreName).Scan(&there)
			if err != nil || there == 0 { // a target made by this very Migrate holds nothing yet
				return false, err
			}
			err = m.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+quote(res.StoreName)+` WHERE `+quote(res.Key)+` = ?)`, encode(key)).Scan(&there)
			return there == 1, err
		},
	}
	return m
}

func (m *migration) exec(ctx context.Context, query string, args ...any) error {
	_, err := m.tx.ExecContext(ctx, query, args...)
	return err
}

func (m *migration) run(ctx context.Context) error {
	columns, err := m.columns(ctx)
	if err != nil {
		return err
	}
	stored, err := m.stored(ctx)
	if err != nil {
		return err
	}
	if len(columns) == 0 {
		if len(stored) > 0 { // the table was dropped by hand: start over
			if err := m.exec(ctx, `DELETE FROM _restkit_fields WHERE store_name = ?`, m.name); err != nil {
				return err
			}
		}
		if err := m.exec(ctx, m.createSQL()); err != nil {
			return err
		}
		if err := m.indexes(ctx, nil); err != nil {
			return err
		}
		return m.writeMeta(ctx)
	}
	if m.existing, err = m.existingIndexes(ctx); err != nil {
		return err
	}
	add, err := m.Plan(sqlstore.Found{Columns: columns, Stored: stored})
	if err != nil || len(m.Problems) > 0 {
		return err
	}
	for _, c := range add {
		if err := m.exec(ctx, `ALTER TABLE `+m.q+` ADD COLUMN `+quote(c.Field.Name)+` `+c.Type+references(c.Field)); err != nil {
			return err
		}
		if c.Fill {
			if err := m.exec(ctx, `UPDATE `+m.q+` SET `+quote(c.Field.Name)+` = ?`, encode(c.Field.Default)); err != nil {
				return err
			}
		}
	}
	if err := m.indexes(ctx, m.existing); err != nil {
		return err
	}
	return m.writeMeta(ctx)
}

// columns returns the table's columns and their declared types; none when the table
// does not exist.
func (m *migration) columns(ctx context.Context) (map[string]string, error) {
	rows, err := m.tx.QueryContext(ctx, `SELECT name, type FROM pragma_table_info(?)`, m.name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, err
		}
		cols[name] = typ
	}
	return cols, rows.Err()
}

// stored returns what _restkit_fields records for the table.
func (m *migration) stored(ctx context.Context) (map[string]sqlstore.StoredField, error) {
	rows, err := m.tx.QueryContext(ctx, `SELECT field, type, is_key FROM _restkit_fields WHERE store_name = ?`, m.name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]sqlstore.StoredField{}
	for rows.Next() {
		var name, typ string
		var key bool
		if err := rows.Scan(&name, &typ, &key); err != nil {
			return nil, err
		}
		out[name] = sqlstore.StoredField{Type: typ, Key: key}
	}
	return out, rows.Err()
}

func (m *migration) createSQL() string {
	kf := m.Res.KeyField()
	var b strings.Builder
	b.WriteString("CREATE TABLE " + m.q + " (\n\t" + quote(kf.Name) + " ")
	b.WriteString(sqlType(sqlstore.FieldKind(kf)) + " PRIMARY KEY NOT NULL")
	for _, f := range m.Res.Fields {
		if f.Name != kf.Name {
			b.WriteString(",\n\t" + quote(f.Name) + " " + sqlType(sqlstore.FieldKind(f)) + references(f))
		}
	}
	b.WriteString(",\n\t_rev INTEGER NOT NULL,\n\t_created TEXT NOT NULL,\n\t_updated TEXT NOT NULL\n) STRICT")
	if sqlstore.FieldKind(kf) != sqlstore.KInt {
		// A text key in a rowid table would need a second B-tree to map it to the
		// rowid; WITHOUT ROWID keeps rows in key order in one.
		b.WriteString(", WITHOUT ROWID")
	}
	return b.String()
}

// Index names: "<table>:<field>:unique" and "<table>:<field>:sort". A colon cannot
// appear in table or field names, so they never collide.
func (m *migration) indexName(field, what string) string { return m.name + ":" + field + ":" + what }

// existingIndexes returns the names of restkit's indexes on the table, with the
// field each covers.
func (m *migration) existingIndexes(ctx context.Context) (map[string]string, error) {
	rows, err := m.tx.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, m.name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		if rest, ok := strings.CutPrefix(name, m.name+":"); ok {
			if field, _, ok := strings.Cut(rest, ":"); ok {
				out[name] = field
			}
		}
	}
	return out, rows.Err()
}

// indexes creates the indexes the declaration asks for and drops restkit's others.
// A unique field gets a UNIQUE index, any other sortable or filterable one an index on
// (field, key); a unique index needs no companion, as SQLite appends the primary key
// to every index entry.
func (m *migration) indexes(ctx context.Context, existing map[string]string) error {
	want := map[string]string{} // name → CREATE statement
	key := quote(m.Res.Key)
	for _, f := range m.Res.Fields {
		switch {
		case f.Name == m.Res.Key:
		case f.Unique:
			name := m.indexName(f.Name, "unique")
			want[name] = "CREATE UNIQUE INDEX " + quote(name) + " ON " + m.q + " (" + quote(f.Name) + ")"
		case f.Sortable || f.Filterable || (f.Type == restkit.TypeRelation && !f.Many): // a relation: who refers to a record
			name := m.indexName(f.Name, "sort")
			want[name] = "CREATE INDEX " + quote(name) + " ON " + m.q + " (" + quote(f.Name) + ", " + key + ")"
		}
	}
	drop, create := sqlstore.IndexChanges(existing, want)
	for _, name := range drop {
		if err := m.exec(ctx, "DROP INDEX "+quote(name)); err != nil {
			return err
		}
	}
	for _, name := range create {
		if err := m.exec(ctx, want[name]); err != nil {
			if isUniqueFailure(err) {
				m.RefuseDuplicates(strings.TrimSuffix(strings.TrimPrefix(name, m.name+":"), ":unique"))
				continue
			}
			return err
		}
	}
	return nil
}

// writeMeta records the declaration in _restkit_fields, unless it is recorded
// already: a Migrate that changes nothing writes nothing, so that a server restarted
// on a full disk can start and serve reads.
func (m *migration) writeMeta(ctx context.Context) error {
	if len(m.Problems) > 0 {
		return nil
	}
	if same, err := m.metaRecorded(ctx); err != nil || same {
		return err
	}
	if err := m.exec(ctx, `DELETE FROM _restkit_fields WHERE store_name = ?`, m.name); err != nil {
		return err
	}
	for i, f := range m.Res.Fields {
		if err := m.exec(ctx, `INSERT INTO _restkit_fields (store_name, field, type, position, is_key) VALUES (?, ?, ?, ?, ?)`,
			m.name, f.Name, f.DeclaredType(), i, f.Name == m.Res.Key); err != nil {
			return err
		}
	}
	return nil
}

// metaRecorded reports whether _restkit_fields holds exactly the declaration's fields,
// types, positions and key.
func (m *migration) metaRecorded(ctx context.Context) (bool, error) {
	rows, err := m.tx.QueryContext(ctx, `SELECT field, type, position, is_key FROM _restkit_fields WHERE store_name = ? ORDER BY position`, m.name)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	i := 0
	same := true
	for rows.Next() {
		var name, typ string
		var pos int
		var key bool
		if err := rows.Scan(&name, &typ, &pos, &key); err != nil {
			return false, err
		}
		if i >= len(m.Res.Fields) {
			same = false
			continue
		}
		f := m.Res.Fields[i]
		if name != f.Name || typ != f.DeclaredType() || pos != i || key != (f.Name == m.Res.Key) {
			same = false
		}
		i++
	}
	return same && i == len(m.Res.Fields), rows.Err()
}

// dropColumnHint is the shell command that drops a column, with its indexes first
// (SQLite refuses to drop an indexed column).
func (m *migration) dropColumnHint(field string, existing map[string]string) string {
	var sqlText strings.Builder
	var idx []string
	for name, f := range existing {
		if f == field {
			idx = append(idx, name)
		}
	}
	sort.Strings(idx)
	for _, name := range idx {
		sqlText.WriteString("DROP INDEX " + quote(name) + "; ")
	}
	sqlText.WriteString("ALTER TABLE " + m.q + " DROP COLUMN " + quote(field))
	return "sqlite3 " + shellQuote(m.s.path) + " " + shellQuote(sqlText.String())
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./@%+=:,-]+$`)

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
