package server

import (
	"context"
	"time"
)

// watchEvery is how often a watched config file is read again.
const watchEvery = time.Second

// watch reloads the config whenever its text changes (Config.Watch), until ctx ends.
// It compares content, not modification times: an editor that saves by renaming, a
// ConfigMap swapped by a symlink, or a clock step all change the text or nothing. A
// text that failed is not tried again until it changes once more; the server goes on
// serving the last good one meanwhile. It returns a function that stops the watch
// and waits for it.
func (s *Server) watch(ctx context.Context) func() {
	if !s.cfg.Watch || (s.cfg.ConfigPath == "" && s.cfg.Reread == nil) {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(watchEvery)
		defer tick.Stop()
		tried := s.current().sum
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			source, err := s.reread()
			if err != nil { // mid-save, or removed: wait for it to come back
				continue
			}
			sum := sourceSum(source)
			if sum == tried {
				continue
			}
			if sum == s.current().sum { // a broken edit undone: what is served is the file again
				tried = sum
				s.reloads.mu.Lock()
				s.reloads.lastError = ""
				s.reloads.mu.Unlock()
				continue
			}
			tried = sum
			s.log.Info("the config file changed; reloading", "config", s.configName())
			_ = s.Reload(ctx) // logged by Reload
		}
	}()
	return func() { cancel(); <-done }
}
