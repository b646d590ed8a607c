package artefact_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/artefact"
)

func TestCheckName(t *testing.T) {
	long := func(unit string, n int) string { return strings.Repeat(unit, n) }
	for _, c := range []struct {
		name string
		in   string
		want string // the NFC name returned, when valid
		rule string // the rule broken, when not
	}{
		{name: "empty", in: "", rule: "must not be empty"},
		{name: "dot", in: ".", rule: "must not be . or .."},
		{name: "dot dot", in: "..", rule: "must not be . or .."},
		{name: "three dots", in: "...", want: "..."},
		{name: "hidden", in: ".hidden", want: ".hidden"},
		{name: "trailing dot", in: "name.", want: "name."},
		{name: "slash", in: "a/b", rule: "must not contain a slash"},
		{name: "only a slash", in: "/", rule: "must not contain a slash"},
		{name: "traversal", in: "../etc", rule: "must not contain a slash"},
		{name: "backslash", in: `a\b`, rule: "must not contain a backslash"},
		{name: "windows traversal", in: `..\x`, rule: "must not contain a backslash"},
		{name: "NUL", in: "a\x00b", rule: "must not contain a NUL character"},
		{name: "NUL alone", in: "\x00", rule: "must not contain a NUL character"},
		// Percent-decoding is the router's job: here "%2e%2e" is six literal bytes.
		{name: "percent-encoded dots", in: "%2e%2e", want: "%2e%2e"},
		{name: "percent-encoded slash", in: "a%2Fb", want: "a%2Fb"},

		{name: "255 bytes", in: long("a", 255), want: long("a", 255)},
		{name: "256 bytes", in: long("a", 256), rule: "must be at most 255 bytes"},
		{name: "255 bytes of CJK", in: long("漢", 85), want: long("漢", 85)},
		{name: "258 bytes of CJK", in: long("漢", 86), rule: "must be at most 255 bytes"},
		// e + U+0301 (3 bytes) composes to é (2 bytes): 258 bytes in, 172 out.
		{name: "NFC makes it fit", in: long("e\u0301", 86), want: long("é", 86)},
		{name: "NFD at 255 bytes", in: long("e\u0301", 85), want: long("é", 85)},
		// U+0344 (2 bytes) is excluded from composition: NFC decomposes it to
		// U+0308 U+0301, and a + U+0308 composes to ä: "a\u0344" is 3 bytes, its
		// NFC "ä\u0301" 4. 255 bytes in, 340 out.
		{name: "NFC makes it too long", in: long("a\u0344", 85), rule: "must be at most 255 bytes"},

		{name: "invalid UTF-8", in: "\xff", rule: "must be valid UTF-8"},
		{name: "truncated UTF-8", in: "caf\xc3", rule: "must be valid UTF-8"},
		{name: "overlong slash", in: "\xc0\xaf", rule: "must be valid UTF-8"},
		{name: "encoded surrogate", in: "\xed\xa0\x80", rule: "must be valid UTF-8"},
		{name: "invalid UTF-8 and too long", in: long("a", 300) + "\xff", rule: "must be valid UTF-8"},

		{name: "newline", in: "\n", rule: "must not contain control characters"},
		{name: "tab", in: "a\tb", rule: "must not contain control characters"},
		{name: "carriage return", in: "a\r", rule: "must not contain control characters"},
		{name: "escape sequence", in: "\x1b[31mred", rule: "must not contain control characters"},
		{name: "DEL", in: "\x7f", rule: "must not contain control characters"},
		{name: "C1 NEL", in: "a\u0085b", rule: "must not contain control characters"},
		{name: "C1 CSI", in: "\u009b", rule: "must not contain control characters"},
		{name: "line separator", in: "a\u2028b", rule: "must not contain control characters"},
		{name: "paragraph separator", in: "a\u2029b", rule: "must not contain control characters"},
		{name: "right-to-left override", in: "report\u202Efdp.exe", rule: "must not contain control characters"},
		{name: "left-to-right embedding", in: "\u202Ax", rule: "must not contain control characters"},
		{name: "pop directional formatting", in: "x\u202C", rule: "must not contain control characters"},
		{name: "right-to-left isolate", in: "\u2067x", rule: "must not contain control characters"},
		{name: "pop directional isolate", in: "x\u2069", rule: "must not contain control characters"},
		// Marks only affect neutral characters next to them; they stay allowed.
		{name: "right-to-left mark", in: "\u05e9\u05dc\u05d5\u05dd\u200f.txt", want: "\u05e9\u05dc\u05d5\u05dd\u200f.txt"},

		{name: "NFD", in: "e\u0301", want: "é"},
		{name: "NFD word", in: "Cafe\u0301 menu.pdf", want: "Café menu.pdf"},
		{name: "NFD Hangul", in: "\u1112\u1161\u11ab", want: "한"},
		{name: "NFC stays", in: "Café", want: "Café"},
		{name: "CJK", in: "日本語のファイル.txt", want: "日本語のファイル.txt"},
		{name: "emoji", in: "😀 party 🎉.bin", want: "😀 party 🎉.bin"},
		{name: "spaces", in: " my file  v2 ", want: " my file  v2 "},
		{name: "release", in: "release-1.2.3.tar.gz", want: "release-1.2.3.tar.gz"},
		{name: "leading dash", in: "-rf", want: "-rf"},
		{name: "replacement character", in: "\ufffd", want: "\ufffd"},
	} {
		for _, kind := range []string{"directory", "artefact"} {
			t.Run(kind+"/"+c.name, func(t *testing.T) {
				got, err := artefact.CheckName(kind, c.in)
				if c.rule == "" {
					if err != nil || got != c.want {
						t.Fatalf("CheckName(%q) = %q, %v; want %q", c.in, got, err, c.want)
					}
					if again, err := artefact.CheckName(kind, got); err != nil || again != got {
						t.Errorf("CheckName of its own result %q = %q, %v", got, again, err)
					}
					return
				}
				if got != "" {
					t.Errorf("CheckName(%q) returned %q with an error", c.in, got)
				}
				sameNameError(t, err, kind, c.rule)
			})
		}
	}
}

// sameNameError fails unless err is exactly the Invalid error for kind and rule.
func sameNameError(t *testing.T, err error, kind, rule string) {
	t.Helper()
	var e *restkit.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want a *restkit.Error", err)
	}
	want := &restkit.Error{Kind: restkit.Invalid, Message: kind + " name " + rule,
		Fields: []restkit.FieldError{{Field: kind, Message: rule}}}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("error %#v\nwant %#v", e, want)
	}
}

// TestCheckNameForms: the NFC and NFD spellings of a name are one name.
func TestCheckNameForms(t *testing.T) {
	for _, s := range []string{"Café", "Ångström", "한국어 자료", "Ελληνικά ά", "ñandú", "Å", "ｶﾞ", "ﬁle"} {
		nfc, err1 := artefact.CheckName("artefact", norm.NFC.String(s))
		nfd, err2 := artefact.CheckName("artefact", norm.NFD.String(s))
		if err1 != nil || err2 != nil || nfc != nfd || nfc != norm.NFC.String(s) {
			t.Errorf("%q: NFC gives %q, %v; NFD gives %q, %v", s, nfc, err1, nfd, err2)
		}
		// Compatibility forms are other names: NFC, not NFKC.
		if nfkc := norm.NFKC.String(s); nfkc != nfc {
			if got, _ := artefact.CheckName("artefact", nfkc); got == nfc {
				t.Errorf("%q and its NFKC form %q are one name", s, nfkc)
			}
		}
	}
}

func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"release-1.2.3.tar.gz", "e\u0301", "..", "a/b", "\u202E", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := artefact.CheckName("artefact", s)
		if err != nil {
			if got != "" {
				t.Fatalf("CheckName(%q) returned %q with an error", s, got)
			}
			var e *restkit.Error
			if !errors.As(err, &e) || e.Kind != restkit.Invalid || len(e.Fields) != 1 ||
				e.Fields[0].Field != "artefact" || e.Message != "artefact name "+e.Fields[0].Message {
				t.Fatalf("CheckName(%q): error %#v", s, err)
			}
			return
		}
		switch {
		case !utf8.ValidString(got):
			t.Fatalf("CheckName(%q) = %q: not UTF-8", s, got)
		case !norm.NFC.IsNormalString(got):
			t.Fatalf("CheckName(%q) = %q: not NFC", s, got)
		case len(got) < 1 || len(got) > 255:
			t.Fatalf("CheckName(%q) = %q: %d bytes", s, got, len(got))
		case strings.ContainsAny(got, "/\\\x00"):
			t.Fatalf("CheckName(%q) = %q: a slash, backslash or NUL", s, got)
		case strings.ContainsFunc(got, unicode.IsControl):
			t.Fatalf("CheckName(%q) = %q: a control character", s, got)
		case strings.ContainsFunc(got, separatorOrBidi):
			t.Fatalf("CheckName(%q) = %q: a separator or bidi control", s, got)
		case got == "." || got == "..":
			t.Fatalf("CheckName(%q) = %q", s, got)
		case !utf8.ValidString(s):
			t.Fatalf("CheckName(%q) accepted invalid UTF-8", s)
		case got != norm.NFC.String(s):
			t.Fatalf("CheckName(%q) = %q, not the NFC of its input", s, got)
		}
		again, err := artefact.CheckName("artefact", got)
		if err != nil || again != got {
			t.Fatalf("CheckName(%q) = %q, but CheckName(%q) = %q, %v", s, got, got, again, err)
		}
	})
}

// separatorOrBidi reports the characters CheckName refuses beyond unicode.IsControl:
// U+2028, U+2029, U+202A–U+202E and U+2066–U+2069.
func separatorOrBidi(r rune) bool {
	return 0x2028 <= r && r <= 0x202E || 0x2066 <= r && r <= 0x2069
}
