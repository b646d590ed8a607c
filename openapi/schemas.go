package openapi

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/restkit/restkit"
	statustable "github.com/restkit/restkit/status"
)

// ref is a reference to the schema name in components.schemas.
func ref(name string) *Schema { return &Schema{Ref: "#/components/schemas/" + name} }

// arrayOf is a JSON array of items.
func arrayOf(items *Schema) *Schema { return &Schema{Type: Types{"array"}, Items: items} }

func stringSchema() *Schema { return &Schema{Type: Types{"string"}} }

// integerSchema is an integer of at least min.
func integerSchema(min float64) *Schema { return &Schema{Type: Types{"integer"}, Minimum: &min} }

func booleanSchema() *Schema { return &Schema{Type: Types{"boolean"}} }

func dateTimeSchema() *Schema { return &Schema{Type: Types{"string"}, Format: "date-time"} }

// jsonContent is a body of media type application/json.
func jsonContent(s *Schema) map[string]*MediaType {
	return map[string]*MediaType{"application/json": {Schema: s}}
}

// fieldSchema is the JSON Schema of one declared field: the constraints restkit.Field
// checks, in the keywords a validator checks them with.
func fieldSchema(f *restkit.Field) *Schema {
	switch f.Type {
	case restkit.TypeRelation:
		return relationSchema(f)
	case restkit.TypeJSON:
		desc := fmt.Sprintf("Any JSON value, at most %d bytes as compact JSON.", f.MaxBytes)
		if f.Description != "" {
			desc = f.Description + " " + desc
		}
		return &Schema{Description: desc, ReadOnly: f.ReadOnly, Default: jsonDefault(f.Default)}
	case restkit.TypeArray:
		s := &Schema{Description: f.Description, ReadOnly: f.ReadOnly, Items: scalarSchema(f.Item()), MaxItems: f.MaxItems, Default: jsonDefault(f.Default)}
		s.Type = Types{"array"}
		if f.Nullable {
			s.Type = Types{"array", "null"}
		}
		return s
	}
	return scalarSchema(f)
}

// relationSchema is a relation field's schema: the target key's, or a list of them
// without repeats, marked x-restkit-relation.
func relationSchema(f *restkit.Field) *Schema {
	t := f.Target()
	key := parameterSchema(t.KeyField())
	rel := &Relation{To: f.TargetAPI().ListPath(t), Schema: schemaName(f.TargetAPI(), t.Singular), Many: f.Many, OnDelete: string(f.OnDelete)}
	desc := fmt.Sprintf("The %s of a %s (%s).", t.Key, t.Singular, rel.To)
	if f.Many {
		desc = fmt.Sprintf("The %ss of %s (%s), without repeats.", t.Key, t.Name, rel.To)
	}
	if f.Description != "" {
		desc = f.Description + " " + desc
	}
	s := &Schema{Description: desc, ReadOnly: f.ReadOnly, Relation: rel, Default: jsonDefault(f.Default)}
	if f.Many {
		s.Type, s.Items, s.MaxItems, s.UniqueItems = Types{"array"}, key, f.MaxItems, true
	} else {
		s.Type, s.Format, s.Minimum, s.Maximum, s.MinLength, s.MaxLength = key.Type, key.Format, key.Minimum, key.Maximum, key.MinLength, key.MaxLength
	}
	if f.Nullable {
		s.Type = append(s.Type[:1:1], "null")
	}
	return s
}

// jsonDefault is a compound field's default as the document writes it.
func jsonDefault(v any) any {
	if t, ok := v.(restkit.JSONText); ok {
		return json.RawMessage(t)
	}
	return v
}

// scalarSchema is the schema of a scalar field (or of an array's item).
func scalarSchema(f *restkit.Field) *Schema {
	s := &Schema{Description: f.Description, Pattern: f.Pattern, ReadOnly: f.ReadOnly}
	t := "string"
	switch f.Type {
	case restkit.TypeInteger:
		t = "integer"
	case restkit.TypeNumber:
		t = "number"
	case restkit.TypeBoolean:
		t = "boolean"
	case restkit.TypeDatetime:
		s.Format = "date-time"
	case restkit.TypeEmail:
		s.Format = "email"
	case restkit.TypeURL:
		s.Format = "uri"
	case restkit.TypeEnum:
		s.Enum = make([]any, 0, len(f.Values)+1)
		for _, v := range f.Values {
			s.Enum = append(s.Enum, v)
		}
		if f.Nullable {
			s.Enum = append(s.Enum, nil)
		}
	}
	s.Type = Types{t}
	if f.Nullable {
		s.Type = Types{t, "null"}
	}
	if f.Min != nil {
		s.Minimum = new(*f.Min)
	}
	if f.Max != nil {
		s.Maximum = new(*f.Max)
	}
	if f.MinLength != nil {
		s.MinLength = new(*f.MinLength)
	}
	if f.MaxLength != nil {
		s.MaxLength = new(*f.MaxLength)
	}
	if t, ok := f.Default.(time.Time); ok {
		s.Default = t.UTC().Format(time.RFC3339Nano)
	} else if f.Default != nil {
		s.Default = f.Default
	}
	return s
}

// parameterSchema is the schema of a field's value in a query or path: the field's
// own schema without nullability, default, readOnly or description (a parameter is
// text that parses to a value of the field; the parameter has its own description).
func parameterSchema(f *restkit.Field) *Schema {
	s := fieldSchema(f)
	s.Type = s.Type[:1]
	if f.Nullable && s.Enum != nil {
		s.Enum = s.Enum[:len(s.Enum)-1]
	}
	s.Default, s.ReadOnly, s.Description, s.Relation = nil, false, "", nil
	return s
}

// expandSchema is the expand member of a record with relations: for each relation
// that expand= named, the target record (with its own expand) or a list of them.
func expandSchema(res *restkit.Resource) *Schema {
	s := &Schema{Type: Types{"object"}, ReadOnly: true,
		Description: "With expand=: the records the relations named refer to (a record deleted since is left out; a relation to records the caller may not read is refused with a 400)."}
	for _, f := range res.Relations() {
		target := ref(schemaName(f.TargetAPI(), f.Target().Singular))
		if f.Many {
			target = arrayOf(target)
		}
		s.Properties = append(s.Properties, Property{f.Name, target})
	}
	return s
}

// expandPaths lists the relation paths expand= accepts on res: every chain of
// relations up to depth long, in declaration order.
func expandPaths(res *restkit.Resource, prefix string, depth int) []any {
	var out []any
	for _, f := range res.Relations() {
		p := prefix + f.Name
		out = append(out, p)
		if depth > 1 {
			out = append(out, expandPaths(f.Target(), p+".", depth-1)...)
		}
	}
	return out
}

// objectSchema is the schema of a record or a noun's state: one property per field in
// declaration order, and with timestamps the server's created and updated.
func objectSchema(desc string, fields []*restkit.Field, required func(*restkit.Field) bool, timestamps bool) *Schema {
	s := &Schema{Type: Types{"object"}, Description: desc}
	for _, f := range fields {
		s.Properties = append(s.Properties, Property{f.Name, fieldSchema(f)})
		if required(f) {
			s.Required = append(s.Required, f.Name)
		}
	}
	if timestamps {
		for _, n := range []string{"created", "updated"} {
			s.Properties = append(s.Properties, Property{n, &Schema{Type: Types{"string"}, Format: "date-time", ReadOnly: true}})
		}
	}
	return s
}

// envelope wraps a success body in {"status":"ok","result":…} when the API says so.
func envelope(api *restkit.API, s *Schema) *Schema {
	if !api.Envelope {
		return s
	}
	return &Schema{Type: Types{"object"}, Required: []string{"status", "result"},
		Properties: Properties{{"status", &Schema{Const: "ok"}}, {"result", s}}}
}

// fieldErrors is the list of failing fields or parameters of an error body.
func fieldErrors() *Schema {
	return arrayOf(&Schema{Type: Types{"object"}, Required: []string{"field", "message"},
		Properties: Properties{{"field", stringSchema()}, {"message", stringSchema()}}})
}

// errorSchema returns a reference to the error body of an API's style, adding the
// schema to the components on first use: RFC 9457 problem details, or the status
// envelope's error.
func (b *builder) errorSchema(envelope bool) *Schema {
	schemas := b.doc.Components.Schemas
	if envelope {
		if schemas["EnvelopeError"] == nil {
			schemas["EnvelopeError"] = &Schema{Type: Types{"object"},
				Description: "The error body of an API with the status envelope.",
				Required:    []string{"status", "message", "errors"},
				Properties:  Properties{{"status", &Schema{Const: "error"}}, {"message", stringSchema()}, {"errors", fieldErrors()}}}
		}
		return ref("EnvelopeError")
	}
	if schemas["Problem"] == nil {
		status := &Schema{Type: Types{"integer"}, Minimum: new(400.0), Maximum: new(599.0)}
		schemas["Problem"] = &Schema{Type: Types{"object"},
			Description: "RFC 9457 problem details. errors lists every failing field or parameter.",
			Required:    []string{"type", "title", "status", "detail"},
			Properties: Properties{{"type", stringSchema()}, {"title", stringSchema()}, {"status", status},
				{"detail", stringSchema()}, {"errors", fieldErrors()}}}
	}
	return ref("Problem")
}

// errorResponse is the response of an error status in the API's error style; why says
// when the server answers it.
func (b *builder) errorResponse(envelope bool, status int, why string) *Response {
	desc := statustable.Text(status)
	if why != "" {
		desc += ": " + why
	}
	media := "application/problem+json"
	if envelope {
		media = "application/json"
	}
	return &Response{Description: desc, Content: map[string]*MediaType{media: {Schema: b.errorSchema(envelope)}}}
}

// addErrors adds an error response for each status, with why it is answered.
func (b *builder) addErrors(op *Operation, envelope bool, codes map[int]string) {
	for code, why := range codes {
		op.Responses[strconv.Itoa(code)] = b.errorResponse(envelope, code, why)
	}
}
