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
// type and whether it is the key.
type StoredField struct {
	Type string // restkit.Field.DeclaredType: "integer", "relation:authors", "array:string"…
	Key  bool
}

// Found is what a store found of a resource's existing table inside Migrate's
// transaction.
type Found struct {
	Columns map[string]string      // column name → its type, as the store reads it back
	Stored  map[string]StoredField // field name → what _restkit_fields records
}

// Dialect is what a migration asks of its store: how it types a column, and what it
// finds out or suggests in its own SQL. HasRows and Fill may be nil when Plan is not
// called; the others are used by Plan and CheckHistoryKey.
type Dialect struct {
	// ColumnType is the column type the store gives a field of the kind.
	ColumnType func(Kind) string
	// SameType reports whether a column's type, as the store reads it back, is want.
	SameType func(have, want string) bool
	// DropColumnHint is what the operator can run to drop the column of a field.
	DropColumnHint func(field string) string
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

// Migration is the migration of one resource's table: the refusals found so far,
// and the store's Dialect. A store runs one per resource inside Migrate's
// transaction, makes the changes Plan decides in its own SQL, and changes nothing of
// a resource with Problems (Migrate then refuses the whole schema: Refusal).
type Migration struct {
	Res *restkit.Resource
	Dialect
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

// NewColumn is a column Plan adds for a field declared since the table was made.
type NewColumn struct {
	Field *restkit.Field
	Type  string // ColumnType of its kind
	Fill  bool   // existing rows take the field's default: it has one and the table has rows
}

// Plan compares an existing table (found.Columns is not empty) with the declaration
// and decides what Migrate may do to it. The table must have been made by restkit
// (its fields recorded in found.Stored), keyed by the declared key. A stored field
// whose column is still there must still be declared, with the same type or another
// of the same text kind (string, enum, email, url). A declared field with no stored
// record is new: a column of its name already there is adopted if it has the right
// type, refused otherwise; else the column is added — refused when the field is
// required without a default and the table has rows. Columns dropped by hand are
// forgotten.
//
// It returns the columns to add, in declaration order, or nil when it refused
// anything (m.Problems): then nothing of the table is to be changed. Only HasRows's
// error is returned.
func (m *Migration) Plan(found Found) ([]NewColumn, error) {
	columns, stored := found.Columns, found.Stored
	if len(stored) == 0 {
		m.Refuse("", "table %q exists but restkit did not create it (it has no field metadata); rename or drop the table, or rename the resource", m.Res.StoreName)
		return nil, nil
	}

	kf := m.Res.KeyField()
	var storedKey string
	for name, sf := range stored {
		if sf.Key {
			storedKey = name
		}
	}
	if storedKey != kf.Name || stored[storedKey].Type != kf.DeclaredType() {
		m.Refuse(kf.Name, "the key changed from %q (%s) to %q (%s), but the table is keyed by %q; restore the key, or declare a new resource and copy the records into it",
			storedKey, stored[storedKey].Type, kf.Name, kf.Type, storedKey)
		return nil, nil
	}

	for _, name := range slices.Sorted(maps.Keys(stored)) {
		sf := stored[name]
		if sf.Key {
			continue
		}
		if _, ok := columns[name]; !ok {
			continue // the column was dropped by hand; forget it
		}
		f := m.Res.Field(name)
		switch {
		case f == nil:
			m.Refuse(name, "field %q was removed from the declaration but the table still holds it; restore the field, or drop the column yourself: %s",
				name, m.DropColumnHint(name))
		case f.DeclaredType() != sf.Type && !(textual(f.DeclaredType()) && textual(sf.Type)):
			m.Refuse(name, "field %q changed type from %s to %s, but its column holds %s values; restore the type, or declare the field under a new name and drop the old column yourself: %s",
				name, sf.Type, f.DeclaredType(), sf.Type, m.DropColumnHint(name))
		}
	}

	var add []NewColumn
	hasRows := -1 // not asked yet
	for _, f := range m.Res.Fields {
		if f.Name == m.Res.Key {
			continue
		}
		_, known := stored[f.Name]
		colType, inTable := columns[f.Name]
		want := m.ColumnType(FieldKind(f))
		switch {
		case known && inTable:
			continue
		case inTable && !m.SameType(colType, want):
			m.Refuse(f.Name, "field %q is new, but the table already has a column %q of type %s, not %s; rename the field, or drop the column yourself: %s",
				f.Name, f.Name, colType, want, m.DropColumnHint(f.Name))
			continue
		case inTable: // a column of the right type, added by hand: adopt it
			continue
		}
		if hasRows < 0 {
			rows, err := m.HasRows()
			if err != nil {
				return nil, err
			}
			hasRows = 0
			if rows {
				hasRows = 1
			}
		}
		if f.Required && f.Default == nil && hasRows == 1 {
			m.Refuse(f.Name, "new field %q is required and has no default, but the table already holds records; give the field a default, or make it optional", f.Name)
			continue
		}
		fill := f.Default != nil && hasRows == 1
		if fill && f.Type == restkit.TypeRelation && m.Exists != nil {
			if msg, err := m.defaultTargets(f); err != nil || msg != "" {
				if err != nil {
					return nil, err
				}
				m.Refuse(f.Name, "%s", msg)
				continue
			}
		}
		if fill && m.Fill != nil {
			if msg := m.Fill(f); msg != "" {
				m.Refuse(f.Name, "%s", msg)
				continue
			}
		}
		add = append(add, NewColumn{Field: f, Type: want, Fill: fill})
	}
	if len(m.Problems) > 0 {
		return nil, nil
	}
	return add, nil
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

// CheckHistoryKey refuses a history table (named table) whose key column is of type
// colType, as the store reads it back, when that is not the key's column type: the
// key changed while History was off. hint is what the operator can run to drop it.
func (m *Migration) CheckHistoryKey(table, colType, hint string) {
	kf := m.Res.KeyField()
	if want := m.ColumnType(FieldKind(kf)); !m.SameType(colType, want) {
		m.Refuse(m.Res.Key, "the history table %q is keyed by %s values but the key %q is %s; drop the old history yourself: %s",
			table, colType, m.Res.Key, kf.Type, hint)
	}
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
