package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/restkit/restkit"
)

// batch is how many events one read of the log takes.
const batch = 100

// Log keys.
const (
	keyEndpoint = "endpoint"
	keyURL      = "url"
	keySeq      = "seq"
	keyType     = "type"
	keyAttempt  = "attempt"
	keyStatus   = "status"
	keyError    = "error"
	keyNext     = "next"
	keyNode     = "node"
)

// httpClient is an endpoint's client and how much of an answer it reads.
type httpClient struct {
	c   *http.Client
	max int64
}

// send makes one delivery attempt of body to ep, signed for this moment. The error
// is nil only for a 2xx answer; status is 0 when no answer came.
func (d *Dispatcher) send(ctx context.Context, ep *endpoint, id string, body []byte) (int, error) {
	ts := d.o.Clock.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("User-Agent", "restkit-webhooks")
	for name, value := range ep.Headers {
		h.Set(name, value)
	}
	h.Set("Content-Type", "application/json")
	// Spelled as the specification spells them (header names ignore case, but a
	// receiver's code may not).
	h["webhook-id"] = []string{id}
	h["webhook-timestamp"] = []string{fmt.Sprint(ts)}
	h["webhook-signature"] = []string{Sign(ep.key, id, ts, body)}
	resp, err := ep.client.c.Do(req)
	if err != nil {
		return 0, attemptError(err, d.o.Timeout)
	}
	drain(resp.Body, ep.client.max)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("the receiver answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	return resp.StatusCode, nil
}

// attemptError is a failed request's error without the method and URL around it.
func attemptError(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return fmt.Errorf("no answer within %s", timeout)
		}
		return ue.Err
	}
	return err
}

// runner delivers to one endpoint while this node holds its lease.
type runner struct {
	d       *Dispatcher
	ep      *endpoint
	st      *endpointState // the state as last written, while the lease is held; nil otherwise
	renewAt time.Time
	log     *slog.Logger
}

func (d *Dispatcher) newRunner(ep *endpoint) *runner {
	return &runner{d: d, ep: ep, log: d.log.With(slog.String(keyEndpoint, ep.id), slog.String(keyURL, ep.URL))}
}

// run delivers until ctx ends: claim the endpoint, deliver what the log holds after
// its cursor, wait for a wake-up (or the poll), again; then give the lease back.
func (r *runner) run(ctx context.Context) {
	wake, stop := r.d.o.Store.Subscribe()
	defer stop()
	defer r.release()
	for ctx.Err() == nil {
		if r.st == nil && !r.claim(ctx) {
			r.wait(ctx, r.d.o.Clock.Now().Add(r.d.o.Poll), nil)
			continue
		}
		until, idle, err := r.step(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errLostLease):
			r.log.Warn("webhook endpoint taken over by another node", slog.String(keyNode, r.d.o.Node))
			r.st = nil
		case err != nil:
			r.log.Error("webhook deliveries stalled: the store failed", slog.Any(keyError, err))
			r.wait(ctx, r.d.o.Clock.Now().Add(r.d.o.Poll), nil)
		case idle:
			r.reportLag(ctx)
			r.wait(ctx, r.d.o.Clock.Now().Add(r.d.o.Poll), wake)
		case !until.IsZero():
			r.wait(ctx, until, nil)
		}
	}
}

// claim takes the endpoint's lease when no other node holds it, and reports whether
// this node now does.
func (r *runner) claim(ctx context.Context) bool {
	o := r.d.o
	st, err := readEndpoint(ctx, o.Store, r.ep.id)
	now := o.Clock.Now()
	if err != nil {
		r.log.Error("reading the webhook endpoint's state", slog.Any(keyError, err))
		return false
	}
	if st != nil && st.Holder != "" && st.Holder != o.Node && now.Before(st.Expires) {
		return false
	}
	var fresh *endpointState
	if st == nil { // its state is gone: start again at the newest event
		_, newest, err := o.Store.EventBounds(ctx)
		if err != nil {
			r.log.Error("reading the change log's bounds", slog.Any(keyError, err))
			return false
		}
		fresh = &endpointState{URL: r.ep.URL, Cursor: newest}
	}
	held := errors.New("held")
	st, err = writeEndpoint(ctx, o.Store, r.ep.id, fresh, func(st *endpointState) error {
		if st.Holder != "" && st.Holder != o.Node && now.Before(st.Expires) {
			return held
		}
		st.URL, st.Holder, st.Expires = r.ep.URL, o.Node, now.Add(o.Lease)
		return nil
	})
	if err != nil {
		if err != held && ctx.Err() == nil {
			r.log.Error("claiming the webhook endpoint", slog.Any(keyError, err))
		}
		return false
	}
	r.st, r.renewAt = st, now.Add(o.Lease/3)
	r.log.Info("webhook endpoint claimed", slog.String(keyNode, o.Node), slog.Int64(keySeq, st.Cursor))
	return true
}

// update changes the endpoint's state if this node still holds the lease, and
// renews the lease in the same write.
func (r *runner) update(ctx context.Context, change func(st *endpointState)) error {
	o := r.d.o
	now := o.Clock.Now()
	st, err := writeEndpoint(ctx, o.Store, r.ep.id, nil, func(st *endpointState) error {
		if st.Holder != o.Node || !now.Before(st.Expires) {
			return errLostLease
		}
		change(st)
		st.Expires = now.Add(o.Lease)
		return nil
	})
	if err != nil {
		return err
	}
	r.st, r.renewAt = st, now.Add(o.Lease/3)
	return nil
}

// release gives the lease back, so that another node need not wait for it to expire.
func (r *runner) release() {
	if r.st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := writeEndpoint(ctx, r.d.o.Store, r.ep.id, nil, func(st *endpointState) error {
		if st.Holder == r.d.o.Node {
			st.Holder, st.Expires = "", time.Time{}
		}
		return nil
	})
	if err != nil {
		r.log.Warn("giving back the webhook endpoint's lease", slog.Any(keyError, err))
	}
	r.st = nil
}

// wait returns at until, on a wake-up from the log (when wake is not nil), or when
// ctx ends; while this node holds the lease it renews it on the way.
func (r *runner) wait(ctx context.Context, until time.Time, wake <-chan struct{}) {
	clock := r.d.o.Clock
	for {
		now := clock.Now()
		if !until.After(now) {
			return
		}
		next := until
		if r.st != nil && r.renewAt.Before(next) {
			next = r.renewAt
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
			return
		case <-clock.At(next):
		}
		if r.st != nil && !clock.Now().Before(r.renewAt) {
			if err := r.update(ctx, func(*endpointState) {}); err != nil {
				if ctx.Err() == nil {
					r.log.Warn("renewing the webhook endpoint's lease", slog.Any(keyError, err))
				}
				r.st = nil
				return
			}
		}
	}
}

// step does the next piece of work: it moves the cursor over events the endpoint
// does not want, and makes one attempt at the first it wants. It says when to come
// back: at once (zero until), at until (a retry's time), or on a wake-up (idle: the
// log holds nothing more).
func (r *runner) step(ctx context.Context) (until time.Time, idle bool, err error) {
	evs, err := r.d.o.Store.Events(ctx, r.st.Cursor, batch)
	if err != nil || len(evs) == 0 {
		return time.Time{}, err == nil, err
	}
	skip := r.st.Cursor
	for _, ev := range evs {
		src, known := r.d.sources[ev.Source]
		typ := src.name + "." + string(ev.Op)
		if !known || !matchesAny(r.ep.Events, typ) {
			skip = ev.Seq
			continue
		}
		if skip > r.st.Cursor {
			if err := r.update(ctx, func(st *endpointState) { st.skipTo(skip) }); err != nil {
				return time.Time{}, false, err
			}
		}
		return r.deliver(ctx, ev, src, typ)
	}
	return time.Time{}, false, r.update(ctx, func(st *endpointState) { st.skipTo(skip) })
}

// deliver makes an attempt at ev unless its retry is not due yet.
func (r *runner) deliver(ctx context.Context, ev restkit.Event, src source, typ string) (time.Time, bool, error) {
	now := r.d.o.Clock.Now()
	if rt := r.st.Retry; rt != nil && rt.Seq == ev.Seq && now.Before(rt.Next) {
		return rt.Next, false, nil
	}
	if !now.Before(r.renewAt) { // the lease outlasts the attempt
		if err := r.update(ctx, func(*endpointState) {}); err != nil {
			return time.Time{}, false, err
		}
	}
	body, err := src.body(ev)
	if err != nil {
		// A State this schema cannot read (not expected): nothing to send, ever.
		r.log.Error("webhook event cannot be rendered; skipped", slog.Int64(keySeq, ev.Seq), slog.Any(keyError, err))
		a := Attempt{Seq: ev.Seq, Type: typ, Attempt: 1, Time: now, Error: "the event could not be rendered", Outcome: OutcomeDead, Node: r.d.o.Node}
		r.count(OutcomeDead)
		return time.Time{}, false, r.update(ctx, func(st *endpointState) { st.Cursor, st.Retry = ev.Seq, nil; st.record(a) })
	}
	status, sendErr := r.d.send(ctx, r.ep, r.d.webhookID(ev.Seq), body)
	if sendErr != nil && ctx.Err() != nil {
		return time.Time{}, false, ctx.Err() // stopping: no fault of the receiver's
	}
	// A delivery made is recorded even when stopping, so that it is not made again.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return r.settle(sctx, ev, typ, body, now, status, sendErr)
}

// settle records an attempt's outcome: on success the cursor moves past the event;
// on failure a retry is scheduled, or — when the next attempt would come later than
// the give-up time after the first — the delivery is dead-lettered and the cursor
// moves on. Then the endpoint is down: until a success, each later event gets one
// attempt (waiting 24 h for each would hold every later event back for days).
func (r *runner) settle(ctx context.Context, ev restkit.Event, typ string, body []byte, at time.Time, status int, sendErr error) (time.Time, bool, error) {
	o := r.d.o
	rt := r.st.Retry
	if rt == nil || rt.Seq != ev.Seq {
		rt = &retryState{Seq: ev.Seq, First: at}
	}
	a := Attempt{Seq: ev.Seq, Type: typ, Attempt: rt.Attempts + 1, Time: at, Status: status, Node: o.Node}
	if sendErr == nil {
		a.Outcome = OutcomeOK
		r.count(OutcomeOK)
		err := r.update(ctx, func(st *endpointState) {
			st.Cursor, st.Retry, st.Failing, st.Down = ev.Seq, nil, time.Time{}, false
			st.record(a)
		})
		r.reportLag(ctx)
		return time.Time{}, false, err
	}
	a.Error = sendErr.Error()
	failing := r.st.Failing
	if failing.IsZero() {
		failing = at
	}
	next := at.Add(o.Retry.backoff(a.Attempt))
	if !r.st.Down && next.Sub(rt.First) <= o.Retry.GiveUp {
		a.Outcome = OutcomeFailed
		r.count(OutcomeFailed)
		r.log.Warn("webhook delivery failed; will retry", slog.Int64(keySeq, ev.Seq), slog.String(keyType, typ),
			slog.Int(keyAttempt, a.Attempt), slog.Int(keyStatus, status), slog.String(keyError, a.Error), slog.Time(keyNext, next))
		err := r.update(ctx, func(st *endpointState) {
			st.Retry = &retryState{Seq: ev.Seq, Attempts: a.Attempt, First: rt.First, Next: next}
			st.Failing = failing
			st.record(a)
		})
		return next, false, err
	}
	a.Outcome = OutcomeDead
	letter := DeadLetter{ID: r.ep.id + "-" + fmt.Sprint(ev.Seq), Seq: ev.Seq, Type: typ, WebhookID: r.d.webhookID(ev.Seq),
		Attempts: a.Attempt, First: rt.First, Last: at, Status: status, Error: a.Error, Payload: body}
	dropped := 0
	if err := writeDead(ctx, o.Store, r.ep.id, func(dl *deadLetters) error { dropped = dl.add(letter); return nil }); err != nil {
		return time.Time{}, false, err
	}
	r.count(OutcomeDead)
	r.log.Error("webhook delivery given up: dead-lettered", slog.Int64(keySeq, ev.Seq), slog.String(keyType, typ),
		slog.Int(keyAttempt, a.Attempt), slog.String("dead_letter", letter.ID), slog.Int("dropped_oldest", dropped), slog.String(keyError, a.Error))
	err := r.update(ctx, func(st *endpointState) {
		st.Cursor, st.Retry, st.Failing, st.Down = ev.Seq, nil, failing, true
		st.record(a)
	})
	r.reportLag(ctx)
	return time.Time{}, false, err
}

// backoff is the wait after the nth failed attempt: First·2ⁿ⁻¹ capped at Max, less
// up to a fifth of it at random.
func (rt Retry) backoff(n int) time.Duration {
	step := rt.First
	for i := 1; i < n && step < rt.Max; i++ {
		step *= 2
	}
	step = min(step, rt.Max)
	return step - time.Duration(rand.Int64N(int64(step)/5+1))
}

func (r *runner) count(outcome string) {
	if r.d.o.Metrics != nil {
		r.d.o.Metrics.Delivery(r.ep.id, outcome)
	}
}

// reportLag sets the lag metric: the events of the log after the cursor.
func (r *runner) reportLag(ctx context.Context) {
	if r.d.o.Metrics == nil || r.st == nil {
		return
	}
	if _, newest, err := r.d.o.Store.EventBounds(ctx); err == nil {
		r.d.o.Metrics.Lag(r.ep.id, max(0, newest-r.st.Cursor))
	}
}
