package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/gateway"
	"github.com/scim-gateway/scim-gateway/gateway/metrics"
	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/gateway/translog"
	"github.com/scim-gateway/scim-gateway/internal/wiring"
	"github.com/scim-gateway/scim-gateway/telemetry"
	"github.com/scim-gateway/scim-gateway/translator"
	"github.com/scim-gateway/scim-gateway/upstream"
)

// The portal client is what the gateway calls the portal through, for each capability it asks for.
var (
	_ gateway.UserPortal  = (*upstream.Client)(nil)
	_ gateway.GroupPortal = (*upstream.Client)(nil)
	_ gateway.Switches    = (*upstream.Client)(nil)
)

// AppOptions are what an App needs beyond its configuration.
type AppOptions struct {
	// ConfigPath is the file the configuration came from; with it the App reloads on changes.
	ConfigPath string
	// Environ is the environment the configuration was loaded with (reloads use it again).
	Environ []string
	// LogOutput receives the process and translation logs.
	LogOutput io.Writer
	// TracerProvider, when set, receives the spans instead of the exporter telemetry.otlp configures
	// (tests).
	TracerProvider trace.TracerProvider
	// DrainDelay is how long the App keeps serving after readiness fails on shutdown, so that the
	// load balancer stops sending new requests before the listeners close.
	DrainDelay time.Duration
	// Replica names this replica on translation records; empty: POD_NAME, else the host name.
	Replica string
}

// App is the gateway process: configuration, logs, store, portal client, the SCIM and admin
// listeners, and live reload, wired by hand.
type App struct {
	opts        AppOptions
	logger      *zap.Logger
	translation *zap.Logger
	level       zap.AtomicLevel

	kv       store.KV
	tracing  *telemetry.Tracing
	tracer   trace.TracerProvider // nil: tracing off
	metrics  *metrics.Metrics
	translog *translog.Logger
	fleet    *translog.Fleet // the fleet-wide translation stream; nil without Redis
	tokens   *gateway.Tokens
	server   *gateway.Server
	admin    *gateway.Admin

	scimSrv, adminSrv *http.Server
	scimLn, adminLn   net.Listener
	watcher           *config.Watcher

	mu      sync.Mutex // guards cfg and tenants across reloads
	cfg     *config.Config
	tenants map[string]*tenantSetup // by name; "default" is the top level
	version atomic.Int64

	serveErr  chan error
	stop      chan struct{}
	closeOnce sync.Once
}

// NewApp builds the gateway from a loaded, valid configuration. Nothing listens until Start.
func NewApp(cfg *config.Config, opts AppOptions) (*App, error) {
	if opts.LogOutput == nil {
		opts.LogOutput = io.Discard
	}
	logger, translation, level, err := newLoggers(cfg.Logging, opts.LogOutput)
	if err != nil {
		return nil, err
	}
	a := &App{opts: opts, logger: logger, translation: translation, level: level, cfg: cfg,
		serveErr: make(chan error, 2), stop: make(chan struct{}), metrics: metrics.New()}
	a.translog, err = translog.New(translog.Options{Logger: translation, Config: translogConfig(cfg), Replica: replicaName(opts)})
	if err != nil {
		return nil, err
	}
	if err := a.setupTracing(cfg); err != nil {
		return nil, err
	}
	store.RouteRedisLogs(logger)
	a.kv, err = store.Open(wiring.RedisOptions(cfg.Store.Redis), logger)
	if err != nil {
		return nil, err
	}
	if rs, ok := a.kv.(*store.Redis); ok && a.tracer != nil {
		if err := rs.InstrumentTracing(a.tracer); err != nil {
			a.logger.Warn("cannot trace Redis calls", zap.Error(err))
		}
	}
	a.openFleet(cfg)
	a.version.Store(1)
	lives, tenants, _, err := a.buildTenants(cfg, 1, nil)
	if err != nil {
		a.closeStore()
		return nil, err
	}
	a.tenants = tenants
	a.tokens = gateway.NewTokens(scimTokens(cfg))
	a.server = gateway.New(gateway.Options{
		Logger:   logger,
		Tokens:   a.tokens,
		Store:    tenants[config.DefaultTenant].store,
		Metrics:  a.metrics,
		Translog: a.translog,
		PortalContext: func(ctx context.Context, requestID string) context.Context {
			return upstream.WithRequestID(ctx, requestID)
		},
		TracerProvider: a.tracer,
	})
	a.server.SetTenants(lives...)
	a.tenantMetrics(nil, tenants)
	a.admin = gateway.NewAdmin(gateway.AdminOptions{Token: cfg.Admin.Token, Readiness: a.readiness})
	a.admin.Handle("GET /metrics", a.metrics.Handler())
	a.admin.Handle("GET /admin/translations", a.admin.RequireToken(a.translog.Handler()))
	a.admin.Handle("GET /admin/reconcile", a.admin.RequireToken(a.reconcileHandler()))
	a.mountUI()
	a.metrics.SetConfigVersion(a.version.Load())
	return a, nil
}

// setupTracing builds the tracer provider: AppOptions.TracerProvider, or what telemetry.otlp and
// the OTEL_* variables ask for (nothing when tracing is off).
func (a *App) setupTracing(cfg *config.Config) error {
	if a.opts.TracerProvider != nil {
		a.tracer = a.opts.TracerProvider
		return nil
	}
	t, err := telemetry.Setup(context.Background(), cfg.Telemetry, version)
	if err != nil {
		return err
	}
	a.tracing = t
	if t.Enabled {
		// The SDK reports export failures through the process-wide handler: into the log, not stderr.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			a.logger.Warn("OpenTelemetry: spans not exported", zap.Error(err))
		}))
		a.tracer = t.Provider
		a.logger.Info("tracing on: spans exported over OTLP", zap.String("endpoint", t.Endpoint), zap.String("protocol", t.Protocol))
	}
	return nil
}

// translogConfig is the translation log's part of the configuration. The mapping rules' redact
// reaches the log with each change; the userName rule's is passed for the record's userName.
func translogConfig(cfg *config.Config) translog.Config {
	t := cfg.Logging.Translation
	p := translog.Policy{HashKey: t.HashKey, Default: t.Redaction, Attributes: t.Attributes}
	for _, r := range cfg.Mapping.Users {
		if strings.EqualFold(r.SCIM, "userName") {
			p.UserNameRule = r.Redact
		}
	}
	return translog.Config{Buffer: t.Buffer, BufferBytes: t.BufferBytes, MaxValueBytes: t.MaxValueBytes,
		Reads: t.Reads, Redaction: p}
}

// portalClient returns the portal client of a tenant in force; nil when there is no such tenant.
func (a *App) portalClient(tenant string) *upstream.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.tenants[tenant]; t != nil {
		return t.client
	}
	return nil
}

// tenantMetrics sets up the per-tenant gauges of the tenants in now and drops those of the tenants of
// before that are gone.
func (a *App) tenantMetrics(before, now map[string]*tenantSetup) {
	for name := range before {
		if now[name] == nil {
			a.metrics.RemoveTenant(name)
		}
	}
	for name, t := range now {
		if b := before[name]; b == nil || b.slots != t.slots {
			a.metrics.SetGlobalSlots(name, globalSlots(t.slots))
		}
		if before[name] != nil && before[name].client == t.client {
			continue
		}
		a.metrics.SetBreakerState(name, t.client.BreakerState())
		a.metrics.SetPortalQueue(name, func() int {
			if c := a.portalClient(name); c != nil {
				return c.InFlight()
			}
			return 0
		}, func() int {
			if c := a.portalClient(name); c != nil {
				return c.Waiting()
			}
			return 0
		})
	}
}

// globalSlots is what the metrics read of a tenant's fleet-wide bound; nil (no series) when it has none.
func globalSlots(s *store.Semaphore) metrics.GlobalSlots {
	if s == nil {
		return nil
	}
	return s
}

// onPortalCall returns the hook that records every portal call attempt of tenant in the request's
// translation record and in metrics.
func (a *App) onPortalCall(tenant string) func(ctx context.Context, info upstream.CallInfo) {
	return func(ctx context.Context, info upstream.CallInfo) { a.portalCall(ctx, tenant, info) }
}

func (a *App) portalCall(ctx context.Context, tenant string, info upstream.CallInfo) {
	a.metrics.ObservePortalCall(tenant, info.Op, info.Status, info.Duration)
	if info.Attempt > 1 {
		a.metrics.PortalRetry(tenant, info.Op)
	}
	if info.Op == upstream.OpToken {
		return
	}
	call := translog.Call{Op: info.Op, Method: info.Method, PathTemplate: info.PathTemplate, Path: info.Path,
		IDUser: info.IDUser, IDGroup: info.IDGroup, Status: info.Status, Duration: info.Duration, Attempt: info.Attempt}
	if info.Err != nil {
		call.Error = info.Err.Error()
	}
	translog.AddCall(ctx, call)
}

// onBreakerChange returns the hook tenant's portal client's breaker calls (under its lock: keep it
// quick).
func (a *App) onBreakerChange(tenant string) func(from, to string) {
	return func(from, to string) {
		a.metrics.BreakerTransition(tenant, from, to)
		a.logger.Warn("portal circuit breaker changed state", zap.String("tenant", tenant), zap.String("from", from), zap.String("to", to))
	}
}

// tenantSetup is what the App keeps of one tenant between reloads: its configuration, its portal
// client (kept by a reload that leaves the tenant's upstream block as it was), its store view (kept
// as long as the tenant exists, with its in-process id cache) and its fleet-wide portal bound (kept as
// long as the tenant has one; a reload sets its limit).
type tenantSetup struct {
	cfg    config.Tenant
	client *upstream.Client
	store  *store.Store
	slots  *store.Semaphore // upstream.globalMaxInFlight; nil when 0 or without Redis
}

// buildTenants builds the live setup of every tenant of cfg. A tenant of old whose upstream block is
// unchanged keeps its portal client, and a tenant of old that still has a fleet-wide bound keeps its
// semaphore (the caller sets the new limit once it applies the set); fresh closes the clients and
// semaphores built anew (for a caller that gives up). On error they are closed here.
func (a *App) buildTenants(cfg *config.Config, version int64, old map[string]*tenantSetup) (lives []*gateway.Live, tenants map[string]*tenantSetup, fresh freshSetup, err error) {
	var trusted []*net.IPNet
	for _, p := range cfg.Server.TrustedProxies {
		n, err := config.ParseTrustedProxy(p)
		if err != nil {
			return nil, nil, fresh, err
		}
		trusted = append(trusted, n)
	}
	defer func() {
		if err != nil {
			fresh.close()
		}
	}()
	tenants = map[string]*tenantSetup{}
	for _, t := range cfg.AllTenants() {
		mapping, err := translator.NewMapping(t.Mapping)
		if err != nil {
			return nil, nil, fresh, fmt.Errorf("tenant %s: %w", t.Name, err)
		}
		ts := &tenantSetup{cfg: t}
		rs, onRedis := a.kv.(*store.Redis)
		bounded := onRedis && t.Upstream.GlobalMaxInFlight > 0
		if prev := old[t.Name]; prev != nil {
			ts.store = prev.store
			if reflect.DeepEqual(prev.cfg.Upstream, t.Upstream) {
				ts.client = prev.client
			}
			if bounded {
				ts.slots = prev.slots
			}
		}
		if bounded && ts.slots == nil {
			// Each tenant's portal has its own bound, on keys of its own: one tenant's calls never take
			// another's slots.
			name := t.Name
			ts.slots = store.NewSemaphore(rs, store.SemaphoreOptions{Name: name, Limit: t.Upstream.GlobalMaxInFlight,
				Lease: t.Upstream.GlobalLease, Logger: a.logger.With(zap.String("tenant", name)),
				OnWait: func(d time.Duration, granted bool) { a.metrics.GlobalWait(name, d, granted) }})
			fresh.slots = append(fresh.slots, ts.slots)
		}
		if ts.store == nil {
			ts.store = store.New(store.ForTenant(a.kv, t.Name), store.Options{MappingTTL: cfg.Store.Redis.MappingTTL})
		}
		if ts.client == nil {
			opts := upstream.Options{
				Logger:          a.logger.With(zap.String("component", "upstream"), zap.String("tenant", t.Name)),
				OnCall:          a.onPortalCall(t.Name),
				OnBreakerChange: a.onBreakerChange(t.Name),
				TracerProvider:  a.tracer,
			}
			if ts.slots != nil {
				opts.Slots = ts.slots
			}
			ts.client, err = upstream.New(wiring.UpstreamConfig(t.Upstream), opts)
			if err != nil {
				return nil, nil, fresh, fmt.Errorf("tenant %s: %w", t.Name, err)
			}
			fresh.clients = append(fresh.clients, ts.client)
		}
		tenants[t.Name] = ts
		lives = append(lives, &gateway.Live{
			Tenant:      t.Name,
			Store:       ts.store,
			Users:       ts.client,
			Groups:      ts.client,
			Switches:    ts.client,
			Mapping:     mapping,
			PublicURL:   cfg.Server.PublicURL,
			DryRun:      t.DryRun,
			OnDelete:    t.Deprovision.OnDelete,
			PatchStatus: cfg.Server.PatchStatus,
			Limits: gateway.Limits{
				MaxBodyBytes:  t.Limits.MaxBodyBytes,
				MaxPageSize:   t.Limits.MaxPageSize,
				MaxScan:       t.Limits.MaxScan,
				MaxOperations: t.Limits.MaxOperations,
				MaxMembers:    t.Limits.MaxMembersPerRequest,
			},
			Version:        version,
			TrustedProxies: trusted,
		})
	}
	return lives, tenants, fresh, nil
}

// freshSetup is what buildTenants built anew: the portal clients and fleet-wide bounds that no tenant
// in force uses yet.
type freshSetup struct {
	clients []*upstream.Client
	slots   []*store.Semaphore
}

// close closes what a set that is not applied built.
func (f freshSetup) close() {
	for _, c := range f.clients {
		c.Close()
	}
	for _, s := range f.slots {
		s.Close()
	}
}

// boundDetail is the /readyz word of a fleet-wide bound: "off", "enforced" or "degraded".
func boundDetail(s *store.Semaphore) string {
	switch {
	case s == nil || s.Limit() == 0:
		return "off"
	case s.Degraded():
		return "degraded"
	}
	return "enforced"
}

// scimTokens are the SCIM tokens of every tenant, each naming its tenant.
func scimTokens(cfg *config.Config) []gateway.Token {
	var out []gateway.Token
	for _, tn := range cfg.AllTenants() {
		for _, t := range tn.Tokens {
			out = append(out, gateway.Token{Name: t.Name, Value: t.Value, Tenant: tn.Name})
		}
	}
	return out
}

// readiness is the detail of /readyz: the default tenant's breaker, and with tenants configured each
// tenant's.
func (a *App) readiness() gateway.Readiness {
	a.mu.Lock()
	tenants := a.tenants
	a.mu.Unlock()
	def := tenants[config.DefaultTenant]
	r := gateway.Readiness{Redis: "memory", ConfigVersion: a.version.Load(), Breaker: def.client.BreakerState(), GlobalBound: boundDetail(def.slots)}
	if len(tenants) > 1 {
		r.Tenants = map[string]gateway.TenantReadiness{}
		for name, t := range tenants {
			r.Tenants[name] = gateway.TenantReadiness{Breaker: t.client.BreakerState(), GlobalBound: boundDetail(t.slots)}
		}
	}
	if rs, ok := a.kv.(*store.Redis); ok {
		r.Redis = "ok"
		if !rs.Healthy() {
			r.Redis = "degraded"
		}
	}
	r.Endpoints = a.endpointSwitches()
	return r
}

// Start opens both listeners and serves in the background. With a ConfigPath it also watches the
// configuration for changes.
func (a *App) Start() error {
	cfg := a.cfg
	var err error
	if a.scimLn, err = net.Listen("tcp", cfg.Server.Listen); err != nil {
		return fmt.Errorf("server.listen: %w", err)
	}
	if a.adminLn, err = net.Listen("tcp", cfg.Admin.Listen); err != nil {
		_ = a.scimLn.Close()
		return fmt.Errorf("admin.listen: %w", err)
	}
	errLog := zap.NewStdLog(a.logger.With(zap.String("component", "http")))
	a.scimSrv = &http.Server{
		Handler:           a.server.Handler(),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout,
		ReadTimeout:       cfg.Server.ReadTimeout,
		WriteTimeout:      cfg.Server.WriteTimeout,
		IdleTimeout:       cfg.Server.IdleTimeout,
		ErrorLog:          errLog,
	}
	a.adminSrv = &http.Server{
		Handler:           a.admin.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       cfg.Server.IdleTimeout,
		ErrorLog:          errLog,
	}
	go a.serve(a.scimSrv, a.scimLn)
	go a.serve(a.adminSrv, a.adminLn)
	go a.watchRedis()
	if a.opts.ConfigPath != "" {
		a.watcher, err = config.NewWatcher(a.opts.ConfigPath, a.opts.Environ, cfg, a.reload, a.reloadFailed)
		if err != nil {
			a.logger.Warn("cannot watch the configuration; changes need a restart or SIGHUP", zap.Error(err))
			a.watcher = nil
		} else {
			go func() { _ = a.watcher.Run(context.Background()) }()
		}
	}
	a.logger.Info("serving", zap.String("version", version), zap.String("scim", a.scimLn.Addr().String()), zap.String("admin", a.adminLn.Addr().String()),
		zap.Bool("dryRun", cfg.DryRun), zap.String("onDelete", cfg.Deprovision.OnDelete))
	return nil
}

// watchRedis keeps the Redis health gauge current.
func (a *App) watchRedis() {
	rs, ok := a.kv.(*store.Redis)
	if !ok {
		return
	}
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		a.metrics.SetRedisUp(rs.Healthy())
		select {
		case <-a.stop:
			return
		case <-t.C:
		}
	}
}

func (a *App) serve(srv *http.Server, ln net.Listener) {
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		a.serveErr <- err
	}
}

// SCIMAddr is the address the SCIM listener is bound to.
func (a *App) SCIMAddr() string { return a.scimLn.Addr().String() }

// AdminAddr is the address the admin listener is bound to.
func (a *App) AdminAddr() string { return a.adminLn.Addr().String() }

// Reload rebuilds the configuration now (SIGHUP).
func (a *App) Reload() {
	if a.watcher != nil {
		a.watcher.Reload()
	}
}

// reload swaps in a new, valid configuration as the given version: tokens, portal client, mapping,
// limits, logging. Requests in flight finish on the set they started with. Keys that cannot change live
// are logged. An error leaves everything as it was (the watcher keeps the running version and retries
// when the file is saved again).
func (a *App) reload(cfg *config.Config, version int64) error {
	a.mu.Lock()
	old, oldTenants := a.cfg, a.tenants
	a.mu.Unlock()
	lives, tenants, fresh, err := a.buildTenants(cfg, version, oldTenants)
	if err != nil {
		return err
	}
	if err := a.translog.SetConfig(translogConfig(cfg)); err != nil {
		fresh.close()
		return err
	}
	for _, key := range config.LiveChanges(old, cfg) {
		a.logger.Warn("configuration key changed but needs a restart to take effect", zap.String("key", key))
	}
	if a.fleet != nil {
		a.fleet.SetConfig(streamConfig(cfg))
	}
	a.tokens.Set(scimTokens(cfg))
	a.admin.SetToken(cfg.Admin.Token)
	if lvl, err := zap.ParseAtomicLevel(cfg.Logging.Level); err == nil {
		a.level.SetLevel(lvl.Level())
	}
	for _, t := range tenants {
		if t.slots != nil {
			t.slots.SetLimit(t.cfg.Upstream.GlobalMaxInFlight)
		}
	}
	a.server.SetTenants(lives...)
	a.mu.Lock()
	a.cfg, a.tenants = cfg, tenants
	a.mu.Unlock()
	a.tenantMetrics(oldTenants, tenants)
	// The version moves last: whoever sees it (readiness, metrics) sees the new set in force.
	a.version.Store(version)
	// The idle connections of the clients no tenant uses any more go once their requests have had time
	// to finish.
	for name, t := range oldTenants {
		n := tenants[name]
		if n == nil || n.client != t.client {
			time.AfterFunc(t.cfg.Upstream.Timeout*2, t.client.Close)
		}
		// A bound no tenant uses any more stops renewing once the old client's calls are done; what it
		// still holds then expires within its lease.
		if t.slots != nil && (n == nil || n.slots != t.slots) {
			time.AfterFunc(t.cfg.Upstream.Timeout*2, t.slots.Close)
		}
	}
	a.metrics.ConfigReload(true)
	a.metrics.SetConfigVersion(version)
	a.logger.Info("configuration reloaded", zap.Int64("version", version))
	return nil
}

func (a *App) reloadFailed(err error) {
	a.metrics.ConfigReload(false)
	a.logger.Error("configuration change refused; keeping the running configuration", zap.Error(err))
}

// closeStore stops the lease renewal of the tenants' fleet-wide bounds, then closes the store.
func (a *App) closeStore() {
	a.closeFleet()
	a.mu.Lock()
	for _, t := range a.tenants {
		if t.slots != nil {
			t.slots.Close()
		}
	}
	a.mu.Unlock()
	_ = a.kv.Close()
}

// Run starts the App and serves until ctx ends or a listener fails, then shuts down gracefully.
func (a *App) Run(ctx context.Context) error {
	if err := a.Start(); err != nil {
		return err
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-a.serveErr:
	}
	a.Shutdown()
	return err
}

// Shutdown fails readiness first, waits DrainDelay, lets in-flight requests finish (up to
// server.shutdownTimeout), then closes everything.
func (a *App) Shutdown() {
	if a.scimSrv == nil { // never started
		a.Close()
		return
	}
	a.logger.Info("shutting down: readiness fails, in-flight requests finish")
	a.admin.SetDraining()
	time.Sleep(a.opts.DrainDelay)
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.Server.ShutdownTimeout)
	defer cancel()
	if err := a.scimSrv.Shutdown(ctx); err != nil {
		a.logger.Warn("SCIM listener did not drain in time", zap.Error(err))
	}
	_ = a.adminSrv.Shutdown(ctx)
	a.Close()
}

// Close releases the store, the watcher and the portal client.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		close(a.stop)
		if a.watcher != nil {
			_ = a.watcher.Close()
		}
		a.closeStore()
		a.mu.Lock()
		for _, t := range a.tenants {
			t.client.Close()
		}
		a.mu.Unlock()
		if a.tracing != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := a.tracing.Shutdown(ctx); err != nil {
				a.logger.Warn("spans not exported at shutdown", zap.Error(err))
			}
			cancel()
		}
		_ = a.logger.Sync()
	})
}
