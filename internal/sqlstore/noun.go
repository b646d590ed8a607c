package sqlstore

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

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
