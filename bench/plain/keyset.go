package plain

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// GET /keyset/cars is the baseline of bench/paging.sh: a filtered, sorted list paged by
// keyset, as restkit serves GET /cars?year[gte]=Y&sort=F&limit=N and its next pages,
// but with a plain cursor in the URL instead of restkit's signed one:
//
//	GET /keyset/cars?year_gte=1995&sort=year&limit=20                               page 1
//	GET /keyset/cars?year_gte=1995&sort=year&after_year=2012&after_id=499857&limit=20  the page after that row
//
// sort is year or color; the cursor is after_<sort> and after_id, the sort values of
// the last row of the previous page. The SQL is exactly what restkit's store builds
// for those requests (sqlite/list.go: buildList and keyset), so the two servers run the
// same statements; the body is the same JSON array.

// keysetSelect is restkit's SELECT list for cars (sqlite/record.go: selectList).
const keysetSelect = `SELECT "id", "model", "color", "year", _rev, _created, _updated FROM "cars" WHERE `

// keysetSorts are the sorts GET /keyset/cars serves and their SQL: page1 takes
// (year_gte, limit+1), deep takes (year_gte, v, year_gte, v, id, limit+1) for the cursor
// (v, id): restkit's one-seek-per-sort-prefix form (sqlite/list.go: keysetUnion), where
// a filter on the sort's lead column is written +"year" to keep it out of the seek.
var keysetSorts = [...]struct{ field, page1, deep string }{
	{"year",
		keysetSelect + `"year" >= ? ORDER BY "year" ASC, "id" ASC LIMIT ?`,
		keysetSelect + `+"year" >= ? AND "year" > ? UNION ALL ` + keysetSelect + `+"year" >= ? AND "year" = ? AND "id" > ? ORDER BY "year" ASC, "id" ASC LIMIT ?`},
	{"color",
		keysetSelect + `"year" >= ? ORDER BY "color" ASC, "id" ASC LIMIT ?`,
		keysetSelect + `"year" >= ? AND "color" > ? UNION ALL ` + keysetSelect + `"year" >= ? AND "color" = ? AND "id" > ? ORDER BY "color" ASC, "id" ASC LIMIT ?`},
}

// KeysetSQL returns the SQL restkit runs for GET /cars?year[gte]=Y&sort=field: page 1
// and a page after a cursor, with the parameters described at keysetSorts. ok is
// false for a field other than year and color.
func KeysetSQL(field string) (page1, deep string, ok bool) {
	for _, k := range keysetSorts {
		if k.field == field {
			return k.page1, k.deep, true
		}
	}
	return "", "", false
}

func (s *Server) getKeyset(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	yearGte, err := strconv.ParseInt(q.Get("year_gte"), 10, 64)
	if err != nil {
		problem(w, http.StatusBadRequest, "year_gte must be an integer")
		return
	}
	field := q.Get("sort")
	if field == "" {
		field = "year"
	}
	sortIdx := -1
	for i, k := range keysetSorts {
		if k.field == field {
			sortIdx = i
		}
	}
	if sortIdx < 0 {
		problem(w, http.StatusBadRequest, "sort must be year or color")
		return
	}
	limit := int64(20)
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.ParseInt(v, 10, 64); err != nil || limit < 1 || limit > 100 {
			problem(w, http.StatusBadRequest, "limit must be an integer from 1 to 100")
			return
		}
	}
	args := []any{yearGte, limit + 1}
	deep := 0
	if v := q.Get("after_id"); v != "" {
		afterID, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			problem(w, http.StatusBadRequest, "after_id must be an integer")
			return
		}
		after := q.Get("after_" + field)
		if after == "" {
			problem(w, http.StatusBadRequest, "after_id needs after_"+field)
			return
		}
		var val any = after
		if field == "year" {
			if val, err = strconv.ParseInt(after, 10, 64); err != nil {
				problem(w, http.StatusBadRequest, "after_year must be an integer")
				return
			}
		}
		args = []any{yearGte, val, yearGte, val, afterID, limit + 1}
		deep = 1
	}
	rows, err := s.keyset[sortIdx][deep].QueryContext(r.Context(), args...)
	if err != nil {
		problem(w, http.StatusInternalServerError, "internal error")
		return
	}
	defer rows.Close()
	cars := make([]car, 0, limit+1)
	var x row
	for rows.Next() {
		if err := scanRow(rows, &x); err != nil {
			problem(w, http.StatusInternalServerError, "internal error")
			return
		}
		cars = append(cars, x.car)
	}
	if rows.Err() != nil {
		problem(w, http.StatusInternalServerError, "internal error")
		return
	}
	h := w.Header()
	first := fmt.Sprintf(`</keyset/cars?year_gte=%d&sort=%s&limit=%d>; rel="first"`, yearGte, field, limit)
	if int64(len(cars)) > limit {
		cars = cars[:limit]
		last := cars[len(cars)-1]
		v := url.QueryEscape(last.Color)
		if field == "year" {
			v = "" // a row without a year cannot pass year_gte
			if last.Year != nil {
				v = strconv.FormatInt(*last.Year, 10)
			}
		}
		h.Set("Link", fmt.Sprintf(`</keyset/cars?year_gte=%d&sort=%s&after_%s=%s&after_id=%d&limit=%d>; rel="next", %s`,
			yearGte, field, field, v, last.ID, limit, first))
	} else {
		h.Set("Link", first)
	}
	h.Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, cars)
}
