package server

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/metrics"
	"github.com/restkit/restkit/webhook"
)

// webhooks makes the Dispatcher of the config's webhooks: section, when it has
// endpoints, and adds its admin routes and event types to the handler's options. New
// calls it, so an endpoint seen for the first time starts at the newest event before
// the first request is served; Run starts the deliveries.
func (s *Server) webhooks(ctx context.Context, m *metrics.Metrics, opts *httpapi.Options) error {
	w := s.cfg.API.Webhooks
	if w == nil || len(w.Endpoints) == 0 {
		return nil
	}
	store, ok := s.backends.store.(webhook.Store)
	if !ok {
		return errors.New("webhooks need a store with a change log and server state")
	}
	// The node's name is kept in the data directory, which one process at a time may
	// hold: a node restarted after a crash takes its endpoints back at once rather
	// than waiting for its old leases to expire.
	id, err := keyFile(s.cfg.Data, "node.id", 6)
	if err != nil {
		return fmt.Errorf("the node id: %w", err)
	}
	host, _ := os.Hostname()
	d, err := webhook.New(ctx, webhook.Options{Schema: s.cfg.API.Schema, Store: store, Endpoints: w.Endpoints,
		AllowHosts: w.AllowHosts, Artefacts: s.cfg.API.Artefacts != nil, Logger: s.log, Metrics: metrics.NewWebhooks(m),
		Node: host + "-" + hex.EncodeToString(id)})
	if err != nil {
		return fmt.Errorf("preparing webhooks: %w", err)
	}
	s.dispatcher = d
	opts.Admin = append(opts.Admin,
		httpapi.AdminRoute{Pattern: "/_admin/webhooks/deliveries", Allow: "GET, HEAD, OPTIONS", Serve: d.ServeDeliveries},
		httpapi.AdminRoute{Pattern: "/_admin/webhooks/deliveries/{id}/retry", Allow: "POST, OPTIONS", Serve: d.ServeRetry})
	opts.Webhooks = s.cfg.API.WebhookEvents()
	return nil
}

// runWebhooks starts the deliveries, when there are webhooks, and returns what stops
// them (giving back this node's leases) and waits until they have stopped.
func (s *Server) runWebhooks() (stop func()) {
	if s.dispatcher == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.dispatcher.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}
