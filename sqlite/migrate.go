package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"restkit"
	"restkit/internal/sqlstore"
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
	// Storage names are unique: Schema.Prepare refuses collisions.
	var (
		resources []*restkit.Resource
		problems  []restkit.FieldError
	)
	for _, api := range sc.APIs {
		for _, res := range api.Resources {
			if res.StoreName == "" || res.KeyField() == nil {
				return restkit.Errorf(restkit.Invalid, "resource %s: the schema is not prepared (call Schema.Prepare)", res.Name)
			}
			if strings.HasPrefix(res.StoreName, "sqlite_") {
				problems = append(problems, restkit.FieldError{Field: res.StoreName,
					Message: fmt.Sprintf("%s: table names starting with sqlite_ are reserved by SQLite; rename the resource", label(res))})
			}
			resources = append(resources, res)
		}
	}
	problems = append(problems, historyClashes(resources)...)
	if len(problems) > 0 {
		return refusal(problems)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return restkit.Wrap(op, err)
	}
	defer tx.Rollback()
	for _, res := range resources {
		m := &migration{s: s, tx: tx, res: res, name: res.StoreName, q: quote(res.StoreName)}
		if err := m.run(ctx); err != nil {
			return restkit.Wrap(op, err)
		}
		if res.History && len(m.problems) == 0 {
			if err := m.history(ctx); err != nil {
				return restkit.Wrap(op, err)
			}
		}
		problems = append(problems, m.problems...)
	}
	for _, api := range sc.APIs {
		for _, n := range api.Nouns {
			p, err := s.checkNoun(ctx, tx, n)
			if err != nil {
				return restkit.Wrap(op, err)
			}
			problems = append(problems, p...)
		}
	}
	if len(problems) > 0 {
		return refusal(problems)
	}
	if err := tx.Commit(); err != nil {
		return restkit.Wrap(op, err)
	}

	old := *s.tables.Load()
	next := make(map[string]*table, len(old)+len(resources))
	for name, t := range old {
		next[name] = t
	}
	for _, res := range resources {
		t := newTable(res)
		if err := s.prepareTable(ctx, t, old[res.StoreName]); err != nil {
			return restkit.Wrap(op, err)
		}
		if res.History {
			if err := s.prepareHistory(ctx, t, old[res.StoreName]); err != nil {
				return restkit.Wrap(op, err)
			}
		}
		next[res.StoreName] = t
	}
	s.tables.Store(&next)
	return nil
}

// checkNoun compares a noun's stored state with its declaration. A field declared
// since the state was written is additive (it reads as its default); a stored value
// whose field was removed, or that no longer fits its field's type or constraints, is
// a destructive change and refused: dropping it silently would lose device state.
func (s *Store) checkNoun(ctx context.Context, tx *sql.Tx, n *restkit.Noun) ([]restkit.FieldError, error) {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM _restkit_nouns WHERE name = ?`, n.StoreName).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(state))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("noun %s: stored state: %w", n.Name, err)
	}
	reset := "sqlite3 " + shellQuote(s.path) + " " + shellQuote("DELETE FROM _restkit_nouns WHERE name = '"+n.StoreName+"'")
	var problems []restkit.FieldError
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := raw[name]
		f := n.Field(name)
		why := ""
		if f == nil {
			why = "was removed from the declaration"
		} else if cv, verr := f.Canonical(v); verr != nil {
			why = "no longer fits the declaration: the stored value " + verr.Message
		} else if msg := f.Check(cv); cv != nil && msg != "" {
			why = "no longer fits the declaration: the stored value " + msg
		}
		if why != "" {
			problems = append(problems, restkit.FieldError{Field: n.StoreName + "." + name, Message: fmt.Sprintf(
				"noun %s: field %q %s but the stored state holds %v; restore the field, or reset the noun to its defaults: %s",
				n.Name, name, why, v, reset)})
		}
	}
	return problems, nil
}

func refusal(problems []restkit.FieldError) error {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Message
	}
	return &restkit.Error{Kind: restkit.Invalid, Message: strings.Join(msgs, "\n"), Fields: problems}
}

// label names a resource in messages: "resource cars", or "resource people (table
// v1_people)" when the table name differs.
func label(res *restkit.Resource) string {
	if res.Name == res.StoreName {
		return "resource " + res.Name
	}
	return "resource " + res.Name + " (table " + res.StoreName + ")"
}

// migration is the work on one resource's table inside Migrate's transaction.
type migration struct {
	s        *Store
	tx       *sql.Tx
	res      *restkit.Resource
	name, q  string
	problems []restkit.FieldError
}

type storedField struct {
	typ restkit.FieldType
	key bool
}

func (m *migration) refuse(field, format string, args ...any) {
	where := m.name
	if field != "" {
		where += "." + field
	}
	m.problems = append(m.problems, restkit.FieldError{Field: where, Message: label(m.res) + ": " + fmt.Sprintf(format, args...)})
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
	if len(stored) == 0 {
		m.refuse("", "table %q exists but restkit did not create it (it has no field metadata); rename or drop the table, or rename the resource", m.name)
		return nil
	}
	existing, err := m.existingIndexes(ctx)
	if err != nil {
		return err
	}

	kf := m.res.KeyField()
	var storedKey string
	for name, sf := range stored {
		if sf.key {
			storedKey = name
		}
	}
	if storedKey != kf.Name || stored[storedKey].typ != kf.Type {
		m.refuse(kf.Name, "the key changed from %q (%s) to %q (%s), but the table is keyed by %q; restore the key, or declare a new resource and copy the records into it",
			storedKey, stored[storedKey].typ, kf.Name, kf.Type, storedKey)
		return nil
	}

	names := make([]string, 0, len(stored))
	for name := range stored {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sf := stored[name]
		if sf.key {
			continue
		}
		if _, ok := columns[name]; !ok {
			continue // the column was dropped by hand; forget it
		}
		f := m.res.Field(name)
		switch {
		case f == nil:
			m.refuse(name, "field %q was removed from the declaration but the table still holds it; restore the field, or drop the column yourself: %s",
				name, m.dropColumnHint(name, existing))
		case f.Type != sf.typ && !(sqlstore.KindOf(f.Type) == sqlstore.KText && sqlstore.KindOf(sf.typ) == sqlstore.KText):
			m.refuse(name, "field %q changed type from %s to %s, but its column holds %s values; restore the type, or declare the field under a new name and drop the old column yourself: %s",
				name, sf.typ, f.Type, sf.typ, m.dropColumnHint(name, existing))
		}
	}

	hasRows := -1
	for _, f := range m.res.Fields {
		if f.Name == m.res.Key {
			continue
		}
		_, known := stored[f.Name]
		colType, inTable := columns[f.Name]
		want := sqlType(sqlstore.KindOf(f.Type))
		switch {
		case known && inTable:
			continue
		case inTable && !strings.EqualFold(colType, want):
			m.refuse(f.Name, "field %q is new, but the table already has a column %q of type %s, not %s; rename the field, or drop the column yourself: %s",
				f.Name, f.Name, colType, want, m.dropColumnHint(f.Name, existing))
			continue
		case inTable: // a column of the right type, added by hand: adopt it
			continue
		}
		if hasRows < 0 {
			if err := m.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+m.q+`)`).Scan(&hasRows); err != nil {
				return err
			}
		}
		if f.Required && f.Default == nil && hasRows == 1 {
			m.refuse(f.Name, "new field %q is required and has no default, but the table already holds records; give the field a default, or make it optional", f.Name)
			continue
		}
		if err := m.exec(ctx, `ALTER TABLE `+m.q+` ADD COLUMN `+quote(f.Name)+` `+want); err != nil {
			return err
		}
		if f.Default != nil && hasRows == 1 {
			if err := m.exec(ctx, `UPDATE `+m.q+` SET `+quote(f.Name)+` = ?`, encode(f.Default)); err != nil {
				return err
			}
		}
	}
	if len(m.problems) > 0 {
		return nil
	}
	if err := m.indexes(ctx, existing); err != nil {
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
func (m *migration) stored(ctx context.Context) (map[string]storedField, error) {
	rows, err := m.tx.QueryContext(ctx, `SELECT field, type, is_key FROM _restkit_fields WHERE store_name = ?`, m.name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]storedField{}
	for rows.Next() {
		var name, typ string
		var key bool
		if err := rows.Scan(&name, &typ, &key); err != nil {
			return nil, err
		}
		out[name] = storedField{typ: restkit.FieldType(typ), key: key}
	}
	return out, rows.Err()
}

func (m *migration) createSQL() string {
	kf := m.res.KeyField()
	var b strings.Builder
	b.WriteString("CREATE TABLE " + m.q + " (\n\t" + quote(kf.Name) + " ")
	b.WriteString(sqlType(sqlstore.KindOf(kf.Type)) + " PRIMARY KEY NOT NULL")
	for _, f := range m.res.Fields {
		if f.Name != kf.Name {
			b.WriteString(",\n\t" + quote(f.Name) + " " + sqlType(sqlstore.KindOf(f.Type)))
		}
	}
	b.WriteString(",\n\t_rev INTEGER NOT NULL,\n\t_created TEXT NOT NULL,\n\t_updated TEXT NOT NULL\n) STRICT")
	if sqlstore.KindOf(kf.Type) != sqlstore.KInt {
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
func (m *migration) indexes(ctx context.Context, existing map[string]string) error {
	want := map[string]string{} // name → CREATE statement
	key := quote(m.res.Key)
	for _, f := range m.res.Fields {
		switch {
		case f.Name == m.res.Key:
		case f.Unique:
			name := m.indexName(f.Name, "unique")
			want[name] = "CREATE UNIQUE INDEX " + quote(name) + " ON " + m.q + " (" + quote(f.Name) + ")"
		case f.Sortable || f.Filterable:
			name := m.indexName(f.Name, "sort")
			want[name] = "CREATE INDEX " + quote(name) + " ON " + m.q + " (" + quote(f.Name) + ", " + key + ")"
		}
	}
	for name := range existing {
		if _, ok := want[name]; !ok {
			if err := m.exec(ctx, "DROP INDEX "+quote(name)); err != nil {
				return err
			}
		}
	}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, ok := existing[name]; ok {
			continue
		}
		if err := m.exec(ctx, want[name]); err != nil {
			if isUniqueFailure(err) {
				field := strings.TrimSuffix(strings.TrimPrefix(name, m.name+":"), ":unique")
				m.refuse(field, "field %q is now unique, but the table holds duplicate values of it; remove the duplicates, or leave the field non-unique", field)
				continue
			}
			return err
		}
	}
	return nil
}

// writeMeta records the declaration in _restkit_fields.
func (m *migration) writeMeta(ctx context.Context) error {
	if len(m.problems) > 0 {
		return nil
	}
	if err := m.exec(ctx, `DELETE FROM _restkit_fields WHERE store_name = ?`, m.name); err != nil {
		return err
	}
	for i, f := range m.res.Fields {
		if err := m.exec(ctx, `INSERT INTO _restkit_fields (store_name, field, type, position, is_key) VALUES (?, ?, ?, ?, ?)`,
			m.name, f.Name, string(f.Type), i, f.Name == m.res.Key); err != nil {
			return err
		}
	}
	return nil
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
