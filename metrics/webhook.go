package metrics

import "github.com/prometheus/client_golang/prometheus"

// Webhooks are the webhook Dispatcher's metrics (package webhook): attempts by
// endpoint and outcome, and how far each endpoint is behind the change log. The
// endpoint label is the endpoint's id (a hash of its URL, which may hold a token);
// GET /_admin/webhooks/deliveries maps ids to URLs.
type Webhooks struct {
	deliveries *prometheus.CounterVec // endpoint, outcome
	lag        *prometheus.GaugeVec   // endpoint
}

// NewWebhooks registers the webhook metrics in m's registry, once: every Dispatcher
// of m's server (one per config, across reloads) shares them. A nil *Metrics gives
// a nil *Webhooks, which records nothing.
func NewWebhooks(m *Metrics) *Webhooks {
	if m == nil {
		return nil
	}
	m.webhooksOnce.Do(func() { m.webhooks = newWebhooks(m) })
	return m.webhooks
}

func newWebhooks(m *Metrics) *Webhooks {
	w := &Webhooks{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "restkit_webhook_deliveries_total",
			Help: "Webhook delivery attempts, by endpoint id and outcome: ok (2xx), failed (to be retried) or dead (given up and dead-lettered).",
		}, []string{"endpoint", "outcome"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "restkit_webhook_lag_events",
			Help: "Events of the change log after the last one a webhook endpoint is done with, by endpoint id.",
		}, []string{"endpoint"}),
	}
	m.reg.MustRegister(w.deliveries, w.lag)
	return w
}

// Delivery counts one attempt (webhook.Metrics).
func (w *Webhooks) Delivery(endpoint, outcome string) {
	if w != nil {
		w.deliveries.WithLabelValues(endpoint, outcome).Inc()
	}
}

// Lag sets how many events an endpoint is behind (webhook.Metrics).
func (w *Webhooks) Lag(endpoint string, events int64) {
	if w != nil {
		w.lag.WithLabelValues(endpoint).Set(float64(events))
	}
}
