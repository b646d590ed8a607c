package plain

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"
)

// The durable writes: what restkit's POST, PUT and PATCH on the demo's /cars do to the
// database, written by hand — in one transaction, the row (with its indexes) and a
// revision in the history table cars__history that restkit's demo keeps. They are what
// the issue-17 target compares restkit's writes with (bench/README.md); POST /cars is
// the bare one-INSERT write.
//
//	POST  /durable/cars  INSERT the row; INSERT its revision 1
//	PUT   /cars/{id}     SELECT rev and created; UPDATE the row; INSERT the revision
//	PATCH /cars/{id}     SELECT the row; merge the body; UPDATE; INSERT the revision
//
// The revision's state is the JSON of the car, as restkit keeps it. restkit also
// appends an event to its change log in the same transaction; the target
// leaves that out of the reference, and so does this file.

type durable struct {
	insertHist, findRev, update *sql.Stmt // on the writer
}

func (s *Server) prepareDurable(ctx context.Context) error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.w.PrepareContext(ctx, q)
		return st
	}
	s.d.insertHist = prep(`INSERT INTO "cars__history" (key, rev, deleted, actor, state, created, updated) VALUES (?, ?, 0, '', ?, ?, ?)`)
	s.d.findRev = prep(`SELECT id, model, color, year, _rev, _created, _updated FROM "cars" WHERE id = ?`)
	s.d.update = prep(`UPDATE "cars" SET model = ?, color = ?, year = ?, _rev = ?, _updated = ? WHERE id = ?`)
	return err
}

func (d *durable) close() {
	for _, st := range []*sql.Stmt{d.insertHist, d.findRev, d.update} {
		if st != nil {
			st.Close()
		}
	}
}

// carIn is a car's body; absent members are nil.
type carIn struct {
	ID    *int64  `json:"id"`
	Model *string `json:"model"`
	Color *string `json:"color"`
	Year  *int64  `json:"year"`
}

func decodeCar(w http.ResponseWriter, r *http.Request) (*carIn, bool) {
	if ct := r.Header.Get("Content-Type"); ct != "application/json" && ct != "application/json; charset=utf-8" {
		problem(w, http.StatusUnsupportedMediaType, "the body must be application/json")
		return nil, false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	var in carIn
	if err := dec.Decode(&in); err != nil || dec.More() {
		problem(w, http.StatusBadRequest, "the body is not a valid car")
		return nil, false
	}
	return &in, true
}

func validCar(c *car) bool {
	return c.ID >= 1 && utf8.RuneCountInString(c.Model) <= 200 && utf8.RuneCountInString(c.Color) <= 50 &&
		(c.Year == nil || (*c.Year >= 1886 && *c.Year <= 2100))
}

// writeCar answers a written car with restkit's headers.
func writeCar(w http.ResponseWriter, status int, c *car, rev int64, created, updated time.Time) {
	h := w.Header()
	if status == http.StatusCreated {
		h.Set("Location", "/cars/"+strconv.FormatInt(c.ID, 10))
	}
	h.Set("ETag", etag(rev, created))
	h.Set("Last-Modified", updated.Format(http.TimeFormat))
	h.Set("Cache-Control", "no-cache")
	writeJSON(w, status, c)
}

// postDurable: POST /durable/cars.
func (s *Server) postDurable(w http.ResponseWriter, r *http.Request) {
	in, ok := decodeCar(w, r)
	if !ok {
		return
	}
	if in.ID == nil || in.Model == nil || in.Color == nil {
		problem(w, http.StatusBadRequest, "validation failed")
		return
	}
	c := car{ID: *in.ID, Model: *in.Model, Color: *in.Color, Year: in.Year}
	if !validCar(&c) {
		problem(w, http.StatusBadRequest, "validation failed")
		return
	}
	now := time.Now().UTC()
	err := s.inTx(r.Context(), func(tx *sql.Tx) error {
		stamp := now.Format(timeLayout)
		if _, err := tx.Stmt(s.insert).Exec(c.ID, c.Model, c.Color, yearArg(c.Year), stamp, stamp); err != nil {
			return err
		}
		return s.revision(tx, &c, 1, stamp, stamp)
	})
	if err != nil {
		s.writeFailed(w, err, c.ID)
		return
	}
	writeCar(w, http.StatusCreated, &c, 1, now, now)
}

// putOrPatch: PUT and PATCH /cars/{id} of an existing car.
func (s *Server) putOrPatch(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		problem(w, http.StatusBadRequest, "invalid key in the URL")
		return
	}
	in, ok := decodeCar(w, r)
	if !ok {
		return
	}
	if in.ID != nil && *in.ID != id {
		problem(w, http.StatusBadRequest, "the id in the body is not the URL's")
		return
	}
	patch := r.Method == http.MethodPatch
	if !patch && (in.Model == nil || in.Color == nil) {
		problem(w, http.StatusBadRequest, "validation failed")
		return
	}
	now := time.Now().UTC()
	var x row
	var created time.Time
	err = s.inTx(r.Context(), func(tx *sql.Tx) error {
		if err := scanRow(tx.Stmt(s.d.findRev).QueryRow(id), &x); err != nil {
			return err
		}
		if patch {
			if in.Model != nil {
				x.Model = *in.Model
			}
			if in.Color != nil {
				x.Color = *in.Color
			}
			if in.Year != nil {
				x.Year = in.Year
			}
		} else {
			x.car = car{ID: id, Model: *in.Model, Color: *in.Color, Year: in.Year}
		}
		if !validCar(&x.car) {
			return errInvalid
		}
		x.rev++
		stamp := now.Format(timeLayout)
		if _, err := tx.Stmt(s.d.update).Exec(x.Model, x.Color, yearArg(x.Year), x.rev, stamp, id); err != nil {
			return err
		}
		var err error
		if created, err = time.Parse(timeLayout, x.created); err != nil {
			return err
		}
		return s.revision(tx, &x.car, x.rev, x.created, stamp)
	})
	if err != nil {
		s.writeFailed(w, err, id)
		return
	}
	writeCar(w, http.StatusOK, &x.car, x.rev, created, now)
}

var errInvalid = errors.New("validation failed")

// revision appends the car's revision to its history.
func (s *Server) revision(tx *sql.Tx, c *car, rev int64, created, updated string) error {
	state, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = tx.Stmt(s.d.insertHist).Exec(c.ID, rev, string(state), created, updated)
	return err
}

// inTx runs fn in a transaction on the writer (BEGIN IMMEDIATE) and commits it.
func (s *Server) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (s *Server) writeFailed(w http.ResponseWriter, err error, id int64) {
	switch {
	case errors.Is(err, sql.ErrNoRows):
		problem(w, http.StatusNotFound, fmt.Sprintf("no car with id %d", id))
	case errors.Is(err, errInvalid):
		problem(w, http.StatusBadRequest, "validation failed")
	case isConflict(err):
		problem(w, http.StatusConflict, fmt.Sprintf("a car with id %d already exists", id))
	default:
		problem(w, http.StatusInternalServerError, "internal error")
	}
}

func yearArg(y *int64) any {
	if y == nil {
		return nil
	}
	return *y
}
