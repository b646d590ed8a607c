package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/restkit/restkit"
)

// The admin API, served under /_admin/ (DESIGN §13) by the server:
//
//	GET  /_admin/webhooks/deliveries             Status: every endpoint's cursor, lag, lease, retry, attempts, dead letters
//	POST /_admin/webhooks/deliveries/{id}/retry  RetryDead: one more attempt at a dead letter

// Status is what the admin API shows of the deliveries.
type Status struct {
	Endpoints []EndpointStatus `json:"endpoints"`
}

// EndpointStatus is one endpoint's deliveries.
type EndpointStatus struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
	// Cursor is the Seq of the last event the endpoint is done with; Newest the log's
	// newest; Lag the difference (events of any type).
	Cursor int64 `json:"cursor"`
	Newest int64 `json:"newest"`
	Lag    int64 `json:"lag"`
	// Holder is the node delivering to the endpoint, until LeaseExpires.
	Holder       string    `json:"holder,omitempty"`
	LeaseExpires time.Time `json:"lease_expires,omitzero"`
	// Retry is the event being retried, with when its next attempt is due.
	Retry *Pending `json:"retry,omitempty"`
	// FailingSince is when the current run of failed attempts began; Down, that a
	// delivery of the run was dead-lettered, so each later event gets one attempt
	// until one succeeds.
	FailingSince time.Time `json:"failing_since,omitzero"`
	Down         bool      `json:"down"`
	// Attempts are the latest attempts, newest first.
	Attempts []Attempt `json:"attempts"`
	// Dead are the dead letters, newest first; DeadDropped counts those dropped to
	// keep within MaxDeadLetters and MaxDeadLetterBytes.
	Dead        []DeadLetter `json:"dead"`
	DeadDropped int64        `json:"dead_dropped"`
}

// Pending is the event an endpoint is retrying.
type Pending = retryState

// Status reads every endpoint's deliveries.
func (d *Dispatcher) Status(ctx context.Context) (*Status, error) {
	_, newest, err := d.o.Store.EventBounds(ctx)
	if err != nil {
		return nil, err
	}
	out := &Status{Endpoints: []EndpointStatus{}}
	for _, ep := range d.endpoints {
		es := EndpointStatus{ID: ep.id, URL: ep.URL, Events: ep.Events, Newest: newest, Attempts: []Attempt{}, Dead: []DeadLetter{}}
		st, err := d.readEndpoint(ctx, ep)
		if err != nil {
			return nil, err
		}
		es.Cursor, es.Lag = st.Cursor, max(0, newest-st.Cursor)
		if st.Holder != "" && d.o.Clock.Now().Before(st.Expires) {
			es.Holder, es.LeaseExpires = st.Holder, st.Expires
		}
		es.Retry, es.FailingSince, es.Down = st.Retry, st.Failing, st.Down
		for i := len(st.Recent) - 1; i >= 0; i-- {
			es.Attempts = append(es.Attempts, st.Recent[i])
		}
		dl, err := readDead(ctx, d.o.Store, ep.id)
		if err != nil {
			return nil, err
		}
		for i := len(dl.Letters) - 1; i >= 0; i-- {
			es.Dead = append(es.Dead, dl.Letters[i])
		}
		es.DeadDropped = dl.Dropped
		out.Endpoints = append(out.Endpoints, es)
	}
	return out, nil
}

// readEndpoint reads an endpoint's state, or an empty one.
func (d *Dispatcher) readEndpoint(ctx context.Context, ep *endpoint) (*endpointState, error) {
	st, err := readEndpoint(ctx, d.o.Store, ep.id)
	if st == nil && err == nil {
		st = &endpointState{URL: ep.URL}
	}
	return st, err
}

// RetryResult is what a retry of a dead letter did.
type RetryResult struct {
	ID        string  `json:"id"`
	Delivered bool    `json:"delivered"` // the receiver answered 2xx: the dead letter is gone
	Attempt   Attempt `json:"attempt"`
}

// RetryDead makes one more attempt at the dead letter id (of the form
// <endpoint id>-<seq>), now, from this node, with its webhook-id and a fresh
// timestamp and signature. Delivered, the letter is removed; failed, it stays with
// the attempt counted. Errors: NotFound for no such letter; Conflict while another
// retry of it is under way; a store's errors.
func (d *Dispatcher) RetryDead(ctx context.Context, id string) (*RetryResult, error) {
	epID, _, _ := strings.Cut(id, "-")
	ep := d.endpointByID(epID)
	if ep == nil {
		return nil, restkit.Errorf(restkit.NotFound, "no dead letter %q: GET /_admin/webhooks/deliveries lists them", id)
	}
	now := d.o.Clock.Now()
	var letter DeadLetter
	err := writeDead(ctx, d.o.Store, ep.id, func(dl *deadLetters) error {
		i := slices.IndexFunc(dl.Letters, func(l DeadLetter) bool { return l.ID == id })
		switch {
		case i < 0:
			return restkit.Errorf(restkit.NotFound, "no dead letter %q: GET /_admin/webhooks/deliveries lists them", id)
		case now.Before(dl.Letters[i].Retrying):
			return restkit.Errorf(restkit.Conflict, "a retry of %s is under way; try again when it has finished", id)
		}
		dl.Letters[i].Retrying = now.Add(d.o.Timeout + 5*time.Second)
		letter = dl.Letters[i]
		return nil
	})
	if err != nil {
		return nil, err
	}
	status, sendErr := d.send(ctx, ep, letter.WebhookID, letter.Payload)
	a := Attempt{Seq: letter.Seq, Type: letter.Type, Attempt: letter.Attempts + 1, Time: now, Status: status, Node: d.o.Node, Outcome: OutcomeOK}
	if sendErr != nil {
		a.Outcome, a.Error = OutcomeFailed, sendErr.Error()
	}
	if d.o.Metrics != nil {
		d.o.Metrics.Delivery(ep.id, a.Outcome)
	}
	// The outcome is written even if the request that asked for it has gone.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err = writeDead(wctx, d.o.Store, ep.id, func(dl *deadLetters) error {
		i := slices.IndexFunc(dl.Letters, func(l DeadLetter) bool { return l.ID == id })
		switch {
		case i < 0: // not expected: only a retry removes a letter, and this one holds it
		case sendErr == nil:
			dl.Letters = slices.Delete(dl.Letters, i, i+1)
		default:
			l := &dl.Letters[i]
			l.Retrying, l.Attempts, l.Last, l.Status, l.Error = time.Time{}, a.Attempt, now, status, a.Error
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	_, err = writeEndpoint(wctx, d.o.Store, ep.id, nil, func(st *endpointState) error {
		if st.URL == "" {
			return errNoState
		}
		st.record(a)
		return nil
	})
	if err != nil && !errors.Is(err, errNoState) {
		return nil, err
	}
	d.log.Info("webhook dead letter retried", keyEndpoint, ep.id, "dead_letter", id, keyStatus, status, "delivered", sendErr == nil)
	return &RetryResult{ID: id, Delivered: sendErr == nil, Attempt: a}, nil
}

var errNoState = errors.New("no state")

// ServeDeliveries answers GET /_admin/webhooks/deliveries with Status as JSON.
func (d *Dispatcher) ServeDeliveries(w http.ResponseWriter, r *http.Request) error {
	st, err := d.Status(r.Context())
	if err != nil {
		return err
	}
	return writeJSON(w, st)
}

// ServeRetry answers POST /_admin/webhooks/deliveries/{id}/retry with the
// RetryResult as JSON (200, delivered or not).
func (d *Dispatcher) ServeRetry(w http.ResponseWriter, r *http.Request) error {
	res, err := d.RetryDead(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, res)
}

func writeJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
	return nil
}
