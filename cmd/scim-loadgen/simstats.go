package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
)

// simStats is portal-sim's GET /_sim/stats answer (docs/portal-api.md section 6).
type simStats struct {
	Total int64      `json:"total"`
	Calls []simCount `json:"calls"`
}

// simCount is one (method, route, status) entry of simStats.
type simCount struct {
	Method string `json:"method"`
	Route  string `json:"route"`
	Status int    `json:"status"`
	Count  int64  `json:"count"`
}

// callKey identifies a counter of simStats.
type callKey struct {
	method, route string
	status        int
}

// fetchSimStats reads /_sim/stats of the portal-sim at root. It fails on a transport error, a status
// other than 200 or a body that is not the stats.
func fetchSimStats(ctx context.Context, client *http.Client, root string) (map[callKey]int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, root+"/_sim/stats", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read portal-sim stats: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read portal-sim stats: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read portal-sim stats: status %d: %s", resp.StatusCode, truncate(b))
	}
	var s simStats
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("read portal-sim stats: %w", err)
	}
	m := make(map[callKey]int64, len(s.Calls))
	for _, c := range s.Calls {
		m[callKey{c.Method, c.Route, c.Status}] += c.Count
	}
	return m, nil
}

// portalDelta returns the calls served between before and after, by method and route, divided by
// requests (the SCIM requests of the stage).
func portalDelta(before, after map[callKey]int64, requests int) *PortalCalls {
	type routeKey struct{ method, route string }
	byRoute := map[routeKey]*RouteCalls{}
	pc := &PortalCalls{Routes: []RouteCalls{}}
	for k, n := range after {
		d := n - before[k]
		if d <= 0 {
			continue
		}
		rk := routeKey{k.method, k.route}
		rc := byRoute[rk]
		if rc == nil {
			rc = &RouteCalls{Method: k.method, Route: k.route, Statuses: map[string]int64{}}
			byRoute[rk] = rc
		}
		rc.Calls += d
		rc.Statuses[strconv.Itoa(k.status)] += d
		pc.Total += d
	}
	for _, rc := range byRoute {
		if requests > 0 {
			rc.PerRequest = float64(rc.Calls) / float64(requests)
		}
		pc.Routes = append(pc.Routes, *rc)
	}
	sort.Slice(pc.Routes, func(i, j int) bool {
		a, b := pc.Routes[i], pc.Routes[j]
		if a.Route != b.Route {
			return a.Route < b.Route
		}
		return a.Method < b.Method
	})
	if requests > 0 {
		pc.PerRequest = float64(pc.Total) / float64(requests)
	}
	return pc
}
