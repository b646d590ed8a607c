package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/restkit/restkit/metrics"
	"github.com/restkit/restkit/sqlite"
)

// verify checks a delivery's Standard Webhooks signature the way a receiver would,
// with the standard library only (not Sign).
func verify(tb testing.TB, secret string, d delivery) {
	tb.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		tb.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(d.Header.Get("webhook-id") + "." + d.Header.Get("webhook-timestamp") + "." + string(d.Body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if got := d.Header.Get("webhook-signature"); !hmac.Equal([]byte(got), []byte(want)) {
		tb.Errorf("webhook-signature %q, want %q (body %s)", got, want, d.Body)
	}
}

// TestDeliversSignedInOrder: every write whose type an endpoint wants reaches it once,
// in seq order, with the body, headers and signature of Standard Webhooks; types it
// does not want move its cursor on; the metrics count the deliveries.
func TestDeliversSignedInOrder(t *testing.T) {
	s := testSchema(t)
	st := newSQLite(t, s)
	rcv := newReceiver(t, nil)
	clock := newFakeClock(t0)
	m := metrics.New()
	ep := endpointFor(rcv, "cars.*", "led.updated")
	ep.Headers = map[string]string{"X-Env": "test", "User-Agent": "custom"}
	d, _ := start(t, Options{Schema: s, Store: st, Endpoints: []Endpoint{ep}, AllowHosts: []string{"127.0.0.1"},
		Clock: clock, Metrics: metrics.NewWebhooks(m)})

	putCar(t, st, s, 1, "Golf")
	putCar(t, st, s, 2, "Zoe")
	putCar(t, st, s, 1, "Polo")
	setLED(t, st, s, "on") // led.created: not wanted
	setLED(t, st, s, "off")
	deleteCar(t, st, s, 2)
	waitFor(t, "five deliveries", func() bool { return len(rcv.deliveries()) >= 5 })

	evs, err := st.Events(t.Context(), 0, 100)
	if err != nil || len(evs) != 6 {
		t.Fatalf("the log: %v %+v", err, evs)
	}
	at := func(i int) string { return evs[i].Time.UTC().Format("2006-01-02T15:04:05.999999999Z07:00") }
	want := []string{
		fmt.Sprintf(`{"type":"cars.created","timestamp":%q,"seq":%d,"data":{"id":1,"model":"Golf","color":null}}`, at(0), evs[0].Seq),
		fmt.Sprintf(`{"type":"cars.created","timestamp":%q,"seq":%d,"data":{"id":2,"model":"Zoe","color":null}}`, at(1), evs[1].Seq),
		fmt.Sprintf(`{"type":"cars.updated","timestamp":%q,"seq":%d,"data":{"id":1,"model":"Polo","color":null}}`, at(2), evs[2].Seq),
		fmt.Sprintf(`{"type":"led.updated","timestamp":%q,"seq":%d,"data":{"state":"off"}}`, at(4), evs[4].Seq),
		fmt.Sprintf(`{"type":"cars.deleted","timestamp":%q,"seq":%d,"data":{"id":2}}`, at(5), evs[5].Seq),
	}
	got := rcv.deliveries()
	if len(got) != len(want) {
		t.Fatalf("%d deliveries, want %d", len(got), len(want))
	}
	idRE := regexp.MustCompile(`^evt_[0-9a-f]{8}_([0-9]+)$`)
	for i, g := range got {
		if string(g.Body) != want[i] {
			t.Errorf("delivery %d:\n got %s\nwant %s", i, g.Body, want[i])
		}
		h := g.Header
		id := idRE.FindStringSubmatch(h.Get("webhook-id"))
		if id == nil || id[1] != strconv.FormatInt(int64(payload(t, g.Body)["seq"].(float64)), 10) {
			t.Errorf("delivery %d: webhook-id %q", i, h.Get("webhook-id"))
		}
		if h.Get("webhook-timestamp") != strconv.FormatInt(t0.Unix(), 10) || h.Get("Content-Type") != "application/json" ||
			h.Get("User-Agent") != "custom" || h.Get("X-Env") != "test" {
			t.Errorf("delivery %d: headers %v", i, h)
		}
		verify(t, testSecret, g)
	}
	waitFor(t, "the cursor at the newest event", func() bool { return status(t, d).Cursor == evs[5].Seq })
	es := status(t, d)
	if es.Lag != 0 || es.Retry != nil || len(es.Attempts) != 5 || es.Attempts[0].Seq != evs[5].Seq || es.Attempts[0].Outcome != OutcomeOK ||
		es.Attempts[0].Status != 204 || es.Holder == "" || es.ID != ep.ID() {
		t.Errorf("status: %+v", es)
	}
	if n := metricValue(t, m, "restkit_webhook_deliveries_total", map[string]string{"endpoint": ep.ID(), "outcome": "ok"}); n != 5 {
		t.Errorf("deliveries ok = %v, want 5", n)
	}
	waitFor(t, "a lag of 0", func() bool {
		return metricValue(t, m, "restkit_webhook_lag_events", map[string]string{"endpoint": ep.ID()}) == 0
	})
}

// metricValue reads the series of a metric in m's registry whose labels hold want;
// -1 when there is none.
func metricValue(tb testing.TB, m *metrics.Metrics, name string, want map[string]string) float64 {
	tb.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	series:
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
					continue series
				}
			}
			if s.GetCounter() != nil {
				return s.GetCounter().GetValue()
			}
			return s.GetGauge().GetValue()
		}
	}
	return -1
}

// TestCursorSurvivesRestart: an endpoint seen for the first time starts at the
// newest event (history is not replayed); a Dispatcher started again on the same
// database delivers what was written while none ran, and nothing twice.
func TestCursorSurvivesRestart(t *testing.T) {
	s := testSchema(t)
	path := t.TempDir() + "/restkit.db"
	st := openSQLite(t, path, s)
	rcv := newReceiver(t, nil)
	o := Options{Schema: s, Endpoints: []Endpoint{endpointFor(rcv, "cars.*")}, AllowHosts: []string{"127.0.0.1"}}

	putCar(t, st, s, 1, "before any dispatcher")
	o.Store = st
	d1, stop := start(t, o)
	putCar(t, st, s, 2, "first run")
	waitFor(t, "car 2", func() bool { return len(rcv.deliveries()) == 1 && status(t, d1).Lag == 0 })
	stop()
	putCar(t, st, s, 3, "while stopped")
	putCar(t, st, s, 4, "while stopped")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	o.Store = openSQLite(t, path, s)
	d, _ := start(t, o)
	putCar(t, o.Store.(*sqlite.Store), s, 5, "second run")
	waitFor(t, "cars 3, 4 and 5", func() bool { return len(rcv.deliveries()) >= 4 })
	waitFor(t, "the cursor at the end", func() bool { return status(t, d).Lag == 0 })
	var models []string
	for _, g := range rcv.deliveries() {
		models = append(models, payload(t, g.Body)["data"].(map[string]any)["model"].(string))
	}
	if strings.Join(models, ",") != "first run,while stopped,while stopped,second run" {
		t.Errorf("delivered %q", models)
	}
}

// TestUnwantedEventsMoveTheCursor: events an endpoint's patterns do not match are
// never sent, and do not hold its cursor back.
func TestUnwantedEventsMoveTheCursor(t *testing.T) {
	s := testSchema(t)
	st := newSQLite(t, s)
	rcv := newReceiver(t, nil)
	d, _ := start(t, Options{Schema: s, Store: st, Endpoints: []Endpoint{endpointFor(rcv, "led.*")}, AllowHosts: []string{"127.0.0.1"}})
	for i := range int64(250) { // more than one read of the log
		putCar(t, st, s, i, "unwanted")
	}
	_, newest, _ := st.EventBounds(t.Context())
	waitFor(t, "the cursor past the cars", func() bool { return status(t, d).Cursor == newest })
	setLED(t, st, s, "on")
	waitFor(t, "the led", func() bool { return len(rcv.deliveries()) == 1 })
	if typ := payload(t, rcv.deliveries()[0].Body)["type"]; typ != "led.created" {
		t.Errorf("delivered %v", typ)
	}
	if h, err := d.Horizon(t.Context()); err != nil || h < newest {
		t.Errorf("Horizon = %d, %v; want at least %d", h, err, newest)
	}
}
