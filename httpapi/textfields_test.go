package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
)

// TestStringFieldTextIsChecked (issue 11, finding 7): a lone surrogate escape and a C0
// control character other than tab, line feed and carriage return are a 400 naming
// the field — on creates, replaces, patches, bulk creates and nouns — and nothing is
// stored; a surrogate pair and tab, LF, CR are stored and come back as sent.
func TestStringFieldTextIsChecked(t *testing.T) {
	h := configServer(t, `
apis:
  - resources:
      notes:
        key: id
        fields:
          id: {type: integer}
          text: {type: string}
        collection: [GET, POST]
        item: [GET, PUT, PATCH, DELETE]
    nouns:
      display:
        fields:
          text: {type: string, default: ""}
        update: merge
`, nil)
	const (
		surrogate = "holds the lone surrogate escape %s, which is no character; send the character itself or a whole surrogate pair"
		control   = `must not contain control characters other than tab, line feed and carriage return (found \u00%s)`
	)
	mustServe(t, h, http.StatusCreated, "POST", "/notes", `{"id":1,"text":"kept"}`)
	for _, tc := range []struct {
		method, path, body string
		field, message     string
	}{
		{"POST", "/notes", `{"id":2,"text":"\ud800"}`, "text", fmt.Sprintf(surrogate, `\ud800`)},
		{"POST", "/notes", `{"id":2,"text":"a\uDC00b"}`, "text", fmt.Sprintf(surrogate, `\uDC00`)},
		{"POST", "/notes", `{"id":2,"text":"\u0001"}`, "text", fmt.Sprintf(control, "01")},
		{"PUT", "/notes/1", `{"text":"\u001b[2J"}`, "text", fmt.Sprintf(control, "1b")},
		{"PATCH", "/notes/1", `{"text":"\ud83d"}`, "text", fmt.Sprintf(surrogate, `\ud83d`)},
		{"PATCH", "/notes/1", `{"text":"bell\u0007"}`, "text", fmt.Sprintf(control, "07")},
		{"POST", "/notes", `[{"id":2,"text":"ok"},{"id":3,"text":"\udfff"}]`, "[1].text", fmt.Sprintf(surrogate, `\udfff`)},
		{"POST", "/notes", `[{"id":2,"text":"ok"},{"id":3,"text":"\u0002"}]`, "[1].text", fmt.Sprintf(control, "02")},
		{"PUT", "/display", `{"text":"\ud800"}`, "text", fmt.Sprintf(surrogate, `\ud800`)},
		{"PUT", "/display", `{"text":"\u001f"}`, "text", fmt.Sprintf(control, "1f")},
		{"POST", "/display", `{"text":"\u0000"}`, "text", `must not contain the NUL character (\u0000)`},
	} {
		r := serve(t, h, tc.method, tc.path, tc.body)
		var p struct {
			Status int `json:"status"`
			Errors []struct {
				Field   string `json:"field"`
				Message string `json:"message"`
			} `json:"errors"`
		}
		_ = json.Unmarshal([]byte(r.body), &p)
		want := []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		}{{tc.field, tc.message}}
		if r.status != http.StatusBadRequest || !reflect.DeepEqual(p.Errors, want) {
			t.Errorf("%s %s %s: %d %s, want 400 naming %s: %s", tc.method, tc.path, tc.body, r.status, r.body, tc.field, tc.message)
		}
	}
	// Nothing was stored.
	if r := mustServe(t, h, 200, "GET", "/notes", ""); r.body != `[{"id":1,"text":"kept"}]`+"\n" {
		t.Fatalf("notes after the refusals: %s", r.body)
	}
	if r := mustServe(t, h, 200, "GET", "/display", ""); r.body != `{"text":""}`+"\n" {
		t.Fatalf("display after the refusals: %s", r.body)
	}
	// What is allowed comes back as sent, in JSON and in XML.
	mustServe(t, h, 200, "PUT", "/notes/1", `{"text":"\ud83d\ude00\t\n\r\u007f"}`)
	if r := mustServe(t, h, 200, "GET", "/notes/1", ""); r.body != `{"id":1,"text":"`+"\U0001F600"+`\t\n\r`+"\x7f"+`"}`+"\n" {
		t.Fatalf("JSON: %s", r.body)
	}
	if r := mustServe(t, h, 200, "GET", "/notes/1", "", "Accept", "application/xml"); r.body != `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<note><id>1</id><text>`+"\U0001F600"+`&#x9;&#xA;&#xD;`+"\x7f"+`</text></note>`+"\n" {
		t.Fatalf("XML: %s", r.body)
	}
}
