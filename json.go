package restkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Limits bound what ParseObject accepts. Zero fields take the defaults below.
type Limits struct {
	MaxBytes   int  // whole document; default 1 MiB
	MaxMembers int  // members of the top-level object; default 1000
	MaxDepth   int  // nesting of objects and arrays; default 32
	Flat       bool // only scalars as member values: no arrays, no objects (nouns)
	AllowEmpty bool // an empty or all-whitespace body gives a nil map instead of an error
}

// NounLimits is the strict subset nouns accept: a small flat object.
var NounLimits = Limits{MaxBytes: 16 << 10, MaxMembers: 64, MaxDepth: 1, Flat: true}

// ParseObject decodes a JSON request body that must be one object. It is strict where
// encoding/json is lenient, because the body is hostile input: invalid UTF-8, duplicate
// member names and data after the object are errors, sizes are bounded, numbers stay
// json.Number so integers beyond 2^53 are not rounded, and a string holding a lone
// surrogate escape ("\ud800", which encoding/json turns into U+FFFD without a word) is an
// error naming its member. Values are string, json.Number,
// bool, nil, []any and map[string]any. Errors are Invalid (or TooLarge) with a message
// that says where the input went wrong.
func ParseObject(data []byte, lim Limits) (map[string]any, error) {
	p, err := newParser(data, lim)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if lim.AllowEmpty {
			return nil, nil
		}
		return nil, Errorf(Invalid, "the body is empty; send a JSON object")
	}
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, Errorf(Invalid, "the body must be a JSON object")
	}
	obj, err := p.object(1, "")
	if err != nil {
		return nil, err
	}
	end := p.dec.InputOffset()
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, Errorf(Invalid, "unexpected data after the JSON object, which ends at byte %d", end)
	}
	return obj, nil
}

type objectParser struct {
	data []byte
	dec  *json.Decoder
	lim  Limits
}

// newParser applies the default limits and the checks made before any token is read:
// the size, and that the bytes are UTF-8 (encoding/json would silently replace what is not).
func newParser(data []byte, lim Limits) (*objectParser, error) {
	if lim.MaxBytes == 0 {
		lim.MaxBytes = DefaultMaxBody
	}
	if lim.MaxMembers == 0 {
		lim.MaxMembers = 1000
	}
	if lim.MaxDepth == 0 {
		lim.MaxDepth = 32
	}
	if len(data) > lim.MaxBytes {
		return nil, Errorf(TooLarge, "the body is larger than %d bytes", lim.MaxBytes)
	}
	if !utf8.Valid(data) {
		return nil, Errorf(Invalid, "the body is not valid UTF-8")
	}
	p := &objectParser{data: data, dec: json.NewDecoder(bytes.NewReader(data)), lim: lim}
	p.dec.UseNumber()
	return p, nil
}

func (p *objectParser) token() (json.Token, error) {
	tok, err := p.dec.Token()
	if err == nil {
		return tok, nil
	}
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		return nil, Errorf(Invalid, "malformed JSON at byte %d", syn.Offset)
	case err == io.EOF, errors.Is(err, io.ErrUnexpectedEOF):
		return nil, Errorf(Invalid, "the JSON ends too early")
	}
	return nil, Errorf(Invalid, "malformed JSON at byte %d", p.dec.InputOffset())
}

// textToken reads the next token and, when it is a string (a member name when name is
// true) that decoded to a U+FFFD, refuses it if its literal holds a lone surrogate
// escape (loneSurrogate); path names where the string is, for the error.
func (p *objectParser) textToken(path string, name bool) (json.Token, error) {
	start := p.dec.InputOffset()
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if s, ok := tok.(string); ok && strings.ContainsRune(s, utf8.RuneError) {
		if esc := loneSurrogate(p.data[start:p.dec.InputOffset()]); esc != "" {
			what := "holds the lone surrogate escape " + esc + ", which is no character; send the character itself or a whole surrogate pair"
			switch {
			case name && path == "":
				return nil, Errorf(Invalid, "a member name %s", what)
			case name:
				what = "has a member name that " + what
			}
			return nil, &Error{Kind: Invalid, Message: "invalid text in the body", Fields: []FieldError{{Field: path, Message: what}}}
		}
	}
	return tok, nil
}

// loneSurrogate returns the first escape in the JSON text raw (which ends with one
// string literal) that names half of a surrogate pair without its other half, such as
// \ud800 or \udc00 alone, or "" when there is none. encoding/json decodes such an
// escape as U+FFFD: stored, it would be a character the client never sent.
func loneSurrogate(raw []byte) string {
	i := bytes.IndexByte(raw, '"')
	if i < 0 {
		return ""
	}
	hex4 := func(at int) (rune, bool) {
		if at+6 > len(raw) || raw[at] != '\\' || raw[at+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range raw[at+2 : at+6] {
			switch {
			case '0' <= c && c <= '9':
				r = r<<4 | rune(c-'0')
			case 'a' <= c && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case 'A' <= c && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i++; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // a one-letter escape: skip the letter (it may be a backslash)
			continue
		}
		switch {
		case 0xD800 <= r && r <= 0xDBFF:
			if lo, ok := hex4(i + 6); ok && 0xDC00 <= lo && lo <= 0xDFFF {
				i += 11 // the pair
				continue
			}
			return string(raw[i : i+6])
		case 0xDC00 <= r && r <= 0xDFFF:
			return string(raw[i : i+6])
		}
		i += 5
	}
	return ""
}

// object reads members after an opening '{'. path names the object in errors.
func (p *objectParser) object(depth int, path string) (map[string]any, error) {
	obj := map[string]any{}
	for {
		tok, err := p.textToken(path, true)
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); ok && d == '}' {
			return obj, nil
		}
		name, ok := tok.(string)
		if !ok { // the decoder only yields strings here; defensive
			return nil, Errorf(Invalid, "malformed JSON at byte %d", p.dec.InputOffset())
		}
		if _, dup := obj[name]; dup {
			return nil, Errorf(Invalid, "duplicate member %q%s", name, in(path))
		}
		if depth == 1 && len(obj) >= p.lim.MaxMembers {
			return nil, Errorf(Invalid, "the object has more than %d members", p.lim.MaxMembers)
		}
		v, err := p.value(depth, join(path, name))
		if err != nil {
			return nil, err
		}
		obj[name] = v
	}
}

func (p *objectParser) value(depth int, path string) (any, error) {
	tok, err := p.textToken(path, false)
	if err != nil {
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil
	}
	if p.lim.Flat {
		return nil, Errorf(Invalid, "%s: only strings, numbers, booleans and null are accepted here, not objects or arrays", path)
	}
	if depth >= p.lim.MaxDepth {
		return nil, Errorf(Invalid, "%s: nested deeper than %d levels", path, p.lim.MaxDepth)
	}
	if d == '{' {
		return p.object(depth+1, path)
	}
	arr := []any{}
	for i := 0; ; i++ {
		if !p.dec.More() {
			if _, err := p.token(); err != nil { // the closing ']'
				return nil, err
			}
			return arr, nil
		}
		v, err := p.value(depth+1, fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func in(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

// MaxBatch is the most items a JSON array body (bulk create) may hold.
const MaxBatch = 1000

// ParseArray decodes a body that must be a JSON array of objects, each under the
// rules of ParseObject (errors name the item: "item 2: duplicate member …"). An empty
// array, a non-object item or more than MaxBatch items is Invalid.
func ParseArray(data []byte, lim Limits) ([]map[string]any, error) {
	p, err := newParser(data, lim)
	if err != nil {
		return nil, err
	}
	tok, err := p.token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, Errorf(Invalid, "the body must be a JSON array of objects")
	}
	var out []map[string]any
	for i := 0; p.dec.More(); i++ {
		if i >= MaxBatch {
			return nil, Errorf(Invalid, "the array has more than %d items", MaxBatch)
		}
		tok, err := p.token()
		if err != nil {
			return nil, err
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			return nil, Errorf(Invalid, "item %d must be a JSON object", i)
		}
		obj, err := p.object(2, fmt.Sprintf("[%d]", i))
		if err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
	if _, err := p.token(); err != nil { // the closing ']'
		return nil, err
	}
	end := p.dec.InputOffset()
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, Errorf(Invalid, "unexpected data after the JSON array, which ends at byte %d", end)
	}
	if len(out) == 0 {
		return nil, Errorf(Invalid, "the array is empty; send at least one object")
	}
	return out, nil
}
