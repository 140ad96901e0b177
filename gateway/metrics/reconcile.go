package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Reconcile run results (scimgw_reconcile_runs_total result label).
const (
	ReconcileClean  = "clean"  // the run found no drift
	ReconcileDrift  = "drift"  // the run found drift
	ReconcileFailed = "failed" // the portal or the store could not be read
)

// reconcileMetrics are the series of GET /admin/reconcile runs.
type reconcileMetrics struct {
	findings *prometheus.GaugeVec
	runs     *prometheus.CounterVec
	duration prometheus.Gauge
	last     prometheus.Gauge
}

func newReconcileMetrics(reg prometheus.Registerer) *reconcileMetrics {
	r := &reconcileMetrics{
		findings: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: Namespace + "reconcile_findings",
			Help: "Findings of the last completed reconcile run, by kind (unmanaged, deletedButEnabled, duplicateExternalId, staleMapping)."},
			[]string{"kind"}),
		runs: counterVec(Namespace+"reconcile_runs_total",
			"Reconcile runs on the admin port, by result (clean, drift, failed).", "result"),
		duration: prometheus.NewGauge(prometheus.GaugeOpts{Name: Namespace + "reconcile_duration_seconds",
			Help: "Duration of the last completed reconcile run."}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{Name: Namespace + "reconcile_last_success_timestamp_seconds",
			Help: "Unix time at which the last completed reconcile run ended (0: none yet)."}),
	}
	for _, res := range []string{ReconcileClean, ReconcileDrift, ReconcileFailed} {
		r.runs.WithLabelValues(res)
	}
	reg.MustRegister(r.findings, r.runs, r.duration, r.last)
	return r
}

// ReconcileRun records a completed reconcile run: findings by kind (every kind, 0 included, so that a
// kind that cleared up drops to 0), how long it took and when it ended.
func (m *Metrics) ReconcileRun(findings map[string]int, d time.Duration, end time.Time) {
	total := 0
	for kind, n := range findings {
		m.reconcile.findings.WithLabelValues(kind).Set(float64(n))
		total += n
	}
	res := ReconcileClean
	if total > 0 {
		res = ReconcileDrift
	}
	m.reconcile.runs.WithLabelValues(res).Inc()
	m.reconcile.duration.Set(d.Seconds())
	m.reconcile.last.Set(float64(end.Unix()))
}

// ReconcileFailed counts a reconcile run that could not read the portal or the store; the findings
// of the last completed run stay.
func (m *Metrics) ReconcileFailed() { m.reconcile.runs.WithLabelValues(ReconcileFailed).Inc() }
