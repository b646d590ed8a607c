package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/restkit/restkit/config"
	"github.com/restkit/restkit/httpapi"
)

// Reload (DESIGN §13) serves a new config without a restart. It reads the config
// again, parses and checks it, migrates the store to it (additive changes only: a
// destructive one refuses the reload, as at start-up) and builds a complete handler
// beside the running one. Only then is the handler swapped, in one atomic store:
// a request is served wholly by the old config or wholly by the new one. Requests in
// flight finish on the old handler, which the swap does not touch; its event streams
// are ended, and their clients reconnect to the new handler and resume from their
// last id, losing nothing. A config that fails at any step is refused, logged with
// its line numbers, and the old one goes on serving.
//
// What a reload changes: resources, nouns, fields, verbs, access rules, users and
// keys, rate limits (counts carry over), capabilities, webhooks, CORS,
// events retention, the console. What it cannot: the listen address, TLS files, the
// data directory and the backends (flags), and the artefact repository (adding one, its path and
// limits, retention and cleanup policies), which is opened once. A reload whose config changes those applies the
// rest, and says in the log and in GET /_admin/config that they wait for a restart.

// reloadStatus is what the reloads did, for GET /_admin/config.
type reloadStatus struct {
	mu            sync.Mutex
	count         int       // reloads applied
	lastAttempt   time.Time // the last reload asked for, applied or not
	lastError     string    // why the last reload was refused; "" when it was applied
	restartNeeded []string  // what the running config changed that only a restart applies
}

// sourceSum is the sha256 of a config's text, in hex; "" for a declaration in Go.
func sourceSum(source []byte) string {
	if source == nil {
		return ""
	}
	sum := sha256.Sum256(source)
	return hex.EncodeToString(sum[:])
}

// ErrNoReload is returned by Reload for a server whose declaration was made in Go,
// with neither Config.ConfigPath nor Config.Reread to read a new one from.
var ErrNoReload = errors.New("this server's declaration was given in Go: there is no config file to reload")

// Reload reads the config again and serves it, or leaves the running one in place
// and returns why not (see above). SIGHUP, restkit reload and serve --watch all call
// it. Reloads run one at a time.
func (s *Server) Reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	old := s.current()
	err := s.reload(ctx, old)
	s.reloads.mu.Lock()
	s.reloads.lastAttempt = time.Now().UTC()
	if err != nil {
		s.reloads.lastError = capText(err.Error(), 4<<10)
	} else {
		s.reloads.lastError = ""
		s.reloads.count++
	}
	s.reloads.mu.Unlock()
	if err != nil {
		var perr config.Errors
		if errors.As(err, &perr) { // one line each, "file:line:col: message"
			s.log.Error("reload refused: the config has errors; the running config goes on serving", "config", s.configName(), "sha256", old.sum, "errors", len(perr))
			for _, e := range perr {
				s.log.Error("reload: " + e.Error())
			}
		} else {
			s.log.Error("reload refused; the running config goes on serving", "config", s.configName(), "sha256", old.sum, "error", err.Error())
		}
	}
	return err
}

func (s *Server) reload(ctx context.Context, old *served) error {
	source, err := s.reread()
	if err != nil {
		return err
	}
	sum := sourceSum(source)
	api, err := config.Parse(s.parseName(), source)
	if err != nil {
		return err
	}
	// What New refuses, a reload refuses too: dropping auth: must not open a public
	// address to everyone.
	check := s.cfg
	check.API = api
	if err := check.Validate(); err != nil {
		return err
	}
	restart := restartNeeded(s.cfg.API, api)
	next, err := s.build(ctx, api, source)
	if err != nil {
		return err
	}
	s.front.Store(next)
	// The old handler serves its requests in flight to their end; Close only ends its
	// event streams (clients resume on the new one) and its feed.
	old.handler.Close()
	s.hooks.swap(next.dispatcher)
	s.reloads.mu.Lock()
	s.reloads.restartNeeded = restart
	s.reloads.mu.Unlock()
	if sum == old.sum {
		s.log.Info("config reloaded, unchanged", "config", s.configName(), "sha256", sum)
	} else {
		s.log.Info("config reloaded", "config", s.configName(), "sha256", sum, "was", old.sum)
	}
	for _, what := range restart {
		s.log.Warn("reload: this change waits for a restart", "change", what)
	}
	return nil
}

// reread returns the config's text again.
func (s *Server) reread() ([]byte, error) {
	switch {
	case s.cfg.Reread != nil:
		b, err := s.cfg.Reread()
		if err != nil {
			return nil, fmt.Errorf("reading the config: %w", err)
		}
		return b, nil
	case s.cfg.ConfigPath != "":
		b, err := os.ReadFile(s.cfg.ConfigPath)
		if err != nil {
			return nil, fmt.Errorf("reading the config: %w", err)
		}
		return b, nil
	}
	return nil, ErrNoReload
}

// configName says where the declaration came from, for logs and /_admin/config: its
// file, the built-in demo (text without a file), or Go code (no text at all).
func (s *Server) configName() string {
	switch {
	case s.cfg.ConfigPath != "":
		return s.cfg.ConfigPath
	case s.cfg.Source == nil:
		return "declared in Go"
	}
	return "built-in demo"
}

// parseName is the file name errors are reported against.
func (s *Server) parseName() string {
	if s.cfg.ConfigPath == "" {
		return "demo.yaml"
	}
	return s.cfg.ConfigPath
}

// restartNeeded lists what next changes, compared with the config the server started
// with, that a reload does not apply.
func restartNeeded(first, next *config.Config) []string {
	var out []string
	a, b := first.Server, next.Server
	a.CORS, b.CORS = nil, nil // CORS is the handler's: it reloads
	if !reflect.DeepEqual(a, b) {
		out = append(out, "server: section (address, data directory, TLS, timeouts, log settings)")
	}
	switch fa, na := first.Artefacts, next.Artefacts; {
	case fa == nil && na != nil: // removed is applied: the repository is no longer served
		out = append(out, "artefacts: added")
	case fa != nil && na != nil && (fa.Path != na.Path || !reflect.DeepEqual(fa.Policy, na.Policy)):
		out = append(out, "artefacts: path, limits or cleanup policies")
	}
	return out
}

// adminRoutes are the operations routes the server adds to the handler of api:
// capability switches and the running config.
func (s *Server) adminRoutes() []httpapi.AdminRoute {
	return append(s.capabilityRoutes(),
		httpapi.AdminRoute{Pattern: "/_admin/config", Allow: "GET, HEAD, OPTIONS", Handler: s.serveConfig})
}

// serveConfig answers GET /_admin/config: which config this node serves (its sha256,
// which tells at a glance whether every node of a cluster serves the same file) and
// what its reloads did.
func (s *Server) serveConfig(w http.ResponseWriter, _ *http.Request) {
	sv := s.current()
	s.reloads.mu.Lock()
	body := map[string]any{
		"path":           s.configName(),
		"sha256":         sv.sum,
		"loaded_at":      sv.loaded,
		"reloads":        s.reloads.count,
		"restart_needed": append([]string{}, s.reloads.restartNeeded...),
	}
	if !s.reloads.lastAttempt.IsZero() {
		body["last_reload_attempt"] = s.reloads.lastAttempt
	}
	if s.reloads.lastError != "" {
		body["last_error"] = s.reloads.lastError
	}
	s.reloads.mu.Unlock()
	writeJSON(w, http.StatusOK, body)
}

// capText shortens s to at most n bytes (at a rune boundary), saying so.
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "… (" + strconv.Itoa(len(s)-cut) + " more bytes in the log)"
}
