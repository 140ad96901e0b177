package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// GlobalSlots is what the fleet-wide portal bound (upstream.globalMaxInFlight) reports: the Redis
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

// globalCollectors are the scimgw_portal_global_* series, read from the GlobalSlots given to
// SetGlobalSlots at each scrape (all 0 until then).
func (m *Metrics) globalCollectors() []prometheus.Collector {
	gauge := func(name, help string, f func(GlobalSlots) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: Namespace + name, Help: help}, func() float64 {
			if g := m.global.Load(); g != nil {
				return f(*g)
			}
			return 0
		})
	}
	counter := func(name, help string, f func(GlobalSlots) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: Namespace + name, Help: help}, func() float64 {
			if g := m.global.Load(); g != nil {
				return float64(f(*g))
			}
			return 0
		})
	}
	m.globalWait = durationHistogram(Namespace+"portal_global_wait_seconds",
		"Time portal calls of this replica queued for a fleet-wide slot, by result (granted, timeout).", "result")
	return []prometheus.Collector{
		gauge("portal_global_slots_limit", "Fleet-wide portal call slots (upstream.globalMaxInFlight); 0: off.",
			func(g GlobalSlots) float64 { return float64(g.Limit()) }),
		gauge("portal_global_slots_in_use", "Fleet-wide portal call slots held by every replica, as Redis last reported.",
			func(g GlobalSlots) float64 { return float64(g.InUse()) }),
		gauge("portal_global_bound_degraded", "1 while Redis fails and only this replica's upstream.maxInFlight bounds portal calls.",
			func(g GlobalSlots) float64 {
				if g.Degraded() {
					return 1
				}
				return 0
			}),
		counter("portal_global_waits_total", "Portal calls of this replica that queued for a fleet-wide slot.",
			GlobalSlots.Waits),
		counter("portal_global_lease_expiries_total", "Fleet-wide slot leases this replica found expired (a replica died holding them) and freed.",
			GlobalSlots.Expired),
		m.globalWait,
	}
}

// SetGlobalSlots makes the scimgw_portal_global_* series report g.
func (m *Metrics) SetGlobalSlots(g GlobalSlots) { m.global.Store(&g) }

// GlobalWait records how long a portal call queued for a fleet-wide slot, and whether it got one.
func (m *Metrics) GlobalWait(d time.Duration, granted bool) {
	res := WaitTimeout
	if granted {
		res = WaitGranted
	}
	m.globalWait.WithLabelValues(res).Observe(d.Seconds())
}
