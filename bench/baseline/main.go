// Command baseline serves bench/plain, the reference that restkit is measured against
// in bench/run.sh: plain net/http, database/sql with modernc.org/sqlite and
// encoding/json over a copy of the database file restkit made.
//
//	baseline --addr 127.0.0.1:9001 --db /path/to/restkit.db
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/restkit/restkit/bench/plain"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	dbPath := flag.String("db", "", "the SQLite database file (a copy of restkit's restkit.db)")
	flag.Parse()
	if *dbPath == "" {
		log.Fatal("baseline: --db is required")
	}
	if _, err := os.Stat(*dbPath); err != nil {
		log.Fatalf("baseline: %v", err)
	}
	s, err := plain.Open(*dbPath)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
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
	log.Printf("baseline serving on %s, db %s", ln.Addr(), *dbPath)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
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
