package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// networkStatus is the key of attempts that got no answer (timeout, refused or dropped connection).
const networkStatus = "network"

// opStats accumulates the attempts of one operation. It is safe for concurrent use.
type opStats struct {
	name string

	mu        sync.Mutex
	requests  int
	ok        int
	conflicts int
	retried   int
	failed    int
	abandoned int
	statuses  map[int]int // 0: no answer
	latencies []time.Duration
}

func newOpStats(name string) *opStats { return &opStats{name: name, statuses: map[int]int{}} }

// record counts one attempt and its latency.
func (s *opStats) record(o outcome, latency time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests++
	s.statuses[o.status]++
	s.latencies = append(s.latencies, latency)
	if o.ok {
		s.ok++
		if o.conflict {
			s.conflicts++
		}
	}
}

// retry counts an attempt that failed and whose object was queued again.
func (s *opStats) retry() { s.mu.Lock(); s.retried++; s.mu.Unlock() }

// fail counts an object given up: a final error, or retries exhausted.
func (s *opStats) fail() { s.mu.Lock(); s.failed++; s.mu.Unlock() }

// abandon counts n objects left undone when the stage stopped early.
func (s *opStats) abandon(n int) { s.mu.Lock(); s.abandoned += n; s.mu.Unlock() }

// Report is the report of a run; --json writes it as is.
type Report struct {
	Mode            string        `json:"mode"` // "scim", or "direct" for the portal baseline
	Scenario        string        `json:"scenario"`
	BaseURL         string        `json:"base_url"`
	Dialect         string        `json:"dialect"`
	Concurrency     int           `json:"concurrency"`
	Rate            float64       `json:"rate"` // 0: closed loop
	DurationSeconds float64       `json:"duration_seconds"`
	Users           int           `json:"users"`
	Groups          int           `json:"groups"`
	MembersPerGroup int           `json:"members_per_group"`
	Prefix          string        `json:"prefix"`
	Seed            int64         `json:"seed"`
	Started         time.Time     `json:"started"`
	WallSeconds     float64       `json:"wall_seconds"`
	Phases          []PhaseReport `json:"phases"`
	Answers         AnswerSummary `json:"answers"`
}

// PhaseReport is one phase of a run: setup, initial, incremental or get.
type PhaseReport struct {
	Name        string  `json:"name"`
	WallSeconds float64 `json:"wall_seconds"`
	// UsersPerSecond is, for setup and initial, the users whose id became known divided by the wall
	// time of the user stages (filter and create).
	UsersPerSecond float64    `json:"users_per_second,omitempty"`
	StoppedEarly   bool       `json:"stopped_early"`
	Operations     []OpReport `json:"operations"`
}

// OpReport is one operation of a phase. Requests counts attempts; OK, Failed and Abandoned count
// objects (OK includes Conflicts); Retried counts failed attempts whose object was tried again.
type OpReport struct {
	Name              string         `json:"name"`
	Requests          int            `json:"requests"`
	OK                int            `json:"ok"`
	Conflicts         int            `json:"conflicts"`
	Retried           int            `json:"retried"`
	Failed            int            `json:"failed"`
	Abandoned         int            `json:"abandoned"`
	Statuses          map[string]int `json:"statuses"` // every attempt by status; "network" for no answer
	Errors            map[string]int `json:"errors"`   // the attempts that were not 2xx
	WallSeconds       float64        `json:"wall_seconds"`
	RequestsPerSecond float64        `json:"requests_per_second"`
	OKPerSecond       float64        `json:"ok_per_second"`
	LatencyMs         Latency        `json:"latency_ms"`
	PortalCalls       *PortalCalls   `json:"portal_calls,omitempty"` // with --sim-url
}

// Latency is the latency of the attempts of an operation, in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// PortalCalls is the portal calls served during an operation's stage (from /_sim/stats), in total and
// per route, each also divided by the stage's requests.
type PortalCalls struct {
	Total      int64        `json:"total"`
	PerRequest float64      `json:"per_request"`
	Routes     []RouteCalls `json:"routes"`
}

// RouteCalls is the portal calls of one method and route template.
type RouteCalls struct {
	Method     string           `json:"method"`
	Route      string           `json:"route"`
	Calls      int64            `json:"calls"`
	PerRequest float64          `json:"per_request"`
	Statuses   map[string]int64 `json:"statuses"`
}

// AnswerSummary counts every HTTP answer of the run. Errors are the answers that were not 2xx; each
// is with or without Retry-After, except the 409s of creates (ExpectedConflicts), which Entra handles
// by matching. NetworkErrors are requests that got no answer.
type AnswerSummary struct {
	Total                   int            `json:"total"`
	OK                      int            `json:"ok"`
	Errors                  int            `json:"errors"`
	ErrorsWithRetryAfter    int            `json:"errors_with_retry_after"`
	ErrorsWithoutRetryAfter int            `json:"errors_without_retry_after"`
	ExpectedConflicts       int            `json:"expected_conflicts"`
	NetworkErrors           int            `json:"network_errors"`
	ErrorStatuses           map[string]int `json:"error_statuses"`
}

// opReport summarises s over a stage of the given wall time.
func (s *opStats) report(wall time.Duration) OpReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := OpReport{
		Name:        s.name,
		Requests:    s.requests,
		OK:          s.ok,
		Conflicts:   s.conflicts,
		Retried:     s.retried,
		Failed:      s.failed,
		Abandoned:   s.abandoned,
		Statuses:    map[string]int{},
		Errors:      map[string]int{},
		WallSeconds: wall.Seconds(),
		LatencyMs:   latencyOf(s.latencies),
	}
	for st, n := range s.statuses {
		key := statusKey(st)
		r.Statuses[key] = n
		if st < 200 || st >= 300 {
			r.Errors[key] = n
		}
	}
	if sec := wall.Seconds(); sec > 0 {
		r.RequestsPerSecond = float64(s.requests) / sec
		r.OKPerSecond = float64(s.ok) / sec
	}
	return r
}

func statusKey(status int) string {
	if status == 0 {
		return networkStatus
	}
	return strconv.Itoa(status)
}

// latencyOf returns the nearest-rank percentiles of samples.
func latencyOf(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return Latency{
		P50:  ms(percentile(sorted, 0.50)),
		P95:  ms(percentile(sorted, 0.95)),
		P99:  ms(percentile(sorted, 0.99)),
		Max:  ms(sorted[len(sorted)-1]),
		Mean: ms(sum / time.Duration(len(sorted))),
	}
}

// percentile is the nearest-rank p-quantile of sorted, which is not empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// writeText writes the human report.
func writeText(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "scim-loadgen mode=%s scenario=%s base_url=%s dialect=%s concurrency=%d rate=%g users=%d groups=%d members_per_group=%d prefix=%s seed=%d wall=%.3fs\n",
		r.Mode, r.Scenario, r.BaseURL, r.Dialect, r.Concurrency, r.Rate, r.Users, r.Groups, r.MembersPerGroup, r.Prefix, r.Seed, r.WallSeconds)
	for _, ph := range r.Phases {
		fmt.Fprintf(&b, "\nphase %s: wall=%.3fs", ph.Name, ph.WallSeconds)
		if ph.UsersPerSecond > 0 {
			fmt.Fprintf(&b, " users/s=%.1f", ph.UsersPerSecond)
		}
		if ph.StoppedEarly {
			b.WriteString(" (stopped early)")
		}
		b.WriteString("\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  op\treq\tok\tconflict\tretried\tfailed\tabandoned\treq/s\tp50ms\tp95ms\tp99ms\tmaxms\terrors\t")
		for _, op := range ph.Operations {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t\n",
				op.Name, op.Requests, op.OK, op.Conflicts, op.Retried, op.Failed, op.Abandoned, op.RequestsPerSecond,
				op.LatencyMs.P50, op.LatencyMs.P95, op.LatencyMs.P99, op.LatencyMs.Max, formatCounts(op.Errors))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for _, op := range ph.Operations {
			if op.PortalCalls == nil {
				continue
			}
			fmt.Fprintf(&b, "  portal calls per %s: %.2f", op.Name, op.PortalCalls.PerRequest)
			for _, rc := range op.PortalCalls.Routes {
				fmt.Fprintf(&b, "; %s %s %.2f", rc.Method, rc.Route, rc.PerRequest)
			}
			b.WriteString("\n")
		}
	}
	a := r.Answers
	fmt.Fprintf(&b, "\nanswers: total=%d ok=%d errors=%d errors_with_retry_after=%d errors_without_retry_after=%d expected_conflicts=%d network_errors=%d error_statuses=%s\n",
		a.Total, a.OK, a.Errors, a.ErrorsWithRetryAfter, a.ErrorsWithoutRetryAfter, a.ExpectedConflicts, a.NetworkErrors, formatCounts(a.ErrorStatuses))
	_, err := io.WriteString(w, b.String())
	return err
}

// formatCounts writes counts as {k:n,...}, keys sorted.
func formatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// writeJSONFile writes r (a *Report or a *VerifyReport) as indented JSON to path.
func writeJSONFile(path string, r any) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}
