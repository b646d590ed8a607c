package sqlstore

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/restkit/restkit"
)

// MigrateNoun compares a noun's stored state (EncodeState's JSON object) with its
// declaration, for Migrate, and returns the state to store instead ("" when it stays
// as it is), the steps and the refusals. A field declared since the state was written
// is additive (it reads as its default); a field declared renamed_from a stored one
// takes its value over. A stored value whose field was removed, or that no longer
// fits its field's type or constraints, is a destructive change: it is refused,
// since dropping it silently would lose device state, unless o allows it — then
// the value is dropped and the field reads as its default (a reset step). The error
// is a state that is not a JSON object.
func MigrateNoun(n *restkit.Noun, state string, o restkit.MigrateOptions) (next string, steps []restkit.MigrationStep, problems []restkit.FieldError, err error) {
	raw, err := decodeObject(state)
	if err != nil {
		return "", nil, nil, fmt.Errorf("noun %s: stored state: %w", n.Name, err)
	}
	changed := false
	for _, f := range n.Fields {
		if _, done := raw[f.Name]; f.RenamedFrom != "" && !done && RenameState(f.RenamedFrom, f.Name)(raw) {
			steps = append(steps, restkit.MigrationStep{Op: restkit.MigrateRename, Table: n.StoreName, Field: f.Name, Detail: "from " + f.RenamedFrom + ", keeping its value"})
			changed = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		v := raw[name]
		why := nounMisfit(n.Field(name), v)
		if why == "" {
			continue
		}
		steps = append(steps, restkit.MigrationStep{Op: restkit.MigrateReset, Table: n.StoreName, Field: name,
			Detail: fmt.Sprintf("the stored value %v is dropped: the field %s", v, why), Destructive: true})
		if !o.AllowDestructive && !o.DryRun {
			problems = append(problems, restkit.FieldError{Field: n.StoreName + "." + name, Message: fmt.Sprintf(
				"noun %s: field %q %s but the stored state holds %v; restore the field, or drop the stored value (the field then reads as its default); %s",
				n.Name, name, why, v, MigrateHint)})
			continue
		}
		delete(raw, name)
		changed = true
	}
	if !changed || len(problems) > 0 {
		return "", steps, problems, nil
	}
	b, err := json.Marshal(raw)
	return string(b), steps, nil, err
}

// nounMisfit says why a stored value does not fit its field (nil: removed), or "".
func nounMisfit(f *restkit.Field, v any) string {
	if f == nil {
		return "was removed from the declaration"
	}
	cv, verr := f.Canonical(v)
	if verr != nil {
		return "no longer fits the declaration: the stored value " + verr.Message
	}
	if msg := f.Check(cv); cv != nil && msg != "" {
		return "no longer fits the declaration: the stored value " + msg
	}
	return ""
}

// NounColumns are the columns of _restkit_nouns that ScanNoun reads, in its order.
const NounColumns = "state, rev, created, updated"

// Scanner is a row to scan: *sql.Row or *sql.Rows, pgx.Row or pgx.Rows.
type Scanner interface{ Scan(dest ...any) error }

// ScanNoun scans a row of NounColumns and decodes it through the noun's current
// declaration: members whose field is no longer declared, or whose value no longer
// fits the field's type, are left out. The row's own error (no rows) comes back as
// it is.
func ScanNoun(row Scanner, n *restkit.Noun) (*restkit.Record, error) {
	var state, created, updated string
	rec := &restkit.Record{}
	if err := row.Scan(&state, &rec.Rev, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if rec.Values, err = restkit.DecodeState(state, n.Field); err != nil {
		return nil, fmt.Errorf("noun %s: state: %w", n.Name, err)
	}
	if rec.Created, err = ParseTime(created); err != nil {
		return nil, err
	}
	if rec.Updated, err = ParseTime(updated); err != nil {
		return nil, err
	}
	return rec, nil
}

// ChangeNoun runs a WriteNoun's change on the noun's current state cur (nil when
// never written) and returns the record to store: the change's values, canonical and
// without nils, stamped after cur (restkit.Record.Stamp). The change owns cur and may
// change it, so what the stamp needs is kept first. The change's error comes back
// unchanged; a nil result, or a value of an undeclared field or of the wrong type, is
// a programming error (Build produces canonical values): Internal, with op.
func ChangeNoun(op string, n *restkit.Noun, cur *restkit.Record, change restkit.Change) (*restkit.Record, error) {
	var curRev int64
	var curCreated time.Time
	if cur != nil {
		curRev, curCreated = cur.Rev, cur.Created
	}
	next, err := change(cur)
	if err != nil {
		return nil, err
	}
	if next == nil {
		return nil, restkit.Wrap(op, fmt.Errorf("noun %s: the change returned no state", n.Name))
	}
	rec := &restkit.Record{Values: make(map[string]any, len(next.Values)), Created: next.Created, Updated: next.Updated}
	rec.Stamp(curRev, curCreated)
	for name, v := range next.Values {
		f := n.Field(name)
		if f == nil {
			return nil, restkit.Wrap(op, fmt.Errorf("noun %s: value for undeclared field %q", n.Name, name))
		}
		cv, verr := f.Canonical(v)
		if verr != nil {
			return nil, restkit.Wrap(op, fmt.Errorf("noun %s: field %q: %T value %s", n.Name, name, v, verr.Message))
		}
		if cv == nil {
			continue
		}
		rec.Values[name] = cv
	}
	return rec, nil
}
