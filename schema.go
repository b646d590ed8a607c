package restkit

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
)

// FieldType is the declared type of a field. Every type has one canonical Go
// representation (see Field.Canonical), which is what Records hold and stores persist.
type FieldType string

const (
	TypeString   FieldType = "string"   // Go string
	TypeInteger  FieldType = "integer"  // Go int64
	TypeNumber   FieldType = "number"   // Go float64
	TypeBoolean  FieldType = "boolean"  // Go bool
	TypeDatetime FieldType = "datetime" // Go time.Time in UTC (RFC 3339 on the wire)
	TypeEnum     FieldType = "enum"     // Go string, one of Field.Values
	TypeEmail    FieldType = "email"    // Go string, a bare address
	TypeURL      FieldType = "url"      // Go string, an absolute http(s) URL
	TypeRelation FieldType = "relation" // the target's key (int64 or string); with Many, []any of keys
	TypeJSON     FieldType = "json"     // JSONText: any JSON value, compact, object members sorted
	TypeArray    FieldType = "array"    // []any of canonical values of the Items type
)

// Textual reports whether values of the type are Go strings compared as text (string,
// enum, email, url): the types that take the prefix operator.
func (t FieldType) Textual() bool {
	return t == TypeString || t == TypeEnum || t == TypeEmail || t == TypeURL
}

// Scalar reports whether values of the type are single values (not relation, json or
// array): the types an array's items, a key or a noun's field may have.
func (t FieldType) Scalar() bool { return t != TypeRelation && t != TypeJSON && t != TypeArray }

// FieldTypes lists every field type, in documentation order.
var FieldTypes = []FieldType{TypeString, TypeInteger, TypeNumber, TypeBoolean, TypeDatetime, TypeEnum, TypeEmail, TypeURL,
	TypeRelation, TypeJSON, TypeArray}

// Field is one declared, typed, validated field. The same declaration validates
// requests, shapes the store's columns and writes the OpenAPI schema.
type Field struct {
	Name        string
	Type        FieldType
	Description string
	Required    bool // must be present on create and replace
	Nullable    bool // null is a value; an unset nullable field reads as null
	Default     any  // canonical value used when the field is absent; nil for none
	Min, Max    *float64
	MinLength   *int // in characters (runes), for string-like types
	MaxLength   *int
	Pattern     string   // RE2 regular expression a string value must match (unanchored unless written ^…$)
	Values      []string // allowed values of an enum
	ReadOnly    bool     // set by the server (default or hook); clients may echo it back unchanged
	Unique      bool     // no two records share a non-null value
	Sortable    bool     // may appear in sort=
	Filterable  bool     // may appear as a filter

	// A relation (TypeRelation) refers to records of another resource (or of its own:
	// a tree). To names the target: "authors" in the same API, or "/v1/authors" (an API's
	// base, then the resource) in another. Many makes it a set: an ordered list of
	// distinct keys, at most MaxItems. OnDelete says what deleting a target does to the
	// records that refer to it.
	To       string
	Many     bool
	OnDelete OnDelete
	// An array (TypeArray) holds values of the scalar type Items, at most MaxItems; the
	// field's other constraints (min, max, lengths, pattern, values) apply to each item.
	Items    FieldType
	MaxItems *int
	// MaxBytes bounds a json field's value, compactly encoded; DefaultMaxJSON when 0.
	MaxBytes int
	// RenamedFrom names the field this one used to be: a store migrating a table that
	// still holds RenamedFrom renames its column (and its values in history) to Name,
	// keeping the data. Once renamed, it changes nothing and may stay declared.
	RenamedFrom string

	pattern   *regexp.Regexp
	item      *Field    // an array's item: Items with the field's constraints
	target    *Resource // a relation's resolved To
	targetAPI *API
}

// Verbs.
const (
	GET    = http.MethodGet
	POST   = http.MethodPost
	PUT    = http.MethodPut
	PATCH  = http.MethodPatch
	DELETE = http.MethodDelete
)

// KeySource says where a resource's key value comes from.
type KeySource string

const (
	KeyFromBody  KeySource = "body"      // the client supplies it in the body (POST) or the URL must match it (PUT)
	KeyFromURL   KeySource = "url"       // the client names it in the URL: PUT /people/fred creates fred
	KeyGenerated KeySource = "generated" // the server makes it (1, 2, 3… for an integer, a UUIDv7 for a string); a client-supplied key is a 400
)

// Resource is a declared collection of records.
type Resource struct {
	Name string // e.g. "cars": its storage, its XML list element, its URL segment unless Path says otherwise
	// Path is the URL segment of the list, ItemPath that of the items, under the
	// API's base B: the list is B/<Path>, an item B/<ItemPath>/{key}, and POST is
	// accepted on B/<ItemPath> too when the two differ (a Flask app's
	// /api/resources and /api/resource/{id}). Prepare sets Path to Name and
	// ItemPath to Path when they are empty.
	Path, ItemPath string
	StoreName      string // unique name for storage (table), set by Prepare: "cars", or "v1_people" under API v1
	Singular       string // one record in XML elements, messages and OpenAPI names; Singular(Name) when empty
	Description    string
	Fields         []*Field // in declaration order, which is also the order of JSON and XML output
	Key            string   // the name of the key field, one of Fields (integer or string)
	KeySource      KeySource
	Collection     []string   // verbs allowed on the collection: GET, POST
	Item           []string   // verbs allowed on an item: GET, PUT, PATCH, DELETE
	PutCreates     bool       // PUT on an absent item creates it (201)
	PageSize       int        // default limit of a list
	MaxPageSize    int        // largest accepted limit
	MaxBody        int64      // largest accepted request body in bytes
	MaxOffset      int        // deepest page=N offset paging reaches, in rows; deeper lists follow cursors
	CacheControl   string     // Cache-Control of records and lists; default "no-cache" (clients revalidate with the ETag)
	RateLimit      *RateLimit // nil: the API's; see Schema.RateLimitAt
	RequireIfMatch bool       // PUT, PATCH and DELETE of an existing record need If-Match (428 without)
	History        bool       // keep every past revision (see HistoryStore)
	HistoryKeep    int        // with History, keep at most this many revisions per record; 0 keeps all
	Timestamps     bool       // add created/updated to the representation
	Access         Access     // who may read, write, delete; unset parts inherit the API's
	// Deprecated, when set, announces that the resource is going away (RFC 9745): its
	// responses carry Deprecation, Sunset and Link headers, and OpenAPI marks it. A
	// resource without its own takes its API's (API.DeprecationOf).
	Deprecated *Deprecation
	// OwnerField, with auth, names a string field the server stamps with the creating
	// caller's user name; only that user or an admin role (Auth.AdminRoles) may then
	// change or delete the record. Prepare declares the field when it is not.
	OwnerField string
	// Hooks are Go functions run around the resource's writes (hooks.go); nil: none.
	Hooks *Hooks
	// Capability names the switch (Schema.Capabilities) the resource is served under:
	// while it is off, the resource is not served. "" for none.
	Capability string
	// VerbCapabilities names the switch of single verbs: "POST" (the collection's) or
	// "item DELETE" (an item's) → capability. While it is off, the verb is not allowed.
	VerbCapabilities map[string]string

	byName    map[string]*Field
	referrers []Reference // the relations that point here (prepareRelations)
	schema    *Schema     // set by Prepare: the switches
	api       *API
}

// UpdateOp is the kind of POST update a noun performs.
type UpdateOp string

const (
	UpdateToggle    UpdateOp = "toggle"    // flip a boolean, or a two-valued enum
	UpdateIncrement UpdateOp = "increment" // add By to an integer or number
	UpdateMerge     UpdateOp = "merge"     // merge the body into the state (JSON Merge Patch of a flat object)
	UpdateHook      UpdateOp = "hook"      // call Hook
)

// UpdateFunc is a Go hook run by POST on a noun. It receives a copy of the current state
// and the request body (flat, already parsed; nil when the body was empty) and returns
// the new state, which is then validated like a PUT. Returning an *Error rejects the
// request with that error and changes nothing.
type UpdateFunc func(ctx context.Context, state map[string]any, body map[string]any) (map[string]any, error)

// Update is a noun's POST behaviour.
type Update struct {
	Op    UpdateOp
	Field string  // for toggle and increment
	By    float64 // for increment; 1 when zero
	Hook  UpdateFunc
}

// Noun is a singleton state object in the device style: GET reads, PUT sets exactly,
// POST runs Update, DELETE resets to defaults.
type Noun struct {
	Name        string
	StoreName   string // unique name for storage, set by Prepare like Resource.StoreName
	Description string
	Fields      []*Field
	Update      Update
	Access      Access // who may read, write (PUT, POST), delete (reset); unset parts inherit the API's
	Capability  string // the switch the noun is served under (see Resource.Capability)

	byName map[string]*Field
	schema *Schema
	api    *API
}

// API is a group of resources and nouns under one URL base.
type API struct {
	Name      string // used in doc anchors; derived from Base when empty ("v1" for /v1, "" for the root)
	Base      string // "" or a path like "/v1"
	Envelope  bool   // wrap bodies as {"status":"ok","result":…} / {"status":"error",…}
	Resources []*Resource
	Nouns     []*Noun
	RateLimit *RateLimit // nil: the schema's; see Schema.RateLimitAt
	Access    Access     // unset parts inherit Schema.Auth.Access
	// Deprecated, when set, announces that every resource and noun of the API is going
	// away (see Deprecation).
	Deprecated *Deprecation
	// Capability names the switch the whole API is served under (see Resource.Capability).
	Capability string

	schema *Schema
}

// Schema is a whole declaration: every API a server serves.
type Schema struct {
	APIs      []*API
	RateLimit *RateLimit // the default for every route but /healthz; nil: none
	Auth      *Auth      // nil: no authentication, every route open
	// Capabilities are the named switches of the declaration (capability.go); Prepare
	// adds the built-in read_only when it is not declared.
	Capabilities []*Capability

	prepared bool                     // Prepare has succeeded
	switches atomic.Pointer[switches] // the capabilities' runtime states (capability.go)
}

// Prepared reports whether Prepare has succeeded on s: only a prepared Schema may be
// served or migrated.
func (s *Schema) Prepared() bool { return s != nil && s.prepared }

// Defaults applied by Prepare.
const (
	DefaultPageSize    = 20
	DefaultMaxPageSize = 100
	DefaultMaxBody     = 1 << 20
	DefaultMaxOffset   = 10000
	DefaultMaxJSON     = 64 << 10 // a json field's largest value, in bytes
)

// reservedPaths are the root paths the server serves itself, which no resource or
// noun of the root API may take. (/docs may: the reference page then steps aside.)
// Root paths starting with _ are restkit's too (/_admin, /_uploads): resource and
// noun names cannot start with _, and a base cannot either.
var reservedPaths = map[string]string{
	"healthz": "liveness",
	"readyz":  "readiness",
	"metrics": "Prometheus metrics",
	"ui":      "the web console",
}

var (
	nameRE    = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	segmentRE = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)              // a resource's path and item_path
	baseRE    = regexp.MustCompile(`^(/[a-zA-Z0-9_~-][a-zA-Z0-9._~-]*)+$`) // no "." or ".." segments
)

// Prepare checks the declaration, fills defaults and compiles patterns. It must be
// called once before a Schema is used; it returns an Invalid *Error listing every
// problem, each Field naming its place ("apis[0].resources.cars.fields.year").
func (s *Schema) Prepare() error {
	var errs []FieldError
	add := func(where, format string, args ...any) {
		errs = append(errs, FieldError{Field: where, Message: fmt.Sprintf(format, args...)})
	}
	routes := map[string]string{}
	claim := func(where, path string) bool {
		if prev, ok := routes[path]; ok {
			add(where, "path %s is already used by %s", path, prev)
			return false
		}
		routes[path] = where
		return true
	}
	stores := map[string]string{}
	claimStore := func(where, name string) {
		if prev, ok := stores[name]; ok {
			add(where, "its storage name %q is also %s's; rename one of them", name, prev)
			return
		}
		stores[name] = where
	}
	if len(s.APIs) == 0 {
		add("apis", "at least one API is required")
	}
	for i, a := range s.APIs {
		at := fmt.Sprintf("apis[%d]", i)
		a.Base = strings.TrimSuffix(a.Base, "/")
		if a.Base != "" && !baseRE.MatchString(a.Base) {
			add(at+".base", "base must be empty or a path like /v1, got %q", a.Base)
		} else if strings.HasPrefix(a.Base, "/_") {
			add(at+".base", "base %s starts with /_: root paths starting with _ belong to restkit (/_admin, /_uploads)", a.Base)
		}
		if first, _, _ := strings.Cut(strings.TrimPrefix(a.Base, "/"), "/"); reservedPaths[first] != "" {
			add(at+".base", "/%s is the server's own (%s): choose another base", first, reservedPaths[first])
		}
		if a.Name == "" {
			a.Name = strings.ReplaceAll(strings.TrimPrefix(a.Base, "/"), "/", "-")
		}
		prepareDeprecation(a.Deprecated, at+".deprecated", add)
		singulars := map[string]string{} // the singular of a record names its OpenAPI schema and operations
		for _, r := range a.Resources {
			rat := at + ".resources." + r.Name
			if !nameRE.MatchString(r.Name) {
				add(rat, "resource name must match %s", nameRE)
			}
			r.StoreName = storeName(a, r.Name)
			if prepareResourcePaths(a, r, rat, add, claim) {
				claimStore(rat, r.StoreName)
			}
			prepareResource(r, rat, add)
			prepareDeprecation(r.Deprecated, rat+".deprecated", add)
			if prev, ok := singulars[r.Singular]; ok {
				add(rat, "its singular %q is also resource %s's; declare another singular on one of them", r.Singular, prev)
			} else if nameRE.MatchString(r.Singular) {
				singulars[r.Singular] = r.Name
			}
		}
		for _, n := range a.Nouns {
			nat := at + ".nouns." + n.Name
			if !nameRE.MatchString(n.Name) {
				add(nat, "noun name must match %s", nameRE)
			}
			if a.Base == "" && reservedPaths[n.Name] != "" {
				add(nat, "/%s is the server's own (%s): rename the noun or give its API a base such as /v1", n.Name, reservedPaths[n.Name])
			}
			n.StoreName = storeName(a, n.Name)
			if claim(nat, a.Base+"/"+n.Name) {
				claimStore(nat, n.StoreName)
				if res, ok := singulars[n.Name]; ok {
					add(nat, "its name is also the singular of resource %s; declare another singular on %s", res, res)
				}
			}
			prepareNoun(n, nat, add)
		}
	}
	s.prepareRelations(add)
	s.prepareAuth(add)
	s.prepareCapabilities(add)
	if len(errs) > 0 {
		s.prepared = false
		return &Error{Kind: Invalid, Message: "invalid declaration", Fields: errs}
	}
	s.prepared = true
	return nil
}

// prepareResourcePaths defaults and checks the URL segments of a resource's list
// (Path) and items (ItemPath), and claims both routes; it reports whether the list's
// route was free. A problem with a declared path is reported at that setting, one
// with a path derived from the name at the resource.
func prepareResourcePaths(a *API, r *Resource, at string, add addFunc, claim func(where, path string) bool) bool {
	pathAt, itemAt := at, at
	if r.Path == "" {
		r.Path = r.Name
	} else {
		pathAt = at + ".path"
		if !segmentRE.MatchString(r.Path) {
			add(pathAt, "path must be one URL segment matching %s, got %q", segmentRE, r.Path)
		}
	}
	if r.ItemPath == "" {
		r.ItemPath = r.Path
		itemAt = pathAt
	} else {
		itemAt = at + ".item_path"
		if !segmentRE.MatchString(r.ItemPath) {
			add(itemAt, "item_path must be one URL segment matching %s, got %q", segmentRE, r.ItemPath)
		}
	}
	type route struct{ at, segment string }
	routes := []route{{pathAt, r.Path}}
	if r.ItemPath != r.Path {
		routes = append(routes, route{itemAt, r.ItemPath})
	}
	free := true
	for i, route := range routes {
		if what := reservedPaths[route.segment]; a.Base == "" && what != "" {
			fix := "choose another path"
			if route.at == at {
				fix = "rename the resource"
			}
			add(route.at, "/%s is the server's own (%s): %s or give its API a base such as /v1", route.segment, what, fix)
		}
		if !claim(route.at, a.Base+"/"+route.segment) && i == 0 {
			free = false
		}
	}
	return free
}

var unsafeName = regexp.MustCompile(`[^a-z0-9_]+`)

// storeName names a resource or noun for storage: unique across APIs and safe as an
// SQL identifier (still quoted by the stores).
func storeName(a *API, name string) string {
	if a.Name == "" {
		return name
	}
	return unsafeName.ReplaceAllString(strings.ToLower(a.Name), "_") + "_" + name
}

type addFunc func(where, format string, args ...any)

func prepareFields(fields []*Field, at string, add addFunc) map[string]*Field {
	byName := make(map[string]*Field, len(fields))
	defer func() { prepareRenames(fields, byName, at, add) }()
	for _, f := range fields {
		fat := at + ".fields." + f.Name
		if !nameRE.MatchString(f.Name) {
			add(fat, "field name must match %s", nameRE)
		}
		if _, dup := byName[f.Name]; dup {
			add(fat, "field %s is declared twice", f.Name)
		}
		byName[f.Name] = f
		prepareField(f, fat, add)
	}
	return byName
}

func prepareField(f *Field, at string, add addFunc) {
	known := false
	for _, t := range FieldTypes {
		known = known || f.Type == t
	}
	if !known {
		add(at+".type", "unknown type %q; one of %s", f.Type, joinTypes())
		return
	}
	prepareCompound(f, at, add)
	// The scalar constraints apply to the field's values, or to each item of an array.
	vt := f.Type
	if f.Type == TypeArray {
		vt = f.Items
	}
	if vt == TypeEnum {
		if len(f.Values) == 0 {
			add(at+".values", "an enum needs values")
		}
		seen := map[string]bool{}
		for _, v := range f.Values {
			if seen[v] {
				add(at+".values", "value %q is listed twice", v)
			}
			seen[v] = true
		}
	} else if len(f.Values) > 0 {
		add(at+".values", "values are only for enum fields (and arrays of enum items)")
	}
	numeric := vt == TypeInteger || vt == TypeNumber
	stringy := vt == TypeString || vt == TypeEmail || vt == TypeURL
	if (f.Min != nil || f.Max != nil) && !numeric {
		add(at, "min and max are only for integer and number fields")
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		add(at, "min %v is greater than max %v", *f.Min, *f.Max)
	}
	if (f.MinLength != nil || f.MaxLength != nil) && !stringy {
		add(at, "minLength and maxLength are only for string, email and url fields")
	}
	if (f.MinLength != nil && *f.MinLength < 0) || (f.MaxLength != nil && *f.MaxLength < 0) {
		add(at, "minLength and maxLength must not be negative")
	}
	if f.MinLength != nil && f.MaxLength != nil && *f.MinLength > *f.MaxLength {
		add(at, "minLength %d is greater than maxLength %d", *f.MinLength, *f.MaxLength)
	}
	if f.Pattern != "" {
		if !stringy {
			add(at+".pattern", "pattern is only for string, email and url fields")
		}
		re, err := regexp.Compile(f.Pattern)
		if err != nil {
			add(at+".pattern", "pattern does not compile: %v", err)
		}
		f.pattern = re
	}
	if f.Type == TypeArray && f.Items.Scalar() {
		f.item = &Field{Name: f.Name, Type: f.Items, Min: f.Min, Max: f.Max, MinLength: f.MinLength, MaxLength: f.MaxLength,
			Pattern: f.Pattern, Values: f.Values, pattern: f.pattern}
	}
	if f.Type != TypeRelation { // a relation's default waits for its target (prepareRelations)
		prepareDefault(f, at, add)
	}
	if f.Unique && f.Type == TypeBoolean {
		add(at+".unique", "a boolean field cannot be unique")
	}
}

// prepareDefault checks a field's default and makes it canonical.
func prepareDefault(f *Field, at string, add addFunc) {
	if f.Default == nil {
		return
	}
	v, err := f.Canonical(f.Default)
	if err != nil {
		add(at+".default", "default %s", err.Message)
	} else if msg := f.Check(v); msg != "" {
		add(at+".default", "default %s", msg)
	} else {
		f.Default = v
	}
}

// prepareCompound checks the settings of relation, json and array fields, and that
// the settings of those types are not given to others.
func prepareCompound(f *Field, at string, add addFunc) {
	if f.Type != TypeRelation && (f.To != "" || f.Many || f.OnDelete != "") {
		add(at, "to, many and on_delete are only for relation fields")
	}
	if f.Type != TypeArray && f.Items != "" {
		add(at+".items", "items is only for array fields")
	}
	if f.MaxItems != nil && f.Type != TypeArray && !(f.Type == TypeRelation && f.Many) {
		add(at+".max_items", "max_items is only for arrays and relations with many: true")
	}
	if f.MaxItems != nil && *f.MaxItems < 1 {
		add(at+".max_items", "max_items must be at least 1")
	}
	if f.Type != TypeJSON && f.MaxBytes != 0 {
		add(at+".max_bytes", "max_bytes is only for json fields")
	}
	switch f.Type {
	case TypeRelation:
		if f.To == "" {
			add(at+".to", "a relation needs to: the resource it refers to")
		}
		switch f.OnDelete {
		case "":
			f.OnDelete = Restrict
		case Restrict, Cascade, SetNull:
		default:
			add(at+".on_delete", "on_delete must be restrict, cascade or set_null, not %q", f.OnDelete)
		}
		if f.OnDelete == SetNull && !f.Many && !f.Nullable {
			add(at+".on_delete", "on_delete: set_null needs a nullable field (add nullable: true)")
		}
		if f.Many && f.Unique {
			add(at+".unique", "a relation with many: true cannot be unique")
		}
	case TypeArray:
		if !f.Items.Scalar() || f.Items == "" {
			add(at+".items", "an array's items must be one of string, integer, number, boolean, datetime, enum, email, url, not %q", f.Items)
		}
	case TypeJSON:
		if f.MaxBytes < 0 {
			add(at+".max_bytes", "max_bytes must be positive")
		}
		if f.MaxBytes == 0 {
			f.MaxBytes = DefaultMaxJSON
		}
	}
	if !f.Type.Scalar() && !(f.Type == TypeRelation && !f.Many) {
		what := string(f.Type) + " field"
		if f.Type == TypeRelation {
			what = "relation with many: true"
		}
		if f.Unique {
			add(at+".unique", "a %s cannot be unique", what)
		}
		if f.Sortable {
			add(at+".sortable", "a %s cannot be sortable", what)
		}
	}
	if f.Type == TypeJSON && f.Filterable {
		add(at+".filterable", "a json field cannot be filterable")
	}
}

func prepareResource(r *Resource, at string, add addFunc) {
	prepareOwner(r, at, add)
	r.byName = prepareFields(r.Fields, at, add)
	if r.Singular == "" {
		r.Singular = Singular(r.Name)
	} else if !nameRE.MatchString(r.Singular) {
		add(at+".singular", "singular must match %s, got %q", nameRE, r.Singular)
	}
	key, ok := r.byName[r.Key]
	switch {
	case r.Key == "":
		add(at+".key", "a resource needs a key field")
	case !ok:
		add(at+".key", "key %q is not a declared field", r.Key)
	default:
		if r.KeySource == "" {
			r.KeySource = KeyFromBody
		}
		switch r.KeySource {
		case KeyFromBody, KeyFromURL:
			if key.Type != TypeInteger && key.Type != TypeString {
				add(at+".key", "a key must be an integer or a string, not %q", key.Type)
			}
		case KeyGenerated:
			switch key.Type {
			case TypeString: // a UUIDv7
			case TypeInteger: // 1, 2, 3…
				if key.Max != nil || (key.Min != nil && *key.Min > 1) {
					add(at+".key", "a generated integer key counts from 1 without end: it takes no max, and no min above 1")
				}
			default:
				add(at+".key", "a generated key must be an integer field (1, 2, 3…) or a string field (a UUIDv7), not %q", key.Type)
			}
			key.ReadOnly = true
		default:
			add(at+".key", "key source must be body, url or generated, not %q", r.KeySource)
		}
		if key.Nullable || key.Default != nil {
			add(at+".key", "a key cannot be nullable or have a default")
		}
		key.Required = r.KeySource != KeyGenerated
		key.Unique = true
		key.Sortable = true
		key.Filterable = true
	}
	if r.Collection == nil {
		r.Collection = []string{GET, POST}
	}
	if r.Item == nil {
		r.Item = []string{GET, PUT, PATCH, DELETE}
	}
	checkVerbs(r.Collection, []string{GET, POST}, at+".collection", add)
	checkVerbs(r.Item, []string{GET, PUT, PATCH, DELETE}, at+".item", add)
	if r.KeySource == KeyFromURL && contains(r.Collection, POST) {
		add(at+".collection", "POST on the collection needs a key from the body or generated; this key comes from the URL (use PUT with put_creates)")
	}
	if r.PutCreates && r.KeySource == KeyGenerated {
		add(at+".put_creates", "put_creates needs a client-supplied key")
	}
	if r.PageSize == 0 {
		r.PageSize = DefaultPageSize
	}
	if r.MaxPageSize == 0 {
		r.MaxPageSize = max(DefaultMaxPageSize, r.PageSize)
	}
	if r.PageSize < 1 || r.PageSize > r.MaxPageSize {
		add(at+".page_size", "page_size must be between 1 and max_page_size (%d)", r.MaxPageSize)
	}
	if r.MaxBody == 0 {
		r.MaxBody = DefaultMaxBody
	}
	if r.MaxOffset == 0 {
		r.MaxOffset = DefaultMaxOffset
	}
	if r.MaxOffset < 0 {
		add(at+".max_offset", "max_offset must not be negative")
	}
	if r.CacheControl == "" {
		r.CacheControl = "no-cache"
	}
	if strings.ContainsAny(r.CacheControl, "\r\n") {
		add(at+".cache_control", "cache_control must be one line")
	}
	if r.MaxBody < 0 {
		add(at+".max_body", "max_body must be positive")
	}
	if r.HistoryKeep < 0 {
		add(at+".history_keep", "history_keep must not be negative")
	}
	if r.HistoryKeep > 0 && !r.History {
		add(at+".history_keep", "history_keep needs history: true")
	}
	if r.Timestamps {
		for _, n := range []string{"created", "updated"} {
			if _, clash := r.byName[n]; clash {
				add(at+".fields."+n, "field %s clashes with timestamps: true", n)
			}
		}
	}
}

func prepareNoun(n *Noun, at string, add addFunc) {
	n.byName = prepareFields(n.Fields, at, add)
	for _, f := range n.Fields {
		if f.Unique {
			add(at+".fields."+f.Name, "a noun's field cannot be unique")
		}
	}
	u := &n.Update
	switch u.Op {
	case "":
		u.Op = UpdateMerge
	case UpdateMerge:
	case UpdateToggle:
		f, ok := n.byName[u.Field]
		switch {
		case !ok:
			add(at+".update", "toggle names %q, which is not a field", u.Field)
		case f.Type == TypeBoolean, f.Type == TypeEnum && len(f.Values) == 2:
		default:
			add(at+".update", "toggle needs a boolean or a two-valued enum field, %s is %s", f.Name, f.Type)
		}
	case UpdateIncrement:
		f, ok := n.byName[u.Field]
		switch {
		case !ok:
			add(at+".update", "increment names %q, which is not a field", u.Field)
		case f.Type != TypeInteger && f.Type != TypeNumber:
			add(at+".update", "increment needs an integer or number field, %s is %s", f.Name, f.Type)
		case math.IsInf(u.By, 0) || math.IsNaN(u.By):
			add(at+".update", "increment needs a finite step, not %v", u.By)
		case f.Type == TypeInteger && u.By != float64(int64(u.By)):
			add(at+".update", "increment of an integer field needs a whole step, not %v", u.By)
		}
		if u.By == 0 {
			u.By = 1
		}
	case UpdateHook:
		if u.Hook == nil {
			add(at+".update", "a hook update needs a Go function (Update.Hook)")
		}
	default:
		add(at+".update", "update must be toggle FIELD, increment FIELD [BY], merge or a Go hook, not %q", u.Op)
	}
}

func checkVerbs(verbs, allowed []string, at string, add addFunc) {
	for _, v := range verbs {
		if !contains(allowed, v) {
			add(at, "verb %q is not one of %s", v, strings.Join(allowed, " "))
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func joinTypes() string {
	s := make([]string, len(FieldTypes))
	for i, t := range FieldTypes {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// Field returns the declared field with the name, or nil.
func (r *Resource) Field(name string) *Field { return r.byName[name] }

// ListPath is where the API serves the resource's list: "/v1/cars".
func (a *API) ListPath(r *Resource) string { return a.Base + "/" + r.Path }

// ItemsPath is the path the API serves the resource's items under: an item is
// ItemsPath/{key}, "/v1/cars/7". It is ListPath unless the resource declares an ItemPath.
func (a *API) ItemsPath(r *Resource) string { return a.Base + "/" + r.ItemPath }

// SequentialKeys reports whether the server allocates the resource's keys as the
// integers 1, 2, 3…: a generated integer key (see KeyAllocator).
func (r *Resource) SequentialKeys() bool {
	kf := r.KeyField()
	return r.KeySource == KeyGenerated && kf != nil && kf.Type == TypeInteger
}

// KeyField returns the key's declaration.
func (r *Resource) KeyField() *Field { return r.byName[r.Key] }

// Allows reports whether verb is allowed on the collection (item false) or an item.
func (r *Resource) Allows(verb string, item bool) bool {
	list, key := r.Collection, verb
	if item {
		list, key = r.Item, "item "+verb
	}
	return contains(list, verb) && r.schema.Enabled(r.VerbCapabilities[key])
}

// Verbs returns the verbs the collection (item false) or an item allows now: the
// declared ones whose capability is on.
func (r *Resource) Verbs(item bool) []string {
	list := r.Collection
	if item {
		list = r.Item
	}
	out := make([]string, 0, len(list))
	for _, v := range list {
		if r.Allows(v, item) {
			out = append(out, v)
		}
	}
	return out
}

// Field returns the declared field with the name, or nil.
func (n *Noun) Field(name string) *Field { return n.byName[name] }

// prepareOwner declares the owner field when the resource does not (a nullable,
// filterable, sortable string: "?owner=alice" lists a user's records) and makes it
// read-only either way: only the server stamps it.
func prepareOwner(r *Resource, at string, add addFunc) {
	if r.OwnerField == "" {
		return
	}
	for _, f := range r.Fields {
		if f.Name != r.OwnerField {
			continue
		}
		switch {
		case f.Name == r.Key:
			add(at+".owner_field", "owner_field cannot be the key %s", r.Key)
		case f.Type != TypeString:
			add(at+".owner_field", "owner_field %s must be a string field, not %s", f.Name, f.Type)
		case f.Required || f.Default != nil:
			add(at+".owner_field", "owner_field %s is set by the server: it cannot be required or have a default", f.Name)
		}
		f.ReadOnly = true
		return
	}
	r.Fields = append(r.Fields, &Field{Name: r.OwnerField, Type: TypeString, Nullable: true, ReadOnly: true,
		Filterable: true, Sortable: true, Description: "The user who created the record; set by the server."})
}
