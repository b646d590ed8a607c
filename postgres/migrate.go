package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
)

// Migrate brings the database in line with a prepared schema, in one transaction
// holding the schema's advisory lock, so that nodes starting together migrate one
// after the other and each later one finds the work done: it creates missing tables,
// adds columns for new fields (existing rows take the field's default), renames the
// columns of fields declared renamed_from, and creates or drops indexes as fields
// become or stop being unique, sortable or filterable. It refuses destructive or
// ambiguous changes — a field removed, retyped or narrowed, the key changed, a new
// required field without a default on a table with rows, a new unique field with
// duplicate values, a name PostgreSQL would truncate — with an Invalid error naming
// each (Fields: "<table>.<field>") and saying what to do (restkit migrate carries the
// destructive ones out: MigrateWith); then nothing is changed: PostgreSQL's DDL is
// transactional. Migrating the same schema again changes nothing. A resource with
// History also gets its history table (see history.go), which is never dropped.
func (s *Store) Migrate(ctx context.Context, sc *restkit.Schema) error {
	_, err := s.MigrateWith(ctx, sc, restkit.MigrateOptions{})
	return err
}

var _ restkit.MigrationPlanner = (*Store)(nil)

// errDryRun ends a dry run's transaction without committing it.
var errDryRun = errors.New("dry run")

// MigrateWith is Migrate with options (restkit.MigrationPlanner): with
// AllowDestructive it also drops removed fields, converts retyped ones and checks
// narrowed ones, all in the one transaction under the migration lock; with DryRun it
// does all of it and rolls back. It returns the steps of the plan, also when it
// refuses.
func (s *Store) MigrateWith(ctx context.Context, sc *restkit.Schema, o restkit.MigrateOptions) ([]restkit.MigrationStep, error) {
	const op = "postgres.Migrate"
	s.mu.Lock()
	defer s.mu.Unlock()
	resources, err := sqlstore.Resources(sc)
	if err != nil {
		return nil, err
	}
	var problems []restkit.FieldError
	for _, res := range resources {
		name := res.StoreName
		if res.History {
			name += sqlstore.HistorySuffix
		}
		if len(name) > maxIdent {
			problems = append(problems, restkit.FieldError{Field: res.StoreName, Message: fmt.Sprintf(
				"%s: the table name %q is longer than the %d bytes PostgreSQL keeps; rename the resource or its API", sqlstore.Label(res), name, maxIdent)})
		}
	}
	problems = append(problems, sqlstore.HistoryClashes(resources)...)
	if len(problems) > 0 {
		return nil, sqlstore.Refusal(problems)
	}
	var w *migrationWork
	err = s.locked(ctx, func(tx pgx.Tx) error {
		w = &migrationWork{s: s, tx: tx, o: o}
		if err := w.migrate(ctx, sc, resources); err != nil {
			return err
		}
		if len(w.problems) > 0 {
			return sqlstore.Refusal(w.problems)
		}
		if o.DryRun {
			return errDryRun
		}
		return nil
	})
	var steps []restkit.MigrationStep
	if w != nil {
		steps = w.steps
	}
	switch {
	case errors.Is(err, errDryRun):
		return steps, nil
	case err != nil:
		return steps, wrap(op, err)
	}
	old := *s.tables.Load()
	next := make(map[string]*table, len(old)+len(resources))
	for name, t := range old {
		next[name] = t
	}
	for _, res := range resources {
		next[res.StoreName] = newTable(s, res)
	}
	s.tables.Store(&next)
	for _, st := range steps {
		if st.Op == restkit.MigrateRetype {
			// A statement the pool's connections prepared for the old column type would
			// fail once ("cached plan must not change result type"): start afresh.
			s.pool.Reset()
			break
		}
	}
	return steps, nil
}

// migrationWork is one MigrateWith inside its transaction: what it planned and what
// it refused.
type migrationWork struct {
	s        *Store
	tx       pgx.Tx
	o        restkit.MigrateOptions
	steps    []restkit.MigrationStep
	problems []restkit.FieldError
}

// migrate migrates every table, relation and noun of the schema.
func (w *migrationWork) migrate(ctx context.Context, sc *restkit.Schema, resources []*restkit.Resource) error {
	if err := upgradeMeta(ctx, w.tx); err != nil {
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
		w.steps, w.problems = append(w.steps, m.Steps...), append(w.problems, m.Problems...)
		if err != nil {
			return err
		}
	}
	if len(w.problems) == 0 {
		if err := w.s.relationDDL(ctx, w.tx, resources); err != nil { // relation.go
			return err
		}
	}
	for _, api := range sc.APIs {
		for _, n := range api.Nouns {
			if err := w.migrateNoun(ctx, n); err != nil {
				return err
			}
		}
	}
	return nil
}

// migrateNoun compares a noun's stored state with its declaration
// (sqlstore.MigrateNoun) and stores the state it gives, as a new revision.
func (w *migrationWork) migrateNoun(ctx context.Context, n *restkit.Noun) error {
	var state string
	err := w.tx.QueryRow(ctx, `SELECT state FROM _restkit_nouns WHERE name = $1`, n.StoreName).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
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
	_, err = w.tx.Exec(ctx, `UPDATE _restkit_nouns SET state = $1, rev = rev + 1, updated = $2 WHERE name = $3`,
		next, sqlstore.FormatTime(time.Now()), n.StoreName)
	return err
}

// upgradeMeta adds the spec column to a _restkit_fields made before it existed.
func upgradeMeta(ctx context.Context, tx pgx.Tx) error {
	cols, err := tableColumns(ctx, tx, "_restkit_fields")
	if _, ok := cols["spec"]; err != nil || ok {
		return err
	}
	_, err = tx.Exec(ctx, `ALTER TABLE _restkit_fields ADD COLUMN spec text NOT NULL DEFAULT ''`)
	return err
}

// migration is the work on one resource's table inside Migrate's transaction: the
// shared plan (sqlstore.Migration) and its SQL here.
type migration struct {
	sqlstore.Migration
	s       *Store
	tx      pgx.Tx
	name, q string
}

func (s *Store) newMigration(ctx context.Context, tx pgx.Tx, res *restkit.Resource) *migration {
	m := &migration{Migration: sqlstore.Migration{Res: res}, s: s, tx: tx, name: res.StoreName, q: quote(res.StoreName)}
	m.Dialect = sqlstore.Dialect{
		ColumnType: sqlType,
		// tableColumns writes a column's type back exactly as sqlType does.
		SameType: func(have, want string) bool { return have == want },
		HasRows: func() (bool, error) {
			var rows bool
			err := m.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+m.q+`)`).Scan(&rows)
			return rows, err
		},
		Exists: func(res *restkit.Resource, key any) (bool, error) {
			cols, err := tableColumns(ctx, m.tx, res.StoreName)
			if err != nil || len(cols) == 0 { // a target made by this very Migrate holds nothing yet
				return false, err
			}
			var there bool
			err = m.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+quote(res.StoreName)+` WHERE `+quote(res.Key)+` = $1)`, encode(key)).Scan(&there)
			return there, err
		},
		// A new field's default fills the existing rows as a constant in the DDL.
		Fill: func(f *restkit.Field) string {
			if _, msg := literal(f); msg != "" {
				return fmt.Sprintf("the default of new field %q %s", f.Name, msg)
			}
			return ""
		},
	}
	return m
}

func (m *migration) exec(ctx context.Context, query string, args ...any) error {
	_, err := m.tx.Exec(ctx, query, args...)
	return err
}

func (m *migration) run(ctx context.Context) error {
	columns, err := tableColumns(ctx, m.tx, m.name)
	if err != nil {
		return err
	}
	stored, err := m.stored(ctx)
	if err != nil {
		return err
	}
	if len(columns) == 0 {
		if len(stored) > 0 { // the table was dropped by hand: start over
			if err := m.exec(ctx, `DELETE FROM _restkit_fields WHERE store_name = $1`, m.name); err != nil {
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
	plan, err := m.Plan(sqlstore.Found{Columns: columns, Stored: stored})
	if err != nil || len(m.Problems) > 0 {
		return err
	}
	if err := m.apply(ctx, plan); err != nil || len(m.Problems) > 0 { // migrate_steps.go
		return err
	}
	if columns, err = tableColumns(ctx, m.tx, m.name); err != nil { // as the steps left them
		return err
	}
	existing, err := m.existingIndexes(ctx, columns, stored)
	if err != nil {
		return err
	}
	if err := m.indexes(ctx, existing); err != nil {
		return err
	}
	return m.writeMeta(ctx)
}

// addColumn adds the column of a new field. A field with a default gets it as the
// column's DEFAULT, and keeps it: a constant default fills the existing rows without
// rewriting the table (PostgreSQL ≥ 11 keeps it as the column's "missing value"), and
// nodes still running the previous declaration during a rolling upgrade, which do
// not know the column, insert rows that get the default too instead of NULL.
func (m *migration) addColumn(ctx context.Context, c sqlstore.NewColumn) error {
	def := ""
	if c.Field.Default != nil {
		if lit, problem := literal(c.Field); problem == "" {
			def = ` DEFAULT ` + lit
		}
	}
	if c.Fill && def == "" { // Plan checked that a filled field has a literal
		return fmt.Errorf("postgres: field %s: no literal default to fill existing rows with", c.Field.Name)
	}
	return m.exec(ctx, `ALTER TABLE `+m.q+` ADD COLUMN `+quote(c.Field.Name)+` `+c.Type+def)
}

// literal writes a field's default as an SQL constant of its column's type, or says
// why it cannot be stored.
func literal(f *restkit.Field) (string, string) {
	v, verr := f.Canonical(f.Default)
	if verr != nil {
		return "", verr.Message
	}
	switch x := encode(v).(type) {
	case json.RawMessage:
		return quoteLiteral(string(x)) + "::jsonb", ""
	case string:
		if msg := textProblem(x); msg != "" {
			return "", msg
		}
		return quoteLiteral(x), ""
	case int64:
		return strconv.FormatInt(x, 10), ""
	case float64:
		return quoteLiteral(strconv.FormatFloat(x, 'g', -1, 64)) + "::double precision", ""
	case bool:
		return strconv.FormatBool(x), ""
	}
	return "", fmt.Sprintf("has the unexpected type %T", v)
}

// tableColumns returns the columns of a table in the store's schema, each with its
// type as kind.sqlType writes it (text columns with their collation); none when the
// table does not exist.
func tableColumns(ctx context.Context, tx querier, table string) (map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod), coalesce(co.collname, '')
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_collation co ON co.oid = a.attcollation
		WHERE n.nspname = current_schema() AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols := map[string]string{}
	for rows.Next() {
		var name, typ, coll string
		if err := rows.Scan(&name, &typ, &coll); err != nil {
			return nil, err
		}
		if coll != "" {
			typ += " COLLATE " + quote(coll)
		}
		cols[name] = typ
	}
	return cols, rows.Err()
}

// stored returns what _restkit_fields records for the table.
func (m *migration) stored(ctx context.Context) (map[string]sqlstore.StoredField, error) {
	rows, err := m.tx.Query(ctx, `SELECT field, type, is_key, spec FROM _restkit_fields WHERE store_name = $1`, m.name)
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
	b.WriteString("CREATE TABLE " + m.q + " (\n\t" + quote(kf.Name) + " " + sqlType(sqlstore.FieldKind(kf)) + " NOT NULL")
	for _, f := range m.Res.Fields {
		if f.Name != kf.Name {
			b.WriteString(",\n\t" + quote(f.Name) + " " + sqlType(sqlstore.FieldKind(f)))
		}
	}
	b.WriteString(",\n\t_rev bigint NOT NULL,\n\t_created text NOT NULL,\n\t_updated text NOT NULL")
	b.WriteString(",\n\tCONSTRAINT " + quote(keyConstraint(m.name)) + " PRIMARY KEY (" + quote(kf.Name) + ")\n)")
	return b.String()
}

// keyConstraint names the primary key of a table: "<table>:key".
func keyConstraint(table string) string { return shortName(table + ":key") }

// indexName names restkit's indexes: "<table>:<field>:unique" and
// "<table>:<field>:sort" (shortened with a hash beyond 63 bytes). A colon cannot
// appear in table or field names, so they never collide with each other or a table.
func indexName(table, field, what string) string { return shortName(table + ":" + field + ":" + what) }

// existingIndexes returns the names of restkit's indexes on the table, with the field
// each covers: those whose name is one indexName gives for a column or stored field.
func (m *migration) existingIndexes(ctx context.Context, columns map[string]string, stored map[string]sqlstore.StoredField) (map[string]string, error) {
	candidates := map[string]string{}
	for _, names := range []map[string]string{columns, keysOf(stored)} {
		for field := range names {
			candidates[indexName(m.name, field, "unique")] = field
			candidates[indexName(m.name, field, "sort")] = field
			candidates[indexName(m.name, field, "gin")] = field
		}
	}
	rows, err := m.tx.Query(ctx, `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1`, m.name)
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
		if field, ok := candidates[name]; ok {
			out[name] = field
		}
	}
	return out, rows.Err()
}

func keysOf(m map[string]sqlstore.StoredField) map[string]string {
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = k
	}
	return out
}

// wantIndexes returns the indexes a declaration asks for: name → CREATE statement,
// and name → field. A unique field gets a UNIQUE index; a sortable or filterable
// one an index on (field NULLS FIRST, key), exactly the order a keyset page by it
// walks (NULL first, as restkit.Compare orders) — and a unique field that is also
// sortable gets both, since PostgreSQL, unlike SQLite, does not append the key to a
// secondary index.
func wantIndexes(res *restkit.Resource, table string) (map[string]string, map[string]string) {
	q := quote(table)
	key := quote(res.Key)
	want, fields := map[string]string{}, map[string]string{}
	for _, f := range res.Fields {
		if f.Name == res.Key {
			continue
		}
		if f.Unique {
			name := indexName(table, f.Name, "unique")
			want[name], fields[name] = "CREATE UNIQUE INDEX "+quote(name)+" ON "+q+" ("+quote(f.Name)+")", f.Name
		}
		switch {
		case f.Type == restkit.TypeArray && f.Filterable: // contains is jsonb containment, which a GIN index serves
			name := indexName(table, f.Name, "gin")
			want[name], fields[name] = "CREATE INDEX "+quote(name)+" ON "+q+" USING gin ("+quote(f.Name)+" jsonb_path_ops)", f.Name
		case !f.Type.Scalar() && !(f.Type == restkit.TypeRelation && !f.Many): // a many relation's join table has its own
		case f.Sortable || (f.Filterable && !f.Unique) || (f.Type == restkit.TypeRelation && !f.Unique): // a relation: who refers to a record
			name := indexName(table, f.Name, "sort")
			want[name], fields[name] = "CREATE INDEX "+quote(name)+" ON "+q+" ("+quote(f.Name)+" NULLS FIRST, "+key+")", f.Name
		}
	}
	return want, fields
}

// indexes creates the indexes the declaration asks for and drops restkit's others.
// A unique index over duplicate values is refused, not an error: each CREATE runs in
// a savepoint, so its failure leaves the transaction usable.
func (m *migration) indexes(ctx context.Context, existing map[string]string) error {
	want, fields := wantIndexes(m.Res, m.name)
	drop, create := sqlstore.IndexChanges(existing, want)
	for _, name := range drop {
		if err := m.exec(ctx, "DROP INDEX "+quote(name)); err != nil {
			return err
		}
	}
	for _, name := range create {
		sp, err := m.tx.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := sp.Exec(ctx, want[name]); err != nil {
			if rerr := sp.Rollback(ctx); rerr != nil {
				return rerr
			}
			if _, ok := isUnique(err); ok {
				m.RefuseDuplicates(fields[name])
				continue
			}
			return err
		}
		if err := sp.Commit(ctx); err != nil {
			return err
		}
	}
	return nil
}

// writeMeta records the declaration in _restkit_fields.
func (m *migration) writeMeta(ctx context.Context) error {
	if len(m.Problems) > 0 {
		return nil
	}
	if err := m.exec(ctx, `DELETE FROM _restkit_fields WHERE store_name = $1`, m.name); err != nil {
		return err
	}
	b := &pgx.Batch{}
	for i, f := range m.Res.Fields {
		b.Queue(`INSERT INTO _restkit_fields (store_name, field, type, position, is_key, spec) VALUES ($1, $2, $3, $4, $5, $6)`,
			m.name, f.Name, f.DeclaredType(), i, f.Name == m.Res.Key, sqlstore.FieldSpec(f))
	}
	return m.tx.SendBatch(ctx, b).Close()
}
