// Command embed shows restkit used as a Go library: the API is declared in Go instead
// of YAML, a noun's POST runs a Go hook, and the handler is mounted on an ordinary
// net/http server next to a route of the program's own.
//
//	go run ./examples/embed            # serves on 127.0.0.1:8090, data in memory
//	curl -s -X POST localhost:8090/api/tasks -H 'Content-Type: application/json' -d '{"title":"write docs"}'
//	curl -s -X POST localhost:8090/api/counter
package main

import (
	"context"
	"log"
	"log/slog"
	"net/http"
	"os"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/memory"
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

// NewHandler prepares the schema, migrates the store and returns the API handler.
func NewHandler(store restkit.Store, logger *slog.Logger) (http.Handler, error) {
	schema := Schema()
	if err := schema.Prepare(); err != nil {
		return nil, err
	}
	if err := store.Migrate(context.Background(), schema); err != nil {
		return nil, err
	}
	return httpapi.New(httpapi.Options{Schema: schema, Store: store, Logger: logger}), nil
}

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	api, err := NewHandler(memory.New(), logger) // or sqlite.Open("data/restkit.db")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", api)
	mux.HandleFunc("/hello", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello from the host program\n")) })
	addr := "127.0.0.1:8090"
	if a := os.Getenv("ADDR"); a != "" {
		addr = a
	}
	logger.Info("serving", "addr", addr)
	log.Fatal(http.ListenAndServe(addr, mux))
}
