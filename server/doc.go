// Package server is the whole restkit server as a library type: what `restkit serve`
// runs, for a Go program to embed.
//
//	cfg, err := config.Parse("api.yaml", yaml)            // or build a config.Config in Go
//	srv, err := server.New(server.Config{API: cfg, Addr: "127.0.0.1:8080", Data: "./data"})
//	defer srv.Close()
//	err = srv.Run(ctx)                                       // serves until ctx ends, then drains
//
// New does everything that must happen before the first request, in this order: it
// takes the data directory's lock (package internal/datadir: a second server on the
// same directory would destroy this one's uploads in progress), opens the backends
// (SQLite and files under the data directory, or PostgreSQL, S3 and Redis when their
// URLs are given), migrates the store to the declaration, loads or makes the keys
// that must survive restarts (the cursor-signing key, the store id), prepares
// authentication, opens the artefact repository and collects what a crash may have
// left, and builds the HTTP handler (package httpapi) with metrics, readiness
// checks, request ids, rate limits and CORS. Anything that fails is closed again and
// reported; nothing is served half-built.
//
// Run listens (Config.Addr, or Config.Listener), serves HTTP/1.1 — or HTTPS and
// HTTP/2 with TLS files — and on the end of its context drains: it stops accepting,
// lets requests in flight finish for up to Config.Drain, then closes the connections
// still busy. Close releases the backends and the lock.
//
// Reload (reload.go) builds the handler of a re-read config beside the running one
// and swaps it in one atomic store, so a request sees one config or the other, never
// a mix; Run calls it on Config.Watch, cmd/restkit on SIGHUP. The backends, the data
// directory and the artefact repository are opened once and shared by every build.
// Capability switches (capabilities.go) live in the store's server state, so that a
// restart, a reload and every node of a shared store see the same states.
//
// Config holds settings only; flags, environment variables and the config file's
// server: section are resolved by the caller (cmd/restkit), so that a library user
// is never surprised by a RESTKIT_* variable of the environment.
//
// A build with -tags nocluster leaves the scale-out backends out (backends_nocluster.go):
// the device binary is half the size, and Postgres, S3 and Redis then fail New.
package server
