package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/restkit/restkit"
)

// Store is what a Dispatcher needs of a store: the change log, and server state
// shared by every node. Every store of this module has both.
type Store interface {
	restkit.EventLog
	restkit.StateStore
}

// Metrics counts what a Dispatcher does; metrics.Webhooks is the Prometheus one.
type Metrics interface {
	// Delivery counts one attempt to the endpoint (its ID) with its outcome:
	// OutcomeOK, OutcomeFailed or OutcomeDead.
	Delivery(endpoint, outcome string)
	// Lag sets how many events of the log the endpoint is behind.
	Lag(endpoint string, events int64)
}

// Retry is the backoff of failed deliveries: the first retry after about First,
// each wait twice the last, up to Max, for GiveUp from the first failed attempt;
// then the delivery is dead-lettered. Each wait is between 80 % and 100 % of its
// step (jitter), so that endpoints failing together do not retry together.
type Retry struct {
	First, Max, GiveUp time.Duration
}

// Defaults of Options (DESIGN §12: first retry after about 1 s, doubling to a
// 10-minute cap, for up to 24 h).
const (
	DefaultFirstRetry  = time.Second
	DefaultMaxRetry    = 10 * time.Minute
	DefaultGiveUp      = 24 * time.Hour
	DefaultLease       = 30 * time.Second
	DefaultPoll        = time.Second
	DefaultTimeout     = 10 * time.Second
	DefaultMaxResponse = 64 << 10
)

// Options configure a Dispatcher. Schema, Store and Endpoints are required; the
// rest have defaults.
type Options struct {
	Schema     *restkit.Schema // prepared
	Store      Store
	Endpoints  []Endpoint
	AllowHosts []string // host names, IP addresses and CIDR prefixes that may be loopback or private (dial.go)
	// Artefacts says the repository is served: artefacts.* patterns are valid.
	Artefacts bool
	Logger    *slog.Logger // nil: discard
	Metrics   Metrics      // nil: none
	Clock     Clock        // nil: the machine's
	Retry     Retry        // zero fields: the defaults
	// Lease is how long a node's claim on an endpoint lasts unless renewed (renewed
	// every third of it while the node delivers): after a node dies, another takes
	// its endpoints over within Lease. Default 30s.
	Lease time.Duration
	// Poll is how often the log is read when no wake-up came (a safety net under
	// EventLog.Subscribe), and how often other nodes check a lease. Default 1s.
	Poll time.Duration
	// Timeout bounds one attempt: connecting, sending, and the answer. Default 10s.
	Timeout time.Duration
	// MaxResponse is how much of an answer is read (and discarded). Default 64 KiB.
	MaxResponse int64
	// Node names this process in leases and attempts; default host-pid-random. A
	// name that stays the same across restarts (and is never used by two processes
	// at once) lets a restarted node take its endpoints back at once, where a new
	// name waits for the old leases to expire.
	Node string
}

// Dispatcher delivers the change log's events to webhook endpoints. Make one with
// New, run it with Run; Horizon tells the log's pruning what must be kept;
// ServeDeliveries and ServeRetry are its admin API.
type Dispatcher struct {
	o         Options
	log       *slog.Logger
	endpoints []*endpoint
	sources   map[string]source
	epoch     string
	running   sync.Mutex // held by Run
}

// endpoint is one configured endpoint, ready to deliver.
type endpoint struct {
	Endpoint
	id     string
	key    []byte
	client *httpClient
}

// New checks the options, and starts each endpoint it has not seen before at the
// newest event of the log: an endpoint receives the events written from now on, not
// the log's history. It makes no delivery (Run does). Errors: Invalid for options
// that cannot work (a bad URL, secret, pattern or header); a store's errors.
func New(ctx context.Context, o Options) (*Dispatcher, error) {
	o = o.withDefaults()
	if !o.Schema.Prepared() || o.Store == nil {
		return nil, restkit.Errorf(restkit.Invalid, "webhook.New needs a prepared Schema and a Store")
	}
	var allow AllowList
	for _, h := range o.AllowHosts {
		if err := allow.Add(h); err != nil {
			return nil, restkit.Errorf(restkit.Invalid, "webhooks: allow_hosts entry %q %v", h, err)
		}
	}
	d := &Dispatcher{o: o, log: o.Logger, sources: sources(o.Schema)}
	names := Names(o.Schema, o.Artefacts)
	for i, e := range o.Endpoints {
		ep, err := newEndpoint(e, names, allow, o)
		if err != nil {
			return nil, restkit.Errorf(restkit.Invalid, "webhooks: endpoint %d: %v", i, err)
		}
		for _, other := range d.endpoints {
			if other.id == ep.id {
				return nil, restkit.Errorf(restkit.Invalid, "webhooks: endpoint %d repeats the url of another", i)
			}
		}
		d.endpoints = append(d.endpoints, ep)
	}
	var err error
	if d.epoch, err = storeEpoch(ctx, o.Store); err != nil {
		return nil, err
	}
	if err := d.start(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Retry.First <= 0 {
		o.Retry.First = DefaultFirstRetry
	}
	if o.Retry.Max <= 0 {
		o.Retry.Max = DefaultMaxRetry
	}
	if o.Retry.GiveUp <= 0 {
		o.Retry.GiveUp = DefaultGiveUp
	}
	if o.Lease <= 0 {
		o.Lease = DefaultLease
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxResponse <= 0 {
		o.MaxResponse = DefaultMaxResponse
	}
	if o.Node == "" {
		host, _ := os.Hostname()
		o.Node = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomHex(3))
	}
	return o
}

func newEndpoint(e Endpoint, names []string, allow AllowList, o Options) (*endpoint, error) {
	if err := CheckURL(e.URL); err != nil {
		return nil, fmt.Errorf("url %w", err)
	}
	key, err := ParseSecret(e.Secret)
	if err != nil {
		return nil, fmt.Errorf("secret %w", err)
	}
	if len(e.Events) == 0 {
		return nil, errors.New("events names no event type")
	}
	for _, p := range e.Events {
		if err := CheckPattern(p, names); err != nil {
			return nil, fmt.Errorf("events entry %q %w", p, err)
		}
	}
	for name, value := range e.Headers {
		if err := CheckHeader(name, value); err != nil {
			return nil, err
		}
	}
	u, _ := url.Parse(e.URL)
	return &endpoint{Endpoint: e, id: e.ID(), key: key, client: &httpClient{c: newClient(u.Hostname(), allow, o.Timeout), max: o.MaxResponse}}, nil
}

// storeEpoch reads (or makes, once per store) the random name of the store that
// makes webhook-ids unique beyond one database: a receiver that remembers ids must
// not take the first event of a new database for the first of the old one.
func storeEpoch(ctx context.Context, s Store) (string, error) {
	b, err := s.WriteState(ctx, epochName, func(cur []byte) ([]byte, error) {
		if cur != nil {
			return cur, nil
		}
		return []byte(randomHex(4)), nil
	})
	return string(b), err
}

// start gives each endpoint without state a cursor at the newest event.
func (d *Dispatcher) start(ctx context.Context) error {
	_, newest, err := d.o.Store.EventBounds(ctx)
	if err != nil {
		return err
	}
	for _, ep := range d.endpoints {
		fresh := &endpointState{URL: ep.URL, Cursor: newest}
		if _, err := writeEndpoint(ctx, d.o.Store, ep.id, fresh, func(*endpointState) error { return nil }); err != nil {
			return err
		}
	}
	return nil
}

// Run delivers until ctx ends, each endpoint on a goroutine of its own, then gives
// up the leases it holds so that another node takes over at once. It returns nil
// after ctx ends; a Dispatcher runs once at a time.
func (d *Dispatcher) Run(ctx context.Context) error {
	if !d.running.TryLock() {
		return errors.New("webhook: the Dispatcher is already running")
	}
	defer d.running.Unlock()
	var wg sync.WaitGroup
	for _, ep := range d.endpoints {
		wg.Go(func() { d.newRunner(ep).run(ctx) })
	}
	wg.Wait()
	return nil
}

// Horizon is the lowest cursor of the endpoints: the events after it have yet to be
// delivered to some endpoint, so the log's pruning keeps them
// (EventLog.PruneEvents's keepAfter). math.MaxInt64 without endpoints.
func (d *Dispatcher) Horizon(ctx context.Context) (int64, error) {
	h := int64(math.MaxInt64)
	for _, ep := range d.endpoints {
		st, err := readEndpoint(ctx, d.o.Store, ep.id)
		if err != nil {
			return 0, err
		}
		if st != nil {
			h = min(h, st.Cursor)
		}
	}
	return h, nil
}

// webhookID is the webhook-id of an event: the same for every attempt and every
// node, unique across stores.
func (d *Dispatcher) webhookID(seq int64) string {
	return fmt.Sprintf("evt_%s_%d", d.epoch, seq)
}

// endpointByID finds a configured endpoint.
func (d *Dispatcher) endpointByID(id string) *endpoint {
	i := slices.IndexFunc(d.endpoints, func(ep *endpoint) bool { return ep.id == id })
	if i < 0 {
		return nil
	}
	return d.endpoints[i]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
