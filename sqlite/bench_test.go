package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"
)

// The benchmarks compare the store with a plain database/sql program running the
// same SQL on the same file: GET by key and a keyset page of 20. The store should
// stay within a small factor (≥0.8× the plain speed).

const benchRows = 10000

func benchStore(b *testing.B) (*Store, *restkit.Resource, string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "restkit.db")
	s := mustOpen(b, path)
	b.Cleanup(func() { s.Close() })
	sc := cars(b, nil)
	mustMigrate(b, s, sc)
	res := sc.APIs[0].Resources[0]
	tx, err := s.w.Begin()
	if err != nil {
		b.Fatal(err)
	}
	now := sqlstore.FormatTime(time.Now())
	for i := 1; i <= benchRows; i++ {
		if _, err := tx.Exec(`INSERT INTO cars (id, model, color, year, _rev, _created, _updated) VALUES (?, ?, ?, ?, 1, ?, ?)`,
			i, fmt.Sprintf("model %d", i), []string{"red", "green", "blue"}[i%3], 1950+i%70, now, now); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return s, res, path
}

// plainDB opens the file as a plain program would, with the same pragmas.
func plainDB(b *testing.B, path string) *sql.DB {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)")
	if err != nil {
		b.Fatal(err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	b.Cleanup(func() { db.Close() })
	return db
}

type plainCar struct {
	id                  int64
	model, color        sql.NullString
	year                sql.NullInt64
	rev                 int64
	created, updated    string
	createdAt, updateAt time.Time
}

func (c *plainCar) scan(sc interface{ Scan(...any) error }) error {
	if err := sc.Scan(&c.id, &c.model, &c.color, &c.year, &c.rev, &c.created, &c.updated); err != nil {
		return err
	}
	var err error
	if c.createdAt, err = time.Parse(restkit.TimeLayout, c.created); err != nil {
		return err
	}
	c.updateAt, err = time.Parse(restkit.TimeLayout, c.updated)
	return err
}

const findSQL = `SELECT "id", "model", "color", "year", _rev, _created, _updated FROM "cars" WHERE "id" = ?`

func BenchmarkFindRecord(b *testing.B) {
	s, res, _ := benchStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i = i%benchRows + 1
		if _, err := s.FindRecord(ctx, res, int64(i)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFindRecordPlain(b *testing.B) {
	_, _, path := benchStore(b)
	db := plainDB(b, path)
	b.ReportAllocs()
	var c plainCar
	i := 0
	for b.Loop() {
		i = i%benchRows + 1
		if err := c.scan(db.QueryRowContext(ctx, findSQL, i)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFindRecordParallel(b *testing.B) {
	s, res, _ := benchStore(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i = i%benchRows + 1
			if _, err := s.FindRecord(ctx, res, int64(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkFindRecordParallelPlain(b *testing.B) {
	_, _, path := benchStore(b)
	db := plainDB(b, path)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var c plainCar
		i := 0
		for pb.Next() {
			i = i%benchRows + 1
			if err := c.scan(db.QueryRowContext(ctx, findSQL, i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func pageQuery(after int64) *restkit.Query {
	return &restkit.Query{Sort: []restkit.SortKey{{Field: "year"}, {Field: "id"}}, Limit: 20, After: []any{int64(1950 + after%60), after}}
}

func BenchmarkKeysetPage(b *testing.B) {
	s, res, _ := benchStore(b)
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		i = (i + 97) % benchRows
		p, err := s.ListRecords(ctx, res, pageQuery(i))
		if err != nil || len(p.Records) == 0 {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeysetPagePlain(b *testing.B) {
	s, res, path := benchStore(b)
	t, _ := s.tableOf(res, "bench")
	lq, err := t.buildList(pageQuery(1))
	if err != nil {
		b.Fatal(err)
	}
	db := plainDB(b, path)
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		i = (i + 97) % benchRows
		y := 1950 + i%60
		rows, err := db.QueryContext(ctx, lq.page, y, y, y, i, 21)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var c plainCar
			if err := c.scan(rows); err != nil {
				b.Fatal(err)
			}
			n++
		}
		rows.Close()
		if n == 0 {
			b.Fatal("empty page")
		}
	}
}

func BenchmarkFindRecordPlainPrepared(b *testing.B) {
	_, _, path := benchStore(b)
	db := plainDB(b, path)
	st, err := db.Prepare(findSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ReportAllocs()
	var c plainCar
	i := 0
	for b.Loop() {
		i = i%benchRows + 1
		if err := c.scan(st.QueryRowContext(ctx, i)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeysetPagePlainPrepared(b *testing.B) {
	s, res, path := benchStore(b)
	t, _ := s.tableOf(res, "bench")
	lq, err := t.buildList(pageQuery(1))
	if err != nil {
		b.Fatal(err)
	}
	db := plainDB(b, path)
	st, err := db.Prepare(lq.page)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		i = (i + 97) % benchRows
		y := 1950 + i%60
		rows, err := st.QueryContext(ctx, y, y, y, i, 21)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			var c plainCar
			if err := c.scan(rows); err != nil {
				b.Fatal(err)
			}
			n++
		}
		rows.Close()
		if n == 0 {
			b.Fatal("empty page")
		}
	}
}

// BenchmarkWrite measures what the change log adds to a write: creates and updates
// with the log (events) and without it (no-events, the baseline), on the same table.
//
//	go test ./sqlite -run '^$' -bench 'Write' -benchtime 2s
func BenchmarkWrite(b *testing.B) {
	for _, mode := range []string{"events", "no-events"} {
		b.Run(mode, func(b *testing.B) {
			s, res, _ := benchStore(b)
			s.noEvents = mode == "no-events"
			ctx := b.Context()
			b.ResetTimer()
			for i := range b.N {
				key := int64(benchRows + 1 + i)
				if _, err := s.WriteRecord(ctx, res, key, func(*restkit.Record) (*restkit.Record, error) {
					now := time.Now()
					return &restkit.Record{Values: map[string]any{"id": key, "model": "bench", "color": "red", "year": int64(2000)}, Created: now, Updated: now}, nil
				}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
