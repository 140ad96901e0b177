package gateway

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/scim-gateway/scim-gateway/gateway/metrics"
	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/gateway/translog"
	"github.com/scim-gateway/scim-gateway/translator"
)

// Base is the path every SCIM route is served under (/scim is rewritten to it).
const Base = "/scim/v2"

// Limits bound what one SCIM request may cost.
type Limits struct {
	MaxBodyBytes  int64 // request bodies over this answer 413
	MaxPageSize   int   // the largest count a list answers
	MaxScan       int   // the most portal users a filter evaluated in the gateway may scan
	MaxOperations int   // PATCH operations in one request
	MaxMembers    int   // member ids one group request may name (limits.maxMembersPerRequest)
}

// Live is the part of the gateway's setup that a configuration reload replaces as a whole. A request
// takes the Live current when it starts and keeps it to the end, so requests in flight finish on the
// old set.
type Live struct {
	// Tenant names the tenant this setup serves ("default": the top-level configuration); its metrics
	// and translation records carry it.
	Tenant string
	// Store is the tenant's view of the store (its own key namespace); nil: the server's Options.Store.
	Store       *store.Store
	Users       UserPortal
	Groups      GroupPortal
	Switches    Switches
	Mapping     *translator.Mapping
	PublicURL   string // base of meta.location; empty: from the request
	DryRun      bool
	OnDelete    string // OnDeleteDisable or OnDeleteDelete
	PatchStatus int    // 204 (default) or 200 with the resource
	Limits      Limits
	Version     int64 // the configuration version, shown in /readyz
	// TrustedProxies are the proxies whose X-Forwarded-For names the client (server.trustedProxies);
	// none: the client is the TCP peer.
	TrustedProxies []*net.IPNet
}

// The deprovisioning modes of DELETE.
const (
	OnDeleteDisable = "disable"
	OnDeleteDelete  = "delete"
)

// Hooks let the wiring observe the front end (metrics); every field may be nil.
type Hooks struct {
	StoreError func()                      // a store call failed
	Cache      func(kind string, hit bool) // a cache lookup (user_id, user_login, user_ext, group_id...)
	AuthFailed func()                      // a request without a valid bearer token
}

// Options are the dependencies of a Server.
type Options struct {
	Logger *zap.Logger
	Tokens *Tokens
	Store  *store.Store
	Live   *Live
	// Metrics receives the front end's metrics; nil: a private, unexposed set.
	Metrics *metrics.Metrics
	// Translog records every SCIM write (and reads, when configured); nil: records are discarded.
	Translog *translog.Logger
	// PortalContext prepares a request's context for portal calls (upstream.WithRequestID forwards the
	// request id); nil leaves it as is.
	PortalContext func(ctx context.Context, requestID string) context.Context
	// TracerProvider makes a span per SCIM request (honouring an incoming traceparent); nil: no spans.
	TracerProvider trace.TracerProvider
}

// Server is the SCIM front end.
type Server struct {
	echo      *echo.Echo
	logger    *zap.Logger
	tokens    *Tokens
	store     *store.Store
	creates   *localCreates // create records the store could not take (creates.go)
	metrics   *metrics.Metrics
	translog  *translog.Logger
	auth      *authThrottle
	portalCtx func(ctx context.Context, requestID string) context.Context
	tracer    trace.Tracer                     // nil: no spans
	lives     atomic.Pointer[map[string]*Live] // by tenant name
	clientIP  atomic.Pointer[echo.IPExtractor] // from the current Live's TrustedProxies
}

// New builds the SCIM front end.
func New(opts Options) *Server {
	logger := opts.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	s := &Server{logger: logger.With(zap.String("component", "gateway")), tokens: opts.Tokens, store: opts.Store,
		metrics: opts.Metrics, translog: opts.Translog, portalCtx: opts.PortalContext, auth: newAuthThrottle()}
	if opts.TracerProvider != nil {
		s.tracer = opts.TracerProvider.Tracer(TracerName)
	}
	if s.metrics == nil {
		s.metrics = metrics.New()
	}
	if s.translog == nil {
		s.translog, _ = translog.New(translog.Options{Logger: zap.NewNop(), Config: translog.DefaultConfig()})
	}
	s.SetLive(opts.Live)
	s.creates = newLocalCreates(maxLocalCreates, localCreateTTL)

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	// The client address (auth slowdown, access log): see clientIPExtractor. Echo's default would take
	// the left-most X-Forwarded-For entry from anyone, which a client forges to escape the slowdown.
	e.IPExtractor = func(r *http.Request) string { return (*s.clientIP.Load())(r) }
	renderer := &ErrorRenderer{Logger: s.logger}
	e.HTTPErrorHandler = renderer.Handle
	e.Pre(s.begin, normalisePath)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{DisableStackAll: true, DisablePrintStack: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			s.logger.Error("panic", zap.String("requestId", reqOf(c).id), TraceField(c.Request().Context()), zap.Error(err), zap.ByteString("stack", stack))
			return err
		}}))
	e.Use(s.observe)

	// Authentication is route-level middleware, not group middleware: echo registers a catch-all
	// route for a group with middleware, which would turn every 405 into a 404.
	g := e.Group(Base)
	auth := s.requireToken
	(&discovery{s: s}).mount(g, auth)
	(&users{s: s}).mount(g, auth)
	(&groups{s: s}).mount(g, auth)
	s.echo = e
	return s
}

// Handler returns the HTTP handler of the SCIM port.
func (s *Server) Handler() http.Handler { return s.echo }

// SetLive swaps in a new live setup for a gateway of one tenant (configuration reload): l serves
// every token whatever its tenant.
func (s *Server) SetLive(l *Live) {
	if l != nil && l.Tenant == "" {
		l.Tenant = DefaultTenant
	}
	s.SetTenants(l)
}

// SetTenants swaps in the live setups of every tenant at once (configuration reload): a token serves
// the setup of its tenant, and a token whose tenant has none is refused. The first setup's trusted
// proxies (server.trustedProxies, the same for every tenant) tell the client address.
func (s *Server) SetTenants(lives ...*Live) {
	var trusted []*net.IPNet
	set := make(map[string]*Live, len(lives))
	for i, l := range lives {
		if l == nil {
			continue
		}
		if i == 0 {
			trusted = l.TrustedProxies
		}
		set[l.Tenant] = l
	}
	x := clientIPExtractor(trusted)
	s.clientIP.Store(&x)
	s.lives.Store(&set)
}

// Live returns the default tenant's live setup.
func (s *Server) Live() *Live { return s.TenantLive(DefaultTenant) }

// TenantLive returns the live setup of a tenant; nil when there is none.
func (s *Server) TenantLive(tenant string) *Live { return (*s.lives.Load())[tenant] }

// DefaultTenant names the tenant of the top-level configuration, and of tokens that name no tenant.
const DefaultTenant = "default"

// liveOf returns the live setup the request runs on (picked when it authenticated).
func liveOf(c echo.Context) *Live { return reqOf(c).live }
