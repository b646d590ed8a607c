package webhook

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestDestinationsRefused: a delivery to a loopback address is refused when the
// connection is made, and recorded, unless allow_hosts lists the address, a prefix
// holding it, or the URL's host name.
func TestDestinationsRefused(t *testing.T) {
	s := testSchema(t)
	for _, c := range []struct {
		name  string
		allow []string
		host  string // replaces 127.0.0.1 in the receiver's URL
		ok    bool
	}{
		{"not listed", nil, "", false},
		{"another address listed", []string{"10.0.0.1", "192.168.0.0/16"}, "", false},
		{"address listed", []string{"127.0.0.1"}, "", true},
		{"prefix listed", []string{"127.0.0.0/8"}, "", true},
		{"name not listed", []string{"10.0.0.0/8"}, "localhost", false},
		{"name listed", []string{"LocalHost"}, "localhost", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := newSQLite(t, s)
			rcv := newReceiver(t, nil)
			ep := endpointFor(rcv, "cars.*")
			if c.host != "" {
				ep.URL = strings.Replace(ep.URL, "127.0.0.1", c.host, 1)
			}
			d, _ := start(t, Options{Schema: s, Store: st, Endpoints: []Endpoint{ep}, AllowHosts: c.allow, Clock: newFakeClock(t0)})
			putCar(t, st, s, 1, "Golf")
			waitFor(t, "an attempt", func() bool { return len(status(t, d).Attempts) > 0 })
			a := status(t, d).Attempts[0]
			switch {
			case c.ok && (a.Outcome != OutcomeOK || len(rcv.deliveries()) != 1):
				t.Errorf("allowed: %+v, %d requests", a, len(rcv.deliveries()))
			case !c.ok && (a.Outcome != OutcomeFailed || a.Status != 0 || !strings.Contains(a.Error, "is a loopback address; list it in webhooks.allow_hosts") ||
				len(rcv.deliveries()) != 0):
				t.Errorf("refused: %+v, %d requests", a, len(rcv.deliveries()))
			}
		})
	}
}

// TestNonPublic names the addresses the dialer refuses, and lets public ones through.
func TestNonPublic(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1": "a loopback address", "::1": "a loopback address", "::ffff:127.0.0.1": "a loopback address",
		"10.1.2.3": "a private address", "172.16.0.1": "a private address", "192.168.1.1": "a private address", "fd00::1": "a private address",
		"::ffff:10.0.0.1": "a private address", "169.254.169.254": "a link-local address", "fe80::1": "a link-local address",
		"0.0.0.0": "an unspecified address", "::": "an unspecified address", "224.0.0.1": "a multicast address", "ff02::1": "a multicast address",
		"255.255.255.255": "the broadcast address", "100.64.0.1": "a shared (carrier-grade NAT) address", "0.1.2.3": "a 'this network' address",
		"64:ff9b::a00:1": "a NAT64 address", "2002:a00:1::": "a 6to4 address",
		"8.8.8.8": "", "1.1.1.1": "", "2606:4700:4700::1111": "", "93.184.216.34": "",
	} {
		if got := nonPublic(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: %q, want %q", addr, got, want)
		}
	}
}

// TestRedirectsNotFollowed: a 3xx is a failed delivery; its Location is not visited.
func TestRedirectsNotFollowed(t *testing.T) {
	s := testSchema(t)
	st := newSQLite(t, s)
	target := newReceiver(t, nil)
	var redirected atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		redirected.Add(1)
		http.Redirect(w, r, target.URL+"/elsewhere", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(rcv.Close)
	d, _ := start(t, Options{Schema: s, Store: st, AllowHosts: []string{"127.0.0.1"}, Clock: newFakeClock(t0),
		Endpoints: []Endpoint{{URL: rcv.URL, Events: []string{"*"}, Secret: testSecret}}})
	putCar(t, st, s, 1, "Golf")
	waitFor(t, "an attempt", func() bool { return len(status(t, d).Attempts) > 0 })
	if a := status(t, d).Attempts[0]; a.Outcome != OutcomeFailed || a.Status != 307 || redirected.Load() != 1 || len(target.deliveries()) != 0 {
		t.Errorf("%+v; redirected %d, target got %d", a, redirected.Load(), len(target.deliveries()))
	}
}

// TestAnswerReadIsCapped: a receiver that answers 2xx and then an endless body gets
// its delivery counted as done after MaxResponse bytes; the rest is never read.
func TestAnswerReadIsCapped(t *testing.T) {
	s := testSchema(t)
	st := newSQLite(t, s)
	var written atomic.Int64
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		chunk := make([]byte, 32<<10)
		for written.Load() < 1<<30 { // until the client hangs up
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	t.Cleanup(rcv.Close)
	// Without the cap the read would end only at the timeout, and fail.
	d, _ := start(t, Options{Schema: s, Store: st, AllowHosts: []string{"127.0.0.1"}, Clock: newFakeClock(t0), Timeout: time.Minute,
		Endpoints: []Endpoint{{URL: rcv.URL, Events: []string{"*"}, Secret: testSecret}}})
	putCar(t, st, s, 1, "Golf")
	waitFor(t, "an attempt", func() bool { return len(status(t, d).Attempts) > 0 })
	if a := status(t, d).Attempts[0]; a.Outcome != OutcomeOK || a.Status != 200 {
		t.Errorf("%+v", a)
	}
	rcv.CloseClientConnections()
	if w := written.Load(); w >= 1<<30 {
		t.Errorf("the receiver wrote %d bytes: the client read them all", w)
	}
}

// TestAttemptTimeout: an answer that does not come within Timeout is a failed
// attempt, saying so.
func TestAttemptTimeout(t *testing.T) {
	s := testSchema(t)
	st := newSQLite(t, s)
	release := make(chan struct{})
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); rcv.Close() })
	d, _ := start(t, Options{Schema: s, Store: st, AllowHosts: []string{"127.0.0.1"}, Clock: newFakeClock(t0), Timeout: 50 * time.Millisecond,
		Endpoints: []Endpoint{{URL: rcv.URL, Events: []string{"*"}, Secret: testSecret}}})
	putCar(t, st, s, 1, "Golf")
	waitFor(t, "an attempt", func() bool { return len(status(t, d).Attempts) > 0 })
	if a := status(t, d).Attempts[0]; a.Outcome != OutcomeFailed || a.Status != 0 || a.Error != "no answer within 50ms" {
		t.Errorf("%+v", a)
	}
}
