package metrics_test

import (
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/gateway/metrics"
)

func TestReconcileMetrics(t *testing.T) {
	m := metrics.New()
	e := scrape(t, m)
	for _, res := range []string{"clean", "drift", "failed"} {
		e.want(t, `scimgw_reconcile_runs_total{result="`+res+`"}`, 0)
	}
	e.want(t, "scimgw_reconcile_last_success_timestamp_seconds", 0)

	end := time.Unix(1_800_000_000, 0)
	m.ReconcileRun(map[string]int{"unmanaged": 3, "staleMapping": 1, "deletedButEnabled": 0}, 2500*time.Millisecond, end)
	m.ReconcileFailed()
	m.ReconcileRun(map[string]int{"unmanaged": 0, "staleMapping": 2, "deletedButEnabled": 0}, time.Second, end.Add(time.Minute))
	e = scrape(t, m)
	for series, v := range map[string]float64{
		`scimgw_reconcile_findings{kind="unmanaged"}`:         0, // cleared up since the first run
		`scimgw_reconcile_findings{kind="staleMapping"}`:      2,
		`scimgw_reconcile_findings{kind="deletedButEnabled"}`: 0,
		`scimgw_reconcile_runs_total{result="drift"}`:         2,
		`scimgw_reconcile_runs_total{result="failed"}`:        1,
		`scimgw_reconcile_runs_total{result="clean"}`:         0,
		`scimgw_reconcile_duration_seconds`:                   1,
		`scimgw_reconcile_last_success_timestamp_seconds`:     1_800_000_060,
	} {
		e.want(t, series, v)
	}
	m.ReconcileRun(map[string]int{"unmanaged": 0, "staleMapping": 0}, time.Second, end)
	scrape(t, m).want(t, `scimgw_reconcile_runs_total{result="clean"}`, 1)
}
