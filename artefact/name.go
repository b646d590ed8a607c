package artefact

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/restkit/restkit"
)

// MaxNameBytes is the longest directory or artefact name, in bytes of its NFC form:
// the usual limit of a file name, so a name fits any filesystem a client saves it to.
const MaxNameBytes = 255

// CheckName validates a directory or artefact name (DESIGN §4) and returns it NFC-normalised.
// kind is "directory" or "artefact", used in messages. The one rule for names:
//
//   - valid UTF-8 (checked before normalising, which would replace bad bytes);
//   - after NFC normalisation, 1 to 255 bytes — so "é" typed as e + combining
//     acute and as the precomposed letter are the same name;
//   - not "." or "..";
//   - no slash, backslash or NUL, so a name is one path element everywhere;
//   - no control characters: C0, DEL and C1 (unicode.IsControl), the line and
//     paragraph separators U+2028 and U+2029, and the bidirectional embeddings,
//     overrides and isolates U+202A–U+202E and U+2066–U+2069. Those last make a
//     name display other than it is ("report\u202Efdp.exe" shows as
//     "reportexe.pdf"), and the separators break it across lines in listings and
//     logs.
//
// The name is checked as given: percent-decoding is the router's job, so "%2e%2e"
// here is a valid name of six characters, not "..".
//
// A name breaking a rule is an Invalid error whose message names the rule, with one
// FieldError for kind.
func CheckName(kind, s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", nameError(kind, "must be valid UTF-8")
	}
	s = norm.NFC.String(s)
	switch {
	case s == "":
		return "", nameError(kind, "must not be empty")
	case len(s) > MaxNameBytes:
		return "", nameError(kind, "must be at most 255 bytes")
	case s == "." || s == "..":
		return "", nameError(kind, "must not be . or ..")
	case strings.IndexByte(s, '/') >= 0:
		return "", nameError(kind, "must not contain a slash")
	case strings.IndexByte(s, '\\') >= 0:
		return "", nameError(kind, "must not contain a backslash")
	case strings.IndexByte(s, 0) >= 0:
		return "", nameError(kind, "must not contain a NUL character")
	case strings.IndexFunc(s, isControl) >= 0:
		return "", nameError(kind, "must not contain control characters")
	}
	return s, nil
}

// isControl reports whether a name must not contain r (see CheckName).
func isControl(r rune) bool {
	return unicode.IsControl(r) ||
		r == '\u2028' || r == '\u2029' || // line and paragraph separators
		'\u202A' <= r && r <= '\u202E' || // LRE, RLE, PDF, LRO, RLO
		'\u2066' <= r && r <= '\u2069' // LRI, RLI, FSI, PDI
}

func nameError(kind, rule string) error {
	return &restkit.Error{Kind: restkit.Invalid, Message: kind + " name " + rule,
		Fields: []restkit.FieldError{{Field: kind, Message: rule}}}
}

// NormalizePrefix puts a listing prefix in the form names are stored in (NFC), so
// that a prefix typed in NFD finds the names it starts.
func NormalizePrefix(s string) string { return norm.NFC.String(s) }

// MaxDepth is the most segments a directory path has: org/app/1.2.0 has three.
const MaxDepth = 8

// Reserved are the last segments that name a sub-resource of the path before them
// (DESIGN §14): an artefact cannot be called so.
var Reserved = []string{"versions", "properties", "events"}

// IsReserved reports whether a last segment names a sub-resource.
func IsReserved(seg string) bool {
	for _, r := range Reserved {
		if seg == r {
			return true
		}
	}
	return false
}

// CheckDirectory validates a directory path ("org/app/1.2.0": 1 to MaxDepth segments
// joined by slashes, each a valid name) and returns it with every segment
// NFC-normalised. The one rule for paths; errors are Invalid and name the rule.
func CheckDirectory(dir string) (string, error) {
	segs := strings.Split(dir, "/")
	if len(segs) > MaxDepth {
		return "", pathError("directory", "must have at most 8 segments")
	}
	for i, s := range segs {
		if s == "" {
			return "", pathError("directory", "must not have an empty segment (a//b, or a leading or trailing slash)")
		}
		n, err := CheckName("directory", s)
		if err != nil {
			return "", err
		}
		segs[i] = n
	}
	return strings.Join(segs, "/"), nil
}

// CheckID validates an artefact's id: a name (CheckName) that is not reserved.
func CheckID(id string) (string, error) {
	n, err := CheckName("artefact", id)
	if err != nil {
		return "", err
	}
	if IsReserved(n) {
		return "", nameError("artefact", "must not be versions, properties or events: those name the sub-resources of the path before them")
	}
	return n, nil
}

func pathError(kind, rule string) error {
	return &restkit.Error{Kind: restkit.Invalid, Message: kind + " path " + rule,
		Fields: []restkit.FieldError{{Field: kind, Message: rule}}}
}
