package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/server"
)

// A program that embeds the whole server: the demo's API with an API key for auth, the
// artefact repository and /metrics — what `restkit serve --config` does, in a few lines.
func Example() {
	api, err := config.Parse("api.yaml", []byte(`
auth:
  users: {ci: {roles: [admin]}}
  keys: [{id: ci-key, sha256: ab18c8a195065e0d67e665f306dcdb3bbcf45085fc5b1e9857af04e4959dbe11, user: ci}]  # sha256 of restkit-example-key
apis:
  - resources:
      cars: {key: id, fields: {id: {type: integer}, model: {type: string, required: true}}}
artefacts: {}
`))
	if err != nil {
		panic(err)
	}
	data, _ := os.MkdirTemp("", "restkit-example-")
	defer os.RemoveAll(data)
	ln, _ := net.Listen("tcp", "127.0.0.1:0") // or Addr: "127.0.0.1:8080"
	srv, err := server.New(server.Config{API: api, Listener: ln, Data: data})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Run(ctx) }()

	base := "http://" + ln.Addr().String()
	for _, r := range []struct{ method, path, body string }{
		{"POST", "/cars", `{"id":1,"model":"Golf"}`},
		{"PUT", "/artefacts/builds/app.bin", "binary"},
		{"GET", "/metrics", ""},
	} {
		req, _ := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
		req.Header.Set("Authorization", "Bearer restkit-example-key")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Println(r.method, r.path, resp.StatusCode)
	}
	resp, _ := http.Get(base + "/cars/1") // no credentials
	resp.Body.Close()
	fmt.Println("anonymous GET /cars/1", resp.StatusCode)

	stop() // drain and stop, as on SIGTERM
	fmt.Println("Run:", <-done)
	// Output:
	// POST /cars 201
	// PUT /artefacts/builds/app.bin 201
	// GET /metrics 200
	// anonymous GET /cars/1 401
	// Run: <nil>
}
