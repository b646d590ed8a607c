package server

import (
	"context"
	"math"
	"time"

	"github.com/restkit/restkit"
	"github.com/restkit/restkit/config"
)

// startPruning prunes the change log now and every PruneInterval until ctx ends,
// to the events: section's keep and max. Every node of a cluster prunes: deleting
// what another node has deleted already is nothing. It returns a function that
// waits for the pruning goroutine to end.
func (s *Server) startPruning(ctx context.Context) (wait func()) {
	el, ok := s.backends.store.(restkit.EventLog)
	if !ok {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(s.cfg.PruneInterval)
		defer tick.Stop()
		for {
			ev := s.current().api.Events // a reload may change it
			if ev == (config.Events{}) { // a declaration built in Go
				ev = config.DefaultEvents()
			}
			if ev.Keep <= 0 {
				ev.Keep = config.DefaultEvents().Keep
			}
			keep, err := s.keepAfter(ctx)
			if err != nil {
				if ctx.Err() == nil {
					s.log.Warn("events: not pruning the change log: the webhooks' position is unknown", "error", err)
				}
			} else if n, err := el.PruneEvents(ctx, time.Now().Add(-ev.Keep), ev.Max, keep); err != nil && ctx.Err() == nil {
				s.log.Warn("events: pruning the change log failed", "error", err)
			} else if n > 0 {
				s.log.Debug("events: pruned the change log", "deleted", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { <-done }
}

// keepAfter is the Seq after which no event may be pruned yet: those some webhook
// endpoint has yet to be sent (webhook.Dispatcher.Horizon), however old; without
// webhooks, none.
func (s *Server) keepAfter(ctx context.Context) (int64, error) {
	d := s.current().dispatcher
	if d == nil {
		return math.MaxInt64, nil
	}
	return d.Horizon(ctx)
}
