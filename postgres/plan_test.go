package postgres

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/restkit/restkit"

	"github.com/jackc/pgx/v5"
)

// TestQueryPlans runs list queries deep into 50,000 rows under EXPLAIN ANALYZE and
// checks that each is answered from an index — no sequential scan — and, where the
// sort's directions agree, reads no more than a page's worth of rows from any node:
// the cost of a keyset page does not grow with its depth.
func TestQueryPlans(t *testing.T) {
	s := openTest(t)
	sc := cars(t, func(r *restkit.Resource) { field(r, "model").Unique = true })
	mustMigrate(t, s, sc)
	res := sc.APIs[0].Resources[0]
	mustExec(t, s, `INSERT INTO cars (id, model, color, year, _rev, _created, _updated)
		SELECT i, 'model ' || i, (ARRAY['red','green','blue'])[i % 3 + 1], CASE WHEN i % 50 = 0 THEN NULL ELSE 1950 + i % 70 END, 1, 'x', 'x'
		FROM generate_series(1, 50000) i`)
	mustExec(t, s, `ANALYZE cars`)
	tb := s.mustTable(t, res)
	byYear := []restkit.SortKey{{Field: "year"}, {Field: "id"}}
	byYearDesc := []restkit.SortKey{{Field: "year", Desc: true}, {Field: "id", Desc: true}}
	deep := []any{int64(2012), int64(49000)}
	from1995 := []restkit.Filter{{Field: "year", Op: restkit.OpGte, Value: int64(1995)}}
	for _, c := range []struct {
		name    string
		q       restkit.Query
		bounded bool // reads at most about a page from any node
	}{
		{"year range by year", restkit.Query{Sort: byYear, Filters: from1995}, true},
		{"after a deep cursor by year", restkit.Query{Sort: byYear, After: deep, Filters: from1995}, true},
		{"before a deep cursor by year", restkit.Query{Sort: byYear, Before: deep, Filters: from1995}, true},
		{"after a deep cursor by year descending", restkit.Query{Sort: byYearDesc, After: deep}, true},
		{"before a deep cursor by year descending", restkit.Query{Sort: byYearDesc, Before: deep}, true},
		{"after a null", restkit.Query{Sort: byYear, After: []any{nil, int64(45000)}}, true},
		{"before a null descending", restkit.Query{Sort: byYearDesc, Before: []any{nil, int64(45000)}}, true},
		{"last by year", restkit.Query{Sort: byYear, Last: true}, true},
		{"after a key", restkit.Query{After: []any{int64(40000)}}, true},
		{"before a key", restkit.Query{Before: []any{int64(40000)}}, true},
		{"color prefix by color", restkit.Query{Sort: []restkit.SortKey{{Field: "color"}, {Field: "id"}},
			Filters: []restkit.Filter{{Field: "color", Op: restkit.OpPrefix, Value: "bl"}}}, true},
		{"model equal", restkit.Query{Filters: []restkit.Filter{{Field: "model", Op: restkit.OpEq, Value: "model 7"}}}, true},
		// Mixed directions: an index serves the first column; ties are sorted, a
		// group at a time.
		{"mixed directions after a deep cursor", restkit.Query{Sort: []restkit.SortKey{{Field: "year", Desc: true}, {Field: "id"}}, After: deep}, false},
	} {
		c.q.Limit = 20
		lq, err := tb.buildList(&c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		rows, err := s.pool.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "+lq.page, lq.args...)
		if err != nil {
			t.Fatalf("%s: EXPLAIN: %v", c.name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "Index") {
			t.Errorf("%s: not an index scan:\n%s\n%s", c.name, lq.page, plan)
		}
		if c.bounded && maxRows(plan) > 2*(c.q.Limit+1) {
			t.Errorf("%s: a node reads %d rows for a page of %d:\n%s\n%s", c.name, maxRows(plan), c.q.Limit, lq.page, plan)
		}
	}
}

var rowsRE = regexp.MustCompile(`(?:actual rows=|Rows Removed by Filter: )(\d+)`)

// maxRows returns the most rows any node of an EXPLAIN ANALYZE plan produced or
// filtered out.
func maxRows(plan string) int {
	n := 0
	for _, m := range rowsRE.FindAllStringSubmatch(plan, -1) {
		x, _ := strconv.Atoi(m[1])
		n = max(n, x)
	}
	return n
}
