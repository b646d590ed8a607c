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
