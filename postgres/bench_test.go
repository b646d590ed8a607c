package postgres

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/internal/sqlstore"

	"github.com/jackc/pgx/v5"
)

// The benchmarks compare the store with plain pgx running the same SQL on the same
// table: GET by key and a keyset page of 20, as SQLite's benchmarks do, plus a
// read-modify-write. They need RESTKIT_TEST_POSTGRES, like the tests.

const benchRows = 10000

func benchStore(b *testing.B) (*Store, *restkit.Resource) {
	b.Helper()
	s := openTest(b)
	sc := cars(b, nil)
	mustMigrate(b, s, sc)
	mustExec(b, s, `INSERT INTO cars (id, model, color, year, _rev, _created, _updated)
		SELECT i, 'model ' || i, (ARRAY['red','green','blue'])[i % 3 + 1], 1950 + i % 70, 1, '2024-05-01T12:00:00.000000000Z', '2024-05-01T12:00:00.000000000Z'
		FROM generate_series(1, 10000) i`)
	mustExec(b, s, `ANALYZE cars`)
	return s, sc.APIs[0].Resources[0]
}

func BenchmarkFindRecord(b *testing.B) {
	s, res := benchStore(b)
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
	s, res := benchStore(b)
	sql := s.mustTable(b, res).find
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i = i%benchRows + 1
		var c plainCar
		if err := c.scan(s.pool.QueryRow(ctx, sql, int64(i))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFindRecordParallel(b *testing.B) {
	s, res := benchStore(b)
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

type plainCar struct {
	id                   int64
	model, color         *string
	year                 *int64
	rev                  int64
	created, updated     string
	createdAt, updatedAt any
}

func (c *plainCar) scan(row pgx.Row) error {
	if err := row.Scan(&c.id, &c.model, &c.color, &c.year, &c.rev, &c.created, &c.updated); err != nil {
		return err
	}
	var err error
	if c.createdAt, err = sqlstore.ParseTime(c.created); err != nil {
		return err
	}
	c.updatedAt, err = sqlstore.ParseTime(c.updated)
	return err
}

func pageQuery(after int64) *restkit.Query {
	return &restkit.Query{Sort: []restkit.SortKey{{Field: "year"}, {Field: "id"}}, Limit: 20, After: []any{int64(1950 + after%60), after}}
}

func BenchmarkKeysetPage(b *testing.B) {
	s, res := benchStore(b)
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
	s, res := benchStore(b)
	lq, err := s.mustTable(b, res).buildList(pageQuery(1))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		i = (i + 97) % benchRows
		rows, err := s.pool.Query(ctx, lq.page, int64(21), 1950+i%60, i)
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

// BenchmarkWriteRecord is a read-modify-write of an existing record: BEGIN, the
// key's lock and SELECT FOR UPDATE in one round trip, UPDATE, COMMIT.
func BenchmarkWriteRecord(b *testing.B) {
	s, res := benchStore(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i = i%benchRows + 1
		if _, err := s.WriteRecord(ctx, res, int64(i), func(cur *restkit.Record) (*restkit.Record, error) {
			cur.Values["year"] = cur.Values["year"].(int64) + 1
			cur.Updated = t0
			return cur, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteRecordParallel(b *testing.B) {
	s, res := benchStore(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i = i%benchRows + 1
			if _, err := s.WriteRecord(ctx, res, int64(i), func(cur *restkit.Record) (*restkit.Record, error) {
				cur.Values["year"] = cur.Values["year"].(int64) + 1
				return cur, nil
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreate and BenchmarkCreateParallel are what a POST costs the store: a
// create of a new key in a table that keeps history, with its change-log event —
// BEGIN, the key's lock, SELECT … FOR UPDATE (and the history's newest revision) in
// one round trip; the INSERT, the history row, the event, pg_notify and COMMIT in
// the other. In parallel the writers' commits may share a WAL flush.
func BenchmarkCreate(b *testing.B) {
	s, res := benchCreateStore(b)
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		i++
		benchCreate(b, s, res, 100000+i)
	}
}

func BenchmarkCreateParallel(b *testing.B) {
	s, res := benchCreateStore(b)
	b.ReportAllocs()
	var next atomic.Int64
	next.Store(100000)
	b.SetParallelism(8) // 8 writers per CPU, as a loaded server has
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchCreate(b, s, res, next.Add(1))
		}
	})
}

func benchCreateStore(b *testing.B) (*Store, *restkit.Resource) {
	b.Helper()
	s := openTest(b)
	sc := cars(b, func(r *restkit.Resource) { r.History = true })
	mustMigrate(b, s, sc)
	return s, sc.APIs[0].Resources[0]
}

func benchCreate(b *testing.B, s *Store, res *restkit.Resource, id int64) {
	if _, err := s.WriteRecord(ctx, res, id, func(cur *restkit.Record) (*restkit.Record, error) {
		if cur != nil {
			return nil, fmt.Errorf("car %d exists", id)
		}
		return &restkit.Record{Values: map[string]any{"model": "m", "color": "red", "year": int64(1990)}, Created: t0, Updated: t0}, nil
	}); err != nil {
		b.Fatal(err)
	}
}
