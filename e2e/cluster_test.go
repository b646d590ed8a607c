package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/restkit/restkit/internal/testenv"
	"github.com/restkit/restkit/postgres"
)

// clusterConfig is the API two nodes serve in the scale-out tests.
const clusterConfig = `
apis:
  - resources:
      counters:
        key: id
        fields:
          id: {type: integer}
          n: {type: integer, required: true}
      %s:
        key: id
        fields:
          id: {type: integer}
        ratelimit: {rate: 1/h, burst: 5}
artefacts: {path: /artefacts}
`

// cluster is the shared services of a scale-out test: a fresh PostgreSQL schema, a
// fresh prefix in the S3 bucket, Redis. It skips the test when any is missing (testenv).
type cluster struct {
	args    []string // --postgres --s3 --redis for every node
	cfg     string
	limited string // a rate-limited resource: named afresh, so that Redis holds no bucket of it yet
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	pg, s3, rd := testenv.Postgres(t), testenv.S3(t), testenv.Redis(t)
	schemaURL, drop, err := postgres.NewTestSchema(context.Background(), pg)
	if err != nil {
		t.Fatalf("a PostgreSQL schema for the cluster: %v", err)
	}
	t.Cleanup(func() { _ = drop(context.Background()) })
	// A prefix of its own in the bucket: s3://K:S@host/bucket[/prefix]?… gets /cluster-<random>.
	base, query, _ := strings.Cut(s3, "?")
	s3 = base + "/cluster-" + randomHex(6) + "?" + query
	limited := "limited_" + randomHex(4)
	return &cluster{args: []string{"--postgres", schemaURL, "--s3", s3, "--redis", rd}, cfg: writeConfig(t, fmt.Sprintf(clusterConfig, limited)), limited: limited}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// node starts one restkit process of the cluster (its own data directory).
func (c *cluster) node(t *testing.T, addr string) *server {
	t.Helper()
	if addr == "" {
		addr = freeAddr(t)
	}
	return startServerAt(t, addr, "", append([]string{"--config", c.cfg}, c.args...)...)
}

// TestClusterSharesEverything: two nodes on one PostgreSQL, one S3 bucket and one
// Redis behave as one server.
func TestClusterSharesEverything(t *testing.T) {
	c := newCluster(t)
	a, b := c.node(t, ""), c.node(t, "")

	// A write on A is read on B.
	if r := a.do("POST", "/counters", `{"id":1,"n":0}`); r.Status != 201 {
		t.Fatalf("POST on A: %d %s", r.Status, r.Body)
	}
	if r := b.do("GET", "/counters/1", ""); r.Status != 200 || string(r.Body) != `{"id":1,"n":0}`+"\n" {
		t.Fatalf("GET on B: %d %s", r.Status, r.Body)
	}

	// A cursor made by A is accepted by B (the signing key is shared).
	for i := 2; i <= 5; i++ {
		a.do("POST", "/counters", fmt.Sprintf(`{"id":%d,"n":0}`, i))
	}
	r := a.do("GET", "/counters?limit=2", "")
	next := r.Header.Get("Link")
	start, end := strings.Index(next, "<"), strings.Index(next, ">")
	if start < 0 || end < start {
		t.Fatalf("no next link: %q", next)
	}
	if r := b.do("GET", next[start+1:end], ""); r.Status != 200 || !strings.Contains(string(r.Body), `"id":3`) {
		t.Fatalf("A's cursor on B: %d %s", r.Status, r.Body)
	}

	// Read-modify-write with If-Match, half the clients on each node: none is lost.
	const clients = 30
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes := []*server{a, b}
			for attempt := 0; attempt < 500; attempt++ {
				read, write := nodes[(i+attempt)%2], nodes[(i+attempt+1)%2] // read on one node, write on the other
				r := read.do("GET", "/counters/1", "")
				var v struct{ N int }
				if r.Status != 200 || json.Unmarshal(r.Body, &v) != nil {
					t.Errorf("GET: %d %s", r.Status, r.Body)
					return
				}
				w := write.do("PUT", "/counters/1", fmt.Sprintf(`{"n":%d}`, v.N+1), "If-Match", r.Header.Get("ETag"))
				if w.Status == 200 {
					return
				}
				if w.Status != 412 {
					t.Errorf("PUT: %d %s", w.Status, w.Body)
					return
				}
			}
			t.Error("gave up after 500 attempts")
		}()
	}
	wg.Wait()
	if r := a.do("GET", "/counters/1", ""); string(r.Body) != fmt.Sprintf(`{"id":1,"n":%d}`+"\n", clients) {
		t.Fatalf("after %d increments across nodes: %s", clients, r.Body)
	}

	// An artefact pushed to A downloads intact from B.
	content := make([]byte, 3<<20+17)
	_, _ = rand.Read(content)
	sum := sha256.Sum256(content)
	if r := a.do("PUT", "/artefacts/builds/app.bin", string(content), "Content-Type", "application/octet-stream"); r.Status != 201 {
		t.Fatalf("PUT on A: %d %s", r.Status, r.Body)
	}
	if r := b.do("GET", "/artefacts/builds/app.bin", ""); r.Status != 200 || !bytes.Equal(r.Body, content) || r.Header.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Fatalf("GET on B: %d, %d bytes, ETag %s", r.Status, len(r.Body), r.Header.Get("ETag"))
	}
	if r := b.do("GET", "/artefacts/builds/app.bin", "", "Range", "bytes=1048576-1048579"); r.Status != 206 || !bytes.Equal(r.Body, content[1<<20:1<<20+4]) {
		t.Fatalf("range on B: %d %x", r.Status, r.Body)
	}

	// The rate limit is one bucket across nodes: 5 at once, for the client, wherever it calls.
	statuses := ""
	for i := 0; i < 7; i++ {
		n := []*server{a, b}[i%2]
		statuses += fmt.Sprintf("%d ", n.do("GET", "/"+c.limited, "").Status)
	}
	if statuses != "200 200 200 200 200 429 429 " {
		t.Fatalf("shared limit across A and B: %s", statuses)
	}

	// Both nodes are ready: store, blobs and limiter answer.
	for _, n := range []*server{a, b} {
		r := n.do("GET", "/readyz", "")
		if r.Status != 200 || !strings.Contains(string(r.Body), `{"name":"limiter","ok":true}`) || !strings.Contains(string(r.Body), `{"name":"blobs","ok":true}`) {
			t.Fatalf("readyz: %d %s", r.Status, r.Body)
		}
	}
}

// TestClusterNodeKilledMidUpload: a node killed while it receives a new version
// leaves the other node serving the previous version, and no partial artefact.
func TestClusterNodeKilledMidUpload(t *testing.T) {
	c := newCluster(t)
	a, b := c.node(t, ""), c.node(t, "")
	v1 := bytes.Repeat([]byte("version one\n"), 1000)
	if r := a.do("PUT", "/artefacts/docs/f.txt", string(v1), "Content-Type", "text/plain"); r.Status != 201 {
		t.Fatalf("v1: %d %s", r.Status, r.Body)
	}
	// Version 2 arrives slowly on A: 4 MiB declared, 1 MiB sent, then A is killed.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", a.URL+"/artefacts/docs/f.txt", pr)
	req.ContentLength = 4 << 20
	req.Header.Set("Content-Type", "text/plain")
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("the upload was answered %d", resp.StatusCode)
		}
		done <- err
	}()
	if _, err := pw.Write(bytes.Repeat([]byte("2"), 1<<20)); err != nil {
		t.Fatal(err)
	}
	_ = a.cmd.Process.Signal(syscall.SIGKILL)
	<-a.done
	_ = pw.CloseWithError(errors.New("node killed"))
	if err := <-done; err == nil {
		t.Fatal("the upload to the killed node succeeded")
	}
	if r := b.do("GET", "/artefacts/docs/f.txt", ""); r.Status != 200 || !bytes.Equal(r.Body, v1) || r.Header.Get("X-Artefact-Version") != "1" {
		t.Fatalf("B after A died: %d version %s, %d bytes", r.Status, r.Header.Get("X-Artefact-Version"), len(r.Body))
	}
	var versions []map[string]any
	if r := b.do("GET", "/artefacts/docs/f.txt/versions", ""); r.Status != 200 || json.Unmarshal(r.Body, &versions) != nil || len(versions) != 1 {
		t.Fatalf("versions on B: %s", r.Body)
	}
}

// TestClusterRollingRestart: under a steady load spread over two nodes by a client
// that, like a load balancer, sends a request to the other node when a node refuses
// the connection, restarting one node (SIGTERM, drain, start again) fails no request.
func TestClusterRollingRestart(t *testing.T) {
	c := newCluster(t)
	addrA := freeAddr(t)
	a, b := c.node(t, addrA), c.node(t, "")
	if r := a.do("POST", "/counters", `{"id":1,"n":0}`); r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Body)
	}
	var nodes atomic.Pointer[[2]string]
	nodes.Store(&[2]string{a.URL, b.URL})
	hc := &http.Client{Timeout: 30 * time.Second}
	var sent, failed, rerouted atomic.Int64
	var failures sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var stopOnce sync.Once
	stopLoad := func() { stopOnce.Do(func() { close(stop); wg.Wait() }) }
	defer stopLoad()
	for w := 0; w < 5; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				urls := nodes.Load()
				first, other := urls[i%2], urls[(i+1)%2]
				if w < 2 {
					// Slow uploads (half a second each): some are in flight when A is told to
					// stop, and only a drain lets them finish.
					status, err := slowUpload(hc, first+fmt.Sprintf("/artefacts/roll/f%d", i))
					if err != nil && isRefused(err) {
						rerouted.Add(1)
						status, err = slowUpload(hc, other+fmt.Sprintf("/artefacts/roll/f%d", i))
					}
					sent.Add(1)
					if err != nil || (status != 201 && status != 200) {
						failed.Add(1)
						failures.Store(fmt.Sprintf("slow upload %v %d", err, status), true)
					}
					continue
				}
				method, body := "GET", ""
				if i%3 == 0 {
					method, body = "PUT", fmt.Sprintf(`{"n":%d}`, i)
				}
				status, err := send(hc, method, first+"/counters/1", body)
				if err != nil && isRefused(err) { // what a load balancer retries elsewhere
					rerouted.Add(1)
					status, err = send(hc, method, other+"/counters/1", body)
				}
				sent.Add(1)
				if err != nil || status != 200 {
					failed.Add(1)
					failures.Store(fmt.Sprintf("%s %v %d", method, err, status), true)
				}
				time.Sleep(5 * time.Millisecond) // a bounded load
			}
		}()
	}
	// The phases wait for what they need, not for a time: however slowly the
	// machine runs, the load covers the restart.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				stopLoad()
				t.Fatalf("%s: not within 60s (%d sent, %d rerouted, %d failed)", what, sent.Load(), rerouted.Load(), failed.Load())
			}
		}
	}
	waitFor("load before the restart", func() bool { return sent.Load() >= 50 })
	a.stop() // SIGTERM: drain, exit 0
	waitFor("a request sent elsewhere while A is down", func() bool { return rerouted.Load() > 0 })
	c.node(t, addrA) // the new version of A, where A was
	restarted := sent.Load()
	waitFor("load after the restart", func() bool { return sent.Load() >= restarted+50 })
	stopLoad()
	if failed.Load() != 0 {
		var list []string
		failures.Range(func(k, _ any) bool { list = append(list, k.(string)); return true })
		t.Fatalf("%d of %d requests failed during the restart: %v", failed.Load(), sent.Load(), list)
	}
	t.Logf("%d requests, %d rerouted while A restarted, 0 failed", sent.Load(), rerouted.Load())
}

// slowUpload PUTs 10 chunks of 4 KiB, 50 ms apart.
func slowUpload(hc *http.Client, url string) (int, error) {
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < 10; i++ {
			if _, err := pw.Write(bytes.Repeat([]byte{byte('a' + i)}, 4096)); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		pw.Close()
	}()
	req, err := http.NewRequest("PUT", url, pr)
	if err != nil {
		return 0, err
	}
	req.ContentLength = 10 * 4096
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := hc.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

func send(hc *http.Client, method, url, body string) (int, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	// PUT is idempotent (RFC 9110); saying so lets Go's client resend it on a kept-alive
	// connection the server closed before reading it, as it does for GET.
	req.Header.Set("Idempotency-Key", randomHex(8))
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// isRefused reports a connection the node refused (it is down or stopping): what
// nginx's proxy_next_upstream error retries on another node. A request cut off once
// sent is not retried: it counts as failed.
func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// TestS3PrefixBelongsToOneStore: a second node with the same --s3 prefix but its own
// SQLite (no shared --postgres) would collect the first node's blobs as unreferenced;
// it is refused instead, and the first node's files stay whole.
func TestS3PrefixBelongsToOneStore(t *testing.T) {
	s3 := testenv.S3(t)
	base, query, _ := strings.Cut(s3, "?")
	s3 = base + "/solo-" + randomHex(6) + "?" + query
	x := startServer(t, "", "--s3", s3)
	if r := x.do("PUT", "/artefacts/d/solo.txt", "solo", "Content-Type", "text/plain"); r.Status != 201 {
		t.Fatalf("PUT: %d %s", r.Status, r.Body)
	}
	out, err := runCLI(t, nil, "serve", "--addr", freeAddr(t), "--data", t.TempDir(), "--s3", s3)
	if err == nil || !strings.Contains(out, "holds the blobs of another restkit store") {
		t.Fatalf("a second store on the prefix: %v\n%s", err, out)
	}
	if r := x.do("GET", "/artefacts/d/solo.txt", ""); r.Status != 200 || string(r.Body) != "solo" {
		t.Fatalf("the first node's file: %d %s", r.Status, r.Body)
	}
	// The first node restarted on its own data claims its prefix again.
	x.stop()
	y := startServer(t, x.Data, "--s3", s3)
	if r := y.do("GET", "/artefacts/d/solo.txt", ""); r.Status != 200 || string(r.Body) != "solo" {
		t.Fatalf("after a restart: %d %s", r.Status, r.Body)
	}
}
