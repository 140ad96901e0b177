package metrics_test

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/scim-gateway/scim-gateway/gateway/metrics"
)

// exposition is a parsed scrape: its families by name, and every sample by its series
// ("name{labels}", labels in the order the text format gives them: by name, le last).
type exposition struct {
	families map[string]*dto.MetricFamily
	samples  map[string]float64
}

// scrape serves GET /metrics from m, checks the status and Content-Type, and parses the text format
// with expfmt (which rejects malformed lines and a family's TYPE twice); no series may come twice.
func scrape(t *testing.T, m *metrics.Metrics) exposition {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, metrics.ContentType) {
		t.Fatalf("Content-Type %q, want %q", ct, metrics.ContentType)
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := parser.TextToMetricFamilies(w.Body)
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	e := exposition{families: fams, samples: map[string]float64{}}
	add := func(name string, labels []*dto.LabelPair, le string, v float64) {
		parts := make([]string, 0, len(labels)+1)
		for _, l := range labels {
			parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		if le != "" {
			parts = append(parts, `le="`+le+`"`)
		}
		key := name
		if len(parts) > 0 {
			key += "{" + strings.Join(parts, ",") + "}"
		}
		if _, dup := e.samples[key]; dup {
			t.Fatalf("series %s twice", key)
		}
		e.samples[key] = v
	}
	for name, f := range fams {
		for _, s := range f.GetMetric() {
			labels := slices.SortedFunc(slices.Values(s.GetLabel()), func(a, b *dto.LabelPair) int {
				return strings.Compare(a.GetName(), b.GetName())
			})
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				add(name, labels, "", s.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(name, labels, "", s.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add(name, labels, "", s.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := s.GetHistogram()
				for _, bk := range h.GetBucket() {
					add(name+"_bucket", labels, fmt.Sprint(bk.GetUpperBound()), float64(bk.GetCumulativeCount()))
				}
				add(name+"_sum", labels, "", h.GetSampleSum())
				add(name+"_count", labels, "", float64(h.GetSampleCount()))
			}
		}
	}
	return e
}

// want checks that series has value v.
func (e exposition) want(t *testing.T, series string, v float64) {
	t.Helper()
	got, ok := e.samples[series]
	if !ok {
		t.Fatalf("no series %s", series)
	}
	if got != v {
		t.Fatalf("%s = %v, want %v", series, got, v)
	}
}

func TestMetricsRecorded(t *testing.T) {
	m := metrics.New()
	m.ObserveSCIM("default", "/scim/v2/Users/:id", http.MethodGet, 200, 3*time.Millisecond)
	m.ObserveSCIM("default", "/scim/v2/Users/:id", http.MethodGet, 200, 40*time.Millisecond)
	m.ObserveSCIM("default", "/scim/v2/Users/:id", http.MethodGet, 404, 2*time.Second)
	m.ObserveSCIM("default", "/scim/v2/Users", http.MethodPost, 201, 100*time.Millisecond)
	m.ObserveSCIM("default", "", "BREW", 404, time.Millisecond)
	m.SCIMAuthFailure()
	m.SCIMAuthFailure()
	m.ObservePortalCall("default", "createUser", 201, 90*time.Millisecond)
	m.ObservePortalCall("default", "getUser", 200, 5*time.Millisecond)
	m.ObservePortalCall("default", "getUser", 0, 10*time.Second)
	m.PortalRetry("default", "getUser")
	m.BreakerTransition("default", metrics.BreakerClosed, metrics.BreakerOpen)
	m.BreakerTransition("default", metrics.BreakerOpen, metrics.BreakerHalfOpen)
	m.CacheHit("default", metrics.CacheUserID)
	m.CacheHit("default", metrics.CacheUserID)
	m.CacheMiss("default", metrics.CacheUserLogin)
	m.RedisError()
	m.SetRedisUp(false)
	m.CreateOutcome("default", "User", "created")
	m.CreateOutcome("default", "User", "replayed")
	m.Translation("default", "create", "created")
	m.ConfigReload(true)
	m.ConfigReload(false)
	m.ConfigReload(false)
	m.SetConfigVersion(7)
	m.TranslationStreamDropped("queue_full", 3)
	m.SetPortalQueue("default", func() int { return 3 }, func() int { return 5 })

	e := scrape(t, m)
	checks := []struct {
		series string
		v      float64
	}{
		{`scimgw_scim_requests_total{method="GET",route="/scim/v2/Users/:id",status="200",tenant="default"}`, 2},
		{`scimgw_scim_requests_total{method="GET",route="/scim/v2/Users/:id",status="404",tenant="default"}`, 1},
		{`scimgw_scim_requests_total{method="POST",route="/scim/v2/Users",status="201",tenant="default"}`, 1},
		{`scimgw_scim_requests_total{method="OTHER",route="unmatched",status="404",tenant="default"}`, 1},
		{`scimgw_scim_request_duration_seconds_bucket{method="GET",route="/scim/v2/Users/:id",tenant="default",le="0.001"}`, 0},
		{`scimgw_scim_request_duration_seconds_bucket{method="GET",route="/scim/v2/Users/:id",tenant="default",le="0.005"}`, 1},
		{`scimgw_scim_request_duration_seconds_bucket{method="GET",route="/scim/v2/Users/:id",tenant="default",le="0.05"}`, 2},
		{`scimgw_scim_request_duration_seconds_bucket{method="GET",route="/scim/v2/Users/:id",tenant="default",le="2.5"}`, 3},
		{`scimgw_scim_request_duration_seconds_bucket{method="GET",route="/scim/v2/Users/:id",tenant="default",le="+Inf"}`, 3},
		{`scimgw_scim_request_duration_seconds_count{method="GET",route="/scim/v2/Users/:id",tenant="default"}`, 3},
		{`scimgw_scim_request_duration_seconds_sum{method="GET",route="/scim/v2/Users/:id",tenant="default"}`, 2.043},
		{`scimgw_scim_auth_failures_total`, 2},
		{`scimgw_portal_calls_total{op="createUser",status="201",tenant="default"}`, 1},
		{`scimgw_portal_calls_total{op="getUser",status="200",tenant="default"}`, 1},
		{`scimgw_portal_calls_total{op="getUser",status="error",tenant="default"}`, 1},
		{`scimgw_portal_call_duration_seconds_bucket{op="getUser",tenant="default",le="10"}`, 2},
		{`scimgw_portal_call_duration_seconds_bucket{op="getUser",tenant="default",le="5"}`, 1},
		{`scimgw_portal_call_duration_seconds_count{op="createUser",tenant="default"}`, 1},
		{`scimgw_portal_retries_total{op="getUser",tenant="default"}`, 1},
		{`scimgw_breaker_state{tenant="default"}`, 1},
		{`scimgw_breaker_transitions_total{from="closed",tenant="default",to="open"}`, 1},
		{`scimgw_breaker_transitions_total{from="open",tenant="default",to="half-open"}`, 1},
		{`scimgw_portal_in_flight{tenant="default"}`, 3},
		{`scimgw_portal_waiting{tenant="default"}`, 5},
		{`scimgw_cache_hits_total{kind="user_id",tenant="default"}`, 2},
		{`scimgw_cache_misses_total{kind="user_login",tenant="default"}`, 1},
		{`scimgw_redis_errors_total`, 1},
		{`scimgw_redis_up`, 0},
		{`scimgw_creates_total{outcome="created",resource="User",tenant="default"}`, 1},
		{`scimgw_creates_total{outcome="replayed",resource="User",tenant="default"}`, 1},
		{`scimgw_translations_total{op="create",outcome="created",tenant="default"}`, 1},
		{`scimgw_config_reloads_total{result="ok"}`, 1},
		{`scimgw_config_reloads_total{result="invalid"}`, 2},
		{`scimgw_config_version`, 7},
		{`scimgw_translation_stream_dropped_total{reason="queue_full"}`, 3},
	}
	for _, c := range checks {
		t.Run(c.series, func(t *testing.T) {
			if strings.HasSuffix(strings.SplitN(c.series, "{", 2)[0], "_sum") {
				got := e.samples[c.series]
				if diff := got - c.v; diff > 1e-9 || diff < -1e-9 {
					t.Fatalf("%s = %v, want %v", c.series, got, c.v)
				}
				return
			}
			e.want(t, c.series, c.v)
		})
	}
	types := map[string]string{
		"scimgw_scim_requests_total":           "counter",
		"scimgw_scim_request_duration_seconds": "histogram",
		"scimgw_portal_call_duration_seconds":  "histogram",
		"scimgw_breaker_state":                 "gauge",
		"scimgw_portal_in_flight":              "gauge",
		"scimgw_config_reloads_total":          "counter",
		"go_goroutines":                        "gauge",
		"process_start_time_seconds":           "gauge",
		"scimgw_breaker_transitions_total":     "counter",
		"scimgw_scim_auth_failures_total":      "counter",
		"scimgw_cache_hits_total":              "counter",
		"scimgw_portal_retries_total":          "counter",
		"scimgw_translations_total":            "counter",
		"scimgw_creates_total":                 "counter",
		"scimgw_redis_up":                      "gauge",
		"scimgw_config_version":                "gauge",
		"scimgw_portal_waiting":                "gauge",
		"scimgw_redis_errors_total":            "counter",
		"scimgw_cache_misses_total":            "counter",
		"scimgw_portal_calls_total":            "counter",
		"go_memstats_heap_alloc_bytes":         "gauge",
		"go_info":                              "gauge",
		"go_sched_gomaxprocs_threads":          "gauge",
		"go_memstats_sys_bytes":                "gauge",
		"go_gc_duration_seconds":               "summary",
		"process_cpu_seconds_total":            "counter",
	}
	for name, typ := range types {
		f, ok := e.families[name]
		if !ok {
			t.Fatalf("no family %s", name)
		}
		if got := strings.ToLower(f.GetType().String()); got != typ {
			t.Fatalf("TYPE of %s = %q, want %q", name, got, typ)
		}
	}
	for _, name := range []string{"scimgw_scim_request_duration_seconds", "scimgw_portal_call_duration_seconds"} {
		for _, s := range e.families[name].GetMetric() {
			var bounds []float64
			for _, b := range s.GetHistogram().GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
			}
			if want := append(slices.Clone(metrics.DurationBuckets), math.Inf(1)); !slices.Equal(bounds, want) {
				t.Fatalf("%s buckets %v, want %v", name, bounds, want)
			}
		}
	}
}

func TestInitialSeries(t *testing.T) {
	e := scrape(t, metrics.New())
	checks := []struct {
		series string
		v      float64
	}{
		{"scimgw_scim_auth_failures_total", 0},
		{"scimgw_redis_errors_total", 0},
		{`scimgw_config_reloads_total{result="ok"}`, 0},
		{`scimgw_config_reloads_total{result="invalid"}`, 0},
		{"scimgw_config_version", 0},
		{`scimgw_translation_stream_dropped_total{reason="queue_full"}`, 0},
		{`scimgw_translation_stream_dropped_total{reason="unavailable"}`, 0},
		{`scimgw_translation_stream_dropped_total{reason="too_large"}`, 0},
	}
	for _, c := range checks {
		e.want(t, c.series, c.v)
	}
	// The per-tenant gauges come with each tenant the gateway sets up.
	for _, name := range []string{"scimgw_breaker_state", "scimgw_portal_in_flight", "scimgw_portal_waiting"} {
		if _, ok := e.families[name]; ok && len(e.families[name].GetMetric()) > 0 {
			t.Errorf("%s has series before any tenant", name)
		}
	}
	if g := e.samples["go_goroutines"]; g < 1 {
		t.Fatalf("go_goroutines = %v, want at least 1", g)
	}
	if runtime.GOOS == "linux" {
		for _, name := range []string{"process_resident_memory_bytes", "process_open_fds", "process_max_fds", "process_start_time_seconds"} {
			if v, ok := e.samples[name]; !ok || v <= 0 {
				t.Fatalf("%s = %v (present %v), want a positive value on Linux", name, v, ok)
			}
		}
		// CPU time comes from /proc in clock ticks (10ms): a fresh test process may have none yet.
		if v, ok := e.samples["process_cpu_seconds_total"]; !ok || v < 0 {
			t.Fatalf("process_cpu_seconds_total = %v (present %v), want a value of at least 0 on Linux", v, ok)
		}
	}
	for _, name := range []string{"scimgw_scim_requests_total", "scimgw_scim_request_duration_seconds", "scimgw_cache_hits_total"} {
		if _, ok := e.families[name]; ok {
			t.Fatalf("labelled family %s with no series was rendered", name)
		}
	}
}

// TestRedisUpOnlyWithRedis: scimgw_redis_up is absent until the gateway reports on a Redis store (a
// gateway on the in-memory store never does), then follows each report.
func TestRedisUpOnlyWithRedis(t *testing.T) {
	m := metrics.New()
	if _, ok := scrape(t, m).families["scimgw_redis_up"]; ok {
		t.Fatal("scimgw_redis_up is reported before any Redis report")
	}
	m.SetRedisUp(true)
	scrape(t, m).want(t, "scimgw_redis_up", 1)
	m.SetRedisUp(false)
	scrape(t, m).want(t, "scimgw_redis_up", 0)
}

func TestRegistriesAreSeparate(t *testing.T) {
	a, b := metrics.New(), metrics.New()
	a.SCIMAuthFailure()
	scrape(t, b).want(t, "scimgw_scim_auth_failures_total", 0)
	scrape(t, a).want(t, "scimgw_scim_auth_failures_total", 1)
	// Nothing lands on client_golang's global default registry.
	n, err := testutil.GatherAndCount(prometheus.DefaultGatherer, "scimgw_scim_auth_failures_total", "scimgw_redis_up")
	if err != nil {
		t.Fatalf("gather default registry: %v", err)
	}
	if n != 0 {
		t.Fatalf("default registry has %d scimgw series, want 0", n)
	}
}

func TestBreakerStateValues(t *testing.T) {
	m := metrics.New()
	for _, tt := range []struct {
		state string
		want  float64
	}{
		{metrics.BreakerOpen, 2},
		{metrics.BreakerHalfOpen, 1},
		{metrics.BreakerClosed, 0},
		{"bogus", 0}, // ignored: the gauge keeps its value
	} {
		t.Run(tt.state, func(t *testing.T) {
			m.SetBreakerState("default", tt.state)
			scrape(t, m).want(t, `scimgw_breaker_state{tenant="default"}`, tt.want)
		})
	}
}

func TestConcurrentUpdates(t *testing.T) {
	m := metrics.New()
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				m.ObserveSCIM("default", "/scim/v2/Users", http.MethodPost, 201, time.Duration(i)*time.Millisecond)
				m.ObservePortalCall("default", "createUser", 201, time.Millisecond)
				m.CacheHit("default", metrics.CacheUserID)
			}
		}()
	}
	// Scrapes while writers run must parse (and are checked by -race).
	for range 5 {
		scrape(t, m)
	}
	wg.Wait()
	e := scrape(t, m)
	e.want(t, `scimgw_scim_requests_total{method="POST",route="/scim/v2/Users",status="201",tenant="default"}`, workers*each)
	e.want(t, `scimgw_scim_request_duration_seconds_count{method="POST",route="/scim/v2/Users",tenant="default"}`, workers*each)
	e.want(t, `scimgw_portal_calls_total{op="createUser",status="201",tenant="default"}`, workers*each)
	e.want(t, `scimgw_cache_hits_total{kind="user_id",tenant="default"}`, workers*each)
	// Histogram buckets are cumulative and end at the count.
	for _, s := range e.families["scimgw_scim_request_duration_seconds"].GetMetric() {
		h := s.GetHistogram()
		var prev uint64
		for _, b := range h.GetBucket() {
			if b.GetCumulativeCount() < prev {
				t.Fatalf("bucket le=%v = %d is below the previous %d", b.GetUpperBound(), b.GetCumulativeCount(), prev)
			}
			prev = b.GetCumulativeCount()
		}
		if prev != h.GetSampleCount() || prev != workers*each {
			t.Fatalf("+Inf bucket = %d, count %d, want %d", prev, h.GetSampleCount(), workers*each)
		}
	}
}

func BenchmarkObserveSCIM(b *testing.B) {
	m := metrics.New()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.ObserveSCIM("default", "/scim/v2/Users/:id", http.MethodGet, 200, 3*time.Millisecond)
		}
	})
}

// fakeGlobal is a fleet-wide bound as the Redis semaphore reports it.
type fakeGlobal struct {
	limit, inUse   int
	waits, expired uint64
	degraded       bool
}

func (f fakeGlobal) Limit() int      { return f.limit }
func (f fakeGlobal) InUse() int      { return f.inUse }
func (f fakeGlobal) Waits() uint64   { return f.waits }
func (f fakeGlobal) Expired() uint64 { return f.expired }
func (f fakeGlobal) Degraded() bool  { return f.degraded }

// TestGlobalSlots: each tenant's fleet-wide bound has its own series, none before it is set, none after
// it is dropped (the tenant's bound turned off) or the tenant is removed.
func TestGlobalSlots(t *testing.T) {
	m := metrics.New()
	names := []string{"scimgw_portal_global_slots_limit", "scimgw_portal_global_slots_in_use",
		"scimgw_portal_global_bound_degraded", "scimgw_portal_global_waits_total", "scimgw_portal_global_lease_expiries_total"}
	e := scrape(t, m)
	for _, s := range names {
		if _, ok := e.families[s]; ok {
			t.Fatalf("%s reported before any tenant has a fleet-wide bound", s)
		}
	}
	m.SetGlobalSlots("default", fakeGlobal{limit: 20, inUse: 7, waits: 3, expired: 2, degraded: true})
	m.SetGlobalSlots("fabrikam", fakeGlobal{limit: 4, inUse: 1, waits: 9})
	m.GlobalWait("default", 30*time.Millisecond, true)
	m.GlobalWait("default", 5*time.Second, false)
	m.GlobalWait("fabrikam", time.Millisecond, true)
	e = scrape(t, m)
	e.want(t, `scimgw_portal_global_slots_limit{tenant="default"}`, 20)
	e.want(t, `scimgw_portal_global_slots_in_use{tenant="default"}`, 7)
	e.want(t, `scimgw_portal_global_bound_degraded{tenant="default"}`, 1)
	e.want(t, `scimgw_portal_global_waits_total{tenant="default"}`, 3)
	e.want(t, `scimgw_portal_global_lease_expiries_total{tenant="default"}`, 2)
	e.want(t, `scimgw_portal_global_slots_limit{tenant="fabrikam"}`, 4)
	e.want(t, `scimgw_portal_global_slots_in_use{tenant="fabrikam"}`, 1)
	e.want(t, `scimgw_portal_global_bound_degraded{tenant="fabrikam"}`, 0)
	e.want(t, `scimgw_portal_global_waits_total{tenant="fabrikam"}`, 9)
	e.want(t, `scimgw_portal_global_wait_seconds_count{result="granted",tenant="default"}`, 1)
	e.want(t, `scimgw_portal_global_wait_seconds_bucket{result="granted",tenant="default",le="0.05"}`, 1)
	e.want(t, `scimgw_portal_global_wait_seconds_count{result="timeout",tenant="default"}`, 1)
	e.want(t, `scimgw_portal_global_wait_seconds_bucket{result="timeout",tenant="default",le="2.5"}`, 0)
	e.want(t, `scimgw_portal_global_wait_seconds_count{result="granted",tenant="fabrikam"}`, 1)

	m.SetGlobalSlots("default", nil)
	m.RemoveTenant("fabrikam")
	e = scrape(t, m)
	for _, s := range names {
		if _, ok := e.families[s]; ok {
			t.Fatalf("%s still reported after both bounds were dropped", s)
		}
	}
}
