package config

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// This file holds the generic half of the decoder: positions, anchors and aliases,
// mappings with their keys checked, and scalars read with their YAML types checked.
// decode.go holds the restkit-specific half.

// pos is a 1-based line and column.
type pos struct{ line, col int }

// maxNodes bounds the mapping entries and list items one Parse visits, so that
// aliases cannot expand a small file into an enormous walk.
const maxNodes = 100_000

// item is one element of a recorded list, kept so an error quoting the element can
// point at it rather than at the list.
type item struct {
	text string
	at   pos
}

// decoder walks one YAML document into restkit declarations, collecting every
// problem and recording where each schema path (as restkit.Schema.Prepare names
// them: apis[0].resources.cars.fields.year) was declared.
type decoder struct {
	file      string
	errs      Errors
	at        map[string]pos    // schema path → where it is declared
	items     map[string][]item // schema path of a list → its elements
	flagged   map[string]bool   // schema paths already reported; Prepare's word on them is a repeat
	anchors   map[string][]*ast.AnchorNode
	budget    int
	tooLarge  bool            // the budget is spent
	merging   int             // depth of << merges being expanded
	meant     map[string]bool // keys suggested for misspelt ones since the last reset
	disableUI bool            // ui: false
}

func newDecoder(file string) *decoder {
	return &decoder{
		file:    file,
		at:      map[string]pos{},
		items:   map[string][]item{},
		flagged: map[string]bool{},
		anchors: map[string][]*ast.AnchorNode{},
		budget:  maxNodes,
		meant:   map[string]bool{},
	}
}

// errorAt records a problem at p.
func (d *decoder) errorAt(p pos, format string, args ...any) {
	if d.tooLarge {
		return
	}
	msg := oneLine(fmt.Sprintf(format, args...))
	d.errs = append(d.errs, &Error{File: d.file, Line: p.line, Column: p.col, Message: msg})
}

// oneLine escapes control characters (and Unicode line separators), so that a
// message quoting hostile input stays one printable line.
func oneLine(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }

// fail records a problem about the schema path and marks the path as reported.
func (d *decoder) fail(path string, p pos, format string, args ...any) {
	d.flagged[path] = true
	d.errorAt(p, format, args...)
}

// spend takes one unit of the walk's budget and reports whether any was left.
// Once it is spent the walk stops, and so do further reports, which would be
// about a half-read file.
func (d *decoder) spend() bool {
	if d.tooLarge {
		return false
	}
	if d.budget--; d.budget < 0 {
		d.errorAt(pos{1, 1}, "the configuration is too large: its aliases expand to more than %d values", maxNodes)
		d.tooLarge = true
		return false
	}
	return true
}

// posOf is where a node starts: a block mapping at its first key, anything else at
// its first token. Positions are never below 1:1.
func posOf(n ast.Node) pos {
	switch x := n.(type) {
	case nil:
		return pos{1, 1}
	case *ast.MappingNode:
		if !x.IsFlowStyle && len(x.Values) > 0 {
			return posOf(x.Values[0])
		}
	case *ast.MappingValueNode:
		if x == nil {
			return pos{1, 1}
		}
		if x.Key != nil {
			return posOf(x.Key)
		}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return pos{1, 1}
	}
	return pos{max(tk.Position.Line, 1), max(tk.Position.Column, 1)}
}

// collectAnchors indexes every anchor of the document by name, for resolve.
func (d *decoder) collectAnchors(body ast.Node) {
	for _, n := range ast.Filter(ast.AnchorType, body) {
		a, ok := n.(*ast.AnchorNode)
		if ok && a.Name != nil && a.Name.GetToken() != nil {
			name := a.Name.GetToken().Value
			d.anchors[name] = append(d.anchors[name], a)
		}
	}
}

// resolve follows anchors, aliases and explicit-key markers to the node that holds
// the value. It reports an alias that names no earlier anchor and returns nil.
func (d *decoder) resolve(n ast.Node) ast.Node {
	for range 64 {
		switch x := n.(type) {
		case *ast.AnchorNode:
			n = x.Value
		case *ast.MappingKeyNode:
			n = x.Value
		case *ast.TagNode:
			if tag := tokenValue(x); tag != "!!map" && tag != "!!seq" {
				return n // !!str is read by scalarOf; others are not supported
			}
			n = x.Value
		case *ast.AliasNode:
			target := d.anchorFor(x)
			if target == nil {
				name := ""
				if x.Value != nil && x.Value.GetToken() != nil {
					name = x.Value.GetToken().Value
				}
				d.errorAt(posOf(x), "alias *%s does not name an earlier anchor", clip(name))
				return nil
			}
			n = target.Value
		default:
			return n
		}
	}
	d.errorAt(posOf(n), "aliases refer to each other in a loop")
	return nil
}

// anchorFor finds the anchor an alias refers to: the last one of that name before it.
func (d *decoder) anchorFor(alias *ast.AliasNode) *ast.AnchorNode {
	if alias.Value == nil || alias.Value.GetToken() == nil {
		return nil
	}
	name := alias.Value.GetToken().Value
	var found *ast.AnchorNode
	for _, a := range d.anchors[name] {
		if offset(a) < offset(alias) {
			found = a
		}
	}
	return found
}

func offset(n ast.Node) int {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Offset
	}
	return 0
}

// entry is one key and value of a mapping, the value resolved.
type entry struct {
	key     string
	keyAt   pos
	value   ast.Node // resolved; nil when it could not be
	valueAt pos      // where the value is written (an alias, not its anchor)
}

// at is where an error about the entry's value, or a path naming it, points: the
// value itself when it sits on the key's line (a scalar, a flow collection), else
// the key.
func (e entry) at() pos {
	if e.valueAt.line == e.keyAt.line {
		return e.valueAt
	}
	if _, ok := e.value.(ast.ScalarNode); ok {
		return e.valueAt
	}
	return e.keyAt
}

// isNull reports whether the entry's value is absent (key: or key: null), which
// every optional setting reads as unset.
func (e entry) isNull() bool {
	_, null := e.value.(*ast.NullNode)
	return e.value == nil || null
}

// mapping reads n as a mapping and returns its entries in order, with merge keys
// (<<) expanded. A repeated key is an error naming both lines; with known non-nil, a
// key not in it is an error suggesting the likely intent. what names the mapping in
// messages ("in resource cars"). A node that is not a mapping is reported as one
// error (unless null, which is an empty mapping) and gives ok false, as does a
// value resolve already reported.
func (d *decoder) mapping(n ast.Node, p pos, name, what string, known []string) (out []entry, ok bool) {
	switch m := n.(type) {
	case nil:
		return nil, false // an alias that failed to resolve, already reported
	case *ast.NullNode:
		return nil, true
	case *ast.MappingNode:
		return d.entries(m, what, known), true
	}
	d.errorAt(p, "%s must be a mapping, not %s", name, describe(n))
	return nil, false
}

func (d *decoder) entries(m *ast.MappingNode, what string, known []string) []entry {
	// Read every pair once, reporting repeated keys; merges wait for the second pass,
	// so that a merged key never overrides an explicit one wherever << sits.
	type slot struct {
		e     entry
		merge *ast.MappingValueNode
	}
	var slots []slot
	explicit := map[string]pos{}
	for _, mv := range m.Values {
		if mv == nil || mv.Key == nil {
			continue
		}
		if !d.spend() {
			break
		}
		if mv.Key.IsMergeKey() {
			slots = append(slots, slot{merge: mv})
			continue
		}
		e, ok := d.entryOf(mv)
		if !ok {
			continue
		}
		if first, dup := explicit[e.key]; dup {
			d.errorAt(e.keyAt, "duplicate key %q; first declared at line %d", clip(e.key), first.line)
			continue
		}
		explicit[e.key] = e.keyAt
		slots = append(slots, slot{e: e})
	}
	var out []entry
	have := map[string]bool{}
	for _, s := range slots {
		if s.merge != nil {
			for _, e := range d.merged(s.merge, what, known) {
				if _, mine := explicit[e.key]; !mine && !have[e.key] {
					have[e.key] = true
					out = append(out, e)
				}
			}
			continue
		}
		have[s.e.key] = true
		if known != nil && !contains(known, s.e.key) {
			d.unknownKey(s.e, what, known)
			continue
		}
		out = append(out, s.e)
	}
	return out
}

// entryOf reads one key: value pair. Keys must be scalars; their text is the name.
func (d *decoder) entryOf(mv *ast.MappingValueNode) (entry, bool) {
	keyNode := d.resolve(mv.Key)
	s, ok := scalarOf(keyNode)
	if !ok || s.null {
		d.errorAt(posOf(mv.Key), "a key must be a name, not %s", describe(keyNode))
		return entry{}, false
	}
	return entry{
		key:     s.text,
		keyAt:   posOf(mv.Key),
		value:   d.resolve(mv.Value),
		valueAt: posOf(mv.Value),
	}, true
}

// merged expands a << merge key: its value is a mapping or a list of mappings.
func (d *decoder) merged(mv *ast.MappingValueNode, what string, known []string) []entry {
	if d.merging >= 8 {
		d.errorAt(posOf(mv.Key), "merge keys (<<) nest too deeply")
		return nil
	}
	d.merging++
	defer func() { d.merging-- }()
	var sources []ast.Node
	switch v := d.resolve(mv.Value).(type) {
	case nil:
		return nil // already reported
	case *ast.MappingNode:
		sources = append(sources, v)
	case *ast.SequenceNode:
		for _, s := range v.Values {
			if r := d.resolve(s); r != nil {
				sources = append(sources, r)
			}
		}
	default:
		d.errorAt(posOf(mv.Value), "a merge key (<<) needs a mapping or a list of mappings, not %s", describe(v))
		return nil
	}
	var out []entry
	seen := map[string]bool{}
	for _, s := range sources {
		m, ok := s.(*ast.MappingNode)
		if !ok {
			d.errorAt(posOf(mv.Value), "a merge key (<<) needs a mapping or a list of mappings, not %s", describe(s))
			continue
		}
		for _, e := range d.entries(m, what, known) {
			if !seen[e.key] { // the first source wins
				seen[e.key] = true
				out = append(out, e)
			}
		}
	}
	return out
}

func (d *decoder) unknownKey(e entry, what string, known []string) {
	if s := suggest(e.key, known); s != "" {
		d.meant[s] = true
		d.errorAt(e.keyAt, "unknown key %q %s; did you mean %q?", clip(e.key), what, s)
		return
	}
	d.errorAt(e.keyAt, "unknown key %q %s; expected one of: %s", clip(e.key), what, strings.Join(known, ", "))
}

// byKey indexes entries by key.
func byKey(es []entry) map[string]entry {
	m := make(map[string]entry, len(es))
	for _, e := range es {
		m[e.key] = e
	}
	return m
}

// scalar is a scalar node read as YAML typed it.
type scalar struct {
	text   string // the source text (unquoted): what a string setting gets
	value  any    // int64, uint64, float64, bool or string
	null   bool
	plain  bool // an unquoted string, which may still spell a number
	forced bool // tagged !!str
}

// scalarOf reads a resolved node as a scalar; ok is false for mappings, lists and
// anything else that is not one.
func scalarOf(n ast.Node) (s scalar, ok bool) {
	switch x := n.(type) {
	case nil:
		return scalar{}, false
	case *ast.NullNode:
		return scalar{text: tokenValue(x), null: true}, true
	case *ast.StringNode:
		plain := x.Token != nil && x.Token.Type == token.StringType
		return scalar{text: x.Value, value: x.Value, plain: plain}, true
	case *ast.LiteralNode:
		if x.Value == nil {
			return scalar{value: ""}, true
		}
		return scalar{text: x.Value.Value, value: x.Value.Value}, true
	case *ast.IntegerNode:
		return scalar{text: tokenValue(x), value: x.Value}, true
	case *ast.FloatNode:
		return scalar{text: tokenValue(x), value: x.Value}, true
	case *ast.InfinityNode:
		return scalar{text: tokenValue(x), value: x.Value}, true
	case *ast.NanNode:
		return scalar{text: tokenValue(x), value: math.NaN()}, true
	case *ast.BoolNode:
		return scalar{text: tokenValue(x), value: x.Value}, true
	case *ast.TagNode:
		tag := tokenValue(x)
		inner, ok := scalarOf(x.Value)
		if tag != "!!str" || !ok {
			return scalar{}, false
		}
		if inner.null {
			inner.text = ""
		}
		return scalar{text: inner.text, value: inner.text, forced: true}, true
	}
	return scalar{}, false
}

func tokenValue(n ast.Node) string {
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}

// describe names a node for a message: its quoted text, or what kind of thing it is.
func describe(n ast.Node) string {
	switch x := n.(type) {
	case nil:
		return "nothing"
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.NullNode:
		return "null"
	case *ast.TagNode:
		if tokenValue(x) != "!!str" {
			return "a value tagged " + clip(tokenValue(x))
		}
	}
	if s, ok := scalarOf(n); ok {
		return strconv.Quote(clip(s.text))
	}
	return "a " + n.Type().YAMLName()
}

// clip shortens text for a one-line message.
func clip(s string) string { return clipN(s, 60) }

func clipN(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit]) + "…"
}

// The readers below each take one setting's entry. They report a value of the
// wrong YAML type at the value, mark the setting's schema path as reported, and
// return ok false; a null value is unset (ok true, zero value).

// str reads any scalar as its source text, so description: 2024 is "2024".
func (d *decoder) str(e entry, path string) (string, bool) {
	s, ok := scalarOf(e.value)
	if !ok {
		d.fail(path, e.at(), "%s must be a string, not %s", e.key, describe(e.value))
		return "", false
	}
	if s.null {
		return "", true
	}
	return s.text, true
}

func (d *decoder) boolean(e entry, path string) (bool, bool) {
	if e.isNull() {
		return false, true
	}
	s, _ := scalarOf(e.value)
	if b, ok := s.value.(bool); ok && !s.forced {
		return b, true
	}
	d.fail(path, e.at(), "%s must be true or false, not %s", e.key, describe(e.value))
	return false, false
}

// numberRE is a decimal number as people write one; goccy reads some (1e3) as strings.
var numberRE = regexp.MustCompile(`^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$`)

// numeric reads a YAML number, or a plain string spelling one, as int64 or float64.
// A uint64 beyond int64 and a float beyond float64 are reported as out of range.
func numeric(s scalar) (any, bool) {
	if s.forced {
		return nil, false
	}
	switch v := s.value.(type) {
	case int64:
		return v, true
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
		return float64(v), true
	case float64:
		return v, true
	case string:
		if s.plain && numberRE.MatchString(v) {
			if i, err := strconv.ParseInt(v, 10, 64); err == nil {
				return i, true
			}
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				return f, true
			}
			return math.Inf(1), true
		}
	}
	return nil, false
}

func (d *decoder) number(e entry, path string) (*float64, bool) {
	if e.isNull() {
		return nil, true
	}
	s, _ := scalarOf(e.value)
	var f float64
	switch v, _ := numeric(s); v := v.(type) {
	case int64:
		f = float64(v)
	case float64:
		f = v
	default:
		d.fail(path, e.at(), "%s must be a number, not %s", e.key, describe(e.value))
		return nil, false
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		d.fail(path, e.at(), "%s must be a finite number, not %s", e.key, describe(e.value))
		return nil, false
	}
	return &f, true
}

// integer reads a whole number in [lo, hi].
func (d *decoder) integer(e entry, path string, lo, hi int64) (int64, bool) {
	if e.isNull() {
		return 0, true
	}
	s, _ := scalarOf(e.value)
	v, ok := numeric(s)
	var i int64
	inRange, negative := false, false
	switch v := v.(type) {
	case int64:
		i, inRange, negative = v, true, v < 0
	case float64:
		ok = v == math.Trunc(v) // false for fractions and NaN
		inRange, negative = math.Abs(v) < 1<<62, v < 0
		if inRange {
			i = int64(v)
		}
	}
	if !ok {
		d.fail(path, e.at(), "%s must be an integer, not %s", e.key, describe(e.value))
		return 0, false
	}
	if !inRange || i < lo || i > hi {
		bound := fmt.Sprintf("at most %d", hi)
		if inRange && i < lo || !inRange && negative {
			bound = fmt.Sprintf("at least %d", lo)
		}
		d.fail(path, e.at(), "%s must be %s, not %s", e.key, bound, describe(e.value))
		return 0, false
	}
	return i, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
