package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/restkit/restkit"
)

// What a Dispatcher keeps in the store's server state (restkit.StateStore), shared by
// every node:
//
//	webhook/<endpoint id>       the endpoint's cursor, lease, retry and recent attempts (endpointState)
//	webhook/<endpoint id>/dead  its dead letters, each with its payload (deadLetters)
//	webhook/epoch               a random name of this store, part of every webhook-id
//
// The change log is the outbox: an event is appended in its write's transaction, and
// an endpoint's cursor is the Seq of the last event it is done with (delivered with a
// 2xx, dead-lettered, or not matching its patterns). WriteState changes one value
// atomically across nodes, so the lease check and the cursor's move are one step.

// Attempt is one delivery attempt, as the admin API shows it.
type Attempt struct {
	Seq     int64     `json:"seq"`
	Type    string    `json:"type"`
	Attempt int       `json:"attempt"` // 1 for the first attempt of this event
	Time    time.Time `json:"time"`
	Status  int       `json:"status,omitempty"` // the receiver's HTTP status; absent when none came
	Error   string    `json:"error,omitempty"`
	Outcome string    `json:"outcome"` // ok, failed or dead (failed, and given up)
	Node    string    `json:"node"`
}

// Outcomes of an attempt, also the outcome label of the deliveries metric.
const (
	OutcomeOK     = "ok"
	OutcomeFailed = "failed"
	OutcomeDead   = "dead"
)

// maxRecent is how many attempts an endpoint's state keeps for the admin API.
const maxRecent = 20

// retryState is the event an endpoint is retrying.
type retryState struct {
	Seq      int64     `json:"seq"`
	Attempts int       `json:"attempts"`
	First    time.Time `json:"first"`
	Next     time.Time `json:"next"`
}

// endpointState is the value of webhook/<id>.
type endpointState struct {
	URL     string    `json:"url"`
	Cursor  int64     `json:"cursor"`
	Holder  string    `json:"holder,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
	// Failing is when the endpoint's current run of failed attempts began; Down, that
	// a delivery of this run was given up on, so each later event gets one attempt.
	// A success resets both.
	Failing time.Time   `json:"failing,omitzero"`
	Down    bool        `json:"down,omitempty"`
	Retry   *retryState `json:"retry,omitempty"`
	Recent  []Attempt   `json:"recent,omitempty"`
}

// skipTo moves the cursor over events the endpoint does not want, forgetting a retry
// of one of them (its patterns changed since).
func (st *endpointState) skipTo(seq int64) {
	st.Cursor = seq
	if st.Retry != nil && st.Retry.Seq <= seq {
		st.Retry = nil
	}
}

// record adds an attempt to the recent ones.
func (st *endpointState) record(a Attempt) {
	st.Recent = append(st.Recent, a)
	if n := len(st.Recent) - maxRecent; n > 0 {
		st.Recent = slices.Delete(st.Recent, 0, n)
	}
}

// DeadLetter is a delivery given up on: kept with its payload, so that pruning the
// change log cannot lose it, until an admin retries it successfully.
type DeadLetter struct {
	ID        string          `json:"id"` // <endpoint id>-<seq>: what the retry route names
	Seq       int64           `json:"seq"`
	Type      string          `json:"type"`
	WebhookID string          `json:"webhook_id"`
	Attempts  int             `json:"attempts"`
	First     time.Time       `json:"first_attempt"`
	Last      time.Time       `json:"last_attempt"`
	Status    int             `json:"status,omitempty"`
	Error     string          `json:"error,omitempty"`
	Payload   json.RawMessage `json:"payload"`
	// Retrying, while in the future, marks a retry under way (on some node).
	Retrying time.Time `json:"retrying_until,omitzero"`
}

// deadLetters is the value of webhook/<id>/dead, oldest first.
type deadLetters struct {
	Letters []DeadLetter `json:"letters"`
	Dropped int64        `json:"dropped,omitempty"` // the oldest ones dropped to keep within the bounds
}

// Bounds of one endpoint's dead letters: beyond either the oldest are dropped (and
// counted, and logged).
const (
	MaxDeadLetters     = 1000
	MaxDeadLetterBytes = 8 << 20
)

// add puts a letter in (replacing one of the same Seq, which a crash between
// dead-lettering and moving the cursor can repeat) and drops the oldest beyond the
// bounds; it returns how many it dropped.
func (dl *deadLetters) add(l DeadLetter) int {
	dl.Letters = slices.DeleteFunc(dl.Letters, func(o DeadLetter) bool { return o.Seq == l.Seq })
	dl.Letters = append(dl.Letters, l)
	size := 0
	for _, o := range dl.Letters {
		size += len(o.Payload)
	}
	n := 0
	for len(dl.Letters) > 1 && (len(dl.Letters) > MaxDeadLetters || size > MaxDeadLetterBytes) {
		size -= len(dl.Letters[0].Payload)
		dl.Letters = dl.Letters[1:]
		n++
	}
	dl.Dropped += int64(n)
	return n
}

// stateName names an endpoint's values in the StateStore.
func stateName(id string) string { return "webhook/" + id }
func deadName(id string) string  { return "webhook/" + id + "/dead" }

const epochName = "webhook/epoch"

// errLostLease stops a change of an endpoint's state made by a node that no longer
// holds its lease.
var errLostLease = errors.New("the endpoint's lease is held by another node")

// readEndpoint reads an endpoint's state; nil when it has none.
func readEndpoint(ctx context.Context, s restkit.StateStore, id string) (*endpointState, error) {
	b, err := s.ReadState(ctx, stateName(id))
	if err != nil || b == nil {
		return nil, err
	}
	var st endpointState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("webhook state %s: %w", id, err)
	}
	return &st, nil
}

// writeEndpoint changes an endpoint's state atomically. A state that does not exist
// yet starts as fresh (nil: change sees no state and must make one).
func writeEndpoint(ctx context.Context, s restkit.StateStore, id string, fresh *endpointState, change func(st *endpointState) error) (*endpointState, error) {
	var out endpointState
	_, err := s.WriteState(ctx, stateName(id), func(cur []byte) ([]byte, error) {
		out = endpointState{}
		switch {
		case cur != nil:
			if err := json.Unmarshal(cur, &out); err != nil {
				return nil, fmt.Errorf("webhook state %s: %w", id, err)
			}
		case fresh != nil:
			out = *fresh
		}
		if err := change(&out); err != nil {
			return nil, err
		}
		return json.Marshal(&out)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// readDead reads an endpoint's dead letters.
func readDead(ctx context.Context, s restkit.StateStore, id string) (*deadLetters, error) {
	var dl deadLetters
	b, err := s.ReadState(ctx, deadName(id))
	if err != nil || b == nil {
		return &dl, err
	}
	if err := json.Unmarshal(b, &dl); err != nil {
		return nil, fmt.Errorf("webhook dead letters %s: %w", id, err)
	}
	return &dl, nil
}

// writeDead changes an endpoint's dead letters atomically; none left deletes the value.
func writeDead(ctx context.Context, s restkit.StateStore, id string, change func(dl *deadLetters) error) error {
	_, err := s.WriteState(ctx, deadName(id), func(cur []byte) ([]byte, error) {
		var dl deadLetters
		if cur != nil {
			if err := json.Unmarshal(cur, &dl); err != nil {
				return nil, fmt.Errorf("webhook dead letters %s: %w", id, err)
			}
		}
		if err := change(&dl); err != nil {
			return nil, err
		}
		if len(dl.Letters) == 0 && dl.Dropped == 0 {
			return nil, nil
		}
		return json.Marshal(&dl)
	})
	return err
}
