package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/memory"
)

// countingStore is a real store that counts the reads asked of it.
type countingStore struct {
	restkit.Store
	lists, finds atomic.Int64
}

func (c *countingStore) ListRecords(ctx context.Context, res *restkit.Resource, q *restkit.Query) (*restkit.Page, error) {
	c.lists.Add(1)
	return c.Store.ListRecords(ctx, res, q)
}

func (c *countingStore) FindRecord(ctx context.Context, res *restkit.Resource, key any) (*restkit.Record, error) {
	c.finds.Add(1)
	return c.Store.FindRecord(ctx, res, key)
}

const libraryYAML = `
apis:
  - resources:
      publishers: {key: id, fields: {id: {type: integer}, name: {type: string}}}
      authors: {key: id, fields: {id: {type: integer}, name: {type: string}, publisher: {type: relation, to: publishers, nullable: true}}}
      tags: {key: name, fields: {name: {type: string}}}
      books:
        key: id
        fields:
          id: {type: integer}
          author: {type: relation, to: authors}
          tags: {type: relation, to: tags, many: true}
`

// TestExpandIsBatched: a page expands each relation path with one store query per
// level, however many records the page holds and however many of them share a
// target — never one query per record.
func TestExpandIsBatched(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(libraryYAML))
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.New()
	if err := mem.Migrate(t.Context(), cfg.Schema); err != nil {
		t.Fatal(err)
	}
	store := &countingStore{Store: mem}
	h := mustNew(t, Options{Schema: cfg.Schema, Store: store})
	post := func(path, body string) {
		t.Helper()
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 201 {
			t.Fatalf("POST %s: %d %s", path, w.Code, w.Body)
		}
	}
	for i := 1; i <= 3; i++ {
		post("/publishers", fmt.Sprintf(`{"id":%d,"name":"p%d"}`, i, i))
	}
	for i := 1; i <= 7; i++ {
		post("/authors", fmt.Sprintf(`{"id":%d,"name":"a%d","publisher":%d}`, i, i, i%3+1))
	}
	for _, tag := range []string{"go", "web", "sql", "db"} {
		post("/tags", `{"name":"`+tag+`"}`)
	}
	for i := 1; i <= 20; i++ {
		post("/books", fmt.Sprintf(`{"id":%d,"author":%d,"tags":["go","%s"]}`, i, i%7+1, []string{"web", "sql", "db"}[i%3]))
	}
	get := func(path string) (int64, string) {
		t.Helper()
		store.lists.Store(0)
		store.finds.Store(0)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, w.Code, w.Body)
		}
		return store.lists.Load() + store.finds.Load(), w.Body.String()
	}
	for path, want := range map[string]int64{
		"/books?limit=20":                                     1,
		"/books?limit=20&expand=author":                       2,
		"/books?limit=20&expand=author,tags":                  3,
		"/books?limit=20&expand=author,tags,author.publisher": 4,
		"/books/3?expand=author.publisher,tags":               4,
	} {
		calls, body := get(path)
		if calls != want {
			t.Errorf("%s: %d store reads, want %d", path, calls, want)
		}
		if strings.Contains(path, "publisher") && !strings.Contains(body, `"publisher":{"id":`) {
			t.Errorf("%s did not expand the publishers: %.200s", path, body)
		}
	}
}
