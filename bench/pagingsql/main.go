// Command pagingsql is bench/paging.sh's helper for the SQL side of the deep-paging
// benchmark. It reads the database file directly with modernc.org/sqlite, the SQLite
// that restkit and the baseline run, and never writes to it.
//
//	pagingsql -db FILE -sort year -year-gte 1995 -nth 500000
//	    print the sort value and id of row 500,000 (1-based) of the filtered, sorted list
//	pagingsql -sort year -sql deep
//	    print restkit's SQL for the list (page1) or for a page after a cursor (deep)
//	pagingsql -db FILE -sort year -year-gte 1995 -after 2012 -after-id 499857 -explain
//	    print SQLite's version, then for page 1 and the page after (after, after-id):
//	    the SQL, its EXPLAIN QUERY PLAN, and its cost alone (µs per query, median)
//
// The deep page's SQL is restkit's one-seek-per-sort-prefix form (sqlite/list.go:
// keysetUnion), so its plan shows one index search per branch.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite"

	"github.com/restkit/restkit/bench/plain"
)

func main() {
	path := flag.String("db", "", "the database file (read only)")
	field := flag.String("sort", "year", "the sort field: year or color")
	yearGte := flag.Int64("year-gte", 1995, "the filter year[gte]")
	nth := flag.Int("nth", 0, "print the sort value and id of this row (1-based)")
	which := flag.String("sql", "", "print restkit's SQL: page1 or deep")
	explain := flag.Bool("explain", false, "print the plans and costs of page 1 and the deep page")
	after := flag.String("after", "", "with -explain: the cursor's sort value")
	afterID := flag.Int64("after-id", 0, "with -explain: the cursor's id")
	flag.Parse()
	page1, deep, ok := plain.KeysetSQL(*field)
	if !ok {
		fail(fmt.Errorf("-sort %q: year or color", *field))
	}
	switch {
	case *which == "page1":
		fmt.Println(page1)
		return
	case *which == "deep":
		fmt.Println(deep)
		return
	case *which != "":
		fail(fmt.Errorf("-sql %q: page1 or deep", *which))
	}
	if *path == "" || (*nth <= 0) == !*explain {
		flag.Usage()
		os.Exit(2)
	}
	if _, err := os.Stat(*path); err != nil {
		fail(err)
	}
	db, err := sql.Open("sqlite", *path+"?_pragma=busy_timeout(5000)&_pragma=query_only(1)")
	if err != nil {
		fail(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	if *nth > 0 {
		var v any
		var id int64
		q := fmt.Sprintf(`SELECT %q, "id" FROM "cars" WHERE "year" >= ? ORDER BY %q, "id" LIMIT 1 OFFSET ?`, *field, *field)
		if err := db.QueryRowContext(ctx, q, *yearGte, *nth-1).Scan(&v, &id); err != nil {
			fail(fmt.Errorf("row %d: %w", *nth, err))
		}
		fmt.Println(v, id)
		return
	}
	var val any = *after
	if *field == "year" {
		y, err := strconv.ParseInt(*after, 10, 64)
		if err != nil {
			fail(fmt.Errorf("-after %q: %w", *after, err))
		}
		val = y
	}
	if err := explainAll(ctx, db, *field, page1, deep, *yearGte, val, *afterID); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "pagingsql:", err)
	os.Exit(1)
}

const limit = 21 // restkit asks for one row more than the page's 20

func explainAll(ctx context.Context, db *sql.DB, field, page1, deep string, yearGte int64, val any, afterID int64) error {
	var version string
	if err := db.QueryRowContext(ctx, `SELECT sqlite_version()`).Scan(&version); err != nil {
		return err
	}
	fmt.Printf("SQLite %s (modernc.org/sqlite, as linked into restkit and the baseline); one connection, prepared, %d rows read per query\n", version, limit)
	queries := []struct {
		name, sql string
		args      []any
	}{
		{"page 1", page1, []any{yearGte, limit}},
		{"deep page", deep, []any{yearGte, val, yearGte, val, afterID, limit}},
	}
	for _, q := range queries {
		fmt.Printf("\n%s: %s\n  parameters: %v\n", q.name, q.sql, q.args)
		plan, err := queryPlan(ctx, db, q.sql, q.args)
		if err != nil {
			return err
		}
		for _, line := range plan {
			fmt.Printf("  %s\n", line)
		}
		us, n, err := cost(ctx, db, q.sql, q.args)
		if err != nil {
			return err
		}
		fmt.Printf("  cost alone: %.0f µs per query (median of %d), %d rows\n", us, n, limit)
	}
	return nil
}

// queryPlan returns EXPLAIN QUERY PLAN's rows as an indented tree.
func queryPlan(ctx context.Context, db *sql.DB, q string, args []any) ([]string, error) {
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	depth := map[int64]int{}
	var out []string
	for rows.Next() {
		var id, parent, notused int64
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return nil, err
		}
		d := 0
		if parent != 0 {
			d = depth[parent] + 1
		}
		depth[id] = d
		out = append(out, strings.Repeat("  ", d)+"`--"+detail)
	}
	return out, rows.Err()
}

// cost runs q for about half a second (at least 3 times) and returns the median
// time of one run, reading every row.
func cost(ctx context.Context, db *sql.DB, q string, args []any) (float64, int, error) {
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	var times []time.Duration
	start := time.Now()
	for len(times) < 3 || time.Since(start) < 500*time.Millisecond {
		t0 := time.Now()
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return 0, 0, err
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Close(); err != nil {
			return 0, 0, err
		}
		if n != limit {
			return 0, 0, fmt.Errorf("%d rows, not %d: %s", n, limit, q)
		}
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	return float64(times[len(times)/2].Nanoseconds()) / 1e3, len(times), nil
}
