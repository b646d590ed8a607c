package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The webhook tests check deliveries from outside, as a receiver would: the
// signature with crypto/hmac here (not restkit's webhook package), ids for dedup,
// seq for order.

const webhookSecret = "whsec_6cXg7N/vVqEmagq+fL3Uo9CiTIVEDp3Uwkwm0OtC5/E="

const webhookConfig = `
apis:
  - resources:
      cars:
        key: id
        fields:
          id: {type: integer, min: 1}
          model: {type: string, required: true}
          color: {type: string, nullable: true}
        collection: [GET, POST]
        item: [GET, PUT, PATCH, DELETE]
    nouns:
      led:
        fields:
          state: {type: enum, values: ["on", "off"], default: "off"}
        update: toggle state
webhooks:
  allow_hosts: [127.0.0.1]
  endpoints:
    - url: %s/hooks
      events: [cars.*, led.*]
      secret: ` + webhookSecret + `
      headers: {X-Env: e2e}
`

// hookReceiver is a webhook endpoint: fail says, for the nth request (1-based),
// which status to answer instead of 204 (0: none).
type hookReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []hookDelivery
	fail func(n int) int
}

type hookDelivery struct {
	header http.Header
	body   []byte
	at     time.Time
}

func newHookReceiver(t *testing.T, fail func(n int) int) *hookReceiver {
	r := &hookReceiver{fail: fail}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, hookDelivery{req.Header.Clone(), body, time.Now()})
		n := len(r.got)
		r.mu.Unlock()
		if status := r.fail(n); status != 0 {
			w.WriteHeader(status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) all() []hookDelivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookDelivery(nil), r.got...)
}

// unique is every delivery once, by webhook-id, in the order first received.
func (r *hookReceiver) unique() []hookDelivery {
	seen := map[string]bool{}
	var out []hookDelivery
	for _, d := range r.all() {
		if id := d.header.Get("webhook-id"); !seen[id] {
			seen[id] = true
			out = append(out, d)
		}
	}
	return out
}

// checkSignature verifies a delivery as Standard Webhooks says a receiver should:
// HMAC-SHA256 over id.timestamp.body with the secret's key, compared in constant
// time, and a timestamp near now.
func checkSignature(t *testing.T, d hookDelivery) {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(webhookSecret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	id, ts := d.header.Get("webhook-id"), d.header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, d.body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	ok := false
	for _, sig := range strings.Fields(d.header.Get("webhook-signature")) {
		ok = ok || hmac.Equal([]byte(sig), []byte(want))
	}
	if !ok {
		t.Errorf("delivery %s: signature %q does not verify", id, d.header.Get("webhook-signature"))
	}
	if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || d.at.Sub(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		t.Errorf("delivery %s: webhook-timestamp %q, received at %s", id, ts, d.at)
	}
}

// waitUntil polls cond with a generous bound.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(90 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestWebhooksDeliverOnceInOrder: a receiver that fails its first 3 deliveries and
// then succeeds gets every event exactly once after dedup by webhook-id, in seq
// order, each signed; the admin API, /metrics, /openapi.json and /docs show them.
func TestWebhooksDeliverOnceInOrder(t *testing.T) {
	rcv := newHookReceiver(t, func(n int) int {
		if n <= 3 {
			return 500
		}
		return 0
	})
	cfg := writeConfig(t, fmt.Sprintf(webhookConfig, rcv.URL))
	s := startServer(t, "", "--config", cfg)
	s.run(t, []step{
		{method: "POST", path: "/cars", body: `{"id":1,"model":"Golf"}`, status: 201},
		{method: "POST", path: "/cars", body: `{"id":2,"model":"Zoe","color":"blue"}`, status: 201},
		{method: "PATCH", path: "/cars/1", body: `{"color":"red"}`, status: 200},
		{method: "POST", path: "/led", status: 200},
		{method: "DELETE", path: "/cars/2", status: 204},
		{method: "DELETE", path: "/led", status: 200},
	})
	want := []string{
		`cars.created 1 {"id":1,"model":"Golf","color":null}`,
		`cars.created 2 {"id":2,"model":"Zoe","color":"blue"}`,
		`cars.updated 3 {"id":1,"model":"Golf","color":"red"}`,
		`led.created 4 {"state":"on"}`,
		`cars.deleted 5 {"id":2}`,
		`led.updated 6 {"state":"off"}`,
	}
	waitUntil(t, "six distinct deliveries", func() bool { return len(rcv.unique()) >= len(want) })
	idRE := regexp.MustCompile(`^evt_[0-9a-f]+_([0-9]+)$`)
	for i, d := range rcv.unique() {
		var p struct {
			Type      string          `json:"type"`
			Timestamp time.Time       `json:"timestamp"`
			Seq       int64           `json:"seq"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(d.body, &p); err != nil {
			t.Fatalf("delivery %d: %v: %s", i, err, d.body)
		}
		if got := fmt.Sprintf("%s %d %s", p.Type, p.Seq, p.Data); i >= len(want) || got != want[i] {
			t.Errorf("delivery %d: %s", i, got)
		}
		if m := idRE.FindStringSubmatch(d.header.Get("webhook-id")); m == nil || m[1] != strconv.FormatInt(p.Seq, 10) {
			t.Errorf("delivery %d: webhook-id %q for seq %d", i, d.header.Get("webhook-id"), p.Seq)
		}
		if d.header.Get("Content-Type") != "application/json" || d.header.Get("User-Agent") != "restkit-webhooks" || d.header.Get("X-Env") != "e2e" ||
			time.Since(p.Timestamp) > 5*time.Minute {
			t.Errorf("delivery %d: headers %v, timestamp %s", i, d.header, p.Timestamp)
		}
		checkSignature(t, d)
	}
	// The first event was sent four times, with one id and one body, and signed anew each time.
	all := rcv.all()
	for _, d := range all[:4] {
		if d.header.Get("webhook-id") != all[0].header.Get("webhook-id") || string(d.body) != string(all[0].body) {
			t.Errorf("a retry differs: %s %s", d.header.Get("webhook-id"), d.body)
		}
		checkSignature(t, d)
	}
	if gap := all[1].at.Sub(all[0].at); gap < 500*time.Millisecond {
		t.Errorf("the first retry came %s after the first attempt: no backoff", gap)
	}

	var st struct {
		Endpoints []struct {
			Cursor, Lag int64
			Attempts    []struct {
				Seq     int64
				Attempt int
				Status  int
				Outcome string
			}
			Dead []any
		}
	}
	waitUntil(t, "the cursor at seq 6", func() bool {
		r := s.do("GET", "/_admin/webhooks/deliveries", "")
		return r.Status == 200 && json.Unmarshal(r.Body, &st) == nil && st.Endpoints[0].Cursor == 6
	})
	e := st.Endpoints[0]
	if e.Lag != 0 || len(e.Dead) != 0 || len(e.Attempts) != 9 || e.Attempts[8].Outcome != "failed" || e.Attempts[8].Status != 500 ||
		e.Attempts[5].Seq != 1 || e.Attempts[5].Attempt != 4 || e.Attempts[5].Outcome != "ok" {
		t.Errorf("GET /_admin/webhooks/deliveries: %+v", e)
	}
	metrics := string(s.do("GET", "/metrics", "").Body)
	for _, line := range []string{`outcome="failed"} 3`, `outcome="ok"} 6`} {
		if !regexp.MustCompile(`(?m)^restkit_webhook_deliveries_total\{endpoint="[0-9a-f]+",` + regexp.QuoteMeta(line) + `$`).MatchString(metrics) {
			t.Errorf("/metrics lacks restkit_webhook_deliveries_total{…,%s", line)
		}
	}
	var doc struct {
		Webhooks map[string]any `json:"webhooks"`
	}
	if err := json.Unmarshal(s.do("GET", "/openapi.json", "").Body, &doc); err != nil || len(doc.Webhooks) != 5 || doc.Webhooks["cars.deleted"] == nil || doc.Webhooks["led.deleted"] != nil {
		t.Errorf("the document's webhooks: %v %v", err, doc.Webhooks)
	}
	var printed struct {
		Webhooks map[string]any `json:"webhooks"`
	}
	out, err := runCLI(t, nil, "spec", "--config", cfg)
	if err != nil || json.Unmarshal([]byte(out), &printed) != nil || len(printed.Webhooks) != 5 || !reflect.DeepEqual(printed.Webhooks, doc.Webhooks) {
		t.Errorf("restkit spec's webhooks differ from the served ones: %v", err)
	}
	if docs := string(s.do("GET", "/docs", "").Body); !strings.Contains(docs, `<section id="webhooks">`) || !strings.Contains(docs, "<code>led.updated</code>") || !strings.Contains(docs, "webhook-signature") {
		t.Error("/docs has no webhooks section listing the types and the signature")
	}
}

// TestWebhooksSurviveKill: deliveries pending when the server is killed (its
// receiver failing) are made after a restart; none is lost, order holds.
func TestWebhooksSurviveKill(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	rcv := newHookReceiver(t, func(int) int {
		if failing.Load() {
			return 503
		}
		return 0
	})
	dir, cfg := t.TempDir(), writeConfig(t, fmt.Sprintf(webhookConfig, rcv.URL))
	s := startServer(t, dir, "--config", cfg)
	for i := 1; i <= 3; i++ {
		if r := s.do("POST", "/cars", fmt.Sprintf(`{"id":%d,"model":"m%d"}`, i, i)); r.Status != 201 {
			t.Fatalf("POST: %d %s", r.Status, r.Body)
		}
	}
	waitUntil(t, "a failed attempt", func() bool { return len(rcv.all()) >= 1 })
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.done
	failing.Store(false)
	s2 := startServer(t, dir, "--config", cfg)
	if r := s2.do("POST", "/cars", `{"id":4,"model":"m4"}`); r.Status != 201 {
		t.Fatalf("POST after the restart: %d", r.Status)
	}
	waitUntil(t, "four distinct deliveries", func() bool { return len(rcv.unique()) >= 4 })
	var seqs []string
	for _, d := range rcv.unique() {
		var p struct{ Seq int64 }
		_ = json.Unmarshal(d.body, &p)
		seqs = append(seqs, strconv.FormatInt(p.Seq, 10))
		checkSignature(t, d)
	}
	if got := strings.Join(seqs, ","); got != "1,2,3,4" {
		t.Errorf("delivered seqs %s, want 1,2,3,4", got)
	}
}

// TestReadmeWebhooksTour runs the README's Webhooks tour: examples/webhook_receiver.py
// (whose signature check the README quotes) receives from a server on
// examples/webhooks.yaml, and prints exactly the events the README shows; then the
// admin tour runs.
func TestReadmeWebhooksTour(t *testing.T) {
	for _, tool := range []string{"curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	readme, receiver := string(readFile(t, "../README.md")), string(readFile(t, "../examples/webhook_receiver.py"))
	quoted := readmeBlock(t, readme, "## Webhooks\n", "```python\n")
	if !strings.Contains(receiver, quoted) {
		t.Errorf("the README's Python is not examples/webhook_receiver.py's:\n%s", quoted)
	}
	config := string(readFile(t, "../examples/webhooks.yaml"))
	if shown := readmeBlock(t, readme, "## Webhooks\n", "```yaml\n"); !strings.Contains(config, shown) {
		t.Errorf("the README's webhooks: section is not examples/webhooks.yaml's:\n%s", shown)
	}
	secret := regexp.MustCompile(`secret: (whsec_\S+)`).FindStringSubmatch(config)[1]
	if secret != webhookSecret {
		t.Fatalf("examples/webhooks.yaml's secret is not webhookSecret")
	}
	// The delivery the README shows verifies with that secret.
	shown := readmeBlock(t, readme, "## Webhooks\n", "```http\n")
	head, body, _ := strings.Cut(shown, "\n\n")
	d := hookDelivery{header: http.Header{}, body: []byte(strings.TrimSuffix(body, "\n")), at: time.Now()}
	for _, line := range strings.Split(head, "\n")[1:] {
		name, value, _ := strings.Cut(line, ": ")
		d.header.Set(name, value)
	}
	ts, _ := strconv.ParseInt(d.header.Get("webhook-timestamp"), 10, 64)
	d.at = time.Unix(ts, 0)
	checkSignature(t, d)

	addr := freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	out := &syncBuffer{}
	cmd := exec.Command("python3", "../examples/webhook_receiver.py")
	cmd.Env = append(cleanEnv(), "WEBHOOK_SECRET="+secret, "PORT="+port)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitUntil(t, "the receiver", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	s := startServer(t, "", "--config", writeConfig(t, strings.Replace(config, "127.0.0.1:9000", addr, 1)))
	runTour(t, s, "webhooks")
	want := strings.TrimSuffix(readmeBlock(t, readme, "<!-- webhook receiver output -->", "```\n"), "\n")
	waitUntil(t, "the receiver's output", func() bool { return strings.Count(out.String(), "\n") >= strings.Count(want, "\n")+1 })
	if got := strings.TrimSuffix(out.String(), "\n"); got != want {
		t.Errorf("the receiver printed:\n%s\nthe README shows:\n%s", got, want)
	}
	runTour(t, s, "webhooks-admin")
}

// readmeBlock returns the first fenced block opened by fence after the line that
// holds after, without its fences.
func readmeBlock(t *testing.T, readme, after, fence string) string {
	t.Helper()
	i := strings.Index(readme, after)
	j := strings.Index(readme[max(i, 0):], fence)
	if i < 0 || j < 0 {
		t.Fatalf("README.md has no %q block after %q", fence, after)
	}
	rest := readme[i+j+len(fence):]
	end := strings.Index(rest, "```\n")
	if end < 0 {
		t.Fatalf("README.md: the block after %q does not end", after)
	}
	return rest[:end]
}
