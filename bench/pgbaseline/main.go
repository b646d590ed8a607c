// Command pgbaseline is the PostgreSQL reference that bench/cluster.sh measures restkit
// against: plain net/http (Go 1.22 patterns), pgx/pgxpool and encoding/json, serving
// the demo's /cars from a table laid out exactly as restkit's postgres store makes it
// (cluster.sh copies restkit's table, indexes included, into a schema of its own).
//
//	pgbaseline --addr 127.0.0.1:9002 --postgres 'postgres://…/db?search_path=SCHEMA'
//
// It serves GET /cars/{id} with the query restkit's store runs (postgres/record.go,
// FindRecord: the same SELECT text through pgxpool's QueryRow, so pgx prepares and
// caches it per connection the same way), POST /cars as one INSERT, and GET /healthz.
// Responses carry the same body and the same ETag, Last-Modified, Cache-Control and
// X-Content-Type-Options headers as restkit's. It has none of restkit's generality: no
// schema, no negotiation, no request log, and a POST is a bare INSERT, not restkit's
// transaction (advisory lock, SELECT … FOR UPDATE, INSERT, history row, COMMIT).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// timeLayout is how restkit stores _created and _updated.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

// The statements. findSQL is byte for byte the text restkit's store builds for the
// demo's cars (newTable in postgres/record.go: the key, the other fields in
// declaration order, then _rev, _created, _updated).
const (
	findSQL   = `SELECT "id", "model", "color", "year", _rev, _created, _updated FROM "cars" WHERE "id" = $1`
	insertSQL = `INSERT INTO "cars" ("id", "model", "color", "year", _rev, _created, _updated) VALUES ($1, $2, $3, $4, 1, $5, $6)`
)

// car is one row of "cars"; Year is optional, so absent from the JSON when NULL.
type car struct {
	ID    int64  `json:"id"`
	Model string `json:"model"`
	Color string `json:"color"`
	Year  *int64 `json:"year,omitempty"`
}

type server struct {
	pool *pgxpool.Pool
	mux  *http.ServeMux
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9002", "address to listen on")
	url := flag.String("postgres", "", "PostgreSQL URL; search_path=SCHEMA names the schema holding \"cars\"")
	maxConns := flag.Int("max-conns", 0, "connections the pool opens at most (default pgxpool's, max(4, CPUs), as restkit's)")
	flag.Parse()
	if *url == "" {
		log.Fatal("pgbaseline: --postgres is required")
	}
	cfg, err := pgxpool.ParseConfig(*url)
	if err != nil {
		log.Fatalf("pgbaseline: %v", err)
	}
	if *maxConns > 0 {
		cfg.MaxConns = int32(*maxConns)
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "pgbaseline"
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatalf("pgbaseline: %v", err)
	}
	defer pool.Close()
	var n int64
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM "cars"`).Scan(&n); err != nil {
		log.Fatalf("pgbaseline: the table \"cars\": %v", err)
	}
	s := &server{pool: pool, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /cars/{id}", s.get)
	s.mux.HandleFunc("POST /cars", s.post)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("pgbaseline serving on %s, %d cars, pool of %d connections", ln.Addr(), n, cfg.MaxConns)
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	s.mux.ServeHTTP(w, r)
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

func (s *server) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		problem(w, http.StatusBadRequest, "invalid key in the URL")
		return
	}
	var (
		c                car
		rev              int64
		created, updated string
	)
	err = s.pool.QueryRow(r.Context(), findSQL, id).Scan(&c.ID, &c.Model, &c.Color, &c.Year, &rev, &created, &updated)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			problem(w, http.StatusNotFound, fmt.Sprintf("no car with id %d", id))
			return
		}
		problem(w, http.StatusInternalServerError, "internal error")
		return
	}
	ct, err1 := time.Parse(timeLayout, created)
	ut, err2 := time.Parse(timeLayout, updated)
	if err1 != nil || err2 != nil {
		problem(w, http.StatusInternalServerError, "internal error")
		return
	}
	tag := etag(rev, ct)
	h := w.Header()
	h.Set("ETag", tag)
	h.Set("Last-Modified", ut.UTC().Format(http.TimeFormat))
	h.Set("Cache-Control", "no-cache")
	if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == tag || inm == "*") {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, &c)
}

func (s *server) post(w http.ResponseWriter, r *http.Request) {
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
	if _, err := s.pool.Exec(r.Context(), insertSQL, *in.ID, *in.Model, *in.Color, in.Year, stamp, stamp); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
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
