package webhook

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/restkit/restkit/httpapi"
	"github.com/restkit/restkit/metrics"
)

// TestBackoffSchedule: a failing delivery is retried after about 1 s, then twice as
// long each time up to 10 minutes (each wait 80–100 % of its step), with the same
// webhook-id and body and a fresh timestamp and signature. The clock is the test's:
// nothing waits for a backoff in real time.
func TestBackoffSchedule(t *testing.T) {
	s := testSchema(t)
	st := newSQLite(t, s)
	rcv := newReceiver(t, func(int) int { return 503 })
	clock := newFakeClock(t0)
	d, _ := start(t, Options{Schema: s, Store: st, Endpoints: []Endpoint{endpointFor(rcv, "cars.*")}, AllowHosts: []string{"127.0.0.1"}, Clock: clock})
	putCar(t, st, s, 1, "Golf")
	for n := 1; n <= 14; n++ {
		waitFor(t, fmt.Sprintf("attempt %d", n), func() bool { es := status(t, d); return es.Retry != nil && es.Retry.Attempts == n })
		es := status(t, d)
		a := es.Attempts[0]
		if a.Attempt != n || a.Outcome != OutcomeFailed || a.Status != 503 || !a.Time.Equal(clock.Now()) || !strings.Contains(a.Error, "503") {
			t.Fatalf("attempt %d: %+v", n, a)
		}
		step := min(time.Second<<(n-1), 10*time.Minute)
		if delay := es.Retry.Next.Sub(a.Time); delay < step*4/5 || delay > step {
			t.Errorf("after attempt %d: next in %s, want %s to %s", n, delay, step*4/5, step)
		}
		got := rcv.deliveries()
		if len(got) != n {
			t.Fatalf("after attempt %d the receiver has %d requests", n, len(got))
		}
		g, first := got[n-1], got[0]
		if g.Header.Get("webhook-id") != first.Header.Get("webhook-id") || string(g.Body) != string(first.Body) ||
			g.Header.Get("webhook-timestamp") != fmt.Sprint(clock.Now().Unix()) {
			t.Errorf("attempt %d: id %q timestamp %q body %s; the first: id %q body %s", n,
				g.Header.Get("webhook-id"), g.Header.Get("webhook-timestamp"), g.Body, first.Header.Get("webhook-id"), first.Body)
		}
		verify(t, testSecret, g)
		clock.Set(es.Retry.Next)
	}
}

// TestDeadLetterAndAdminRetry: after 24 h of failures a delivery is dead-lettered,
// kept with its payload, and the cursor moves on; while the endpoint keeps failing,
// later events get one attempt each; the admin API lists the dead letters and its
// retry route sends one again, with its webhook-id.
func TestDeadLetterAndAdminRetry(t *testing.T) {
	s := testSchema(t)
	st := newSQLite(t, s)
	var answer atomic.Int32
	answer.Store(503)
	rcv := newReceiver(t, func(int) int { return int(answer.Load()) })
	clock := newFakeClock(t0)
	m := metrics.New()
	ep := endpointFor(rcv, "cars.*")
	d, _ := start(t, Options{Schema: s, Store: st, Endpoints: []Endpoint{ep}, AllowHosts: []string{"127.0.0.1"}, Clock: clock, Metrics: metrics.NewWebhooks(m)})

	putCar(t, st, s, 1, "Golf")
	for n := 1; ; n++ {
		waitFor(t, fmt.Sprintf("attempt %d", n), func() bool { es := status(t, d); return len(es.Attempts) > 0 && es.Attempts[0].Attempt == n })
		es := status(t, d)
		if es.Retry == nil {
			break
		}
		if n > 200 {
			t.Fatal("no dead letter after 200 attempts")
		}
		clock.Set(es.Retry.Next)
	}
	es := status(t, d)
	last := es.Attempts[0]
	span := last.Time.Sub(t0)
	if last.Outcome != OutcomeDead || span > 24*time.Hour || span < 24*time.Hour-10*time.Minute || len(es.Dead) != 1 || !es.FailingSince.Equal(t0) || !es.Down {
		t.Fatalf("the last attempt %+v, %s after the first; status %+v", last, span, es)
	}
	letter := es.Dead[0]
	first := rcv.deliveries()[0]
	if letter.Seq != es.Cursor || letter.Attempts != last.Attempt || string(letter.Payload) != string(first.Body) ||
		letter.WebhookID != first.Header.Get("webhook-id") || letter.ID != ep.ID()+"-"+fmt.Sprint(letter.Seq) || letter.Status != 503 {
		t.Errorf("dead letter %+v", letter)
	}

	// Still failing, 24 h after the run of failures began: one attempt, then dead.
	putCar(t, st, s, 2, "Zoe")
	waitFor(t, "the second dead letter", func() bool {
		es := status(t, d)
		return len(es.Dead) == 2 && es.Attempts[0].Seq == es.Dead[0].Seq // the letter is written before the attempt
	})
	if a := status(t, d).Attempts[0]; a.Attempt != 1 || a.Outcome != OutcomeDead {
		t.Errorf("the second event's attempt: %+v", a)
	}
	// A success ends the run of failures.
	answer.Store(200)
	putCar(t, st, s, 3, "Polo")
	waitFor(t, "car 3 delivered", func() bool { return status(t, d).Attempts[0].Outcome == OutcomeOK })
	if es := status(t, d); !es.FailingSince.IsZero() || es.Down || es.Lag != 0 {
		t.Errorf("after a success: %+v", es)
	}
	if n := metricValue(t, m, "restkit_webhook_deliveries_total", map[string]string{"endpoint": ep.ID(), "outcome": "dead"}); n != 2 {
		t.Errorf("dead deliveries = %v, want 2", n)
	}

	admin := adminHandler(t, d)
	before := len(rcv.deliveries())
	r := admin.do("POST", "/_admin/webhooks/deliveries/"+letter.ID+"/retry")
	var res RetryResult
	if r.Code != 200 || json.Unmarshal(r.Body.Bytes(), &res) != nil || !res.Delivered || res.Attempt.Status != 200 || res.Attempt.Attempt != letter.Attempts+1 {
		t.Fatalf("retry: %d %s", r.Code, r.Body)
	}
	resent := rcv.deliveries()[before]
	if string(resent.Body) != string(letter.Payload) || resent.Header.Get("webhook-id") != letter.WebhookID {
		t.Errorf("the retry sent %s with id %q", resent.Body, resent.Header.Get("webhook-id"))
	}
	verify(t, testSecret, resent)
	var listed Status
	r = admin.do("GET", "/_admin/webhooks/deliveries")
	if r.Code != 200 || r.Header().Get("Content-Type") != "application/json" || json.Unmarshal(r.Body.Bytes(), &listed) != nil ||
		len(listed.Endpoints) != 1 || len(listed.Endpoints[0].Dead) != 1 || listed.Endpoints[0].Dead[0].Seq != letter.Seq+1 ||
		listed.Endpoints[0].URL != ep.URL || listed.Endpoints[0].Attempts[0].Seq != letter.Seq {
		t.Fatalf("after the retry: %d %s", r.Code, r.Body)
	}

	// A retry that fails keeps the letter, with the attempt counted.
	answer.Store(500)
	second := listed.Endpoints[0].Dead[0]
	r = admin.do("POST", "/_admin/webhooks/deliveries/"+second.ID+"/retry")
	if r.Code != 200 || json.Unmarshal(r.Body.Bytes(), &res) != nil || res.Delivered || res.Attempt.Status != 500 || res.Attempt.Outcome != OutcomeFailed {
		t.Fatalf("a failing retry: %d %s", r.Code, r.Body)
	}
	if dead := status(t, d).Dead; len(dead) != 1 || dead[0].Attempts != 2 || dead[0].Status != 500 || !dead[0].Retrying.IsZero() {
		t.Errorf("after a failing retry: %+v", dead)
	}
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"POST", "/_admin/webhooks/deliveries/" + letter.ID + "/retry", 404}, // delivered: gone
		{"POST", "/_admin/webhooks/deliveries/nothing/retry", 404},
		{"GET", "/_admin/webhooks/deliveries/" + second.ID + "/retry", 405},
	} {
		if r := admin.do(c.method, c.path); r.Code != c.want || (c.want == 404 && r.Header().Get("Content-Type") != "application/problem+json") {
			t.Errorf("%s %s: %d %s %s", c.method, c.path, r.Code, r.Header().Get("Content-Type"), r.Body)
		}
	}
}

// adminServer serves a Dispatcher's admin routes as the server does, behind the
// admin guard (no auth: loopback clients).
type adminServer struct {
	t *testing.T
	h http.Handler
}

func adminHandler(t *testing.T, d *Dispatcher) adminServer {
	h, err := httpapi.New(httpapi.Options{Schema: d.o.Schema, Store: d.o.Store.(migrator), Admin: []httpapi.AdminRoute{
		{Pattern: "/_admin/webhooks/deliveries", Allow: "GET, HEAD, OPTIONS", Serve: d.ServeDeliveries},
		{Pattern: "/_admin/webhooks/deliveries/{id}/retry", Allow: "POST, OPTIONS", Serve: d.ServeRetry},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return adminServer{t, h}
}

func (a adminServer) do(method, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.RemoteAddr = "127.0.0.1:5000"
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}
