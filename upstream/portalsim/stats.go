package portalsim

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
)

// Stats is the body of GET /_sim/stats: the calls served since the last reset, and how many API
// calls (token calls not counted) were being served at once: now, and at the peak since the last
// reset (a test of a concurrency bound reads PeakInFlight).
type Stats struct {
	Total        int64       `json:"total"`
	Calls        []CallCount `json:"calls"`
	InFlight     int64       `json:"inFlight"`
	PeakInFlight int64       `json:"peakInFlight"`
}

// CallCount counts the calls of one (method, route, status). Route is a template of docs/portal-api.md
// with the /api/usersync/v1 prefix, "/oauth2/server/token" or "unmatched"; Status 0 is a dropped
// connection.
type CallCount struct {
	Method string `json:"method"`
	Route  string `json:"route"`
	Status int    `json:"status"`
	Count  int64  `json:"count"`
}

// Count returns the count of one (method, route, status), 0 when there is none.
func (st Stats) Count(method, route string, status int) int64 {
	for _, c := range st.Calls {
		if c.Method == method && c.Route == route && c.Status == status {
			return c.Count
		}
	}
	return 0
}

type statKey struct {
	method string
	route  routeID
	status int
}

// stats counts the API and token calls served.
type stats struct {
	mu     sync.Mutex
	counts map[statKey]int64

	inFlight atomic.Int64 // API calls being served
	peak     atomic.Int64 // the most at once since the last reset
}

// enter counts an API call in, and returns the function that counts it out.
func (s *stats) enter() (leave func()) {
	n := s.inFlight.Add(1)
	for p := s.peak.Load(); n > p && !s.peak.CompareAndSwap(p, n); p = s.peak.Load() {
	}
	return func() { s.inFlight.Add(-1) }
}

func (s *stats) add(method string, route routeID, status int) {
	s.mu.Lock()
	if s.counts == nil {
		s.counts = make(map[statKey]int64)
	}
	s.counts[statKey{method: method, route: route, status: status}]++
	s.mu.Unlock()
}

func (s *stats) reset() {
	s.mu.Lock()
	s.counts = nil
	s.peak.Store(s.inFlight.Load())
	s.mu.Unlock()
}

func (s *stats) snapshot() Stats {
	s.mu.Lock()
	out := Stats{Calls: make([]CallCount, 0, len(s.counts)), InFlight: s.inFlight.Load(), PeakInFlight: s.peak.Load()}
	for k, n := range s.counts {
		out.Calls = append(out.Calls, CallCount{Method: k.method, Route: routeTemplates[k.route], Status: k.status, Count: n})
		out.Total += n
	}
	s.mu.Unlock()
	slices.SortFunc(out.Calls, func(a, b CallCount) int {
		return cmp.Or(cmp.Compare(a.Method, b.Method), cmp.Compare(a.Route, b.Route), cmp.Compare(a.Status, b.Status))
	})
	return out
}

// Stats returns the calls served since the last reset, as GET /_sim/stats answers them.
func (s *Sim) Stats() Stats { return s.stats.snapshot() }
