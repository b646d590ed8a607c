package httpapi_test

import (
	"strings"
	"testing"
)

// TestCSVCells: lists are JSON text in CSV (["a,b"] and ["a","b"] differ), and any
// cell that a spreadsheet would run as a formula starts with a
// quote (a list's JSON text starts with [, which is safe); negative numbers stay numbers.
func TestCSVCells(t *testing.T) {
	h := configServer(t, `
apis:
  - resources:
      tags:
        key: name
        fields: {name: {type: string}}
      books:
        key: id
        fields: {id: {type: integer}, n: {type: integer}, title: {type: string}, isbns: {type: array, items: string}, tags: {type: relation, to: tags, many: true}}
`, nil)
	mustServe(t, h, 201, "POST", "/tags", `[{"name":"=cmd|x!A1"},{"name":"a"}]`)
	mustServe(t, h, 201, "POST", "/books", `[{"id":1,"n":-5,"title":"=1+1","isbns":["a,b"],"tags":["=cmd|x!A1"]},{"id":2,"n":3,"title":"t","isbns":["a","b"],"tags":["a"]}]`)
	r := mustServe(t, h, 200, "GET", "/books?fields=id,n,title,isbns,tags", "", "Accept", "text/csv")
	want := "id,n,title,isbns,tags\n" +
		`1,-5,'=1+1,"[""a,b""]","[""=cmd|x!A1""]"` + "\n" +
		`2,3,t,"[""a"",""b""]","[""a""]"` + "\n"
	if got := strings.ReplaceAll(r.body, "\r\n", "\n"); got != want {
		t.Fatalf("CSV:\n%s\nwant:\n%s", got, want)
	}
}

// TestRelationValuesInNFC: a reference to a string key is a key too: sent decomposed
// (NFD) it refers to the record stored composed (NFC), in bodies and in filters, and
// the two spellings in one many relation are one key.
func TestRelationValuesInNFC(t *testing.T) {
	h := configServer(t, `
apis:
  - resources:
      words:
        key: w
        fields: {w: {type: string}}
      uses:
        key: id
        fields: {id: {type: integer}, word: {type: relation, to: words, filterable: true}, words: {type: relation, to: words, many: true, filterable: true}}
`, nil)
	const nfc, nfd = "caf\u00e9", "cafe\u0301"
	mustServe(t, h, 201, "POST", "/words", `{"w":"`+nfc+`"}`)
	mustServe(t, h, 201, "POST", "/uses", `{"id":1,"word":"`+nfd+`","words":["`+nfd+`"]}`)
	mustServe(t, h, 400, "POST", "/uses", `{"id":2,"word":"`+nfc+`","words":["`+nfc+`","`+nfd+`"]}`) // one key twice
	for _, q := range []string{"word=" + nfd, "words[contains]=" + nfd, "word=" + nfc} {
		if r := mustServe(t, h, 200, "GET", "/uses?"+q, ""); !strings.Contains(r.body, `"id":1`) || !strings.Contains(r.body, `"word":"`+nfc+`"`) {
			t.Errorf("%s: %s", q, r.body)
		}
	}
}
