package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// cleanupMetrics count the artefact repository's cleanup runs (its cleanup
// policies). They are registered when the first run is counted.
type cleanupMetrics struct {
	runs     *prometheus.CounterVec // outcome, dry_run
	versions *prometheus.CounterVec // dry_run
	bytes    *prometheus.CounterVec // dry_run
}

func (m *Metrics) cleanup() *cleanupMetrics {
	m.cleanupOnce.Do(func() {
		m.cleanupM = &cleanupMetrics{
			runs: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "restkit_artefact_cleanup_runs_total",
				Help: "Runs of the artefact cleanup policies, by outcome (ok, failed, skipped: another node or run was cleaning) and dry_run.",
			}, []string{"outcome", "dry_run"}),
			versions: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "restkit_artefact_cleanup_versions_total",
				Help: "Artefact versions the cleanup policies deleted (dry_run=true: would have deleted).",
			}, []string{"dry_run"}),
			bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
				Name: "restkit_artefact_cleanup_freed_bytes_total",
				Help: "Bytes of content the cleanup policies freed (dry_run=true: would have freed).",
			}, []string{"dry_run"}),
		}
		m.reg.MustRegister(m.cleanupM.runs, m.cleanupM.versions, m.cleanupM.bytes)
	})
	return m.cleanupM
}

// CleanupRun counts a run of the artefact cleanup policies.
func (m *Metrics) CleanupRun(outcome string, dryRun bool, versions int, bytes int64) {
	if m == nil {
		return
	}
	c, dry := m.cleanup(), strconv.FormatBool(dryRun)
	c.runs.WithLabelValues(outcome, dry).Inc()
	c.versions.WithLabelValues(dry).Add(float64(versions))
	c.bytes.WithLabelValues(dry).Add(float64(bytes))
}
