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
)

// Migrate brings the database in line with a prepared schema, in one transaction:
// it creates missing tables, adds columns for new fields (existing rows take the
// field's default), renames the columns of fields declared renamed_from, and creates
// or drops indexes as fields become or stop being unique, sortable or filterable. It
// refuses destructive or ambiguous changes — a field removed, retyped or narrowed,
// the key changed, a new required field without a default on a table with rows, a
// new unique field with duplicate values — with an Invalid error naming each
// (Fields: "<table>.<field>") and saying what to do (restkit migrate carries the
// destructive ones out: MigrateWith); then nothing is changed. Migrating the same
// schema again changes nothing. A resource with History also gets its history table
// (see history.go), which is never dropped.
func (s *Store) Migrate(ctx context.Context, sc *restkit.Schema) error {
	_, err := s.MigrateWith(ctx, sc, restkit.MigrateOptions{})
	return err
}

var _ restkit.MigrationPlanner = (*Store)(nil)

// MigrateWith is Migrate with options (restkit.MigrationPlanner): with
// AllowDestructive it also drops removed fields, converts retyped ones and checks
// narrowed ones (rebuilding a table where SQLite's ALTER TABLE cannot drop a column:
// one with a foreign key), all in the one transaction; with DryRun it does all of it
// and rolls back. It returns the steps of the plan, also when it refuses.
func (s *Store) MigrateWith(ctx context.Context, sc *restkit.Schema, o restkit.MigrateOptions) ([]restkit.MigrationStep, error) {
	const op = "sqlite.Migrate"
	s.mu.Lock()
	defer s.mu.Unlock()
	resources, err := sqlstore.Resources(sc)
	if err != nil {
		return nil, err
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
		return nil, sqlstore.Refusal(problems)
	}
	tx, done, err := s.migrationTx(ctx)
	if err != nil {
		return nil, wrap(op, err)
	}
	defer done()
	w := &migrationWork{s: s, tx: tx, o: o}
	if err := w.migrate(ctx, sc, resources); err != nil {
		return w.steps, wrap(op, err)
	}
	if len(w.problems) > 0 {
		return w.steps, sqlstore.Refusal(w.problems)
	}
	if o.DryRun {
		return w.steps, nil // done rolls back
	}
	if err := tx.Commit(); err != nil {
		return w.steps, wrap(op, err)
	}
	done() // the writer connection goes back to the pool: adopt prepares statements on it
	if err := s.adopt(ctx, resources); err != nil {
		return w.steps, wrap(op, err)
	}
	return w.steps, nil
}

// migrationWork is one MigrateWith inside its transaction: what it planned and what
// it refused.
type migrationWork struct {
	s        *Store
	tx       *sql.Tx
	o        restkit.MigrateOptions
	steps    []restkit.MigrationStep
	problems []restkit.FieldError
	rebuilt  bool // a table was rebuilt: foreign keys are checked before the commit
}

// migrate migrates every table, join table and noun of the schema.
func (w *migrationWork) migrate(ctx context.Context, sc *restkit.Schema, resources []*restkit.Resource) error {
	if err := w.s.upgradeMeta(ctx, w.tx); err != nil {
		return err
	}
	for _, res := range resources {
		m := w.s.newMigration(ctx, w.tx, res)
		m.Opts = w.o
		err := m.run(ctx)
		if err == nil && res.History && len(m.Problems) == 0 {
			err = m.history(ctx)
		}
		if err == nil && res.SequentialKeys() && len(m.Problems) == 0 {
			err = m.keys(ctx) // keys.go
		}
		w.steps, w.problems, w.rebuilt = append(w.steps, m.Steps...), append(w.problems, m.Problems...), w.rebuilt || m.rebuilt
		if err != nil {
			return err
		}
	}
	if len(w.problems) == 0 {
		for _, res := range resources {
			for _, f := range res.Fields {
				if f.Type == restkit.TypeRelation && f.Many {
					if _, err := w.tx.ExecContext(ctx, joinSQL(res, f)); err != nil {
						return err
					}
				}
			}
		}
	}
	for _, api := range sc.APIs {
		for _, n := range api.Nouns {
			if err := w.migrateNoun(ctx, n); err != nil {
				return err
			}
		}
	}
	if w.rebuilt && len(w.problems) == 0 {
		return foreignKeyCheck(ctx, w.tx)
	}
	return nil
}

// adopt prepares the statements of the migrated tables and publishes them.
func (s *Store) adopt(ctx context.Context, resources []*restkit.Resource) error {
	old := *s.tables.Load()
	next := make(map[string]*table, len(old)+len(resources))
	for name, t := range old {
		next[name] = t
	}
	for _, res := range resources {
		t := newTable(s, res)
		if err := s.prepareTable(ctx, t, old[res.StoreName]); err != nil {
			return err
		}
		if res.History {
			if err := s.prepareHistory(ctx, t, old[res.StoreName]); err != nil {
				return err
			}
		}
		if o := old[res.StoreName]; o != nil && o.sig == t.sig {
			t.joins = o.joins
		} else if err := s.prepareJoins(ctx, t); err != nil {
			return err
		}
		next[res.StoreName] = t
	}
	s.tables.Store(&next)
	return nil
}

// migrateNoun compares a noun's stored state with its declaration
// (sqlstore.MigrateNoun) and stores the state it gives, as a new revision.
func (w *migrationWork) migrateNoun(ctx context.Context, n *restkit.Noun) error {
	var state string
	err := w.tx.QueryRowContext(ctx, `SELECT state FROM _restkit_nouns WHERE name = ?`, n.StoreName).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	next, steps, problems, err := sqlstore.MigrateNoun(n, state, w.o)
	w.steps, w.problems = append(w.steps, steps...), append(w.problems, problems...)
	if err != nil || next == "" {
		return err
	}
	_, err = w.tx.ExecContext(ctx, `UPDATE _restkit_nouns SET state = ?, rev = rev + 1, updated = ? WHERE name = ?`,
		next, sqlstore.FormatTime(time.Now()), n.StoreName)
	return err
}

// migration is the work on one resource's table inside Migrate's transaction: the
// shared plan (sqlstore.Migration) and its SQL here.
type migration struct {
	sqlstore.Migration
	s        *Store
	tx       *sql.Tx
	name, q  string
	existing map[string]string // restkit's indexes on the table: name → field
	rebuilt  bool              // the table was rebuilt (migrate_steps.go)
}

func (s *Store) newMigration(ctx context.Context, tx *sql.Tx, res *restkit.Resource) *migration {
	m := &migration{Migration: sqlstore.Migration{Res: res}, s: s, tx: tx, name: res.StoreName, q: quote(res.StoreName)}
	m.Dialect = sqlstore.Dialect{
		ColumnType: sqlType,
		SameType:   strings.EqualFold, // SQLite reports a column's type as it was declared
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
		m.Step(restkit.MigrateCreate, "", "a new table", "")
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
	plan, err := m.Plan(sqlstore.Found{Columns: columns, Stored: stored})
	if err != nil || len(m.Problems) > 0 {
		return err
	}
	if err := m.apply(ctx, plan); err != nil || len(m.Problems) > 0 { // migrate_steps.go
		return err
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
	rows, err := m.tx.QueryContext(ctx, `SELECT field, type, is_key, spec FROM _restkit_fields WHERE store_name = ?`, m.name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]sqlstore.StoredField{}
	for rows.Next() {
		var name, typ, spec string
		var key bool
		if err := rows.Scan(&name, &typ, &key, &spec); err != nil {
			return nil, err
		}
		out[name] = sqlstore.StoredField{Type: typ, Key: key, Spec: spec}
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
		if err := m.exec(ctx, `INSERT INTO _restkit_fields (store_name, field, type, position, is_key, spec) VALUES (?, ?, ?, ?, ?, ?)`,
			m.name, f.Name, f.DeclaredType(), i, f.Name == m.Res.Key, sqlstore.FieldSpec(f)); err != nil {
			return err
		}
	}
	return nil
}

// metaRecorded reports whether _restkit_fields holds exactly the declaration's fields,
// types, positions, key and specs.
func (m *migration) metaRecorded(ctx context.Context) (bool, error) {
	rows, err := m.tx.QueryContext(ctx, `SELECT field, type, position, is_key, spec FROM _restkit_fields WHERE store_name = ? ORDER BY position`, m.name)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	i := 0
	same := true
	for rows.Next() {
		var name, typ, spec string
		var pos int
		var key bool
		if err := rows.Scan(&name, &typ, &pos, &key, &spec); err != nil {
			return false, err
		}
		if i >= len(m.Res.Fields) {
			same = false
			continue
		}
		f := m.Res.Fields[i]
		if name != f.Name || typ != f.DeclaredType() || pos != i || key != (f.Name == m.Res.Key) || spec != sqlstore.FieldSpec(f) {
			same = false
		}
		i++
	}
	return same && i == len(m.Res.Fields), rows.Err()
}
