package server

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/restkit/restkit"
)

// running serves cfg on a loopback port until the test ends; it returns the base
// URL and a function that stops Run and waits for it.
func running(t *testing.T, cfg Config) (*Server, string, func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = ln
	if cfg.Data == "" {
		cfg.Data = t.TempDir()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() error {
		cancel()
		stopped = true
		select {
		case err := <-done:
			return err
		case <-time.After(2 * time.Minute):
			t.Fatal("Run did not return within 2 minutes of its context ending")
			return nil
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
		s.Close()
	})
	return s, "http://" + ln.Addr().String(), stop
}

// TestDrainEndsEventStreams: a drain ends the open event streams at once instead of
// waiting the drain time out for them.
func TestDrainEndsEventStreams(t *testing.T) {
	_, url, stop := running(t, Config{API: parse(t, carsYAML), Drain: 10 * time.Minute})
	resp, err := http.Get(url + "/cars/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%d", resp.StatusCode)
	}
	r := bufio.NewReader(resp.Body)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, ": events of /cars") {
		t.Fatalf("first line %q, %v", line, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := r.ReadString('\n'); err != nil {
			break // the stream ended
		}
	}
}

// TestEventsArePruned: the change log keeps events for events.keep.
func TestEventsArePruned(t *testing.T) {
	s, url, _ := running(t, Config{API: parse(t, carsYAML+"events: {keep: 1s}\n"), PruneInterval: 20 * time.Millisecond})
	for _, body := range []string{`{"id":1,"model":"T"}`, `{"id":2,"model":"A"}`} {
		resp, err := http.Post(url+"/cars", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	el := s.backends.store.(restkit.EventLog)
	if _, newest, _ := el.EventBounds(context.Background()); newest != 2 {
		t.Fatalf("newest %d", newest)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if oldest, _, _ := el.EventBounds(context.Background()); oldest == 2 {
			return // event 1 is gone; the newest always stays
		}
		if time.Now().After(deadline) {
			t.Fatal("an event older than keep was not pruned within 60s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
