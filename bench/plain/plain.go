// Package plain is the baseline that restkit is measured against (see bench/README.md):
// a competent, hand-written server for the demo's /cars on plain net/http (Go 1.22
// patterns), database/sql with modernc.org/sqlite and encoding/json, over the very
// database file restkit made.
//
// It serves GET /cars/{id}, GET /cars?after=N&limit=M (keyset: WHERE id > ? ORDER BY
// id LIMIT ?), POST /cars, and GET /keyset/cars (filtered and sorted keyset pages
// with restkit's own SQL, for bench/paging.sh: see keyset.go), with the same SQLite settings as restkit's store (WAL,
// busy_timeout, synchronous NORMAL, one writer connection, a pool of query_only
// readers, prepared statements) and the same response bytes: the same JSON body and
// the same ETag, Last-Modified, Cache-Control and X-Content-Type-Options headers. It
// has none of restkit's generality (no schema, no negotiation, no request log, no
// cursor signing): that difference is what the benchmark prices.
package plain

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"time"
	"unicode/utf8"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// timeLayout is how restkit stores _created and _updated.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// car is one row of "cars"; Year is optional, so absent from the JSON when NULL.
type car struct {
	ID    int64  `json:"id"`
	Model string `json:"model"`
	Color string `json:"color"`
	Year  *int64 `json:"year,omitempty"`
}

// Server serves /cars from one SQLite file. It is an http.Handler.
type Server struct {
	w, r               *sql.DB
	find, list, insert *sql.Stmt
	keyset             [len(keysetSorts)][2]*sql.Stmt // [sort][0: page 1, 1: after a cursor]; see keyset.go
	d                  durable                        // the durable writes (durable.go)
	mux                *http.ServeMux
}

// Open opens the existing database file at path (made by restkit: table "cars").
func Open(path string) (*Server, error) {
	const busy = "_pragma=busy_timeout(5000)"
	s := &Server{}
	var err error
	if s.w, err = sql.Open("sqlite", path+"?"+busy+"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"); err != nil {
		return nil, err
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	if s.r, err = sql.Open("sqlite", path+"?"+busy+"&_pragma=query_only(1)"); err != nil {
		s.w.Close()
		return nil, err
	}
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	s.r.SetMaxOpenConns(readers)
	s.r.SetMaxIdleConns(readers)
	s.r.SetConnMaxLifetime(0)
	ctx := context.Background()
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		s.Close()
		return nil, fmt.Errorf("plain: %s: journal_mode %q: %v", path, mode, err)
	}
	prep := func(db *sql.DB, q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = db.PrepareContext(ctx, q)
		return st
	}
	s.find = prep(s.r, `SELECT id, model, color, year, _rev, _created, _updated FROM "cars" WHERE id = ?`)
	s.list = prep(s.r, `SELECT id, model, color, year, _rev, _created, _updated FROM "cars" WHERE id > ? ORDER BY id LIMIT ?`)
	s.insert = prep(s.w, `INSERT INTO "cars" (id, model, color, year, _rev, _created, _updated) VALUES (?, ?, ?, ?, 1, ?, ?)`)
	for i, k := range keysetSorts {
		s.keyset[i][0] = prep(s.r, k.page1)
		s.keyset[i][1] = prep(s.r, k.deep)
	}
	if err == nil {
		err = s.prepareDurable(ctx)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("plain: %s: %w", path, err)
	}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /cars/{id}", s.get)
	s.mux.HandleFunc("GET /cars", s.getList)
	s.mux.HandleFunc("POST /cars", s.post)
	s.mux.HandleFunc("POST /durable/cars", s.postDurable)
	s.mux.HandleFunc("PUT /cars/{id}", s.putOrPatch)
	s.mux.HandleFunc("PATCH /cars/{id}", s.putOrPatch)
	s.mux.HandleFunc("GET /keyset/cars", s.getKeyset)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	return s, nil
}

// Close closes the statements and both pools.
func (s *Server) Close() error {
	sts := []*sql.Stmt{s.find, s.list, s.insert}
	for _, k := range s.keyset {
		sts = append(sts, k[:]...)
	}
	for _, st := range sts {
		if st != nil {
			st.Close()
		}
	}
	s.d.close()
	return errors.Join(s.r.Close(), s.w.Close())
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
}

// row is a car and its bookkeeping columns.
type row struct {
	car
	rev              int64
	created, updated string
}

type rowScanner interface{ Scan(...any) error }

func scanRow(sc rowScanner, x *row) error {
	var year sql.NullInt64
	if err := sc.Scan(&x.ID, &x.Model, &x.Color, &year, &x.rev, &x.created, &x.updated); err != nil {
		return err
	}
	x.Year = nil
	if year.Valid {
		y := year.Int64
		x.Year = &y
	}
	return nil
}

// etag is restkit's: "<rev base 36>-<created, Unix ns, base 36>".
func etag(rev int64, created time.Time) string {
	b := make([]byte, 0, 32)
	b = append(b, '"')
	b = strconv.AppendInt(b, rev, 36)
	b = append(b, '-')
	b = strconv.AppendInt(b, created.UnixNano(), 36)
	return string(append(b, '"'))
}

func (x *row) validators(h http.Header) (string, error) {
	created, err := time.Parse(timeLayout, x.created)
	if err != nil {
		return "", err
	}
	updated, err := time.Parse(timeLayout, x.updated)
	if err != nil {
		return "", err
	}
	tag := etag(x.rev, created)
	h.Set("ETag", tag)
	h.Set("Last-Modified", updated.UTC().Format(http.TimeFormat))
	h.Set("Cache-Control", "no-cache")
	return tag, nil
}

func problem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
}

// writeJSON encodes v (one trailing newline, as restkit writes) with a Content-Length.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		problem(w, http.StatusInternalServerError, "internal error")
		return
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		problem(w, http.StatusBadRequest, "invalid key in the URL")
		return
	}
	var x row
	if err := scanRow(s.find.QueryRowContext(r.Context(), id), &x); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			problem(w, http.StatusNotFound, fmt.Sprintf("no car with id %d", id))
			return
		}
		problem(w, http.StatusInternalServerError, "internal error")
		return
	}
	tag, err := x.validators(w.Header())
	if err != nil {
		problem(w, http.StatusInternalServerError, "internal error")
		return
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == tag || inm == "*") {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, &x.car)
}

func (s *Server) getList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, limit := int64(0), int64(20)
	var err error
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil {
			problem(w, http.StatusBadRequest, "after must be an integer")
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.ParseInt(v, 10, 64); err != nil || limit < 1 || limit > 100 {
			problem(w, http.StatusBadRequest, "limit must be an integer from 1 to 100")
			return
		}
	}
	rows, err := s.list.QueryContext(r.Context(), after, limit+1) // one more: is there a next page?
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
	if int64(len(cars)) > limit {
		cars = cars[:limit]
		h.Set("Link", fmt.Sprintf(`</cars?after=%d&limit=%d>; rel="next", </cars?limit=%d>; rel="first"`, cars[len(cars)-1].ID, limit, limit))
	} else {
		h.Set("Link", fmt.Sprintf(`</cars?limit=%d>; rel="first"`, limit))
	}
	h.Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, cars)
}

// isConflict reports whether err is the failure of an INSERT of an id that exists.
func isConflict(err error) bool {
	var se *msqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func (s *Server) post(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" && ct != "application/json; charset=utf-8" {
		problem(w, http.StatusUnsupportedMediaType, "the body must be application/json")
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	var in struct {
		ID    *int64  `json:"id"`
		Model *string `json:"model"`
		Color *string `json:"color"`
		Year  *int64  `json:"year"`
	}
	if err := dec.Decode(&in); err != nil || dec.More() {
		problem(w, http.StatusBadRequest, "the body is not a valid car")
		return
	}
	switch {
	case in.ID == nil || *in.ID < 1,
		in.Model == nil || utf8.RuneCountInString(*in.Model) > 200,
		in.Color == nil || utf8.RuneCountInString(*in.Color) > 50,
		in.Year != nil && (*in.Year < 1886 || *in.Year > 2100):
		problem(w, http.StatusBadRequest, "validation failed")
		return
	}
	now := time.Now().UTC()
	stamp := now.Format(timeLayout)
	var year any
	if in.Year != nil {
		year = *in.Year
	}
	if _, err := s.insert.ExecContext(r.Context(), *in.ID, *in.Model, *in.Color, year, stamp, stamp); err != nil {
		if isConflict(err) {
			problem(w, http.StatusConflict, fmt.Sprintf("a car with id %d already exists", *in.ID))
			return
		}
		problem(w, http.StatusInternalServerError, "internal error")
		return
	}
	h := w.Header()
	h.Set("Location", "/cars/"+strconv.FormatInt(*in.ID, 10))
	h.Set("ETag", etag(1, now))
	h.Set("Last-Modified", now.Format(http.TimeFormat))
	h.Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusCreated, &car{ID: *in.ID, Model: *in.Model, Color: *in.Color, Year: in.Year})
}
