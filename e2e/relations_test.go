package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// The relations example (examples/relations.yaml) against the real binary: DESIGN
// §11 — references checked, on_delete followed, expand, sub-collections, filters
// across relations and groups, json and array fields in every representation.

// relServer starts the relations example and writes a small library: publisher 1;
// authors 1 (Ann, publisher 1) and 2 (Bob); tags go, web, sql; books 1 (Ann, edited by
// Bob, go+web) and 2 (Bob, sql); reviews 1 and 2 of book 1.
func relServer(t *testing.T) *server {
	t.Helper()
	s := startServer(t, "", "--config", "../examples/relations.yaml")
	for _, c := range []struct{ path, body string }{
		{"/publishers", `{"name":"Tor"}`},
		{"/authors", `{"name":"Ann","publisher":1}`},
		{"/authors", `{"name":"Bob"}`},
		{"/tags", `[{"name":"go","label":"Go"},{"name":"web","label":"Web"},{"name":"sql","label":"SQL"}]`},
		{"/books", `{"title":"Go in depth","author":1,"editor":2,"tags":["go","web"],"meta":{"pages":320,"ed":{"n":2}},"isbns":["978-1","978-2"]}`},
		{"/books", `{"title":"Databases","author":2,"tags":["sql"],"isbns":[]}`},
		{"/reviews", `{"book":1,"stars":5,"text":"great"}`},
		{"/reviews", `{"book":1,"stars":3}`},
	} {
		if r := s.do("POST", c.path, c.body); r.Status != 201 {
			t.Fatalf("POST %s %s: %d %s", c.path, c.body, r.Status, r.Body)
		}
	}
	return s
}

func TestRelationIntegrity(t *testing.T) {
	s := relServer(t)
	for _, c := range []struct {
		body, field, msg string
	}{
		{`{"title":"x","author":9}`, "author", "refers to no author with id 9"},
		{`{"title":"x","author":1,"tags":["go","rust"]}`, "tags", "refers to no tag with name rust"},
		{`{"title":"x","author":1,"tags":["go","go"]}`, "tags", "lists name go more than once"},
		{`{"title":"x","author":"one"}`, "author", "must be the id of an author: it must be an integer"},
		{`{"title":"x","author":1,"isbns":["` + strings.Repeat("9", 18) + `"]}`, "isbns", "item 0 must be at most 17 characters long"},
		{`{"title":"x","author":1,"meta":"` + strings.Repeat("m", 66000) + `"}`, "meta", "must be at most 65536 bytes of JSON, not 66002"},
	} {
		r := s.do("POST", "/books", c.body)
		if r.Status != 400 || !strings.Contains(string(r.Body), fmt.Sprintf(`{"field":%q,"message":%q}`, c.field, c.msg)) {
			t.Errorf("%.60s: %d %s, want a 400 for %s: %s", c.body, r.Status, r.Body, c.field, c.msg)
		}
	}
	if r := s.do("GET", "/books?count=true", ""); r.Header.Get("X-Total-Count") != "2" {
		t.Fatalf("refused creates wrote something: %s", r.Header.Get("X-Total-Count"))
	}
	// restrict: Ann has a book.
	r := s.do("DELETE", "/authors/1", "")
	if r.Status != 409 || !strings.Contains(string(r.Body), "1 book (books.author) refers to the author with id 1") {
		t.Fatalf("deleting a referenced author: %d %s", r.Status, r.Body)
	}
	// cascade: deleting book 1 deletes its reviews, and leaves its tombstone.
	if r := s.do("DELETE", "/books/1", ""); r.Status != 204 {
		t.Fatalf("deleting a book: %d %s", r.Status, r.Body)
	}
	for _, id := range []string{"1", "2"} {
		if r := s.do("GET", "/reviews/"+id, ""); r.Status != 404 {
			t.Errorf("review %s of the deleted book: %d", id, r.Status)
		}
	}
	if r := s.do("GET", "/books/1/revisions", ""); r.Status != 200 || !strings.Contains(string(r.Body), `"deleted":true`) {
		t.Errorf("the deleted book's history: %d %s", r.Status, r.Body)
	}
	// set_null: deleting Ann's publisher clears it (a new revision of Ann).
	if r := s.do("DELETE", "/publishers/1", ""); r.Status != 204 {
		t.Fatalf("deleting a publisher: %d %s", r.Status, r.Body)
	}
	if r := s.do("GET", "/authors/1", ""); !strings.Contains(string(r.Body), `"publisher":null`) || !strings.HasPrefix(r.Header.Get("ETag"), `"2-`) {
		t.Errorf("Ann after her publisher was deleted: %s %s", r.Header.Get("ETag"), r.Body)
	}
	// A tag deleted is taken off the books (many, set_null).
	if r := s.do("DELETE", "/tags/sql", ""); r.Status != 204 {
		t.Fatal(r.Status)
	}
	if r := s.do("GET", "/books/2", ""); !strings.Contains(string(r.Body), `"tags":[]`) {
		t.Errorf("book 2 after its tag was deleted: %s", r.Body)
	}
}

func TestRelationExpand(t *testing.T) {
	s := relServer(t)
	var books []map[string]any
	r := s.do("GET", "/books?expand=author.publisher,tags,editor&sort=title", "")
	if r.Status != 200 || json.Unmarshal(r.Body, &books) != nil || len(books) != 2 {
		t.Fatalf("expanded list: %d %s", r.Status, r.Body)
	}
	b := books[1] // Go in depth
	if b["author"] != float64(1) {
		t.Errorf("the relation field keeps its key: %v", b["author"])
	}
	exp := b["expand"].(map[string]any)
	author := exp["author"].(map[string]any)
	if author["name"] != "Ann" || author["expand"].(map[string]any)["publisher"].(map[string]any)["name"] != "Tor" {
		t.Errorf("expand.author: %v", author)
	}
	if tags := exp["tags"].([]any); len(tags) != 2 || tags[0].(map[string]any)["label"] != "Go" || tags[1].(map[string]any)["label"] != "Web" {
		t.Errorf("expand.tags: %v", exp["tags"])
	}
	if exp["editor"].(map[string]any)["name"] != "Bob" {
		t.Errorf("expand.editor: %v", exp["editor"])
	}
	if _, has := books[0]["expand"].(map[string]any)["editor"]; has {
		t.Errorf("a null relation expanded: %v", books[0]["expand"])
	}
	// One record; its ETag is weak and not the record's own.
	plain := s.do("GET", "/books/1", "")
	one := s.do("GET", "/books/1?expand=author", "")
	if one.Status != 200 || !strings.Contains(string(one.Body), `"expand":{"author":{"id":1,"name":"Ann","publisher":1}}`) {
		t.Errorf("an expanded record: %d %s", one.Status, one.Body)
	}
	tag := one.Header.Get("ETag")
	if !strings.HasPrefix(tag, `W/"`) || tag == plain.Header.Get("ETag") {
		t.Errorf("the ETag of an expanded record: %q (the record's own: %q)", tag, plain.Header.Get("ETag"))
	}
	if r := s.do("GET", "/books/1?expand=author", "", "If-None-Match", tag); r.Status != 304 {
		t.Errorf("revalidating an expanded record: %d", r.Status)
	}
	s.do("PATCH", "/authors/1", `{"name":"Ann B."}`)
	if r := s.do("GET", "/books/1?expand=author", "", "If-None-Match", tag); r.Status != 200 || !strings.Contains(string(r.Body), "Ann B.") {
		t.Errorf("after the expanded author changed, the old tag must not match: %d %s", r.Status, r.Body)
	}
	// XML, CSV, history.
	if r := s.do("GET", "/books/1?expand=tags", "", "Accept", "application/xml"); !strings.Contains(string(r.Body), "<tags><tag>go</tag><tag>web</tag></tags>") ||
		!strings.Contains(string(r.Body), "<expand><tags><tag><name>go</name><label>Go</label></tag>") {
		t.Errorf("expanded XML: %s", r.Body)
	}
	if r := s.do("GET", "/books?expand=author&fields=id,title,author&sort=title", "", "Accept", "text/csv"); string(r.Body) !=
		"id,title,author,author.id,author.name,author.publisher\n2,Databases,2,2,Bob,\n1,Go in depth,1,1,Ann B.,1\n" {
		t.Errorf("expanded CSV:\n%s", r.Body)
	}
	if r := s.do("GET", "/books/1/revisions?expand=author", ""); r.Status != 200 || !strings.Contains(string(r.Body), `"expand":{"author":{"id":1,"name":"Ann B."`) {
		t.Errorf("expanded history: %d %s", r.Status, r.Body)
	}
	for q, msg := range map[string]string{
		"expand=nope":                 `"nope\" is not a relation of books; its relations: author, editor, tags"`,
		"expand=title":                `"title\" is not a relation of books`,
		"expand=author.publisher.x.y": `expands 4 relations deep; at most 3`,
		"expand=author..publisher":    `has an empty relation name`,
		"expand=author&expand=tags":   `is given more than once`,
	} {
		if r := s.do("GET", "/books?"+q, ""); r.Status != 400 || !strings.Contains(string(r.Body), msg) {
			t.Errorf("%s: %d %s, want a 400 saying %s", q, r.Status, r.Body, msg)
		}
	}
}

func TestRelationSubCollectionsAndFilters(t *testing.T) {
	s := relServer(t)
	ids := func(path string) string {
		t.Helper()
		r := s.do("GET", path, "")
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", path, r.Status, r.Body)
		}
		var recs []map[string]any
		_ = json.Unmarshal(r.Body, &recs)
		var out []string
		for _, rec := range recs {
			out = append(out, fmt.Sprint(rec["id"]))
		}
		return strings.Join(out, ",")
	}
	for path, want := range map[string]string{
		"/authors/1/books":                                            "1",
		"/authors/2/books":                                            "2",
		"/authors/2/books_via_editor":                                 "1",
		"/books/1/reviews?sort=-id":                                   "2,1",
		"/books/1/reviews?stars[gte]=4":                               "1",
		"/tags/web/books":                                             "1",
		"/books?author.name=Ann":                                      "1",
		"/books?tags.label[prefix]=S":                                 "2",
		"/books?tags[contains]=web":                                   "1",
		"/books?isbns[contains]=978-2":                                "1",
		"/books?title[contains]=base":                                 "2",
		"/books?or=(title=Databases,tags[contains]=web)":              "1,2",
		"/books?or=(title=Nope,and=(author=1,isbns[contains]=978-1))": "1",
		"/books?or=(title=%22Go%20in%20depth%22,title=x)&or=(author=1,author=2)": "1",
		"/books?or=(author[in]=(1,2),title=x)&title[contains]=Go":                "1",
	} {
		if got := ids(path); got != want {
			t.Errorf("%s: ids %s, want %s", path, got, want)
		}
	}
	// Paging links of a sub-collection stay in it.
	if r := s.do("GET", "/books/1/reviews?limit=1", ""); !strings.Contains(r.Header.Get("Link"), "</books/1/reviews?limit=1&cursor=") {
		t.Errorf("a sub-collection's Link: %s", r.Header.Get("Link"))
	}
	if r := s.do("GET", "/authors/99/books", ""); r.Status != 404 {
		t.Errorf("the books of a missing author: %d", r.Status)
	}
	for q, msg := range map[string]string{
		"or=(title=x":                      `must be a group in parentheses`,
		"or=(title=x,)":                    `has an empty condition`,
		"or=(nope=1)":                      `nope: is not a field of books`,
		"or=(or=(or=(or=(or=(title=x)))))": `groups nest at most 4 deep`,
		"author.nope=1":                    `is not a field of authors`,
		"title.name=1":                     `title is not a relation of books`,
		"tags=go":                          `tags is a list: it takes tags[contains]=value and tags[null]=true|false`,
		"stars[contains]=1":                `is not a field of books`,
	} {
		if r := s.do("GET", "/books?"+q, ""); r.Status != 400 || !strings.Contains(string(r.Body), msg) {
			t.Errorf("%s: %d %s, want a 400 saying %s", q, r.Status, r.Body, msg)
		}
	}
}

func TestRelationValuesRoundTrip(t *testing.T) {
	s := relServer(t)
	// json: a merge patch merges objects (RFC 7396), null removes a member.
	r := s.do("PATCH", "/books/1", `{"meta":{"ed":{"n":3},"pages":null,"tags":["a"]}}`, "Content-Type", "application/merge-patch+json")
	if r.Status != 200 || !strings.Contains(string(r.Body), `"meta":{"ed":{"n":3},"tags":["a"]}`) {
		t.Fatalf("merge patch of a json field: %d %s", r.Status, r.Body)
	}
	// An array and a many relation are replaced whole.
	r = s.do("PATCH", "/books/1", `{"tags":["web"],"isbns":["x"]}`)
	if !strings.Contains(string(r.Body), `"tags":["web"]`) || !strings.Contains(string(r.Body), `"isbns":["x"]`) {
		t.Fatalf("patch of lists: %s", r.Body)
	}
	big := `{"n":12345678901234567890,"f":1.5e300,"s":"é\u2028<>&"}`
	if r := s.do("PUT", "/books/2", `{"title":"Databases","author":2,"meta":`+big+`}`); r.Status != 200 {
		t.Fatalf("PUT with json: %d %s", r.Status, r.Body)
	}
	if r := s.do("GET", "/books/2", ""); !strings.Contains(string(r.Body), `"meta":{"f":1.5e300,"n":12345678901234567890,"s":"é\u2028<>&"}`) {
		t.Errorf("json came back as %s", r.Body)
	}
}

// TestExpandNeedsReadAccess: expanding a relation into a resource the caller may not
// read is a 400 naming it; nothing of the target leaks.
func TestExpandNeedsReadAccess(t *testing.T) {
	key := "reader-key-for-relations"
	sum := sha256.Sum256([]byte(key))
	cfg := writeConfig(t, `
auth:
  users: {bob: {roles: [reader]}, root: {roles: [admin]}}
  keys:
    - {id: bob-key, sha256: `+hex.EncodeToString(sum[:])+`, user: bob}
    - {id: root-key, sha256: `+fmt.Sprintf("%x", sha256.Sum256([]byte("root-key-for-relations")))+`, user: root}
  access: {read: [admin, reader], write: [admin]}
apis:
  - resources:
      authors:
        key: id
        access: {read: [admin]}
        fields: {id: {type: integer}, name: {type: string}}
      books:
        key: id
        fields: {id: {type: integer}, author: {type: relation, to: authors}}
`)
	s := startServer(t, "", "--config", cfg)
	root := []string{"Authorization", "Bearer root-key-for-relations"}
	s.do("POST", "/authors", `{"id":1,"name":"Secret"}`, root...)
	s.do("POST", "/books", `{"id":1,"author":1}`, root...)
	bob := []string{"Authorization", "Bearer " + key}
	if r := s.do("GET", "/books/1", "", bob...); r.Status != 200 {
		t.Fatalf("bob reads a book: %d %s", r.Status, r.Body)
	}
	r := s.do("GET", "/books/1?expand=author", "", bob...)
	if r.Status != 400 || !strings.Contains(string(r.Body), "the caller may not read authors") || strings.Contains(string(r.Body), "Secret") {
		t.Errorf("bob expands an author: %d %s", r.Status, r.Body)
	}
	if r := s.do("GET", "/books/1?expand=author", "", root...); r.Status != 200 || !strings.Contains(string(r.Body), "Secret") {
		t.Errorf("root expands an author: %d %s", r.Status, r.Body)
	}
}
