package sqlstore

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"restkit"
)

// CheckNoun compares a noun's stored state (EncodeState's JSON object) with its
// declaration, for Migrate. A field declared since the state was written is additive
// (it reads as its default); a stored value whose field was removed, or that no
// longer fits its field's type or constraints, is a destructive change and refused:
// dropping it silently would lose device state. reset is what the operator can run to
// reset the noun to its defaults. The error is a state that is not a JSON object.
func CheckNoun(n *restkit.Noun, state, reset string) ([]restkit.FieldError, error) {
	dec := json.NewDecoder(strings.NewReader(state))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("noun %s: stored state: %w", n.Name, err)
	}
	var problems []restkit.FieldError
	for _, name := range slices.Sorted(maps.Keys(raw)) {
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
	if rec.Values, err = DecodeState(state, n.Field); err != nil {
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

// NounRecord is the record WriteNoun stores for its change's result next, the noun's
// current state being at curRev (0: never written), created curCreated: next's
// values, canonical and without nils, stamped (restkit.Record.Stamp). A nil next, a
// value of an undeclared field or of the wrong type is a programming error (Build
// produces canonical values), which the store reports as Internal.
func NounRecord(n *restkit.Noun, next *restkit.Record, curRev int64, curCreated time.Time) (*restkit.Record, error) {
	if next == nil {
		return nil, fmt.Errorf("noun %s: the change returned no state", n.Name)
	}
	rec := &restkit.Record{Values: make(map[string]any, len(next.Values)), Created: next.Created, Updated: next.Updated}
	rec.Stamp(curRev, curCreated)
	for name, v := range next.Values {
		f := n.Field(name)
		if f == nil {
			return nil, fmt.Errorf("noun %s: value for undeclared field %q", n.Name, name)
		}
		cv, verr := f.Canonical(v)
		if verr != nil {
			return nil, fmt.Errorf("noun %s: field %q: %T value %s", n.Name, name, v, verr.Message)
		}
		if cv == nil {
			continue
		}
		rec.Values[name] = cv
	}
	return rec, nil
}
