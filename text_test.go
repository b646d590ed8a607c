package restkit_test

import (
	"reflect"
	"testing"

	"github.com/restkit/restkit"
)

// Issue 11, finding 7: text a string field cannot give back as it came is refused
// with a 400 naming the field.

// TestParseObjectRefusesLoneSurrogates: encoding/json turns an escape naming half a
// surrogate pair into U+FFFD without a word; the parser refuses it, naming the member.
func TestParseObjectRefusesLoneSurrogates(t *testing.T) {
	const why = ", which is no character; send the character itself or a whole surrogate pair"
	for _, tc := range []struct {
		body  string
		field string // "" when accepted
		msg   string
	}{
		{`{"a":"\ud800"}`, "a", `holds the lone surrogate escape \ud800` + why},
		{`{"a":"\uDBFF!"}`, "a", `holds the lone surrogate escape \uDBFF` + why},
		{`{"a":"x\udc00"}`, "a", `holds the lone surrogate escape \udc00` + why},
		{`{"a":"\ud800\ud800\udc00"}`, "a", `holds the lone surrogate escape \ud800` + why},
		{`{"a":"\ud83d\ude00\ude00"}`, "a", `holds the lone surrogate escape \ude00` + why},
		{`{"a":"\ud800\u0041"}`, "a", `holds the lone surrogate escape \ud800` + why},
		{`{"a":"\ud800\n"}`, "a", `holds the lone surrogate escape \ud800` + why},
		{`{"o":{"b":["ok","\udfff"]}}`, "o.b[1]", `holds the lone surrogate escape \udfff` + why},
		{`{"o":{"\ud800":1}}`, "o", `has a member name that holds the lone surrogate escape \ud800` + why},
		// Accepted: pairs, U+FFFD sent as itself or escaped, escaped backslashes.
		{`{"a":"\ud83d\ude00"}`, "", ""},
		{`{"a":"\uD83D\uDE00 \ufffd ` + "\ufffd" + `"}`, "", ""},
		{`{"a":"\\ud800 \ufffd"}`, "", ""},
		{`{"a":"\\\ufffd"}`, "", ""},
	} {
		_, err := restkit.ParseObject([]byte(tc.body), restkit.Limits{})
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.body, err)
			}
			continue
		}
		want := []restkit.FieldError{{Field: tc.field, Message: tc.msg}}
		if restkit.ErrorKind(err) != restkit.Invalid || !reflect.DeepEqual(restkit.ErrorFields(err), want) {
			t.Errorf("%s: %v %v, want %v", tc.body, err, restkit.ErrorFields(err), want)
		}
	}
	if _, err := restkit.ParseObject([]byte(`{"\udc00":1}`), restkit.Limits{}); restkit.ErrorMessage(err) != `a member name holds the lone surrogate escape \udc00`+why {
		t.Errorf("a top-level member name: %v", err)
	}
	_, err := restkit.ParseArray([]byte(`[{"a":"ok"},{"a":"\ud800"}]`), restkit.Limits{})
	if fe := restkit.ErrorFields(err); len(fe) != 1 || fe[0].Field != "[1].a" {
		t.Errorf("ParseArray: %v %v, want field [1].a", err, fe)
	}
	if got, err := restkit.ParseObject([]byte(`{"a":"\ud83d\ude00"}`), restkit.Limits{}); err != nil || got["a"] != "\U0001F600" {
		t.Errorf("a surrogate pair: %q %v", got["a"], err)
	}
}

// TestStringFieldsRefuseUnstorableText: C0 control characters other than tab, line
// feed and carriage return, U+FFFE, U+FFFF and invalid UTF-8 are refused in every
// string-typed field, keys and nouns included.
func TestStringFieldsRefuseUnstorableText(t *testing.T) {
	f := &restkit.Field{Name: "s", Type: restkit.TypeString}
	for s, want := range map[string]string{
		"plain":             "",
		"tab\tlf\ncr\r":     "",
		"del\x7f c1\u0085":  "",
		"\ufffd \ufffd":     "",
		"\U0010FFFF \uFDD0": "",
		"nul\x00":           `must not contain the NUL character (\u0000)`,
		"soh\x01":           `must not contain control characters other than tab, line feed and carriage return (found \u0001)`,
		"\x1b[31mred":       `must not contain control characters other than tab, line feed and carriage return (found \u001b)`,
		"\x1f":              `must not contain control characters other than tab, line feed and carriage return (found \u001f)`,
		"\ufffe":            `must not contain U+FFFE, which is not a character`,
		"x\uffff":           `must not contain U+FFFF, which is not a character`,
		"\xff":              "must be valid UTF-8",
	} {
		if got := f.Check(s); got != want {
			t.Errorf("%q: %q, want %q", s, got, want)
		}
	}
	cars, led := carsSchema(t)
	_, err := cars.Build(mustParse(t, `{"id":1,"model":"a\u0001b","color":"red"}`), nil, nil, restkit.Create)
	if fe := restkit.ErrorFields(err); len(fe) != 1 || fe[0].Field != "model" {
		t.Errorf("Build: %v %v", err, fe)
	}
	_, err = led.Set(mustParse(t, `{"label":"\u001b"}`), led.Defaults())
	if fe := restkit.ErrorFields(err); len(fe) != 1 || fe[0].Field != "label" || fe[0].Message != `must not contain control characters other than tab, line feed and carriage return (found \u001b)` {
		t.Errorf("noun Set: %v %v", err, fe)
	}
}
