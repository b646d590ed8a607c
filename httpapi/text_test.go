package httpapi

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/restkit/restkit"
)

// TestXMLGivesBackEveryStorableString (issue 11, finding 7): every string a string
// field accepts comes back identical from the XML representation (and from the JSON),
// checked for every code point, alone and in company: what XML 1.0 cannot write is
// what restkit.Field.Check refuses.
func TestXMLGivesBackEveryStorableString(t *testing.T) {
	f := &restkit.Field{Name: "s", Type: restkit.TypeString}
	v := fullView([]*restkit.Field{f}, false)
	roundTrip := func(s string) {
		t.Helper()
		rec := &restkit.Record{Values: map[string]any{"s": s}}
		var fromXML struct {
			S string `xml:"s"`
		}
		doc := v.appendXMLRecord([]byte(xmlHeader), "t", rec)
		if err := xml.Unmarshal(doc, &fromXML); err != nil || fromXML.S != s {
			t.Fatalf("XML does not give back %s (%v)", firstDifference(s, fromXML.S), err)
		}
		var fromJSON map[string]string
		if err := json.Unmarshal(v.appendRecord(nil, rec), &fromJSON); err != nil || fromJSON["s"] != s {
			t.Fatalf("JSON does not give back %s (%v)", firstDifference(s, fromJSON["s"]), err)
		}
	}
	var chunk strings.Builder
	accepted, refused := 0, 0
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) { // surrogates: no UTF-8 string holds one
			continue
		}
		s := string(r)
		if f.Check(s) != "" {
			refused++
			continue
		}
		accepted++
		chunk.WriteString(s)
		if chunk.Len() >= 4096 || r == utf8.MaxRune {
			roundTrip(chunk.String())
			chunk.Reset()
		}
	}
	if refused != 31 { // NUL, 28 other C0 controls, U+FFFE, U+FFFF
		t.Fatalf("%d code points refused, want 31", refused)
	}
	for _, s := range []string{"", " ", "  lead and trail  ", "\r\n", "\r", "a\r\nb\rc\n", "\t\t", "<![CDATA[x]]>", "]]>", "&amp;", `"'<>&`,
		"\u0085\u2028\u2029", "\u007f", "\ufffd", "\U0001F600", "e\u0301", "\uFDD0\U0010FFFF"} {
		if f.Check(s) != "" {
			t.Fatalf("%+q refused: %s", s, f.Check(s))
		}
		roundTrip(s)
	}
}

// firstDifference describes where got first departs from want, in a few runes.
func firstDifference(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	for i > 0 && i < len(want) && !utf8.RuneStart(want[i]) {
		i--
	}
	clip := func(s string) string {
		if len(s) > 12 {
			s = s[:12]
		}
		return s
	}
	return fmt.Sprintf("%+q: at byte %d, %+q became %+q", clip(want), i, clip(want[i:]), clip(got[min(i, len(got)):]))
}
