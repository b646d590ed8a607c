package sqlstore

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/restkit/restkit"
)

// HistorySuffix names the history table of a resource: "<StoreName>__history".
const HistorySuffix = "__history"

// Resources returns the resources of every API of a prepared schema, in order; Invalid
// for a schema that is not prepared. Their storage names are unique: Schema.Prepare
// refuses collisions.
func Resources(sc *restkit.Schema) ([]*restkit.Resource, error) {
	var resources []*restkit.Resource
	for _, api := range sc.APIs {
		for _, res := range api.Resources {
			if res.StoreName == "" || res.KeyField() == nil {
				return nil, restkit.Errorf(restkit.Invalid, "resource %s: the schema is not prepared (call Schema.Prepare)", res.Name)
			}
			resources = append(resources, res)
		}
	}
	return resources, nil
}

// StoredField is what _restkit_fields records of one field of a table: its declared
// type, whether it is the key, and the constraints its values were checked against
// (FieldSpec; "" when recorded by a version that did not keep them).
type StoredField struct {
	Type string // restkit.Field.DeclaredType: "integer", "relation:authors", "array:string"…
	Key  bool
	Spec string
}

// Found is what a store found of a resource's existing table inside Migrate's
// transaction.
type Found struct {
	Columns map[string]string      // column name → its type, as the store reads it back
	Stored  map[string]StoredField // field name → what _restkit_fields records
}

// Dialect is what a migration asks of its store: how it types a column, and what it
// finds out in its own SQL. HasRows and Fill may be nil when Plan is not called; the
// others are used by Plan.
type Dialect struct {
	// ColumnType is the column type the store gives a field of the kind.
	ColumnType func(Kind) string
	// SameType reports whether a column's type, as the store reads it back, is want.
	SameType func(have, want string) bool
	// HasRows reports whether the table holds any row. Plan asks at most once, and
	// only when a column is to be added.
	HasRows func() (bool, error)
	// Fill, when set, says why a new field's default cannot fill the existing rows
	// (the whole refusal, after the resource's label), or "" when it can.
	Fill func(f *restkit.Field) string
	// Exists reports whether the resource holds a record with the key: a new relation
	// whose default fills the existing rows needs its target to exist. Nil: not asked.
	Exists func(res *restkit.Resource, key any) (bool, error)
}

// Migration is the migration of one resource's table: the options it runs with, the
// steps it plans, the refusals found so far, and the store's Dialect. A store runs
// one per resource inside Migrate's transaction, carries out the Plan in its own SQL,
// and changes nothing of a resource with Problems (Migrate then refuses the whole
// schema: Refusal).
type Migration struct {
	Res *restkit.Resource
	Dialect
	Opts     restkit.MigrateOptions
	Steps    []restkit.MigrationStep
	Problems []restkit.FieldError
}

// Refuse records a refusal naming "<table>.<field>" (the table alone for field "").
// The message starts with the resource's Label.
func (m *Migration) Refuse(field, format string, args ...any) {
	where := m.Res.StoreName
	if field != "" {
		where += "." + field
	}
	m.Problems = append(m.Problems, restkit.FieldError{Field: where, Message: Label(m.Res) + ": " + fmt.Sprintf(format, args...)})
}

// Step records a step of the plan. A destructive one is refused unless the options
// allow it (or only plan: a dry run): refusal says what changed, and the message
// goes on to say how to carry it out.
func (m *Migration) Step(op restkit.MigrationOp, field, detail, refusal string, args ...any) {
	destructive := refusal != ""
	m.Steps = append(m.Steps, restkit.MigrationStep{Op: op, Table: m.Res.StoreName, Field: field, Detail: detail, Destructive: destructive})
	if destructive && !m.Opts.AllowDestructive && !m.Opts.DryRun {
		m.Refuse(field, refusal+"; "+MigrateHint, args...)
	}
}

// MigrateHint ends the refusal of a destructive change: the command that carries it
// out (no sqlite3 or psql needed).
const MigrateHint = "restkit migrate --dry-run (with the same --config and --data) shows the plan, and restkit migrate --allow-destructive carries it out"

// NewColumn is a column Plan adds for a field declared since the table was made.
type NewColumn struct {
	Field *restkit.Field
	Type  string // ColumnType of its kind
	Fill  bool   // existing rows take the field's default: it has one and the table has rows
}

// Plan is what Migration.Plan decided for an existing table. A store carries it out
// in this order: renames, drops, retypes, narrows, then the new columns.
type Plan struct {
	Renames []Rename
	Drops   []Drop
	Retypes []Retype
	Narrows []Narrow
	Add     []NewColumn
}

// Rename is a field declared renamed_from a column the table holds: the column, its
// indexes and the field's values in history take the new name.
type Rename struct {
	From  string
	Field *restkit.Field
}

// Drop is a column to drop with its values: a field removed from the declaration, or
// (Stray) a column restkit did not record whose name a new field takes.
type Drop struct {
	Name, Type string // the stored type (Stray: the column's type)
	Stray      bool
}

// Retype is a field whose values are converted from the stored type From.
type Retype struct {
	Field *restkit.Field
	From  string
}

// Narrow is a field that allows fewer values than before: every stored one must
// still be allowed.
type Narrow struct {
	Field *restkit.Field
	Why   string
}

// Plan compares an existing table (found.Columns is not empty) with the declaration
// and decides what Migrate may do to it. The table must have been made by restkit
// (its fields recorded in found.Stored), keyed by the declared key (or by the field
// the key is renamed_from). A field declared renamed_from a stored field whose column
// is there takes that column over. A stored field whose column is still there and
// that no declared field takes over is dropped; one whose type changed is retyped,
// unless both types are of the same text kind (string, enum, email, url); one whose
// constraints tightened (FieldSpec: enum values removed, lengths shortened, …) is
// narrowed. Drops, retypes and narrows are destructive (see Step). A declared field
// with no stored record is new: a column of its name already there is adopted if it
// has the right type, replaced (destructively) otherwise; else the column is added —
// refused when the field is required without a default and the table has rows.
// Columns dropped by hand are forgotten.
//
// It returns the plan, or nil when it refused anything (m.Problems): then nothing
// of the table is to be changed. Only HasRows's and Exists's errors are returned.
func (m *Migration) Plan(found Found) (*Plan, error) {
	if len(found.Stored) == 0 {
		m.Refuse("", "table %q exists but restkit did not create it (it has no field metadata); rename or drop the table, or rename the resource", m.Res.StoreName)
		return nil, nil
	}
	p := &Plan{}
	taken, ok := m.planKey(found, p)
	if !ok {
		return nil, nil
	}
	m.planRenames(found, p, taken)
	m.planStored(found, p, taken)
	if err := m.planNew(found, p, taken); err != nil {
		return nil, err
	}
	// The steps in the order a store carries them out.
	rank := map[restkit.MigrationOp]int{restkit.MigrateRename: 0, restkit.MigrateDrop: 1, restkit.MigrateRetype: 2, restkit.MigrateNarrow: 3, restkit.MigrateAdd: 4}
	slices.SortStableFunc(m.Steps, func(a, b restkit.MigrationStep) int { return rank[a.Op] - rank[b.Op] })
	if len(m.Problems) > 0 {
		return nil, nil
	}
	return p, nil
}

// planKey checks the key, and plans its rename. taken maps each stored field to the
// declared field that keeps its column.
func (m *Migration) planKey(found Found, p *Plan) (taken map[string]*restkit.Field, ok bool) {
	kf := m.Res.KeyField()
	var storedKey string
	for name, sf := range found.Stored {
		if sf.Key {
			storedKey = name
		}
	}
	renamed := kf.RenamedFrom != "" && storedKey == kf.RenamedFrom
	if (storedKey != kf.Name && !renamed) || found.Stored[storedKey].Type != kf.DeclaredType() {
		m.Refuse(kf.Name, "the key changed from %q (%s) to %q (%s), but the table is keyed by %q; restore the key, or declare a new resource and copy the records into it",
			storedKey, found.Stored[storedKey].Type, kf.Name, kf.Type, storedKey)
		return nil, false
	}
	taken = map[string]*restkit.Field{storedKey: kf}
	if renamed {
		m.rename(found, p, kf)
	}
	return taken, true
}

// planRenames plans the rename of each field declared renamed_from a stored field
// whose column is there, and that is not stored under its new name already.
func (m *Migration) planRenames(found Found, p *Plan, taken map[string]*restkit.Field) {
	for _, f := range m.Res.Fields {
		old := f.RenamedFrom
		_, done := found.Stored[f.Name]
		_, there := found.Columns[old]
		if f.Name == m.Res.Key || old == "" || done || !there || found.Stored[old].Type == "" || taken[old] != nil {
			continue
		}
		taken[old] = f
		m.rename(found, p, f)
	}
}

func (m *Migration) rename(found Found, p *Plan, f *restkit.Field) {
	if _, clash := found.Columns[f.Name]; clash {
		m.Refuse(f.Name, "field %q is renamed from %q, but the table already has a column %q; rename the field, or remove renamed_from", f.Name, f.RenamedFrom, f.Name)
		return
	}
	p.Renames = append(p.Renames, Rename{From: f.RenamedFrom, Field: f})
	m.Step(restkit.MigrateRename, f.Name, "from "+f.RenamedFrom+", keeping its values and their history", "")
}

// planStored compares every stored field whose column is there with the declared
// field that takes it over, if any.
func (m *Migration) planStored(found Found, p *Plan, taken map[string]*restkit.Field) {
	for _, name := range slices.Sorted(maps.Keys(found.Stored)) {
		sf := found.Stored[name]
		if _, ok := found.Columns[name]; !ok || sf.Key {
			continue // the column was dropped by hand; forget it
		}
		f := taken[name] // renamed from it
		if f == nil {
			if f = m.Res.Field(name); f != nil {
				taken[name] = f
			}
		}
		switch {
		case f == nil:
			p.Drops = append(p.Drops, Drop{Name: name, Type: sf.Type})
			m.Step(restkit.MigrateDrop, name, "the field was removed: its column and its "+sf.Type+" values are deleted",
				"field %q was removed from the declaration but the table still holds it; restore the field, or drop it with its values", name)
		case f.DeclaredType() == sf.Type || textual(f.DeclaredType()) && textual(sf.Type):
			if why := narrowing(sf, f); why != "" {
				p.Narrows = append(p.Narrows, Narrow{Field: f, Why: why})
				m.Step(restkit.MigrateNarrow, f.Name, why+"; every stored value is checked",
					"field %q now allows fewer values (%s); restore the declaration, or check every stored value and apply it", f.Name, why)
			}
		case convertible(sf.Type, f):
			p.Retypes = append(p.Retypes, Retype{Field: f, From: sf.Type})
			m.Step(restkit.MigrateRetype, f.Name, sf.Type+" → "+f.DeclaredType()+"; every stored value is converted",
				"field %q changed type from %s to %s, but its column holds %s values; restore the type, or convert them", f.Name, sf.Type, f.DeclaredType(), sf.Type)
		default:
			m.Refuse(f.Name, "field %q changed type from %s to %s, which restkit cannot convert (only between string, integer, number, boolean and datetime); restore the type, or declare a new field (the old one is then dropped)",
				f.Name, sf.Type, f.DeclaredType())
		}
	}
}

// planNew plans the fields with no stored record.
func (m *Migration) planNew(found Found, p *Plan, taken map[string]*restkit.Field) error {
	declared := map[*restkit.Field]bool{}
	for _, f := range taken {
		declared[f] = true
	}
	hasRows := -1 // not asked yet
	for _, f := range m.Res.Fields {
		if declared[f] {
			continue
		}
		want := m.ColumnType(FieldKind(f))
		if colType, inTable := found.Columns[f.Name]; inTable {
			if m.SameType(colType, want) {
				continue // a column of the right type, added by hand: adopt it
			}
			p.Drops = append(p.Drops, Drop{Name: f.Name, Type: colType, Stray: true})
			m.Step(restkit.MigrateDrop, f.Name, "a column restkit did not make, of type "+colType+", with its values, to make room for the new field",
				"field %q is new, but the table already has a column %q of type %s, not %s; rename the field, or replace the column", f.Name, f.Name, colType, want)
		}
		if hasRows < 0 {
			rows, err := m.HasRows()
			if err != nil {
				return err
			}
			hasRows = map[bool]int{false: 0, true: 1}[rows]
		}
		c, err := m.newColumn(f, want, hasRows == 1)
		if err != nil {
			return err
		}
		if c != nil {
			p.Add = append(p.Add, *c)
		}
	}
	return nil
}

// newColumn plans the column of a new field, or refuses it (nil).
func (m *Migration) newColumn(f *restkit.Field, want string, hasRows bool) (*NewColumn, error) {
	if f.Required && f.Default == nil && hasRows {
		m.Refuse(f.Name, "new field %q is required and has no default, but the table already holds records; give the field a default, or make it optional", f.Name)
		return nil, nil
	}
	fill := f.Default != nil && hasRows
	if fill && f.Type == restkit.TypeRelation && m.Exists != nil {
		if msg, err := m.defaultTargets(f); err != nil || msg != "" {
			if err == nil {
				m.Refuse(f.Name, "%s", msg)
			}
			return nil, err
		}
	}
	if fill && m.Fill != nil {
		if msg := m.Fill(f); msg != "" {
			m.Refuse(f.Name, "%s", msg)
			return nil, nil
		}
	}
	detail := "a new " + f.DeclaredType() + " column"
	if fill {
		detail += "; the records it holds take the default " + restkit.Format(f.Default)
	}
	m.Step(restkit.MigrateAdd, f.Name, detail, "")
	return &NewColumn{Field: f, Type: want, Fill: fill}, nil
}

// defaultTargets says why a new relation's default cannot fill the existing rows (a
// target that does not exist), or "".
func (m *Migration) defaultTargets(f *restkit.Field) (string, error) {
	keys, ok := f.Default.([]any)
	if !ok {
		keys = []any{f.Default}
	}
	for _, k := range keys {
		there, err := m.Exists(f.Target(), k)
		if err != nil || !there {
			return fmt.Sprintf("new relation %q would give the records it already holds its default, %s %s, but no %s has that %s; create it first, or give the field another default",
				f.Name, f.Target().Key, restkit.Format(k), f.Target().Singular, f.Target().Key), err
		}
	}
	return "", nil
}

// textual reports whether a recorded type is one of the scalar text types, which
// share a column type and may change into each other.
func textual(declared string) bool { return restkit.FieldType(declared).Textual() }

// IndexChanges compares restkit's indexes on a table (existing: name → field) with
// those the declaration asks for (want, by name; each store decides which those are,
// as its engine orders index entries differently) and returns the ones to drop and
// the ones to create, each sorted by name.
func IndexChanges[V any](existing map[string]string, want map[string]V) (drop, create []string) {
	for name := range existing {
		if _, ok := want[name]; !ok {
			drop = append(drop, name)
		}
	}
	for name := range want {
		if _, ok := existing[name]; !ok {
			create = append(create, name)
		}
	}
	slices.Sort(drop)
	slices.Sort(create)
	return drop, create
}

// RefuseDuplicates refuses a new unique index that could not be built because the
// table holds duplicate values of its field.
func (m *Migration) RefuseDuplicates(field string) {
	m.Refuse(field, "field %q is now unique, but the table holds duplicate values of it; remove the duplicates, or leave the field non-unique", field)
}

// CheckHistoryKey plans the replacement of a history table (named table) whose key
// column is of type colType, as the store reads it back, when that is not the key's
// column type (the key changed while History was off): the old history is dropped,
// a destructive step. It reports whether the store must drop and remake the table.
func (m *Migration) CheckHistoryKey(table, colType string) bool {
	kf := m.Res.KeyField()
	if want := m.ColumnType(FieldKind(kf)); m.SameType(colType, want) {
		return false
	}
	m.Steps = append(m.Steps, restkit.MigrationStep{Op: restkit.MigrateDrop, Table: m.Res.StoreName, Destructive: true,
		Detail: "the history table " + table + ", keyed by " + colType + " values, with every revision in it; a new one is made"})
	if !m.Opts.AllowDestructive && !m.Opts.DryRun {
		m.Refuse(m.Res.Key, "the history table %q is keyed by %s values but the key %q is %s; drop the old history; "+MigrateHint, table, colType, m.Res.Key, kf.Type)
	}
	return true
}

// HistoryClashes refuses a resource whose table name is another resource's history
// or join table ("cars__history" next to cars with history: true, "books__tags" next
// to books with a many relation tags), and two derived tables of one name.
func HistoryClashes(resources []*restkit.Resource) []restkit.FieldError {
	names := map[string]*restkit.Resource{}
	for _, res := range resources {
		names[res.StoreName] = res
	}
	derived := map[string]string{}
	var problems []restkit.FieldError
	for _, res := range resources {
		for _, d := range DerivedTables(res) {
			if other := names[d.Name]; other != nil {
				problems = append(problems, restkit.FieldError{Field: other.StoreName, Message: fmt.Sprintf(
					"%s: the table name %q is %s; rename one of them", Label(other), other.StoreName, d.What)})
			}
			if other, taken := derived[d.Name]; taken {
				problems = append(problems, restkit.FieldError{Field: res.StoreName, Message: fmt.Sprintf(
					"%s: table %q would be %s and %s; rename a field or a resource", Label(res), d.Name, other, d.What)})
			}
			derived[d.Name] = d.What
		}
	}
	return problems
}

// Refusal is Migrate's error for the problems it found: Invalid, one line and one
// field error per problem.
func Refusal(problems []restkit.FieldError) error {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Message
	}
	return &restkit.Error{Kind: restkit.Invalid, Message: strings.Join(msgs, "\n"), Fields: problems}
}

// Label names a resource in messages: "resource cars", or "resource people (table
// v1_people)" when the table name differs.
func Label(res *restkit.Resource) string {
	if res.Name == res.StoreName {
		return "resource " + res.Name
	}
	return "resource " + res.Name + " (table " + res.StoreName + ")"
}

// JoinTable names the join table of a many relation: "<StoreName>__<field>".
func JoinTable(res *restkit.Resource, f *restkit.Field) string { return res.StoreName + "__" + f.Name }

// Derived is a table a resource needs beside its own, and what it is, for messages.
type Derived struct{ Name, What string }

// DerivedTables lists the tables a resource needs beside its own: its history table
// (with History) and the join table of each many relation.
func DerivedTables(res *restkit.Resource) []Derived {
	var out []Derived
	if res.History {
		out = append(out, Derived{res.StoreName + HistorySuffix, "the history table of " + Label(res)})
	}
	for _, f := range res.Fields {
		if f.Type == restkit.TypeRelation && f.Many {
			out = append(out, Derived{JoinTable(res, f), "the join table of " + Label(res) + "'s relation " + f.Name})
		}
	}
	return out
}
