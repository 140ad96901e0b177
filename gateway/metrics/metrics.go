package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every gateway metric.
const Namespace = "scimgw_"

// ContentType is the media type of the Prometheus text format, version 0.0.4, that Handler serves
// to a scraper that asks for no other format. client_golang appends a name escaping parameter
// ("; escaping=underscores"), so compare with strings.HasPrefix or mime.ParseMediaType.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// DurationBuckets are the upper bounds, in seconds, of every duration histogram: from 1ms (a warm
// cache answer) to 30s (the longest portal timeout worth telling apart).
var DurationBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Portal call statuses that are not HTTP statuses.
const StatusError = "error" // no answer: timeout, refused or dropped connection, breaker open

// Route labels for requests no route matched.
const RouteUnmatched = "unmatched"

// Breaker states, as gobreaker names them, and the values of scimgw_breaker_state.
const (
	BreakerClosed   = "closed"    // 0
	BreakerHalfOpen = "half-open" // 1
	BreakerOpen     = "open"      // 2
)

// breakerValues are the values of scimgw_breaker_state.
var breakerValues = map[string]float64{BreakerClosed: 0, BreakerHalfOpen: 1, BreakerOpen: 2}

// Cache kinds (scimgw_cache_*_total kind label) of the gateway's lookups.
const (
	CacheUserID    = "user_id"    // SCIM id to portal idUser
	CacheUserLogin = "user_login" // userName to SCIM id
	CacheUserExt   = "user_ext"   // externalId to SCIM id
	CacheGroupID   = "group_id"   // SCIM id to portal idGroup
	CacheGroupName = "group_name" // displayName to SCIM id
	CacheGroupExt  = "group_ext"  // group externalId to SCIM id
)

// Config reload results (scimgw_config_reloads_total result label).
const (
	ReloadOK      = "ok"
	ReloadInvalid = "invalid"
)

// StreamDropReasons are the reason labels of scimgw_translation_stream_dropped_total (translog's Drop
// reasons), present from the start at 0.
var StreamDropReasons = []string{"queue_full", "unavailable", "too_large"}

// knownMethods are the HTTP methods kept as method labels; any other becomes "OTHER", so a client
// cannot grow the label set.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// Metrics are the gateway's Prometheus metrics, on a client_golang registry of their own (with the Go
// runtime and process collectors), served by Handler. Every method is safe for concurrent use. Labels
// are route templates, operation names and fixed words, never raw paths or user values: callers pass
// constants (client_golang panics on a label value that is not valid UTF-8).
type Metrics struct {
	handler http.Handler
	reg     *prometheus.Registry

	redisOnce sync.Once // registers redisUp at the first SetRedisUp

	scimRequests   *prometheus.CounterVec
	scimDuration   *prometheus.HistogramVec
	authFailures   prometheus.Counter
	portalCalls    *prometheus.CounterVec
	portalDuration *prometheus.HistogramVec
	portalRetries  *prometheus.CounterVec
	breakerState   *prometheus.GaugeVec
	breakerTrans   *prometheus.CounterVec
	cacheHits      *prometheus.CounterVec
	cacheMisses    *prometheus.CounterVec
	redisErrors    prometheus.Counter
	redisUp        prometheus.Gauge
	creates        *prometheus.CounterVec
	translations   *prometheus.CounterVec
	reloads        *prometheus.CounterVec
	configVersion  prometheus.Gauge
	reconcile      *reconcileMetrics
	streamDropped  *prometheus.CounterVec

	queueMu     sync.Mutex
	portalQueue map[string][2]func() int // by tenant: in flight, waiting
	global      map[string]GlobalSlots   // by tenant: its fleet-wide bound
	globalWait  *prometheus.HistogramVec
}

// New builds the metrics on a registry of their own, every series that has no label starting at zero,
// the breaker closed. scimgw_redis_up is not among them until SetRedisUp is first called: a gateway on
// the in-memory store has no Redis to report on.
func New() *Metrics {
	m := &Metrics{
		scimRequests: counterVec(Namespace+"scim_requests_total",
			"SCIM requests answered, by tenant, route template, method and status.", "tenant", "route", "method", "status"),
		scimDuration: durationHistogram(Namespace+"scim_request_duration_seconds",
			"Time to answer a SCIM request, by tenant, route template and method.", "tenant", "route", "method"),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: Namespace + "scim_auth_failures_total",
			Help: "SCIM requests refused for a missing or unknown bearer token."}),
		portalCalls: counterVec(Namespace+"portal_calls_total",
			`Portal calls (each attempt), by tenant, operation and HTTP status ("error": no answer).`, "tenant", "op", "status"),
		portalDuration: durationHistogram(Namespace+"portal_call_duration_seconds",
			"Duration of a portal call attempt, by tenant and operation.", "tenant", "op"),
		portalRetries: counterVec(Namespace+"portal_retries_total",
			"Portal call attempts after the first, by tenant and operation.", "tenant", "op"),
		breakerState: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: Namespace + "breaker_state",
			Help: "Portal circuit breaker state, by tenant: 0 closed, 1 half-open, 2 open."}, []string{"tenant"}),
		breakerTrans: counterVec(Namespace+"breaker_transitions_total",
			"Portal circuit breaker state changes, by tenant, state left and state entered.", "tenant", "from", "to"),
		cacheHits: counterVec(Namespace+"cache_hits_total",
			"Store lookups answered from the cache, by tenant and kind.", "tenant", "kind"),
		cacheMisses: counterVec(Namespace+"cache_misses_total",
			"Store lookups the cache could not answer, by tenant and kind.", "tenant", "kind"),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: Namespace + "redis_errors_total",
			Help: "Redis commands that failed."}),
		redisUp: prometheus.NewGauge(prometheus.GaugeOpts{Name: Namespace + "redis_up",
			Help: "Whether Redis answers: 1 up, 0 down. Absent when the gateway uses the in-memory store."}),
		creates: counterVec(Namespace+"creates_total",
			"SCIM creates, by tenant, resource type and outcome (created, replayed, conflict, restored).", "tenant", "resource", "outcome"),
		translations: counterVec(Namespace+"translations_total",
			"Translation records, by tenant, SCIM operation and outcome.", "tenant", "op", "outcome"),
		reloads: counterVec(Namespace+"config_reloads_total",
			"Configuration reloads, by result (ok, invalid).", "result"),
		configVersion: prometheus.NewGauge(prometheus.GaugeOpts{Name: Namespace + "config_version",
			Help: "Version of the configuration in force (1 at start, one more per applied reload)."}),
		streamDropped: counterVec(Namespace+"translation_stream_dropped_total",
			"Translation records not written to the fleet-wide Redis stream, by reason (queue_full, unavailable, too_large).", "reason"),
	}
	queue := &queueCollector{m: m,
		inFlight: prometheus.NewDesc(Namespace+"portal_in_flight", "Portal calls in progress, by tenant.", []string{"tenant"}, nil),
		waiting:  prometheus.NewDesc(Namespace+"portal_waiting", "Portal calls waiting for a concurrency slot, by tenant.", []string{"tenant"}, nil)}

	for _, res := range []string{ReloadOK, ReloadInvalid} {
		m.reloads.WithLabelValues(res)
	}
	for _, reason := range StreamDropReasons {
		m.streamDropped.WithLabelValues(reason)
	}

	m.reg = prometheus.NewRegistry()
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.scimRequests, m.scimDuration, m.authFailures,
		m.portalCalls, m.portalDuration, m.portalRetries, queue,
		m.breakerState, m.breakerTrans,
		m.cacheHits, m.cacheMisses, m.redisErrors,
		m.creates, m.translations, m.reloads, m.configVersion, m.streamDropped,
	)
	m.reconcile = newReconcileMetrics(m.reg)
	m.reg.MustRegister(m.globalCollectors()...)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// counterVec returns a counter family with the given label names.
func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
}

// durationHistogram returns a duration histogram family with DurationBuckets.
func durationHistogram(name, help string, labels ...string) *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: DurationBuckets}, labels)
}

// Handler serves the metrics (mount it on the admin port at /metrics): the Prometheus text format
// (ContentType) unless the scraper asks for another format client_golang offers (protobuf), gzipped
// when the scraper accepts it.
func (m *Metrics) Handler() http.Handler { return m.handler }

// DefaultTenant is the tenant label of the top-level configuration's tenant.
const DefaultTenant = "default"

// ObserveSCIM records one answered SCIM request of tenant ("" when none was authenticated): route is
// the route template ("/scim/v2/Users/:id"; "" for a request no route matched), method the HTTP
// method, status the status answered, d the time to answer.
func (m *Metrics) ObserveSCIM(tenant, route, method string, status int, d time.Duration) {
	if route == "" {
		route = RouteUnmatched
	}
	if !knownMethods[method] {
		method = "OTHER"
	}
	m.scimRequests.WithLabelValues(tenant, route, method, strconv.Itoa(status)).Inc()
	m.scimDuration.WithLabelValues(tenant, route, method).Observe(d.Seconds())
}

// SCIMAuthFailure counts a SCIM request refused for its bearer token.
func (m *Metrics) SCIMAuthFailure() { m.authFailures.Inc() }

// ObservePortalCall records one portal call attempt of tenant: op is the portal operation (createUser,
// ...), status the portal's HTTP status or 0 when no answer came (counted as "error"), d its duration.
func (m *Metrics) ObservePortalCall(tenant, op string, status int, d time.Duration) {
	s := StatusError
	if status > 0 {
		s = strconv.Itoa(status)
	}
	m.portalCalls.WithLabelValues(tenant, op, s).Inc()
	m.portalDuration.WithLabelValues(tenant, op).Observe(d.Seconds())
}

// PortalRetry counts one retried attempt of portal operation op of tenant.
func (m *Metrics) PortalRetry(tenant, op string) { m.portalRetries.WithLabelValues(tenant, op).Inc() }

// BreakerTransition records a breaker state change of tenant's portal (BreakerClosed,
// BreakerHalfOpen, BreakerOpen, as gobreaker's State.String() names them) and sets
// scimgw_breaker_state to the state entered.
func (m *Metrics) BreakerTransition(tenant, from, to string) {
	m.breakerTrans.WithLabelValues(tenant, from, to).Inc()
	m.SetBreakerState(tenant, to)
}

// SetBreakerState sets scimgw_breaker_state of tenant; an unknown state name is ignored.
func (m *Metrics) SetBreakerState(tenant, state string) {
	if v, ok := breakerValues[state]; ok {
		m.breakerState.WithLabelValues(tenant).Set(v)
	}
}

// SetPortalQueue makes scimgw_portal_in_flight and scimgw_portal_waiting of tenant report what
// inFlight and waiting return at each scrape (the portal client's concurrency bound). A tenant that
// was never set has no series.
func (m *Metrics) SetPortalQueue(tenant string, inFlight, waiting func() int) {
	m.queueMu.Lock()
	defer m.queueMu.Unlock()
	if m.portalQueue == nil {
		m.portalQueue = map[string][2]func() int{}
	}
	m.portalQueue[tenant] = [2]func() int{inFlight, waiting}
}

// RemoveTenant drops the gauges of a tenant that a reload removed (its portal queue, breaker state and
// fleet-wide bound); its counters stay, as counters do.
func (m *Metrics) RemoveTenant(tenant string) {
	m.queueMu.Lock()
	delete(m.portalQueue, tenant)
	delete(m.global, tenant)
	m.queueMu.Unlock()
	m.breakerState.DeleteLabelValues(tenant)
}

// queueCollector reports the portal queue gauges of every tenant, read at each scrape.
type queueCollector struct {
	m                 *Metrics
	inFlight, waiting *prometheus.Desc
}

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- q.inFlight; ch <- q.waiting }

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	q.m.queueMu.Lock()
	fns := make(map[string][2]func() int, len(q.m.portalQueue))
	for t, f := range q.m.portalQueue {
		fns[t] = f
	}
	q.m.queueMu.Unlock()
	for t, f := range fns {
		for i, d := range []*prometheus.Desc{q.inFlight, q.waiting} {
			v := 0.0
			if f[i] != nil {
				v = float64(f[i]())
			}
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, t)
		}
	}
}

// CacheHit counts a store lookup of kind (CacheUserID, ...) of tenant answered from the cache.
func (m *Metrics) CacheHit(tenant, kind string) { m.cacheHits.WithLabelValues(tenant, kind).Inc() }

// CacheMiss counts a store lookup of kind of tenant the cache could not answer.
func (m *Metrics) CacheMiss(tenant, kind string) { m.cacheMisses.WithLabelValues(tenant, kind).Inc() }

// RedisError counts a failed Redis command.
func (m *Metrics) RedisError() { m.redisErrors.Inc() }

// SetRedisUp reports whether Redis answers. The first call adds scimgw_redis_up to the metrics: the
// gateway calls it only when its store is Redis.
func (m *Metrics) SetRedisUp(up bool) {
	m.redisOnce.Do(func() { m.reg.MustRegister(m.redisUp) })
	v := 0.0
	if up {
		v = 1
	}
	m.redisUp.Set(v)
}

// CreateOutcome counts a SCIM create of tenant of resource ("User", "Group") by outcome (created,
// replayed, conflict, restored).
func (m *Metrics) CreateOutcome(tenant, resource, outcome string) {
	m.creates.WithLabelValues(tenant, resource, outcome).Inc()
}

// Translation counts a translation record of tenant by SCIM operation and outcome.
func (m *Metrics) Translation(tenant, op, outcome string) {
	m.translations.WithLabelValues(tenant, op, outcome).Inc()
}

// ConfigReload counts a configuration reload: ok when it was applied, otherwise invalid (the old
// configuration stays).
func (m *Metrics) ConfigReload(ok bool) {
	res := ReloadInvalid
	if ok {
		res = ReloadOK
	}
	m.reloads.WithLabelValues(res).Inc()
}

// TranslationStreamDropped counts n translation records the fleet-wide stream did not get, by reason.
func (m *Metrics) TranslationStreamDropped(reason string, n int) {
	m.streamDropped.WithLabelValues(reason).Add(float64(n))
}

// SetConfigVersion sets the version of the configuration in force.
func (m *Metrics) SetConfigVersion(v int64) { m.configVersion.Set(float64(v)) }
