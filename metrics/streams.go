package metrics

import "github.com/prometheus/client_golang/prometheus"

// streams are the metrics of the event streams (Server-Sent Events).
type streams struct {
	open    prometheus.Gauge
	sent    prometheus.Counter
	dropped *prometheus.CounterVec // reason
}

func newStreams(reg *prometheus.Registry) *streams {
	s := &streams{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "restkit_event_streams_open",
			Help: "Event streams (Server-Sent Events) being served.",
		}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "restkit_event_stream_events_total",
			Help: "Events sent on event streams.",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "restkit_event_streams_dropped_total",
			Help: "Event streams the server ended because the client read too slowly: slow (a write blocked past its deadline) or behind (it fell out of the in-memory window of recent events).",
		}, []string{"reason"}),
	}
	reg.MustRegister(s.open, s.sent, s.dropped)
	return s
}

// StreamOpened counts an event stream as open until the returned function is called.
func (m *Metrics) StreamOpened() (closed func()) {
	if m == nil {
		return func() {}
	}
	m.streams.open.Inc()
	return m.streams.open.Dec
}

// StreamSent counts n events sent on a stream.
func (m *Metrics) StreamSent(n int) {
	if m != nil && n > 0 {
		m.streams.sent.Add(float64(n))
	}
}

// StreamDropped counts a stream ended for a client too slow to keep up.
func (m *Metrics) StreamDropped(reason string) {
	if m != nil {
		m.streams.dropped.WithLabelValues(reason).Inc()
	}
}
