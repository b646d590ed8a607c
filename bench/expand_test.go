package bench_test

// Expansion, in process: a page of 20 books by restkit without expand, with
// expand=author,tags, and a plain net/http + database/sql handler that does the same
// joins by hand over the same SQLite data (one query for the page, one for its authors,
// one for its tags through the join table), encoding with encoding/json.
//
//	go test ./bench -run '^$' -bench 'Expand' -benchtime 2s
//
// The ratio to read is restkit-expand / restkit-plain (the bound: ≤ 2×) and
// handjoin / restkit-expand (≥ 0.8× is the target).

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/sqlite"
)

const (
	expAuthors = 1000
	expTags    = 200
	expBooks   = 10000
)

var (
	expandOnce sync.Once
	expandSrv  struct {
		restkit, handJoin http.Handler
		err               error
	}
)

func expandServers(b *testing.B) {
	b.Helper()
	expandOnce.Do(func() {
		d, err := os.MkdirTemp("", "restkit-bench-expand-")
		if err != nil {
			expandSrv.err = err
			return
		}
		expandSrv.restkit, expandSrv.err = seedRestkitLibrary(filepath.Join(d, "restkit.db"))
		if expandSrv.err == nil {
			expandSrv.handJoin, expandSrv.err = seedHandJoin(filepath.Join(d, "plain.db"))
		}
	})
	if expandSrv.err != nil {
		b.Fatal(expandSrv.err)
	}
}

func seedRestkitLibrary(path string) (http.Handler, error) {
	data, err := os.ReadFile("../examples/relations.yaml")
	if err != nil {
		return nil, err
	}
	cfg, err := config.Parse("relations.yaml", data)
	if err != nil {
		return nil, err
	}
	store, err := sqlite.Open(path)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := store.Migrate(ctx, cfg.Schema); err != nil {
		return nil, err
	}
	h, err := httpapi.New(httpapi.Options{Schema: cfg.Schema, Store: store})
	if err != nil {
		return nil, err
	}
	post := func(path string, body string) error {
		r := httptest.NewRequest("POST", path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 201 {
			return fmt.Errorf("POST %s: %d %s", path, w.Code, w.Body)
		}
		return nil
	}
	var batch []string
	flush := func(path string) error {
		if len(batch) == 0 {
			return nil
		}
		err := post(path, "["+strings.Join(batch, ",")+"]")
		batch = batch[:0]
		return err
	}
	for i := 1; i <= expAuthors; i++ {
		batch = append(batch, fmt.Sprintf(`{"name":"author %d"}`, i))
		if len(batch) == 500 {
			if err := flush("/authors"); err != nil {
				return nil, err
			}
		}
	}
	if err := flush("/authors"); err != nil {
		return nil, err
	}
	for i := 0; i < expTags; i++ {
		batch = append(batch, fmt.Sprintf(`{"name":"tag%d","label":"Tag %d"}`, i, i))
	}
	if err := flush("/tags"); err != nil {
		return nil, err
	}
	for i := 1; i <= expBooks; i++ {
		batch = append(batch, fmt.Sprintf(`{"title":"book %d","author":%d,"tags":["tag%d","tag%d","tag%d"]}`,
			i, i%expAuthors+1, i%expTags, (i+7)%expTags, (i+13)%expTags))
		if len(batch) == 500 {
			if err := flush("/books"); err != nil {
				return nil, err
			}
		}
	}
	return h, flush("/books")
}

// handJoin serves /books?limit=20&after=ID with the joins written by hand.
type handJoin struct{ db *sql.DB }

func seedHandJoin(path string) (http.Handler, error) {
	db, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(`CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
		CREATE TABLE tags (name TEXT PRIMARY KEY, label TEXT) WITHOUT ROWID;
		CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL, author INTEGER NOT NULL REFERENCES authors(id), tags TEXT);
		CREATE TABLE book_tags (owner INTEGER NOT NULL, target TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (owner, target)) WITHOUT ROWID;
		CREATE INDEX book_tags_target ON book_tags (target, owner); CREATE INDEX books_author ON books (author, id);`); err != nil {
		return nil, err
	}
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	for i := 1; i <= expAuthors; i++ {
		tx.Exec(`INSERT INTO authors VALUES (?, ?)`, i, fmt.Sprintf("author %d", i))
	}
	for i := 0; i < expTags; i++ {
		tx.Exec(`INSERT INTO tags VALUES (?, ?)`, fmt.Sprintf("tag%d", i), fmt.Sprintf("Tag %d", i))
	}
	for i := 1; i <= expBooks; i++ {
		tags := []string{fmt.Sprintf("tag%d", i%expTags), fmt.Sprintf("tag%d", (i+7)%expTags), fmt.Sprintf("tag%d", (i+13)%expTags)}
		j, _ := json.Marshal(tags)
		tx.Exec(`INSERT INTO books VALUES (?, ?, ?, ?)`, i, fmt.Sprintf("book %d", i), i%expAuthors+1, string(j))
		for p, t := range tags {
			tx.Exec(`INSERT INTO book_tags VALUES (?, ?, ?)`, i, t, p)
		}
	}
	return handJoin{db}, tx.Commit()
}

func (h handJoin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	type author struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	type tag struct {
		Name  string `json:"name"`
		Label string `json:"label"`
	}
	type book struct {
		ID     int64    `json:"id"`
		Title  string   `json:"title"`
		Author int64    `json:"author"`
		Tags   []string `json:"tags"`
		Expand struct {
			Author *author `json:"author"`
			Tags   []tag   `json:"tags"`
		} `json:"expand"`
	}
	ctx := r.Context()
	rows, err := h.db.QueryContext(ctx, `SELECT id, title, author, tags FROM books WHERE id > ? ORDER BY id LIMIT 20`, r.URL.Query().Get("after"))
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	var books []*book
	var ids, authorIDs []any
	for rows.Next() {
		b := &book{}
		var tags string
		rows.Scan(&b.ID, &b.Title, &b.Author, &tags)
		json.Unmarshal([]byte(tags), &b.Tags)
		books = append(books, b)
		ids = append(ids, b.ID)
		authorIDs = append(authorIDs, b.Author)
	}
	rows.Close()
	authors := map[int64]*author{}
	rows, _ = h.db.QueryContext(ctx, `SELECT id, name FROM authors WHERE id IN (?`+strings.Repeat(",?", len(authorIDs)-1)+`)`, authorIDs...)
	for rows.Next() {
		a := &author{}
		rows.Scan(&a.ID, &a.Name)
		authors[a.ID] = a
	}
	rows.Close()
	tags := map[string]tag{}
	rows, _ = h.db.QueryContext(ctx, `SELECT DISTINCT t.name, t.label FROM book_tags bt JOIN tags t ON t.name = bt.target WHERE bt.owner IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, ids...)
	for rows.Next() {
		var t tag
		rows.Scan(&t.Name, &t.Label)
		tags[t.Name] = t
	}
	rows.Close()
	for _, b := range books {
		b.Expand.Author = authors[b.Author]
		for _, t := range b.Tags {
			b.Expand.Tags = append(b.Expand.Tags, tags[t])
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(books)
}

func BenchmarkExpand(b *testing.B) {
	expandServers(b)
	for _, c := range []struct {
		name string
		h    http.Handler
		path string
	}{
		{"restkit-plain", expandSrv.restkit, "/books?limit=20"},
		{"restkit-expand", expandSrv.restkit, "/books?limit=20&expand=author,tags"},
		{"handjoin", expandSrv.handJoin, "/books?after=0"},
	} {
		b.Run(c.name, func(b *testing.B) {
			cpu0 := processCPU()
			for b.Loop() {
				w := httptest.NewRecorder()
				c.h.ServeHTTP(w, httptest.NewRequest("GET", c.path, nil))
				if w.Code != 200 {
					b.Fatalf("%s: %d %s", c.path, w.Code, w.Body)
				}
			}
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			}
		})
	}
}
