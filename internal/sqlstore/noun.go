package sqlstore

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/restkit/restkit"
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
