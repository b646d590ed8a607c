package server

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/restkit/restkit/config"

	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/metrics"
	"github.com/restkit/restkit/webhook"
)

// webhooks makes the Dispatcher of api's webhooks: section, when it has endpoints,
// and adds its admin routes and event types to the handler's options. New (and
// Reload) call it, so an endpoint seen for the first time starts at the newest event
// before the first request is served; Run starts the deliveries.
func (s *Server) webhooks(ctx context.Context, api *config.Config, opts *httpapi.Options) (*webhook.Dispatcher, error) {
	w := api.Webhooks
	if w == nil || len(w.Endpoints) == 0 {
		return nil, nil
	}
	store, ok := s.backends.store.(webhook.Store)
	if !ok {
		return nil, errors.New("webhooks need a store with a change log and server state")
	}
	// The node's name is kept in the data directory, which one process at a time may
	// hold: a node restarted after a crash takes its endpoints back at once rather
	// than waiting for its old leases to expire.
	id, err := keyFile(s.cfg.Data, "node.id", 6)
	if err != nil {
		return nil, fmt.Errorf("the node id: %w", err)
	}
	host, _ := os.Hostname()
	d, err := webhook.New(ctx, webhook.Options{Schema: api.Schema, Store: store, Endpoints: w.Endpoints,
		AllowHosts: w.AllowHosts, Artefacts: s.repo != nil && api.Artefacts != nil, Logger: s.log, Metrics: metrics.NewWebhooks(s.metrics),
		Node: host + "-" + hex.EncodeToString(id)})
	if err != nil {
		return nil, fmt.Errorf("preparing webhooks: %w", err)
	}
	opts.Admin = append(opts.Admin,
		httpapi.AdminRoute{Pattern: "/_admin/webhooks/deliveries", Allow: "GET, HEAD, OPTIONS", Serve: d.ServeDeliveries},
		httpapi.AdminRoute{Pattern: "/_admin/webhooks/deliveries/{id}/retry", Allow: "POST, OPTIONS", Serve: d.ServeRetry})
	opts.Webhooks = api.WebhookEvents()
	return d, nil
}

// webhookRun runs the deliveries of one Dispatcher at a time: Run starts the front's,
// a Reload swaps in the next config's (stopping the old one first, which gives back
// this node's leases), and the end of Run stops them.
type webhookRun struct {
	mu      sync.Mutex
	running bool // between Run's start and its end
	cancel  context.CancelFunc
	done    chan struct{}
}

// start runs the deliveries of the dispatcher current gives (nil: none), after
// stopping what ran before. current is asked under the lock swap takes, so a reload
// finishing meanwhile cannot leave the old dispatcher running.
func (w *webhookRun) start(current func() *webhook.Dispatcher) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopLocked()
	w.running = true
	w.run(current())
}

// swap replaces the running deliveries with d's, if Run is running.
func (w *webhookRun) swap(d *webhook.Dispatcher) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.running {
		return
	}
	w.stopLocked()
	w.run(d)
}

func (w *webhookRun) run(d *webhook.Dispatcher) {
	if d == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	w.cancel, w.done = cancel, done
}

// stop ends the deliveries and waits until they have stopped.
func (w *webhookRun) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopLocked()
	w.running = false
}

func (w *webhookRun) stopLocked() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
		w.cancel, w.done = nil, nil
	}
}
