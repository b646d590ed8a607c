package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Unmatched is the route label of a request no route pattern matched.
const Unmatched = "unmatched"

// OtherRoute is the route label of every route past the first MaxRoutes.
const OtherRoute = "other"

// MaxRoutes bounds the distinct route labels, whatever a router reports.
const MaxRoutes = 1000

// DurationBuckets are the upper bounds, in seconds, of the request duration
// histogram: from a cached read (1 ms) to a large artefact transfer (2 min).
var DurationBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// Metrics holds restkit's metrics in a registry of its own. The zero value is not
// usable; a nil *Metrics is, and records nothing.
type Metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec   // route, method, status
	duration      *prometheus.HistogramVec // route, method
	requestBytes  *prometheus.CounterVec   // route, method
	responseBytes *prometheus.CounterVec   // route, method
	inFlight      prometheus.Gauge

	storeErrors   *prometheus.CounterVec // op
	blobErrors    *prometheus.CounterVec // op
	denied        *prometheus.CounterVec // scope
	limiterErrors prometheus.Counter
	streams       *streams
	webhooksOnce  sync.Once
	webhooks      *Webhooks

	routes  sync.Map // route label -> struct{}
	nroutes atomic.Int64
	kinds   sync.Map // kindKey -> *kindSeries: the children of one request kind, looked up once

	cleanupOnce sync.Once
	cleanupM    *cleanupMetrics // cleanup.go
}

// kindKey is one kind of request, before its labels are bounded.
type kindKey struct {
	route, method string
	status        int
}

// kindSeries are the metric children a kind of request updates. WithLabelValues hashes
// its labels on every call; a request resolves its four children once, here.
type kindSeries struct {
	requests, in, out prometheus.Counter
	duration          prometheus.Observer
}

// New returns metrics registered in a new registry, with the Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "restkit_http_requests_total",
			Help: "HTTP requests answered, by route pattern, method and status code.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "restkit_http_request_duration_seconds",
			Help:    "Time from receiving an HTTP request's headers to the handler's return, by route pattern and method.",
			Buckets: DurationBuckets,
		}, []string{"route", "method"}),
		requestBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "restkit_http_request_bytes_total",
			Help: "Request body bytes read by handlers, by route pattern and method.",
		}, []string{"route", "method"}),
		responseBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "restkit_http_response_bytes_total",
			Help: "Response body bytes written by handlers, by route pattern and method.",
		}, []string{"route", "method"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "restkit_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "restkit_store_errors_total",
			Help: "Record store operations that failed with an internal error, by operation.",
		}, []string{"op"}),
		blobErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "restkit_blob_errors_total",
			Help: "Blob store operations that failed with an internal error, by operation.",
		}, []string{"op"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "restkit_ratelimit_denied_total",
			Help: "Requests refused with 429 by a rate limit, by the limit's scope.",
		}, []string{"scope"}),
		limiterErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "restkit_ratelimit_errors_total",
			Help: "Requests the rate limiter could not decide (its store failed); allowed or refused by its fail-open policy.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.requestBytes, m.responseBytes, m.inFlight,
		m.storeErrors, m.blobErrors, m.denied, m.limiterErrors,
	)
	m.streams = newStreams(m.reg)
	return m
}

// Registry returns the registry, to register more collectors in. Nil for a nil
// *Metrics.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the metrics in the Prometheus text format (or whatever the
// scraper negotiates). A nil *Metrics serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// StoreError counts a record store operation (e.g. "sqlite.WriteRecord") that
// failed with an internal error.
func (m *Metrics) StoreError(op string) {
	if m != nil {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}

// BlobError counts a blob store operation that failed with an internal error.
func (m *Metrics) BlobError(op string) {
	if m != nil {
		m.blobErrors.WithLabelValues(op).Inc()
	}
}

// LimiterDenied counts a request refused by the rate limit of scope (as returned
// by restkit.Schema.RateLimitAt; "" is counted as "default").
func (m *Metrics) LimiterDenied(scope string) {
	if m == nil {
		return
	}
	if scope == "" {
		scope = "default"
	}
	m.denied.WithLabelValues(scope).Inc()
}

// LimiterError counts a request the rate limiter could not decide.
func (m *Metrics) LimiterError() {
	if m != nil {
		m.limiterErrors.Inc()
	}
}

// routeLabel bounds the route labels to MaxRoutes distinct ones.
func (m *Metrics) routeLabel(route string) string {
	if _, ok := m.routes.Load(route); ok {
		return route
	}
	if m.nroutes.Add(1) > MaxRoutes {
		m.nroutes.Add(-1)
		return OtherRoute
	}
	if _, loaded := m.routes.LoadOrStore(route, struct{}{}); loaded {
		m.nroutes.Add(-1)
	}
	return route
}

// methodLabel bounds the method label: a client may send any token as a method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

// record adds one finished request.
func (m *Metrics) record(route, method string, status int, d time.Duration, in, out int64) {
	key := kindKey{route, method, status}
	v, ok := m.kinds.Load(key)
	if !ok {
		// Only routes that passed routeLabel are kept here, so the map is bounded like
		// the labels: at most MaxRoutes routes × the methods × the statuses seen.
		r, meth := m.routeLabel(route), methodLabel(method)
		s := &kindSeries{
			requests: m.requests.WithLabelValues(r, meth, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(r, meth),
			in:       m.requestBytes.WithLabelValues(r, meth),
			out:      m.responseBytes.WithLabelValues(r, meth),
		}
		if r == route && meth == method {
			v, _ = m.kinds.LoadOrStore(key, s)
		} else {
			v = s // an overflow route or an odd method: not cached, so the map stays bounded
		}
	}
	s := v.(*kindSeries)
	s.requests.Inc()
	s.duration.Observe(d.Seconds())
	s.in.Add(float64(in))
	s.out.Add(float64(out))
}
