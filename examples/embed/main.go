// Command embed shows restkit used as a Go library: the API is declared in Go instead
// of YAML, hooks run around the writes of a resource, a noun's POST runs a Go
// function, and package server runs everything that `restkit serve` runs around it.
//
//	go run ./examples/embed            # serves on 127.0.0.1:8090, data in ./embed-data
//	curl -s -X POST localhost:8090/api/tasks -H 'Content-Type: application/json' -d '{"title":"write docs"}'
//	curl -s -X POST localhost:8090/api/counter
package main

import (
	"context"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/server"
)

// Schema declares the example API: a collection with generated keys and a noun whose
// POST is a Go function.
func Schema() *restkit.Schema {
	maxTitle := 200
	return &restkit.Schema{APIs: []*restkit.API{{
		Base: "/api",
		Resources: []*restkit.Resource{{
			Name:      "tasks",
			Key:       "id",
			KeySource: restkit.KeyGenerated, // UUIDv7, made by the server
			Fields: []*restkit.Field{
				{Name: "id", Type: restkit.TypeString},
				{Name: "title", Type: restkit.TypeString, Required: true, MaxLength: &maxTitle, Filterable: true},
				{Name: "done", Type: restkit.TypeBoolean, Default: false, Filterable: true},
				{Name: "due", Type: restkit.TypeDatetime, Nullable: true, Sortable: true},
			},
			Timestamps: true,
			// Go hooks around the writes of tasks: the before-hooks run inside the
			// write's transaction and may change the record or refuse it; AfterCommit
			// sees every committed change.
			Hooks: &restkit.Hooks{
				BeforeCreate: func(_ context.Context, rec *restkit.Record) error {
					rec.Values["title"] = strings.TrimSpace(rec.Values["title"].(string))
					return nil
				},
				BeforeUpdate: func(_ context.Context, cur, next *restkit.Record) error {
					if cur.Values["done"] == true && next.Values["done"] == false {
						return restkit.Errorf(restkit.Conflict, "a done task stays done; create a new one")
					}
					return nil
				},
				AfterCommit: func(_ context.Context, c restkit.Commit) error {
					slog.Info("task changed", "op", c.Op, "id", c.Key)
					return nil
				},
			},
		}},
		Nouns: []*restkit.Noun{{
			Name: "counter",
			Fields: []*restkit.Field{
				{Name: "count", Type: restkit.TypeInteger, Default: 0},
				{Name: "parity", Type: restkit.TypeEnum, Values: []string{"even", "odd"}, Default: "even", ReadOnly: true},
			},
			// POST /api/counter: a Go hook. It gets a copy of the state and returns the
			// next one, which restkit validates like a PUT before storing it.
			Update: restkit.Update{Op: restkit.UpdateHook, Hook: func(_ context.Context, state, _ map[string]any) (map[string]any, error) {
				n := state["count"].(int64) + 1
				state["count"] = n
				state["parity"] = map[bool]string{true: "even", false: "odd"}[n%2 == 0]
				return state, nil
			}},
		}},
	}}}
}

// NewServer is the whole restkit server — SQLite under cfg.Data, the artefact
// repository, /metrics, /readyz, request ids, drain on shutdown — serving the API
// declared above. cfg gives the address and the data directory; its API is set here.
func NewServer(cfg server.Config) (*server.Server, error) {
	cfg.API = &config.Config{Schema: Schema(), Artefacts: config.DefaultArtefacts()}
	return server.New(cfg)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	addr := "127.0.0.1:8090"
	if a := os.Getenv("ADDR"); a != "" {
		addr = a
	}
	srv, err := NewServer(server.Config{Addr: addr, Data: "./embed-data", Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	// Run serves until SIGINT/SIGTERM, then drains. To mount restkit in a program's own
	// http.Server next to its own routes instead, serve srv.Handler() there.
	if err := srv.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
