package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/restkit/restkit"
)

// formField is one input of a generated form.
type formField struct {
	Name     string
	Input    string   // text, number, email, url, select, textarea, list (repeatable)
	Options  []string // select: the choices ("" first when the field may be left empty)
	Value    string
	Values   []string // list: one input each
	Required bool
	Hint     string
	Error    string
	Relation string // the target's list path, for the relation picker (DESIGN §11)
}

// conflict is what an edit that lost a race (412) shows: the version saved meanwhile.
type conflict struct {
	Theirs []fieldRow
}

type formPage struct {
	Heading, Action, Submit, Cancel string
	Fields                          []formField
	ETag                            string            // sent back as If-Match (edits)
	Orig                            map[string]string // the values the edit started from, to merge after a conflict
	CSRF                            string
	Errors                          []string // errors of no single field
	Conflict                        *conflict
}

// Field types other issues add (DESIGN §11); the form is ready for them.
const (
	typeJSON     restkit.FieldType = "json"
	typeArray    restkit.FieldType = "array"
	typeRelation restkit.FieldType = "relation"
)

// editable are the fields a form shows: not read-only ones, and the key only when
// the client names it on create.
func (rs *resource) editable(create bool) []*restkit.Field {
	var out []*restkit.Field
	for _, f := range rs.res.Fields {
		if f.ReadOnly || (f.Name == rs.res.Key && (!create || rs.res.KeySource == restkit.KeyGenerated)) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// inputOf is the input a field gets: enum and boolean a select, json a textarea,
// array a repeatable input, relation a text input with the picker.
func inputOf(f *restkit.Field, value string, values []string) formField {
	ff := formField{Name: f.Name, Input: "text", Value: value, Required: f.Required, Hint: f.Description}
	optional := func(opts ...string) []string {
		if f.Required && f.Default == nil {
			return opts
		}
		return append([]string{""}, opts...)
	}
	switch f.Type {
	case restkit.TypeInteger, restkit.TypeNumber:
		ff.Input = "number"
	case restkit.TypeEmail:
		ff.Input = "email"
	case restkit.TypeURL:
		ff.Input = "url"
	case restkit.TypeDatetime:
		ff.Hint = strings.TrimSpace(ff.Hint + " RFC 3339, e.g. 2026-01-02T15:04:05Z")
	case restkit.TypeEnum:
		ff.Input, ff.Options = "select", optional(f.Values...)
	case restkit.TypeBoolean:
		ff.Input, ff.Options = "select", optional("true", "false")
	case typeJSON:
		ff.Input = "textarea"
		ff.Hint = strings.TrimSpace(ff.Hint + " Any JSON value; checked when you save.")
	case typeArray:
		ff.Input, ff.Values = "list", append(values, "")
	case typeRelation:
		ff.Relation = "" // set by the caller once relations name their target (issue 13)
	}
	return ff
}

// formValues reads the submitted values of fields into a JSON object, with an error
// per field whose text is not of its type. Empty inputs are left out (null when
// nulls is true: a merge patch then removes the value).
func formValues(r *http.Request, fields []*restkit.Field, nulls bool) (map[string]any, map[string]string) {
	body, errs := map[string]any{}, map[string]string{}
	for _, f := range fields {
		if f.Type == typeArray {
			var items []any
			for _, s := range r.PostForm[f.Name] {
				if s != "" {
					items = append(items, s)
				}
			}
			if items != nil || nulls {
				body[f.Name] = items
			}
			continue
		}
		s := r.PostFormValue(f.Name)
		if s == "" {
			if nulls {
				body[f.Name] = nil
			}
			continue
		}
		val, msg := parseInput(f, s)
		if msg != "" {
			errs[f.Name] = msg
			continue
		}
		body[f.Name] = val
	}
	return body, errs
}

// parseInput converts the text of one input to the JSON value of its field type.
func parseInput(f *restkit.Field, s string) (any, string) {
	switch f.Type {
	case restkit.TypeInteger:
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return nil, "must be an integer"
		}
		return json.Number(s), ""
	case restkit.TypeNumber:
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return nil, "must be a number"
		}
		return json.Number(s), ""
	case restkit.TypeBoolean:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, "must be true or false"
		}
		return b, ""
	case typeJSON:
		if !json.Valid([]byte(s)) {
			return nil, "is not valid JSON"
		}
		return json.RawMessage(s), ""
	}
	return s, ""
}

// fieldsOf builds the inputs of a form from values and the errors to show beside them.
func fieldsOf(fields []*restkit.Field, r *http.Request, values map[string]string, errs map[string]string) []formField {
	var out []formField
	for _, f := range fields {
		var list []string
		if r != nil && r.PostForm != nil {
			list = r.PostForm[f.Name]
		}
		ff := inputOf(f, values[f.Name], list)
		ff.Error = errs[f.Name]
		out = append(out, ff)
	}
	return out
}

// apiErrors splits the API's field errors into those of the form's fields and the rest.
func apiErrors(err error, fields []*restkit.Field) (map[string]string, []string) {
	byField, other := map[string]string{}, []string{}
	known := map[string]bool{}
	for _, f := range fields {
		known[f.Name] = true
	}
	for _, fe := range restkit.ErrorFields(err) {
		if known[fe.Field] && byField[fe.Field] == "" {
			byField[fe.Field] = fe.Message
		} else {
			other = append(other, fe.Field+": "+fe.Message)
		}
	}
	if len(byField) == 0 && len(other) == 0 {
		if re, ok := err.(*restkit.Error); ok {
			other = append(other, re.Message)
		}
	}
	return byField, other
}

// submitted are the form's values as typed, to show them again with errors.
func submitted(r *http.Request, fields []*restkit.Field) map[string]string {
	out := map[string]string{}
	for _, f := range fields {
		out[f.Name] = r.PostFormValue(f.Name)
	}
	return out
}
