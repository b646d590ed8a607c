package config

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/restkit/restkit"
)

// The keys each mapping accepts, in documentation order (also the order in which an
// unknown key's message lists them).
var (
	topKeys      = []string{"server", "auth", "ratelimit", "capabilities", "apis", "artefacts", "events", "ui", "webhooks"}
	limitKeys    = []string{"rate", "burst", "trusted_proxies"}
	serverKeys   = []string{"addr", "data", "log_format", "debug", "read_header_timeout", "min_upload_rate", "upload_grace", "cors", "tls_cert", "tls_key", "insecure_public"}
	corsKeys     = []string{"origins", "methods", "headers", "max_age"}
	apiKeys      = []string{"name", "base", "envelope", "ratelimit", "access", "deprecated", "capability", "resources", "nouns"}
	resourceKeys = []string{"description", "path", "item_path", "singular", "key", "key_from", "fields", "collection", "item", "put_creates", "page_size", "max_page_size", "max_body", "max_offset", "history", "history_keep", "timestamps", "require_if_match", "cache_control", "ratelimit", "access", "owner_field", "deprecated", "capability"}
	nounKeys     = []string{"description", "fields", "update", "access", "capability"}
	fieldKeys    = []string{"type", "description", "required", "nullable", "default", "min", "max", "minLength", "maxLength", "pattern", "values", "readOnly", "unique", "sortable", "filterable",
		"to", "many", "on_delete", "items", "max_items", "max_bytes", "renamed_from"}
)

var (
	logFormats = []string{"text", "json"}
	keySources = []string{string(restkit.KeyFromBody), string(restkit.KeyFromURL), string(restkit.KeyGenerated)}
	updateOps  = []string{string(restkit.UpdateToggle), string(restkit.UpdateIncrement), string(restkit.UpdateMerge)}
)

// recKey records that path is declared at e's key (a named thing: a resource, a
// field); rec that it is declared at e's value (a setting).
func (d *decoder) recKey(path string, e entry) { d.at[path] = e.keyAt }
func (d *decoder) rec(path string, e entry)    { d.at[path] = e.at() }

// document reads the top-level mapping into a Config whose Schema is not prepared yet.
func (d *decoder) document(m *ast.MappingNode) *Config {
	d.at[""] = posOf(m)
	c := &Config{Schema: &restkit.Schema{}, Events: DefaultEvents()}
	for _, e := range d.entries(m, "at the top level", topKeys) {
		switch e.key {
		case "server":
			c.Server = d.server(e)
		case "apis":
			d.recKey("apis", e)
			c.Schema.APIs = d.apis(e)
		case "artefacts":
			c.Artefacts = d.artefacts(e)
		case "ratelimit":
			c.Schema.RateLimit, c.TrustedProxies = d.rateLimit(e, "ratelimit", true)
		case "auth":
			c.Schema.Auth = d.auth(e)
		case "capabilities":
			c.Schema.Capabilities = d.capabilities(e)
		case "events":
			c.Events = d.events(e)
		case "ui":
			on, ok := d.boolean(e, "ui")
			d.disableUI = ok && !on && !e.isNull() // null: the default, on
		case "webhooks":
			c.Webhooks = d.webhooks(e)
		}
	}
	return c
}

func (d *decoder) server(e entry) Server {
	var srv Server
	es, _ := d.mapping(e.value, e.at(), "server", "in server", serverKeys)
	for _, s := range es {
		path := "server." + s.key
		switch s.key {
		case "addr":
			srv.Addr, _ = d.str(s, path)
		case "data":
			srv.Data, _ = d.str(s, path)
		case "log_format":
			f, ok := d.str(s, path)
			if ok && f != "" && !contains(logFormats, f) {
				d.fail(path, s.at(), "log_format must be text or json, not %q", clip(f))
				f = ""
			}
			srv.LogFormat = f
		case "debug":
			srv.Debug, _ = d.boolean(s, path)
		case "read_header_timeout":
			srv.ReadHeaderTimeout = d.duration(s, path)
		case "min_upload_rate":
			srv.MinUploadRate, _ = d.sizeOrZero(s, path)
			srv.MinUploadRateSet = !s.isNull()
		case "upload_grace":
			srv.UploadGrace = d.duration(s, path)
		case "cors":
			srv.CORS = d.cors(s, path)
		case "tls_cert":
			srv.TLSCert, _ = d.str(s, path)
		case "tls_key":
			srv.TLSKey, _ = d.str(s, path)
		case "insecure_public":
			srv.InsecurePublic, _ = d.boolean(s, path)
		}
	}
	return srv
}

// cors reads the server's CORS allow-list. Null or absent: CORS stays off.
func (d *decoder) cors(e entry, path string) *CORS {
	if e.isNull() {
		return nil
	}
	es, ok := d.mapping(e.value, e.at(), path, "in "+path, corsKeys)
	if !ok {
		return nil
	}
	c := &CORS{MaxAge: 600}
	for _, s := range es {
		p := path + "." + s.key
		d.rec(p, s)
		switch s.key {
		case "origins":
			c.Origins = d.list(s, p, s.key, "an origin such as https://app.example")
			for i, it := range d.items[p] {
				if !isOrigin(it.text) {
					d.errorAt(it.at, "origins[%d] must be an origin such as https://app.example (scheme, host and optional port; no path), not %q", i, clip(it.text))
				}
			}
		case "methods":
			c.Methods = d.list(s, p, s.key, "a verb such as GET")
			for i, it := range d.items[p] {
				c.Methods[i] = strings.ToUpper(c.Methods[i])
				if !contains(corsVerbs, c.Methods[i]) {
					d.errorAt(it.at, "methods[%d] must be one of %s, not %q", i, strings.Join(corsVerbs, ", "), clip(it.text))
				}
			}
		case "headers":
			c.Headers = d.list(s, p, s.key, "a header name such as If-Match")
			for i, it := range d.items[p] {
				if !isToken(it.text) {
					d.errorAt(it.at, "headers[%d] must be a header name such as If-Match, not %q", i, clip(it.text))
				}
			}
		case "max_age":
			if n, ok := d.integer(s, p, 0, 86400); ok && !s.isNull() {
				c.MaxAge = int(n)
			}
		}
	}
	if len(c.Origins) == 0 {
		d.fail(path, e.at(), "cors needs origins: the list of origins allowed to call this server, such as [https://app.example]")
	}
	if c.Headers == nil {
		c.Headers = []string{"Content-Type", "If-Match", "If-None-Match", "Authorization"}
	}
	return c
}

var corsVerbs = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}

// isOrigin reports whether s is a serialized origin: http(s)://host[:port], nothing more.
func isOrigin(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Path == "" &&
		u.User == nil && u.RawQuery == "" && u.Fragment == "" && !strings.HasSuffix(s, "/") && u.String() == s
}

// isToken reports whether s is an HTTP token (a header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// duration reads a positive duration such as 10s or 1m30s (null: unset, 0).
func (d *decoder) duration(e entry, path string) time.Duration {
	if e.isNull() {
		return 0
	}
	if s, ok := scalarOf(e.value); ok {
		if text, isText := s.value.(string); isText {
			if v, err := time.ParseDuration(strings.TrimSpace(text)); err == nil && v > 0 {
				return v
			}
		}
	}
	d.fail(path, e.at(), "%s must be a positive duration such as 10s, 500ms or 1m, not %s", e.key, describe(e.value))
	return 0
}

func (d *decoder) apis(e entry) []*restkit.API {
	if e.isNull() {
		return nil
	}
	seq, ok := e.value.(*ast.SequenceNode)
	if !ok {
		d.fail("apis", e.at(), "apis must be a list of APIs, not %s", describe(e.value))
		return nil
	}
	var apis []*restkit.API
	for i, raw := range seq.Values {
		if !d.spend() {
			break
		}
		n := d.resolve(raw)
		name := fmt.Sprintf("apis[%d]", i)
		es, ok := d.mapping(n, posOf(raw), name, "in "+name, apiKeys)
		if !ok {
			continue
		}
		// Paths use the index in Schema.APIs, which is what Prepare counts.
		path := fmt.Sprintf("apis[%d]", len(apis))
		d.at[path] = posOf(raw)
		api := &restkit.API{}
		for _, s := range es {
			p := path + "." + s.key
			d.rec(p, s)
			switch s.key {
			case "name":
				api.Name, _ = d.str(s, p)
			case "base":
				api.Base, _ = d.str(s, p)
			case "envelope":
				api.Envelope, _ = d.boolean(s, p)
			case "ratelimit":
				api.RateLimit, _ = d.rateLimit(s, p, false)
			case "access":
				api.Access = d.access(s, p)
			case "deprecated":
				api.Deprecated = d.deprecation(s, p)
			case "capability":
				api.Capability, _ = d.str(s, p)
			case "resources":
				d.recKey(p, s)
				for _, r := range d.named(s, p, name) {
					if res := d.resource(r, p+"."+r.key); res != nil {
						api.Resources = append(api.Resources, res)
					}
				}
			case "nouns":
				d.recKey(p, s)
				for _, r := range d.named(s, p, name) {
					if noun := d.noun(r, p+"."+r.key); noun != nil {
						api.Nouns = append(api.Nouns, noun)
					}
				}
			}
		}
		apis = append(apis, api)
	}
	return apis
}

// named reads a mapping of names to declarations (resources, nouns, fields), in
// declaration order, recording where each name is declared.
func (d *decoder) named(e entry, path, owner string) []entry {
	es, _ := d.mapping(e.value, e.at(), e.key, "in "+e.key+" of "+owner, nil)
	for _, n := range es {
		d.recKey(path+"."+n.key, n)
	}
	return es
}

func (d *decoder) resource(e entry, path string) *restkit.Resource {
	what := "resource " + e.key
	es, ok := d.mapping(e.value, e.at(), what, "in "+what, resourceKeys)
	if !ok {
		d.flagged[path] = true
		return nil
	}
	r := &restkit.Resource{Name: e.key}
	defer func() {
		// A key naming a field whose type was reported would only be reported again.
		if d.flagged[path+".fields."+r.Key+".type"] {
			d.flagged[path+".key"] = true
		}
	}()
	for _, s := range es {
		p := path + "." + s.key
		d.rec(p, s)
		switch s.key {
		case "description":
			r.Description, _ = d.str(s, p)
		case "path":
			r.Path, _ = d.str(s, p)
		case "item_path":
			r.ItemPath, _ = d.str(s, p)
		case "singular":
			r.Singular, _ = d.str(s, p)
		case "key":
			r.Key, _ = d.str(s, p)
		case "key_from":
			src, _ := d.oneOf(s, p, keySources)
			r.KeySource = restkit.KeySource(src)
		case "fields":
			d.recKey(p, s)
			r.Fields = d.fields(s, p, e.key)
		case "collection":
			r.Collection = d.verbs(s, p, "", &r.VerbCapabilities)
		case "item":
			r.Item = d.verbs(s, p, "item ", &r.VerbCapabilities)
		case "put_creates":
			r.PutCreates, _ = d.boolean(s, p)
		case "page_size":
			n, _ := d.integer(s, p, 1, math.MaxInt32)
			r.PageSize = int(n)
		case "max_page_size":
			n, _ := d.integer(s, p, 1, math.MaxInt32)
			r.MaxPageSize = int(n)
		case "max_body":
			r.MaxBody = d.size(s, p)
		case "history":
			r.History, _ = d.boolean(s, p)
		case "history_keep":
			n, _ := d.integer(s, p, 1, math.MaxInt32)
			r.HistoryKeep = int(n)
		case "timestamps":
			r.Timestamps, _ = d.boolean(s, p)
		case "max_offset":
			n, _ := d.integer(s, p, 0, math.MaxInt32)
			r.MaxOffset = int(n)
		case "require_if_match":
			r.RequireIfMatch, _ = d.boolean(s, p)
		case "cache_control":
			r.CacheControl, _ = d.str(s, p)
		case "ratelimit":
			r.RateLimit, _ = d.rateLimit(s, p, false)
		case "access":
			r.Access = d.access(s, p)
		case "owner_field":
			r.OwnerField, _ = d.str(s, p)
		case "deprecated":
			r.Deprecated = d.deprecation(s, p)
		case "capability":
			r.Capability, _ = d.str(s, p)
		}
	}
	return r
}

func (d *decoder) noun(e entry, path string) *restkit.Noun {
	what := "noun " + e.key
	es, ok := d.mapping(e.value, e.at(), what, "in "+what, nounKeys)
	if !ok {
		d.flagged[path] = true
		return nil
	}
	n := &restkit.Noun{Name: e.key}
	defer func() {
		if n.Update.Field != "" && d.flagged[path+".fields."+n.Update.Field+".type"] {
			d.flagged[path+".update"] = true
		}
	}()
	for _, s := range es {
		p := path + "." + s.key
		d.rec(p, s)
		switch s.key {
		case "description":
			n.Description, _ = d.str(s, p)
		case "fields":
			d.recKey(p, s)
			n.Fields = d.fields(s, p, e.key)
		case "update":
			n.Update = d.update(s, p)
		case "access":
			n.Access = d.access(s, p)
		case "capability":
			n.Capability, _ = d.str(s, p)
		}
	}
	return n
}

// fields reads a fields mapping; owner names the resource or noun in messages.
func (d *decoder) fields(e entry, path, owner string) []*restkit.Field {
	var out []*restkit.Field
	for _, fe := range d.named(e, path, owner) {
		if f := d.field(fe, path+"."+fe.key, owner+"."+fe.key); f != nil {
			out = append(out, f)
		}
	}
	return out
}

func (d *decoder) field(e entry, path, name string) *restkit.Field {
	what := "field " + name
	clear(d.meant)
	es, ok := d.mapping(e.value, e.at(), what, "in "+what, fieldKeys)
	if !ok {
		d.flagged[path] = true
		return nil
	}
	f := &restkit.Field{Name: e.key}
	settings := byKey(es)
	// The type first: how default is read depends on it.
	if t, ok := settings["type"]; ok {
		f.Type = d.fieldType(t, path+".type")
	}
	switch {
	case f.Type != "" || d.flagged[path+".type"]:
	case d.meant["type"]: // typ: integer has been reported as a misspelling
		d.flagged[path+".type"] = true
	default:
		d.fail(path+".type", e.keyAt, "field %s needs a type: one of %s", name, typeList())
	}
	for _, s := range es {
		p := path + "." + s.key
		d.rec(p, s)
		switch s.key {
		case "description":
			f.Description, _ = d.str(s, p)
		case "required":
			f.Required, _ = d.boolean(s, p)
		case "nullable":
			f.Nullable, _ = d.boolean(s, p)
		case "default":
			f.Default = d.defaultValue(s, p, f.Type)
		case "min":
			f.Min, _ = d.number(s, p)
		case "max":
			f.Max, _ = d.number(s, p)
		case "minLength":
			f.MinLength = d.length(s, p)
		case "maxLength":
			f.MaxLength = d.length(s, p)
		case "pattern":
			f.Pattern, _ = d.str(s, p)
		case "values":
			f.Values = d.list(s, p, "values", "a string")
		case "readOnly":
			f.ReadOnly, _ = d.boolean(s, p)
		case "unique":
			f.Unique, _ = d.boolean(s, p)
		case "sortable":
			f.Sortable, _ = d.boolean(s, p)
		case "filterable":
			f.Filterable, _ = d.boolean(s, p)
		case "renamed_from":
			f.RenamedFrom, _ = d.str(s, p)
		default:
			d.compoundSetting(f, s, p)
		}
	}
	return f
}

// compoundSetting reads the settings of relation, array and json fields.
func (d *decoder) compoundSetting(f *restkit.Field, s entry, p string) {
	switch s.key {
	case "to":
		f.To, _ = d.str(s, p)
	case "many":
		f.Many, _ = d.boolean(s, p)
	case "on_delete":
		if v, ok := d.oneOf(s, p, []string{string(restkit.Restrict), string(restkit.Cascade), string(restkit.SetNull)}); ok {
			f.OnDelete = restkit.OnDelete(v)
		}
	case "items":
		f.Items = d.fieldType(s, p)
	case "max_items":
		if n, ok := d.integer(s, p, 1, math.MaxInt32); ok {
			i := int(n)
			f.MaxItems = &i
		}
	case "max_bytes":
		if n := d.size(s, p); n > 0 {
			if n > math.MaxInt32 {
				d.fail(p, s.at(), "max_bytes must be at most %d", math.MaxInt32)
				return
			}
			f.MaxBytes = int(n)
		}
	}
}

func (d *decoder) fieldType(e entry, path string) restkit.FieldType {
	t, ok := d.str(e, path)
	if !ok || t == "" {
		return ""
	}
	for _, known := range restkit.FieldTypes {
		if t == string(known) {
			return known
		}
	}
	names := make([]string, len(restkit.FieldTypes))
	for i, known := range restkit.FieldTypes {
		names[i] = string(known)
	}
	if s := suggest(t, names); s != "" {
		d.fail(path, e.at(), "unknown type %q; did you mean %q?", clip(t), s)
	} else {
		d.fail(path, e.at(), "unknown type %q; one of %s", clip(t), typeList())
	}
	return ""
}

func typeList() string {
	names := make([]string, len(restkit.FieldTypes))
	for i, t := range restkit.FieldTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// defaultValue reads a default as the field's type wants it: YAML integers as
// int64, floats as float64, and for the string-like types any scalar as its source
// text, so that default: off, default: 42 and values: [on, off] mean the words
// written. Field.Canonical (in Prepare) checks the result.
func (d *decoder) defaultValue(e entry, path string, t restkit.FieldType) any {
	if e.isNull() {
		return nil
	}
	if t == restkit.TypeArray || t == restkit.TypeJSON {
		var v any // a list or any value; Field.Canonical (in Prepare) checks it
		if err := yaml.NodeToValue(e.value, &v); err != nil {
			d.fail(path, e.at(), "default cannot be read: %s", oneLine(err.Error()))
			return nil
		}
		return v
	}
	s, ok := scalarOf(e.value)
	if !ok {
		d.fail(path, e.at(), "default must be a single value, not %s", describe(e.value))
		return nil
	}
	switch t {
	case restkit.TypeInteger, restkit.TypeNumber:
		v, ok := numeric(s)
		if !ok {
			return s.text // Canonical says it is not a number
		}
		if f, isFloat := v.(float64); isFloat && (math.IsInf(f, 0) || math.IsNaN(f)) {
			d.fail(path, e.at(), "default must be a finite number, not %s", describe(e.value))
			return nil
		}
		return v
	case restkit.TypeBoolean:
		if s.forced {
			return s.text
		}
		return s.value
	}
	return s.text
}

// length reads minLength or maxLength.
func (d *decoder) length(e entry, path string) *int {
	if e.isNull() {
		return nil
	}
	n, ok := d.integer(e, path, math.MinInt32, math.MaxInt32)
	if !ok {
		return nil
	}
	i := int(n)
	return &i
}

// list reads a list of scalars as their source text, remembering each element's
// place so that an error quoting one points at it. A null list is nil; an empty one
// is empty.
func (d *decoder) list(e entry, path, name, want string) []string {
	if e.isNull() {
		return nil
	}
	seq, ok := e.value.(*ast.SequenceNode)
	if !ok {
		d.fail(path, e.at(), "%s must be a list, not %s", name, describe(e.value))
		return nil
	}
	out := []string{}
	for i, raw := range seq.Values {
		if !d.spend() {
			break
		}
		n := d.resolve(raw)
		s, ok := scalarOf(n)
		if !ok || s.null {
			d.errorAt(posOf(raw), "%s[%d] must be %s, not %s", name, i, want, describe(n))
			continue
		}
		out = append(out, s.text)
		d.items[path] = append(d.items[path], item{text: s.text, at: posOf(raw)})
	}
	return out
}

// verbs reads a collection or item verb list, case-insensitively. An entry may also
// be {verb: DELETE, capability: NAME}: the verb is then allowed only while the
// capability is on (caps gets prefix+verb → NAME).
func (d *decoder) verbs(e entry, path, prefix string, caps *map[string]string) []string {
	if e.isNull() {
		return nil
	}
	seq, ok := e.value.(*ast.SequenceNode)
	if !ok {
		d.fail(path, e.at(), "%s must be a list, not %s", e.key, describe(e.value))
		return nil
	}
	vs := []string{}
	for i, raw := range seq.Values {
		if !d.spend() {
			break
		}
		n := d.resolve(raw)
		var verb string
		if m, isMap := n.(*ast.MappingNode); isMap {
			var capability string
			if verb, capability = d.verbEntry(m, posOf(raw), fmt.Sprintf("%s[%d]", path, i)); verb == "" {
				continue
			}
			if *caps == nil {
				*caps = map[string]string{}
			}
			(*caps)[prefix+verb] = capability
		} else {
			sc, ok := scalarOf(n)
			if !ok || sc.null {
				d.errorAt(posOf(raw), "%s[%d] must be a verb such as GET, or {verb: DELETE, capability: NAME}, not %s", e.key, i, describe(n))
				continue
			}
			verb = strings.ToUpper(sc.text)
		}
		vs = append(vs, verb)
		d.items[path] = append(d.items[path], item{text: verb, at: posOf(raw)})
	}
	return vs
}

// verbEntry reads {verb: V, capability: NAME}.
func (d *decoder) verbEntry(m *ast.MappingNode, at pos, path string) (verb, capability string) {
	es, ok := d.mapping(m, at, path, "in a verb entry", []string{"verb", "capability"})
	if !ok {
		return "", ""
	}
	for _, s := range es {
		switch s.key {
		case "verb":
			verb, _ = d.str(s, path+".verb")
			verb = strings.ToUpper(verb)
		case "capability":
			capability, _ = d.str(s, path+".capability")
		}
	}
	if verb == "" || capability == "" {
		d.errorAt(at, "a verb entry needs both verb and capability, such as {verb: DELETE, capability: deletes}")
		return "", ""
	}
	return verb, capability
}

// capabilities reads the capabilities: section: name → {enabled, description}, or
// name → true|false.
func (d *decoder) capabilities(e entry) []*restkit.Capability {
	d.recKey("capabilities", e)
	es, _ := d.mapping(e.value, e.at(), "capabilities", "in capabilities", nil)
	var out []*restkit.Capability
	for _, s := range es {
		p := "capabilities." + s.key
		d.recKey(p, s)
		c := &restkit.Capability{Name: s.key, Enabled: true}
		if _, isMap := d.resolve(s.value).(*ast.MappingNode); !isMap {
			if on, ok := d.boolean(s, p); ok && !s.isNull() {
				c.Enabled = on
			}
			out = append(out, c)
			continue
		}
		fs, _ := d.mapping(s.value, s.at(), p, "in capability "+s.key, []string{"enabled", "description"})
		for _, f := range fs {
			switch f.key {
			case "enabled":
				if on, ok := d.boolean(f, p+".enabled"); ok && !f.isNull() {
					c.Enabled = on
				}
			case "description":
				c.Description, _ = d.str(f, p+".description")
			}
		}
		out = append(out, c)
	}
	return out
}

// oneOf reads a string setting that must be one of options.
func (d *decoder) oneOf(e entry, path string, options []string) (string, bool) {
	v, ok := d.str(e, path)
	if !ok || v == "" || contains(options, v) {
		return v, ok
	}
	if s := suggest(v, options); s != "" {
		d.fail(path, e.at(), "%s must be one of %s, not %q; did you mean %q?", e.key, strings.Join(options, ", "), clip(v), s)
	} else {
		d.fail(path, e.at(), "%s must be one of %s, not %q", e.key, strings.Join(options, ", "), clip(v))
	}
	return "", false
}

// size reads a positive byte count: an integer, or a string such as "512KiB",
// "1MiB", "10MB". Null is unset (0).
func (d *decoder) size(e entry, path string) int64 {
	if e.isNull() {
		return 0
	}
	if n, ok := byteCount(e.value); ok && n >= 1 {
		return n
	}
	d.fail(path, e.at(), "%s must be a positive size in bytes such as 1048576, 512KiB, 1MiB or 10MB, not %s", e.key, describe(e.value))
	return 0
}

// sizeOrZero reads a byte count as size does, but also accepts 0, for the settings
// where 0 means "no limit". Null is unset: ok is false, so the caller keeps its default.
func (d *decoder) sizeOrZero(e entry, path string) (int64, bool) {
	if e.isNull() {
		return 0, false
	}
	if n, ok := byteCount(e.value); ok {
		return n, true
	}
	d.fail(path, e.at(), "%s must be a size in bytes such as 0, 1048576, 512KiB, 1MiB or 10MB, not %s", e.key, describe(e.value))
	return 0, false
}

// byteCount reads a non-negative integer, or a string such as "512KiB" or "10MB",
// as a number of bytes that fits an int64.
func byteCount(n ast.Node) (int64, bool) {
	s, ok := scalarOf(n)
	if !ok {
		return 0, false
	}
	var u uint64
	var err error
	switch v := s.value.(type) {
	case int64:
		if v < 0 {
			return 0, false
		}
		u = uint64(v)
	case uint64:
		u = v
	case string:
		u, err = humanize.ParseBytes(strings.TrimSpace(v))
	default:
		err = errors.New("not a size")
	}
	if err != nil || u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// update reads a noun's update: "toggle FIELD", "increment FIELD [BY]" or "merge".
// Whether FIELD exists and has a fitting type is Prepare's to say.
func (d *decoder) update(e entry, path string) restkit.Update {
	if e.isNull() {
		return restkit.Update{}
	}
	text, ok := d.str(e, path)
	if !ok {
		return restkit.Update{}
	}
	words := strings.Fields(text)
	op := ""
	if len(words) > 0 {
		op = strings.ToLower(words[0])
	}
	switch {
	case op == string(restkit.UpdateMerge) && len(words) == 1:
		return restkit.Update{Op: restkit.UpdateMerge}
	case op == string(restkit.UpdateToggle) && len(words) == 2:
		return restkit.Update{Op: restkit.UpdateToggle, Field: words[1]}
	case op == string(restkit.UpdateIncrement) && (len(words) == 2 || len(words) == 3):
		u := restkit.Update{Op: restkit.UpdateIncrement, Field: words[1]}
		if len(words) == 3 {
			by, err := strconv.ParseFloat(words[2], 64)
			if err != nil || by == 0 || math.IsInf(by, 0) || math.IsNaN(by) {
				d.fail(path, e.at(), "the step of increment must be a non-zero number, not %q", clip(words[2]))
				return restkit.Update{}
			}
			u.By = by
		}
		return u
	case op == string(restkit.UpdateHook):
		d.fail(path, e.at(), "a hook update is a Go function (restkit.Update.Hook); it cannot be declared in YAML")
		return restkit.Update{}
	}
	msg := fmt.Sprintf(`update must be "toggle FIELD", "increment FIELD [BY]" or "merge", not %q`, clip(text))
	if s := suggest(op, updateOps); s != "" && s != op {
		msg += fmt.Sprintf("; did you mean %q?", strings.Join(append([]string{s}, words[1:]...), " "))
	}
	d.fail(path, e.at(), "%s", msg)
	return restkit.Update{}
}

// prepareErrors turns Prepare's failures into positioned errors: each at the
// element its message quotes, or else at the nearest recorded prefix of its path.
// Failures about a path the decoder already reported are consequences, and dropped.
func (d *decoder) prepareErrors(err error) {
	var re *restkit.Error
	if !errors.As(err, &re) || len(re.Fields) == 0 {
		d.errorAt(d.where("", ""), "%s", restkit.ErrorMessage(err))
		return
	}
	for _, fe := range re.Fields {
		if !d.reported(fe.Field) {
			// A message naming another declaration ("path /x is already used by
			// apis[0].resources.cars") says where that one is written too.
			msg := declarationRE.ReplaceAllStringFunc(fe.Message, func(p string) string {
				return fmt.Sprintf("%s (line %d)", p, d.where(strings.TrimSuffix(p, "'s"), "").line)
			})
			d.errorAt(d.where(fe.Field, fe.Message), "%s", msg)
		}
	}
}

// declarationRE matches the path of a declaration in a message of Schema.Prepare.
var declarationRE = regexp.MustCompile(`apis\[\d+\](\.[a-z][a-z0-9_]*)+('s)?`)

func (d *decoder) where(path, msg string) pos {
	items := d.items[path]
	for i := len(items) - 1; i >= 0; i-- {
		if strings.Contains(msg, strconv.Quote(items[i].text)) {
			return items[i].at
		}
	}
	for p := path; ; p = parent(p) {
		if at, ok := d.at[p]; ok {
			return at
		}
		if p == "" {
			return pos{1, 1}
		}
	}
}

func (d *decoder) reported(path string) bool {
	for p := path; p != ""; p = parent(p) {
		if d.flagged[p] {
			return true
		}
	}
	return false
}

// parent strips a path's last step: a.b.c → a.b, apis[0] → apis.
func parent(path string) string {
	if i := strings.LastIndexAny(path, ".["); i >= 0 {
		return path[:i]
	}
	return ""
}
