package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/restkit/restkit/internal/testenv"
	"github.com/restkit/restkit/postgres"

	"github.com/jackc/pgx/v5"
)

// sseClient follows one event stream like an EventSource: it reconnects after the
// stream ends or the server dies, sending the last id it saw as Last-Event-ID.
type sseClient struct {
	url       string
	connected chan struct{} // closed once the first stream opened
	connOnce  sync.Once

	mu     sync.Mutex
	events []sseEvent
	lastID int64
	resets int
	err    error // a broken promise: an id not above the last one
}

type sseEvent struct {
	id    int64
	event string
	data  map[string]any
}

// follow runs until ctx ends.
func (c *sseClient) follow(ctx context.Context) {
	for ctx.Err() == nil {
		c.once(ctx)
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *sseClient) once(ctx context.Context) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	c.mu.Lock()
	if c.lastID > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(c.lastID, 10))
	}
	c.mu.Unlock()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return
	}
	r := bufio.NewReader(resp.Body)
	if c.connected != nil {
		if _, err := r.ReadString('\n'); err != nil { // the opening comment: the stream is on
			return
		}
		c.connOnce.Do(func() { close(c.connected) })
	}
	var e sseEvent
	var data string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return // a message cut off by the end of the stream is not dispatched (HTML §9.2.6)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if e.event != "" {
				c.dispatch(e, data)
			} else if e.id > 0 { // an id alone (on a ping) moves the position
				c.mu.Lock()
				c.lastID = e.id
				c.mu.Unlock()
			}
			e, data = sseEvent{}, ""
		case strings.HasPrefix(line, "id: "):
			e.id, _ = strconv.ParseInt(line[4:], 10, 64)
		case strings.HasPrefix(line, "event: "):
			e.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			data = line[6:]
		}
	}
}

func (c *sseClient) dispatch(e sseEvent, data string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.id <= c.lastID && c.err == nil {
		c.err = fmt.Errorf("event id %d after %d", e.id, c.lastID)
	}
	c.lastID = e.id
	if e.event == "reset" {
		c.resets++
		return
	}
	_ = json.Unmarshal([]byte(data), &e.data)
	c.events = append(c.events, e)
}

// seen returns what the client has seen: each event as "id op" and n (when the data
// has one), and the error of a broken promise.
func (c *sseClient) seen() (map[string]int, []sseEvent, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	count := map[string]int{}
	for _, e := range c.events {
		count[eventName(e)]++
	}
	return count, append([]sseEvent(nil), c.events...), c.err
}

func eventName(e sseEvent) string {
	id, _ := e.data["id"].(float64)
	return fmt.Sprintf("%d %s", int64(id), e.event)
}

const eventsConfig = `
apis:
  - resources:
      items:
        key: id
        fields:
          id: {type: integer}
          n: {type: integer}
          color: {type: enum, values: [red, blue], filterable: true}
`

// TestEventStreamsAcrossKill: 50 writers and 20 streams (half of them filtered by
// color); the server is killed with SIGKILL half-way and restarted on its data.
// Every stream sees every acknowledged change that matches it, in id order with no
// id twice (so no change twice), resuming by Last-Event-ID; and nothing that does
// not match.
func TestEventStreamsAcrossKill(t *testing.T) {
	cfg := writeConfig(t, eventsConfig)
	addr := freeAddr(t)
	srv := startServerAt(t, addr, "", "--config", cfg)
	dir := srv.Data
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	streams := make([]*sseClient, 20)
	var followers sync.WaitGroup
	for i := range streams {
		url := srv.URL + "/items/events"
		if i%2 == 1 {
			url += "?color=red"
		}
		streams[i] = &sseClient{url: url, connected: make(chan struct{})}
		followers.Add(1)
		go func() { defer followers.Done(); streams[i].follow(ctx) }()
	}
	for _, s := range streams { // a write before a stream opens is not its to see
		select {
		case <-s.connected:
		case <-time.After(60 * time.Second):
			t.Fatal("a stream did not open within 60s")
		}
	}
	defer followers.Wait()
	defer cancel()

	// Each writer owns 8 keys; each key is created, updated, then deleted. Even keys
	// are red.
	var mu sync.Mutex
	acked := map[string]bool{} // "id op" of every acknowledged change
	var writes sync.WaitGroup
	halfway := make(chan struct{})
	var halfOnce sync.Once
	var count int
	for w := range 50 {
		writes.Add(1)
		go func() {
			defer writes.Done()
			for j := range 8 {
				id := w*100 + j
				color := map[bool]string{true: "red", false: "blue"}[id%2 == 0]
				for step, op := range []string{"created", "updated", "deleted"} {
					method, path, body := "POST", "/items", fmt.Sprintf(`{"id":%d,"n":%d,"color":%q}`, id, id*10, color)
					switch step {
					case 1:
						method, path, body = "PATCH", fmt.Sprintf("/items/%d", id), fmt.Sprintf(`{"n":%d}`, id*10+1)
					case 2:
						method, path, body = "DELETE", fmt.Sprintf("/items/%d", id), ""
					}
					// While the server is down, try again (a write cut off by the kill
					// may have committed: its retry then answers 409 or 404, and
					// the change is in the log without being acknowledged).
					code, err := send(http.DefaultClient, method, srv.URL+path, body)
					for retry := time.Now().Add(60 * time.Second); err != nil && time.Now().Before(retry); {
						time.Sleep(20 * time.Millisecond)
						code, err = send(http.DefaultClient, method, srv.URL+path, body)
					}
					if err == nil && code >= 200 && code < 300 {
						mu.Lock()
						acked[fmt.Sprintf("%d %s", id, op)] = true
						count++
						if count == 300 {
							halfOnce.Do(func() { close(halfway) })
						}
						mu.Unlock()
					}
				}
			}
		}()
	}
	// Kill half-way, restart where it was.
	<-halfway
	_ = srv.cmd.Process.Signal(syscall.SIGKILL)
	<-srv.done
	restarted := startServerAt(t, addr, dir, "--config", cfg)
	writes.Wait()
	mu.Lock()
	total := len(acked)
	mu.Unlock()
	if total < 1100 {
		t.Fatalf("only %d writes acknowledged", total)
	}
	t.Logf("%d acknowledged changes", total)

	// Wait until every stream has every acknowledged change that matches it.
	deadline := time.Now().Add(120 * time.Second)
	for i, s := range streams {
		red := i%2 == 1
		for {
			count, events, err := s.seen()
			if err != nil {
				t.Fatalf("stream %d: %v", i, err)
			}
			missing := 0
			var lacking []string
			for name := range acked {
				var id int
				fmt.Sscanf(name, "%d", &id)
				if red && id%2 != 0 {
					continue
				}
				if count[name] == 0 {
					missing++
					lacking = append(lacking, name)
				}
			}
			if missing == 0 {
				if red {
					for _, e := range events {
						if int64(e.data["id"].(float64))%2 != 0 {
							t.Fatalf("the red stream %d saw %v", i, e)
						}
					}
				}
				break
			}
			if time.Now().After(deadline) {
				fresh := &sseClient{url: restarted.URL + "/items/events?since=0"}
				fctx, fcancel := context.WithTimeout(ctx, 5*time.Second)
				fresh.follow(fctx)
				fcancel()
				fc, _, _ := fresh.seen()
				var inLog []string
				for _, name := range lacking {
					inLog = append(inLog, fmt.Sprintf("%s (in the log: %d)", name, fc[name]))
				}
				_, evs, _ := s.seen()
				t.Fatalf("stream %d lacks %d acknowledged changes after 120s: %v; it saw %d events, last id %d", i, missing, inLog, len(evs), s.lastID)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i, s := range streams {
		if s.resets > 0 {
			t.Errorf("stream %d was reset %d times: no event was pruned", i, s.resets)
		}
	}
	restarted.stop()
}

// TestEventsAcrossNodes: a write on node A reaches a stream on node B (PostgreSQL:
// LISTEN/NOTIFY wakes B, the shared change log is the truth).
func TestEventsAcrossNodes(t *testing.T) {
	c := newCluster(t)
	a, b := c.node(t, ""), c.node(t, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &sseClient{url: b.URL + "/counters/events"}
	go s.follow(ctx)
	// The stream is open once B answers it; a write before that may be missed by a
	// stream that started after it, so write until one arrives.
	deadline := time.Now().Add(60 * time.Second)
	for i := 1; ; i++ {
		start := time.Now()
		if code, err := send(http.DefaultClient, "POST", a.URL+"/counters", fmt.Sprintf(`{"id":%d,"n":%d}`, i, i)); err != nil || code != 201 {
			t.Fatalf("POST on A: %d %v", code, err)
		}
		for time.Since(start) < 2*time.Second {
			if _, events, _ := s.seen(); len(events) > 0 {
				t.Logf("a write on A reached a stream on B after %v", time.Since(start))
				if e := events[0]; e.event != "created" || e.data["id"].(float64) > float64(i) {
					t.Fatalf("B's stream: %+v", e)
				}
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatal("no write on A reached a stream on B within 60s")
		}
	}
}

// TestEventsResumeOnAnotherNode: a client that read an id on node A and reconnects
// to node B, whose feed has not reached that id yet, is resumed — B waits for its
// feed and sends what follows — not told that the id is ahead of B's log and to list
// again. The feeds of two nodes pass a gap in the log (a Seq drawn by a transaction
// that rolled back) each when it has proved the gap final, up to a poll apart, so
// one node is often behind the other by a few events.
func TestEventsResumeOnAnotherNode(t *testing.T) {
	pg := testenv.Postgres(t)
	schemaURL, drop, err := postgres.NewTestSchema(context.Background(), pg)
	if err != nil {
		t.Fatalf("a PostgreSQL schema: %v", err)
	}
	t.Cleanup(func() { _ = drop(context.Background()) })
	cfg := writeConfig(t, eventsConfig)
	a := startServer(t, "", "--config", cfg, "--postgres", schemaURL)
	b := startServer(t, "", "--config", cfg, "--postgres", schemaURL)
	conn, err := pgx.Connect(context.Background(), schemaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())

	// open reads a stream of items from Last-Event-ID after and returns its first
	// event (id and name) and the id in its data, waiting up to 60 s.
	open := func(node *server, after int64, write func()) (int64, string, float64) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, node.URL+"/items/events", nil)
		req.Header.Set("Last-Event-ID", strconv.FormatInt(after, 10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("stream on %s: %v", node.URL, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("stream on %s: %d", node.URL, resp.StatusCode)
		}
		if write != nil {
			write()
		}
		r := bufio.NewReader(resp.Body)
		var id int64
		var name string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("stream on %s after %d: %v", node.URL, after, err)
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case strings.HasPrefix(line, "id: "):
				id, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				name = line[7:]
			case strings.HasPrefix(line, "data: "):
				var d struct{ ID float64 }
				_ = json.Unmarshal([]byte(line[6:]), &d)
				return id, name, d.ID
			}
		}
	}
	post := func(n int) {
		if code, err := send(http.DefaultClient, "POST", a.URL+"/items", fmt.Sprintf(`{"id":%d,"n":%d}`, n, n)); err != nil || code != 201 {
			t.Errorf("POST on A: %d %v", code, err)
		}
	}
	// Each round: a Seq drawn and rolled back (a gap), a write on A read from A's
	// stream, then B's stream resumed from that id must bring the next write.
	post(1)
	last, _, _ := open(a, 0, nil)
	for i := 1; i <= 8; i++ {
		if _, err := conn.Exec(context.Background(), `BEGIN; SELECT nextval('_restkit_events_seq'); ROLLBACK`); err != nil {
			t.Fatal(err)
		}
		id, name, key := open(a, last, func() { post(2 * i) })
		if name != "created" || key != float64(2*i) {
			t.Fatalf("round %d: A's stream after %d: %d %s of item %v", i, last, id, name, key)
		}
		next, name, key := open(b, id, func() { post(2*i + 1) })
		if name != "created" || key != float64(2*i+1) || next <= id {
			t.Fatalf("round %d: B's stream resumed from %d (read on A): %d %s of item %v; want the created event of item %d", i, id, next, name, key, 2*i+1)
		}
		last = next
	}
}
