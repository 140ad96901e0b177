package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// GlobalSlots is what a tenant's fleet-wide portal bound (upstream.globalMaxInFlight) reports: a Redis
// semaphore of gateway/store.
type GlobalSlots interface {
	Limit() int      // slots across the fleet; 0 when the bound is off
	InUse() int      // slots held across the fleet, as Redis last said
	Waits() uint64   // calls of this replica that queued for a slot
	Expired() uint64 // leases this replica found expired (their holder died) and removed
	Degraded() bool  // Redis failed: only the local bound applies
}

// Results of a wait for a fleet-wide slot (scimgw_portal_global_wait_seconds result label).
const (
	WaitGranted = "granted"
	WaitTimeout = "timeout" // queue wait over, or the caller left: the SCIM call answered 503
)

// globalCollector reports the scimgw_portal_global_* gauges and counters of every tenant that has a
// fleet-wide bound, read from its GlobalSlots at each scrape. A tenant without one has no series.
type globalCollector struct {
	m                                   *Metrics
	limit, inUse, degraded, waits, gone *prometheus.Desc
}

func newGlobalCollector(m *Metrics) *globalCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(Namespace+name, help, []string{"tenant"}, nil)
	}
	return &globalCollector{m: m,
		limit:    desc("portal_global_slots_limit", "Fleet-wide portal call slots of the tenant (upstream.globalMaxInFlight)."),
		inUse:    desc("portal_global_slots_in_use", "Fleet-wide portal call slots of the tenant held by every replica, as Redis last reported."),
		degraded: desc("portal_global_bound_degraded", "1 while Redis fails and only this replica's upstream.maxInFlight bounds the tenant's portal calls."),
		waits:    desc("portal_global_waits_total", "Portal calls of this replica that queued for a fleet-wide slot of the tenant."),
		gone:     desc("portal_global_lease_expiries_total", "Fleet-wide slot leases of the tenant this replica found expired (a replica died holding them) and freed."),
	}
}

func (g *globalCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.limit, g.inUse, g.degraded, g.waits, g.gone} {
		ch <- d
	}
}

func (g *globalCollector) Collect(ch chan<- prometheus.Metric) {
	g.m.queueMu.Lock()
	bounds := make(map[string]GlobalSlots, len(g.m.global))
	for t, s := range g.m.global {
		bounds[t] = s
	}
	g.m.queueMu.Unlock()
	for t, s := range bounds {
		degraded := 0.0
		if s.Degraded() {
			degraded = 1
		}
		ch <- prometheus.MustNewConstMetric(g.limit, prometheus.GaugeValue, float64(s.Limit()), t)
		ch <- prometheus.MustNewConstMetric(g.inUse, prometheus.GaugeValue, float64(s.InUse()), t)
		ch <- prometheus.MustNewConstMetric(g.degraded, prometheus.GaugeValue, degraded, t)
		ch <- prometheus.MustNewConstMetric(g.waits, prometheus.CounterValue, float64(s.Waits()), t)
		ch <- prometheus.MustNewConstMetric(g.gone, prometheus.CounterValue, float64(s.Expired()), t)
	}
}

// globalCollectors are the scimgw_portal_global_* series.
func (m *Metrics) globalCollectors() []prometheus.Collector {
	m.globalWait = durationHistogram(Namespace+"portal_global_wait_seconds",
		"Time portal calls of this replica queued for a fleet-wide slot, by tenant and result (granted, timeout).", "tenant", "result")
	return []prometheus.Collector{newGlobalCollector(m), m.globalWait}
}

// SetGlobalSlots makes the scimgw_portal_global_* series of tenant report g; nil drops them (the
// tenant's bound is off, or the tenant is gone).
func (m *Metrics) SetGlobalSlots(tenant string, g GlobalSlots) {
	m.queueMu.Lock()
	defer m.queueMu.Unlock()
	if g == nil {
		delete(m.global, tenant)
		return
	}
	if m.global == nil {
		m.global = map[string]GlobalSlots{}
	}
	m.global[tenant] = g
}

// GlobalWait records how long a portal call of tenant queued for a fleet-wide slot, and whether it got
// one.
func (m *Metrics) GlobalWait(tenant string, d time.Duration, granted bool) {
	res := WaitTimeout
	if granted {
		res = WaitGranted
	}
	m.globalWait.WithLabelValues(tenant, res).Observe(d.Seconds())
}
