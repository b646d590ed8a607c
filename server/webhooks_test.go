package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestWebhooksRunWithTheServer: a config with webhooks gets the admin routes, the
// deliveries start with Run and stop with it; the node keeps its name in the data
// directory across restarts.
func TestWebhooksRunWithTheServer(t *testing.T) {
	var got atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(204)
	}))
	defer rcv.Close()
	yaml := carsYAML + fmt.Sprintf(`webhooks:
  allow_hosts: [127.0.0.1]
  endpoints:
    - {url: %q, events: [cars.*], secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYo=}
`, rcv.URL)
	data := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{API: parse(t, yaml), Data: data, Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var routes []string
	for _, r := range s.Routes() {
		routes = append(routes, r.Pattern)
	}
	if all := strings.Join(routes, " "); !strings.Contains(all, "/_admin/webhooks/deliveries ") || !strings.Contains(all, "/_admin/webhooks/deliveries/{id}/retry") {
		t.Errorf("routes: %s", all)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	base := "http://" + ln.Addr().String()
	resp, err := http.Post(base+"/cars", "application/json", strings.NewReader(`{"id":1,"model":"Golf"}`))
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("POST: %v %v", err, resp)
	}
	resp.Body.Close()
	for deadline := time.Now().Add(60 * time.Second); got.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no delivery")
		}
	}
	resp, err = http.Get(base + "/_admin/webhooks/deliveries")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), rcv.URL) {
		t.Errorf("GET /_admin/webhooks/deliveries: %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Stopped, the node gave its lease back.
	req := httptest.NewRequest("GET", "/_admin/webhooks/deliveries", nil)
	req.RemoteAddr = "127.0.0.1:5000"
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != 200 || strings.Contains(w.Body.String(), `"holder"`) {
		t.Errorf("after Run: %d %s", w.Code, w.Body)
	}
	id, err := os.ReadFile(filepath.Join(data, "node.id"))
	if err != nil || len(id) != 6 {
		t.Errorf("node.id: %v %x", err, id)
	}
	if !strings.Contains(string(body), fmt.Sprintf(`"holder":"%s-%x"`, hostname(t), id)) {
		t.Errorf("the holder is not the node named in node.id: %s", body)
	}
}

func hostname(t *testing.T) string {
	h, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	return h
}
