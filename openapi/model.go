package openapi

import (
	"bytes"
	"encoding/json"
)

// The OpenAPI 3.1 objects this package writes, as typed structs holding only the
// fields it uses. encoding/json writes struct fields in the order declared here and
// map keys sorted, so a document is the same bytes for the same Schema; the
// properties of an object schema keep the fields' declaration order (Properties).
//
// A nil slice or pointer is left out (omitempty). Where OpenAPI gives an empty list
// a meaning of its own — security: [] says "no credentials needed" — the field is
// tagged omitzero, which writes an empty non-nil slice and leaves out only nil.

// Document is an OpenAPI 3.1 document (OAS 3.1 §4.8.1).
type Document struct {
	OpenAPI           string   `json:"openapi"`
	Info              Info     `json:"info"`
	JSONSchemaDialect string   `json:"jsonSchemaDialect"`
	Servers           []Server `json:"servers,omitempty"`
	// Security is every operation's requirement unless the operation has its own:
	// the two schemes when auth is on, the empty list (no credentials) when it is off.
	Security []SecurityRequirement `json:"security,omitzero"`
	Tags     []Tag                 `json:"tags,omitempty"`
	Paths    map[string]*PathItem  `json:"paths"`
	// Webhooks are the requests the server sends (OAS 3.1 §4.8.1): one POST per
	// webhook event type, keyed by the type.
	Webhooks   map[string]*PathItem `json:"webhooks,omitempty"`
	Components Components           `json:"components"`
}

// Info is the Info Object (§4.8.2).
type Info struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description,omitempty"`
}

// Server is a Server Object (§4.8.5): the base URL of every path.
type Server struct {
	URL string `json:"url"`
}

// Tag is a Tag Object (§4.8.22): one per resource, noun and built-in group.
type Tag struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}

// Components holds the schemas, responses and security schemes that are referenced
// by name (§4.8.7).
type Components struct {
	Schemas         map[string]*Schema         `json:"schemas,omitempty"`
	Responses       map[string]*Response       `json:"responses,omitempty"`
	SecuritySchemes map[string]*SecurityScheme `json:"securitySchemes,omitempty"`
}

// PathItem is a Path Item Object (§4.8.9): the operations of one path, and the path
// parameters they share.
type PathItem struct {
	Parameters []*Parameter `json:"parameters,omitempty"`
	Get        *Operation   `json:"get,omitempty"`
	Put        *Operation   `json:"put,omitempty"`
	Post       *Operation   `json:"post,omitempty"`
	Patch      *Operation   `json:"patch,omitempty"`
	Delete     *Operation   `json:"delete,omitempty"`
	Head       *Operation   `json:"head,omitempty"` // only where HEAD is not GET's (tus)
}

// Operations lists the path's operations with their lower-case methods.
func (p *PathItem) Operations() []MethodOperation {
	var out []MethodOperation
	for _, m := range []MethodOperation{{"get", p.Get}, {"put", p.Put}, {"post", p.Post}, {"patch", p.Patch}, {"delete", p.Delete}, {"head", p.Head}} {
		if m.Operation != nil {
			out = append(out, m)
		}
	}
	return out
}

// MethodOperation is an operation and the method it answers.
type MethodOperation struct {
	Method    string
	Operation *Operation
}

// Operation is an Operation Object (§4.8.10).
type Operation struct {
	OperationID string       `json:"operationId"`
	Tags        []string     `json:"tags,omitempty"`
	Summary     string       `json:"summary"`
	Description string       `json:"description,omitempty"`
	Parameters  []*Parameter `json:"parameters,omitempty"`
	RequestBody *RequestBody `json:"requestBody,omitempty"`
	// Responses by status code ("200", "404").
	Responses map[string]*Response `json:"responses"`
	// Security, when not nil, replaces the document's requirement: [] for an
	// operation that needs no credentials, [{}, basic, bearer] for optional ones.
	Security []SecurityRequirement `json:"security,omitzero"`
	// Deprecated marks an operation of a deprecated API or resource (§4.8.10).
	Deprecated bool `json:"deprecated,omitempty"`
}

// Parameter is a Parameter Object (§4.8.12) of a path, query or header.
type Parameter struct {
	Name        string  `json:"name"`
	In          string  `json:"in"`
	Description string  `json:"description,omitempty"`
	Required    bool    `json:"required"`
	Style       string  `json:"style,omitempty"`   // form, for a comma list (with Explode false)
	Explode     *bool   `json:"explode,omitempty"` // false: a=x,y rather than a=x&a=y
	Schema      *Schema `json:"schema"`
}

// RequestBody is a Request Body Object (§4.8.13).
type RequestBody struct {
	Description string                `json:"description,omitempty"`
	Required    bool                  `json:"required"`
	Content     map[string]*MediaType `json:"content"`
}

// MediaType is a Media Type Object (§4.8.14). It has no description: what a form
// means is said by the request body or response that lists it.
type MediaType struct {
	Schema *Schema `json:"schema,omitempty"`
}

// Response is a Response Object (§4.8.17), or a Reference Object to one in
// components.responses when Ref is set.
type Response struct {
	Ref         string                `json:"$ref,omitempty"`
	Description string                `json:"description,omitempty"`
	Headers     map[string]*Header    `json:"headers,omitempty"`
	Content     map[string]*MediaType `json:"content,omitempty"`
}

// Header is a Header Object (§4.8.21) of a response.
type Header struct {
	Description string  `json:"description,omitempty"`
	Schema      *Schema `json:"schema"`
}

// SecurityScheme is a Security Scheme Object (§4.8.27) of type http.
type SecurityScheme struct {
	Type        string `json:"type"`
	Scheme      string `json:"scheme"`
	Description string `json:"description,omitempty"`
}

// SecurityRequirement names the schemes one way of authenticating uses (§4.8.30);
// the empty requirement {} means "no credentials". The values are scopes, which
// HTTP schemes do not have: always empty, never nil (null is not a list).
type SecurityRequirement map[string][]string

// Schema is the JSON Schema (draft 2020-12, the OAS 3.1 dialect) subset restkit
// writes: a reference, or the keywords of a field, record, list or envelope.
type Schema struct {
	Ref         string `json:"$ref,omitempty"`
	Description string `json:"description,omitempty"`
	Type        Types  `json:"type,omitempty"`
	Format      string `json:"format,omitempty"`
	Enum        []any  `json:"enum,omitempty"`
	Const       any    `json:"const,omitempty"`
	// Default is the declared default; a false, 0 or "" default is written too (only
	// a nil interface is left out).
	Default     any        `json:"default,omitempty"`
	Minimum     *float64   `json:"minimum,omitempty"`
	Maximum     *float64   `json:"maximum,omitempty"`
	MinLength   *int       `json:"minLength,omitempty"`
	MaxLength   *int       `json:"maxLength,omitempty"`
	Pattern     string     `json:"pattern,omitempty"`
	ReadOnly    bool       `json:"readOnly,omitempty"`
	Items       *Schema    `json:"items,omitempty"`
	MaxItems    *int       `json:"maxItems,omitempty"`
	UniqueItems bool       `json:"uniqueItems,omitempty"`
	Required    []string   `json:"required,omitempty"`
	Properties  Properties `json:"properties,omitempty"`
	// AdditionalProperties is the schema of the values of an object's other keys.
	AdditionalProperties *Schema   `json:"additionalProperties,omitempty"`
	OneOf                []*Schema `json:"oneOf,omitempty"`
	// Relation (x-restkit-relation) marks a relation field: its value is the key of a
	// record of To, or a list of them.
	Relation *Relation `json:"x-restkit-relation,omitempty"`
	// EventData (x-restkit-event-data) is, on a text/event-stream schema, the schema
	// of each event's data by event name (created, updated, deleted, reset).
	EventData map[string]*Schema `json:"x-restkit-event-data,omitempty"`
	// Deprecated marks the record schema of a deprecated resource (JSON Schema
	// 2020-12 Meta-Data, §9.3).
	Deprecated bool `json:"deprecated,omitempty"`
}

// Relation is the x-restkit-relation extension of a relation field's schema.
type Relation struct {
	To       string `json:"to"`        // the target resource's list path: /authors, /v1/tags
	Schema   string `json:"schema"`    // the target's schema in the components
	Many     bool   `json:"many"`      // a list of keys
	OnDelete string `json:"on_delete"` // restrict, cascade or set_null
}

// Types is the type keyword: one name is written as a string ("integer"), several
// as an array (["string", "null"] for a nullable string).
type Types []string

// MarshalJSON writes one type as a string and several as an array.
func (t Types) MarshalJSON() ([]byte, error) {
	if len(t) == 1 {
		return json.Marshal(t[0])
	}
	return json.Marshal([]string(t))
}

// Property is one named property of an object schema.
type Property struct {
	Name   string
	Schema *Schema
}

// Properties are the properties of an object schema in the order of their fields,
// the order a record's JSON has.
type Properties []Property

// Get returns the schema of the property name, or nil.
func (ps Properties) Get(name string) *Schema {
	for _, p := range ps {
		if p.Name == name {
			return p.Schema
		}
	}
	return nil
}

// MarshalJSON writes the properties as one JSON object, keys in order.
func (ps Properties) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(p.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(p.Schema)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
