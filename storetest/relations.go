package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/restkit/restkit"
)

// The relations part of the suite (run by Run): references are checked when written,
// deletes follow on_delete across resources in one transaction, and relation, json
// and array values round-trip and filter alike on every store.

// relFixture is a store migrated for the relation schema.
type relFixture struct {
	s          restkit.Store
	ctx        context.Context
	schema     *restkit.Schema
	publishers *restkit.Resource
	authors    *restkit.Resource // integer key; publisher (cascade)
	tags       *restkit.Resource // string key
	books      *restkit.Resource // author (restrict), editor (set_null), tags (many, set_null), meta (json), isbns (array)
	chapters   *restkit.Resource // book (cascade), history on
	nodes      *restkit.Resource // a tree: parent (cascade, itself)
}

func relationSchema(t testing.TB) *restkit.Schema {
	t.Helper()
	five := 5
	s := &restkit.Schema{APIs: []*restkit.API{{Resources: []*restkit.Resource{
		{Name: "authors", Key: "id", Fields: []*restkit.Field{
			{Name: "id", Type: restkit.TypeInteger},
			{Name: "name", Type: restkit.TypeString, Filterable: true},
			{Name: "publisher", Type: restkit.TypeRelation, To: "publishers", Nullable: true, OnDelete: restkit.Cascade},
		}},
		{Name: "tags", Key: "name", Fields: []*restkit.Field{
			{Name: "name", Type: restkit.TypeString},
			{Name: "label", Type: restkit.TypeString, Filterable: true},
		}},
		{Name: "books", Key: "id", Fields: []*restkit.Field{
			{Name: "id", Type: restkit.TypeInteger},
			{Name: "title", Type: restkit.TypeString, Filterable: true, Sortable: true},
			{Name: "author", Type: restkit.TypeRelation, To: "authors", Required: true, Filterable: true, Sortable: true},
			{Name: "editor", Type: restkit.TypeRelation, To: "authors", Nullable: true, OnDelete: restkit.SetNull, Filterable: true},
			{Name: "tags", Type: restkit.TypeRelation, To: "tags", Many: true, MaxItems: &five, OnDelete: restkit.SetNull, Filterable: true},
			{Name: "meta", Type: restkit.TypeJSON, Nullable: true},
			{Name: "isbns", Type: restkit.TypeArray, Items: restkit.TypeString, Filterable: true},
		}},
		{Name: "chapters", Key: "id", History: true, Fields: []*restkit.Field{
			{Name: "id", Type: restkit.TypeInteger},
			{Name: "book", Type: restkit.TypeRelation, To: "books", Required: true, OnDelete: restkit.Cascade, Filterable: true},
		}},
		{Name: "nodes", Key: "id", Fields: []*restkit.Field{
			{Name: "id", Type: restkit.TypeString},
			{Name: "parent", Type: restkit.TypeRelation, To: "nodes", Nullable: true, OnDelete: restkit.Cascade, Filterable: true},
		}},
		{Name: "publishers", Key: "id", Fields: []*restkit.Field{{Name: "id", Type: restkit.TypeInteger}}},
	}}}}
	if err := s.Prepare(); err != nil {
		t.Fatalf("Prepare: %v %+v", err, restkit.ErrorFields(err))
	}
	return s
}

func relSetup(t *testing.T, open func(t *testing.T) restkit.Store) *relFixture {
	t.Helper()
	sc := relationSchema(t)
	r := sc.APIs[0].Resources
	f := &relFixture{s: open(t), ctx: context.Background(), schema: sc,
		authors: r[0], tags: r[1], books: r[2], chapters: r[3], nodes: r[4], publishers: r[5]}
	t.Cleanup(func() { f.s.Close() })
	if err := f.s.Migrate(f.ctx, sc); err != nil {
		t.Fatalf("Migrate: %v %+v", err, restkit.ErrorFields(err))
	}
	return f
}

func (f *relFixture) put(t testing.TB, res *restkit.Resource, values map[string]any) *restkit.Record {
	t.Helper()
	rec, err := f.s.WriteRecord(f.ctx, res, values[res.Key], func(*restkit.Record) (*restkit.Record, error) {
		return &restkit.Record{Values: copyMap(values), Updated: t0}, nil
	})
	if err != nil {
		t.Fatalf("write %s %v: %v %+v", res.Name, values[res.Key], err, restkit.ErrorFields(err))
	}
	return rec
}

func (f *relFixture) del(res *restkit.Resource, key any) error {
	_, err := f.s.WriteRecord(f.ctx, res, key, func(*restkit.Record) (*restkit.Record, error) { return nil, nil })
	return err
}

func (f *relFixture) exists(t testing.TB, res *restkit.Resource, key any) bool {
	t.Helper()
	_, err := f.s.FindRecord(f.ctx, res, key)
	if err != nil && !restkit.IsKind(err, restkit.NotFound) {
		t.Fatalf("FindRecord %s %v: %v", res.Name, key, err)
	}
	return err == nil
}

// library writes two authors, three tags and two books.
func (f *relFixture) library(t testing.TB) {
	t.Helper()
	f.put(t, f.authors, map[string]any{"id": int64(1), "name": "Ann"})
	f.put(t, f.authors, map[string]any{"id": int64(2), "name": "Bob"})
	for _, n := range []string{"go", "sql", "web"} {
		f.put(t, f.tags, map[string]any{"name": n, "label": strings.ToUpper(n)})
	}
	f.put(t, f.books, map[string]any{"id": int64(10), "title": "Go in depth", "author": int64(1), "editor": int64(2),
		"tags": []any{"go", "web"}, "isbns": []any{"978-1", "978-2"}})
	f.put(t, f.books, map[string]any{"id": int64(11), "title": "Databases", "author": int64(2),
		"tags": []any{"sql"}, "isbns": []any{}})
}

func testRelationReferences(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := relSetup(t, open)
	f.library(t)
	write := func(values map[string]any) error {
		_, err := f.s.WriteRecord(f.ctx, f.books, values["id"], func(*restkit.Record) (*restkit.Record, error) {
			return &restkit.Record{Values: copyMap(values)}, nil
		})
		return err
	}
	for _, c := range []struct {
		values map[string]any
		field  string
		msg    string
	}{
		{map[string]any{"id": int64(20), "title": "x", "author": int64(99)}, "author", "refers to no author with id 99"},
		{map[string]any{"id": int64(20), "title": "x", "author": int64(1), "editor": int64(98)}, "editor", "refers to no author with id 98"},
		{map[string]any{"id": int64(20), "title": "x", "author": int64(1), "tags": []any{"go", "rust"}}, "tags", "refers to no tag with name rust"},
	} {
		err := write(c.values)
		wantKind(t, fmt.Sprintf("a reference to a missing record (%s)", c.field), err, restkit.Invalid)
		if fe := restkit.ErrorFields(err); len(fe) != 1 || fe[0].Field != c.field || fe[0].Message != c.msg {
			t.Errorf("%s: fields %+v, want [{%s %s}]", c.field, fe, c.field, c.msg)
		}
		if f.exists(t, f.books, int64(20)) {
			t.Fatalf("%s: the refused record was written", c.field)
		}
	}
	// An update that changes an unrelated field does not need its targets again, and
	// one that moves the reference to a missing record is refused with nothing changed.
	book := f.find(t, f.books, int64(10))
	if err := write(map[string]any{"id": int64(10), "title": "Go, revised", "author": int64(3)}); !restkit.IsKind(err, restkit.Invalid) {
		t.Errorf("moving a reference to a missing record: %v", err)
	}
	sameValues(t, "the book after a refused update", f.find(t, f.books, int64(10)).Values, book.Values)
}

func (f *relFixture) find(t testing.TB, res *restkit.Resource, key any) *restkit.Record {
	t.Helper()
	rec, err := f.s.FindRecord(f.ctx, res, key)
	if err != nil {
		t.Fatalf("FindRecord %s %v: %v", res.Name, key, err)
	}
	return rec
}

func testRelationRestrict(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := relSetup(t, open)
	f.library(t)
	f.put(t, f.books, map[string]any{"id": int64(12), "title": "More Go", "author": int64(1)})
	err := f.del(f.authors, int64(1))
	wantKind(t, "deleting an author books refer to", err, restkit.Conflict)
	if got, want := restkit.ErrorMessage(err), "2 books (books.author) refer to the author with id 1; delete or change them first"; got != want {
		t.Errorf("restrict message:\ngot  %s\nwant %s", got, want)
	}
	if !f.exists(t, f.authors, int64(1)) || !f.exists(t, f.books, int64(10)) || !f.exists(t, f.books, int64(12)) {
		t.Fatal("a restricted delete deleted something")
	}
	// Once nothing refers to it through a restricting relation, it goes; its other
	// referrers are cleared (editor: set_null).
	if err := f.del(f.books, int64(12)); err != nil {
		t.Fatal(err)
	}
	if err := f.del(f.books, int64(10)); err != nil {
		t.Fatal(err)
	}
	if err := f.del(f.authors, int64(1)); err != nil {
		t.Fatalf("deleting an author nothing restricts: %v", err)
	}
}

func testRelationSetNull(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := relSetup(t, open)
	f.library(t)
	before := f.find(t, f.books, int64(10))
	// Bob edits book 10 and wrote book 11 (restrict): first take book 11 away.
	if err := f.del(f.books, int64(11)); err != nil {
		t.Fatal(err)
	}
	if err := f.del(f.authors, int64(2)); err != nil {
		t.Fatalf("deleting an editor: %v", err)
	}
	after := f.find(t, f.books, int64(10))
	if _, has := after.Values["editor"]; has || after.Rev != before.Rev+1 {
		t.Errorf("after its editor was deleted: %v rev %d (was %d), want no editor and a new revision", after.Values, after.Rev, before.Rev)
	}
	if err := f.del(f.tags, "go"); err != nil {
		t.Fatalf("deleting a tag: %v", err)
	}
	after = f.find(t, f.books, int64(10))
	if !restkit.Equal(after.Values["tags"], []any{"web"}) || after.Rev != before.Rev+2 {
		t.Errorf("after a tag was deleted: tags %v rev %d, want [web] and another revision", after.Values["tags"], after.Rev)
	}
}

func testRelationCascade(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := relSetup(t, open)
	f.library(t)
	for i := int64(1); i <= 3; i++ {
		f.put(t, f.chapters, map[string]any{"id": i, "book": int64(10)})
	}
	f.put(t, f.chapters, map[string]any{"id": int64(4), "book": int64(11)})
	if err := f.del(f.books, int64(10)); err != nil {
		t.Fatalf("deleting a book with chapters: %v", err)
	}
	for i := int64(1); i <= 3; i++ {
		if f.exists(t, f.chapters, i) {
			t.Errorf("chapter %d of the deleted book is still there", i)
		}
	}
	if !f.exists(t, f.chapters, int64(4)) {
		t.Error("a chapter of another book was deleted")
	}
	// The cascade wrote each chapter's tombstone, as a delete of its own would.
	if hs, ok := f.s.(restkit.HistoryStore); ok {
		revs, _, err := hs.ListRevisions(f.ctx, f.chapters, int64(2), 0, 10)
		if err != nil || len(revs) != 2 || !revs[0].Deleted {
			t.Errorf("history of a cascaded chapter: %+v %v, want a tombstone on top of its one revision", revs, err)
		}
	}
	// A tree: deleting a node deletes its subtree, and nothing else.
	for _, n := range [][2]string{{"root", ""}, {"a", "root"}, {"b", "root"}, {"a1", "a"}, {"a2", "a"}, {"other", ""}} {
		v := map[string]any{"id": n[0]}
		if n[1] != "" {
			v["parent"] = n[1]
		}
		f.put(t, f.nodes, v)
	}
	if err := f.del(f.nodes, "a"); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"root": true, "a": false, "a1": false, "a2": false, "b": true, "other": true} {
		if got := f.exists(t, f.nodes, id); got != want {
			t.Errorf("node %s exists %v after deleting a's subtree, want %v", id, got, want)
		}
	}
	if err := f.del(f.nodes, "root"); err != nil {
		t.Fatal(err)
	}
	if f.exists(t, f.nodes, "b") {
		t.Error("root's subtree outlived it")
	}
	// A restrict deep in a cascade refuses the whole delete: the publisher's authors
	// would go with it (cascade), but a book refers to one of them (restrict).
	f.put(t, f.publishers, map[string]any{"id": int64(7)})
	f.put(t, f.authors, map[string]any{"id": int64(3), "name": "Cy", "publisher": int64(7)})
	f.put(t, f.authors, map[string]any{"id": int64(4), "name": "Di", "publisher": int64(7)})
	f.put(t, f.books, map[string]any{"id": int64(30), "title": "Cy's", "author": int64(3)})
	err := f.del(f.publishers, int64(7))
	wantKind(t, "a cascade that reaches a restricted record", err, restkit.Conflict)
	if !f.exists(t, f.publishers, int64(7)) || !f.exists(t, f.authors, int64(3)) || !f.exists(t, f.authors, int64(4)) {
		t.Error("a refused cascade deleted something")
	}
	if err := f.del(f.books, int64(30)); err != nil {
		t.Fatal(err)
	}
	if err := f.del(f.publishers, int64(7)); err != nil {
		t.Fatalf("the cascade once nothing restricts it: %v", err)
	}
	if f.exists(t, f.authors, int64(3)) || f.exists(t, f.authors, int64(4)) {
		t.Error("the publisher's authors outlived it")
	}
}

func testRelationValues(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := relSetup(t, open)
	f.library(t)
	meta := f.books.Field("meta")
	big, _ := meta.Canonical(map[string]any{"n": json.Number("12345678901234567890"), "x": 1.5, "nested": map[string]any{"b": []any{true, nil, "é\u2028"}, "a": "z"}})
	f.put(t, f.books, map[string]any{"id": int64(12), "title": "Values", "author": int64(1), "meta": big,
		"isbns": []any{"a", "b", "a"}, "tags": []any{"web", "go"}})
	got := f.find(t, f.books, int64(12))
	want := map[string]any{"id": int64(12), "title": "Values", "author": int64(1), "meta": big,
		"isbns": []any{"a", "b", "a"}, "tags": []any{"web", "go"}}
	sameValues(t, "a book with json, an array and a many relation", got.Values, want)
	if got.Values["meta"] != restkit.JSONText(`{"n":12345678901234567890,"nested":{"a":"z","b":[true,null,"é\u2028"]},"x":1.5}`) {
		t.Errorf("json comes back as %s", got.Values["meta"])
	}
	// The list values of a record read are the reader's own.
	got.Values["tags"].([]any)[0] = "changed"
	if again := f.find(t, f.books, int64(12)); again.Values["tags"].([]any)[0] != "web" {
		t.Error("changing a read record's list changed the stored one")
	}
}

func testRelationFilters(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := relSetup(t, open)
	f.library(t)
	f.put(t, f.books, map[string]any{"id": int64(12), "title": "Go for the web", "author": int64(2), "tags": []any{"web"}})
	ids := func(what string, filters ...restkit.Filter) []any {
		t.Helper()
		p, err := f.s.ListRecords(f.ctx, f.books, &restkit.Query{Filters: filters})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		var out []any
		for _, r := range p.Records {
			out = append(out, r.Values["id"])
		}
		return out
	}
	for _, c := range []struct {
		what    string
		filters []restkit.Filter
		want    []any
	}{
		{"author eq", []restkit.Filter{{Field: "author", Op: restkit.OpEq, Value: int64(2)}}, ints(11, 12)},
		{"editor null", []restkit.Filter{{Field: "editor", Op: restkit.OpNull, Value: true}}, ints(11, 12)},
		{"tags contains", []restkit.Filter{{Field: "tags", Op: restkit.OpContains, Value: "web"}}, ints(10, 12)},
		{"isbns contains", []restkit.Filter{{Field: "isbns", Op: restkit.OpContains, Value: "978-2"}}, ints(10)},
		{"title contains", []restkit.Filter{{Field: "title", Op: restkit.OpContains, Value: "Go"}}, ints(10, 12)},
		{"title contains is literal", []restkit.Filter{{Field: "title", Op: restkit.OpContains, Value: "%"}}, nil},
		{"or", []restkit.Filter{{Op: restkit.OpOr, Filters: []restkit.Filter{
			{Field: "title", Op: restkit.OpEq, Value: "Databases"},
			{Field: "tags", Op: restkit.OpContains, Value: "go"}}}}, ints(10, 11)},
		{"or with an and inside", []restkit.Filter{{Op: restkit.OpOr, Filters: []restkit.Filter{
			{Field: "title", Op: restkit.OpEq, Value: "Databases"},
			{Op: restkit.OpAnd, Filters: []restkit.Filter{
				{Field: "author", Op: restkit.OpEq, Value: int64(2)},
				{Field: "tags", Op: restkit.OpContains, Value: "web"}}}}}}, ints(11, 12)},
		{"author.name", []restkit.Filter{{Field: "author", Op: restkit.OpMatch, Filters: []restkit.Filter{
			{Field: "name", Op: restkit.OpEq, Value: "Ann"}}}}, ints(10)},
		{"tags.label (any tag)", []restkit.Filter{{Field: "tags", Op: restkit.OpMatch, Filters: []restkit.Filter{
			{Field: "label", Op: restkit.OpPrefix, Value: "S"}}}}, ints(11)},
		{"match and a plain filter", []restkit.Filter{
			{Field: "author", Op: restkit.OpMatch, Filters: []restkit.Filter{{Field: "name", Op: restkit.OpEq, Value: "Bob"}}},
			{Field: "title", Op: restkit.OpContains, Value: "web"}}, ints(12)},
	} {
		sameKeys(t, c.what, ids(c.what, c.filters...), c.want)
	}
	// The rules of Query.Resolve hold on every store.
	for what, flt := range map[string]restkit.Filter{
		"eq on a list":            {Field: "tags", Op: restkit.OpEq, Value: "go"},
		"contains on an int":      {Field: "id", Op: restkit.OpContains, Value: int64(1)},
		"match on a non-relation": {Field: "title", Op: restkit.OpMatch, Filters: []restkit.Filter{{Field: "name", Op: restkit.OpEq, Value: "x"}}},
		"too deep":                nest(restkit.MaxFilterDepth + 1),
	} {
		_, err := f.s.ListRecords(f.ctx, f.books, &restkit.Query{Filters: []restkit.Filter{flt}})
		wantKind(t, what, err, restkit.Invalid)
	}
}

// nest is an or group nested depth deep.
func nest(depth int) restkit.Filter {
	f := restkit.Filter{Field: "title", Op: restkit.OpEq, Value: "x"}
	for i := 0; i < depth; i++ {
		f = restkit.Filter{Op: restkit.OpOr, Filters: []restkit.Filter{f}}
	}
	return f
}

// testRelationRace: creates that refer to an author race with the author's delete.
// Each create either finds the author (and then the delete is refused) or not (and
// is refused itself); at the end no book refers to a missing author.
func testRelationRace(t *testing.T, open func(t *testing.T) restkit.Store) {
	f := relSetup(t, open)
	for round := int64(0); round < 5; round++ {
		author := 100 + round
		f.put(t, f.authors, map[string]any{"id": author, "name": "racer"})
		var wg sync.WaitGroup
		for i := int64(0); i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := author*100 + i
				_, err := f.s.WriteRecord(f.ctx, f.books, id, func(*restkit.Record) (*restkit.Record, error) {
					return &restkit.Record{Values: map[string]any{"id": id, "title": "t", "author": author}}, nil
				})
				if err != nil && !restkit.IsKind(err, restkit.Invalid) && !restkit.IsKind(err, restkit.Unavailable) {
					t.Errorf("a create racing a delete: %v", err)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f.del(f.authors, author); err != nil && !restkit.IsKind(err, restkit.Conflict) && !restkit.IsKind(err, restkit.Unavailable) {
				t.Errorf("a delete racing creates: %v", err)
			}
		}()
		wg.Wait()
	}
	p, err := f.s.ListRecords(f.ctx, f.books, &restkit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range p.Records {
		if !f.exists(t, f.authors, b.Values["author"]) {
			t.Errorf("book %v refers to author %v, which is gone", b.Values["id"], b.Values["author"])
		}
	}
}
