package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
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
	breakerState   prometheus.Gauge
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

	portalQueue atomic.Pointer[[2]func() int] // in flight, waiting
	global      atomic.Pointer[GlobalSlots]
	globalWait  *prometheus.HistogramVec
}

// New builds the metrics on a registry of their own, every series that has no label starting at zero,
// the breaker closed. scimgw_redis_up is not among them until SetRedisUp is first called: a gateway on
// the in-memory store has no Redis to report on.
func New() *Metrics {
	m := &Metrics{
		scimRequests: counterVec(Namespace+"scim_requests_total",
			"SCIM requests answered, by route template, method and status.", "route", "method", "status"),
		scimDuration: durationHistogram(Namespace+"scim_request_duration_seconds",
			"Time to answer a SCIM request, by route template and method.", "route", "method"),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: Namespace + "scim_auth_failures_total",
			Help: "SCIM requests refused for a missing or unknown bearer token."}),
		portalCalls: counterVec(Namespace+"portal_calls_total",
			`Portal calls (each attempt), by operation and HTTP status ("error": no answer).`, "op", "status"),
		portalDuration: durationHistogram(Namespace+"portal_call_duration_seconds",
			"Duration of a portal call attempt, by operation.", "op"),
		portalRetries: counterVec(Namespace+"portal_retries_total",
			"Portal call attempts after the first, by operation.", "op"),
		breakerState: prometheus.NewGauge(prometheus.GaugeOpts{Name: Namespace + "breaker_state",
			Help: "Portal circuit breaker state: 0 closed, 1 half-open, 2 open."}),
		breakerTrans: counterVec(Namespace+"breaker_transitions_total",
			"Portal circuit breaker state changes, by state left and state entered.", "from", "to"),
		cacheHits: counterVec(Namespace+"cache_hits_total",
			"Store lookups answered from the cache, by kind.", "kind"),
		cacheMisses: counterVec(Namespace+"cache_misses_total",
			"Store lookups the cache could not answer, by kind.", "kind"),
		redisErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: Namespace + "redis_errors_total",
			Help: "Redis commands that failed."}),
		redisUp: prometheus.NewGauge(prometheus.GaugeOpts{Name: Namespace + "redis_up",
			Help: "Whether Redis answers: 1 up, 0 down. Absent when the gateway uses the in-memory store."}),
		creates: counterVec(Namespace+"creates_total",
			"SCIM creates, by resource type and outcome (created, replayed, conflict, restored).", "resource", "outcome"),
		translations: counterVec(Namespace+"translations_total",
			"Translation records, by SCIM operation and outcome.", "op", "outcome"),
		reloads: counterVec(Namespace+"config_reloads_total",
			"Configuration reloads, by result (ok, invalid).", "result"),
		configVersion: prometheus.NewGauge(prometheus.GaugeOpts{Name: Namespace + "config_version",
			Help: "Version of the configuration in force (1 at start, one more per applied reload)."}),
		streamDropped: counterVec(Namespace+"translation_stream_dropped_total",
			"Translation records not written to the fleet-wide Redis stream, by reason (queue_full, unavailable, too_large).", "reason"),
	}
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: Namespace + "portal_in_flight",
		Help: "Portal calls in progress."}, m.queueGauge(0))
	waiting := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: Namespace + "portal_waiting",
		Help: "Portal calls waiting for a concurrency slot."}, m.queueGauge(1))

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
		m.portalCalls, m.portalDuration, m.portalRetries, inFlight, waiting,
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

// ObserveSCIM records one answered SCIM request: route is the route template ("/scim/v2/Users/:id";
// "" for a request no route matched), method the HTTP method, status the status answered, d the time
// to answer.
func (m *Metrics) ObserveSCIM(route, method string, status int, d time.Duration) {
	if route == "" {
		route = RouteUnmatched
	}
	if !knownMethods[method] {
		method = "OTHER"
	}
	m.scimRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.scimDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// SCIMAuthFailure counts a SCIM request refused for its bearer token.
func (m *Metrics) SCIMAuthFailure() { m.authFailures.Inc() }

// ObservePortalCall records one portal call attempt: op is the portal operation (createUser, ...),
// status the portal's HTTP status or 0 when no answer came (counted as "error"), d its duration.
func (m *Metrics) ObservePortalCall(op string, status int, d time.Duration) {
	s := StatusError
	if status > 0 {
		s = strconv.Itoa(status)
	}
	m.portalCalls.WithLabelValues(op, s).Inc()
	m.portalDuration.WithLabelValues(op).Observe(d.Seconds())
}

// PortalRetry counts one retried attempt of portal operation op.
func (m *Metrics) PortalRetry(op string) { m.portalRetries.WithLabelValues(op).Inc() }

// BreakerTransition records a breaker state change (BreakerClosed, BreakerHalfOpen, BreakerOpen, as
// gobreaker's State.String() names them) and sets scimgw_breaker_state to the state entered.
func (m *Metrics) BreakerTransition(from, to string) {
	m.breakerTrans.WithLabelValues(from, to).Inc()
	m.SetBreakerState(to)
}

// SetBreakerState sets scimgw_breaker_state; an unknown state name is ignored.
func (m *Metrics) SetBreakerState(state string) {
	if v, ok := breakerValues[state]; ok {
		m.breakerState.Set(v)
	}
}

// SetPortalQueue makes scimgw_portal_in_flight and scimgw_portal_waiting report what inFlight and
// waiting return at each scrape (the portal client's concurrency bound). Until it is called both
// report 0.
func (m *Metrics) SetPortalQueue(inFlight, waiting func() int) {
	m.portalQueue.Store(&[2]func() int{inFlight, waiting})
}

// queueGauge returns the function of the portal queue gauge i (0 in flight, 1 waiting), read at
// each scrape.
func (m *Metrics) queueGauge(i int) func() float64 {
	return func() float64 {
		if fns := m.portalQueue.Load(); fns != nil && fns[i] != nil {
			return float64(fns[i]())
		}
		return 0
	}
}

// CacheHit counts a store lookup of kind (CacheUserID, ...) answered from the cache.
func (m *Metrics) CacheHit(kind string) { m.cacheHits.WithLabelValues(kind).Inc() }

// CacheMiss counts a store lookup of kind the cache could not answer.
func (m *Metrics) CacheMiss(kind string) { m.cacheMisses.WithLabelValues(kind).Inc() }

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

// CreateOutcome counts a SCIM create of resource ("User", "Group") by outcome (created, replayed,
// conflict, restored).
func (m *Metrics) CreateOutcome(resource, outcome string) {
	m.creates.WithLabelValues(resource, outcome).Inc()
}

// Translation counts a translation record by SCIM operation and outcome.
func (m *Metrics) Translation(op, outcome string) { m.translations.WithLabelValues(op, outcome).Inc() }

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
