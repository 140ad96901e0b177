package upstream

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-resty/resty/v2"
	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
)

// Headers the client sends beside Authorization.
const (
	headerRequestID = "X-Request-Id"
	userAgent       = "scim-gateway"
	contentTypeJSON = "application/json; charset=utf-8"
)

// CallInfo describes one attempt at one portal call, for the translation log and metrics.
type CallInfo struct {
	Op           string        // the portal operation (OpGetUser...), or OpToken for a token call
	Method       string        // the HTTP method sent
	PathTemplate string        // the configured path, with {idUser}/{idGroup} placeholders
	Path         string        // the path sent, placeholders filled, without the query (it may hold a filter value)
	IDUser       int64         // the portal user the call was for (its {idUser}); 0 when none
	IDGroup      int64         // the portal group the call was for (its {idGroup}); 0 when none
	Status       int           // the portal's HTTP status; 0 when no answer came
	Duration     time.Duration // from sending to the end of the answer; 0 when nothing was sent
	Attempt      int           // 1 for the first attempt of a call, counting retries and the 401 replay
	Sent         bool          // whether the request left the gateway (false: queue full, breaker open, dial failure)
	Err          error         // the attempt's error as a *translator.Error, nil on success
}

// OpToken is the CallInfo.Op of a call to the OAuth token endpoint.
const OpToken = "token"

// Options are the collaborators of a Client. Every field is optional.
type Options struct {
	// Logger receives debug records of retries and token renewals; nil discards them.
	Logger *zap.Logger
	// OnCall is called after every attempt at a portal call, including token calls. It must be quick
	// and must not call the Client.
	OnCall func(ctx context.Context, info CallInfo)
	// OnBreakerChange is called when the breaker changes state ("closed", "open", "half-open"). It runs
	// under the breaker's lock: it must be quick and must not call the Client.
	OnBreakerChange func(from, to string)
	// Transport replaces the HTTP transport (tests). When set, upstream.tls is not applied. A
	// transport that does not report through net/http/httptrace (an *http.Transport does) makes every
	// failed write that did not fail to dial count as sent: EOutcomeUnknown rather than EUnavailable.
	Transport http.RoundTripper
	// Slots is the fleet-wide bound on portal calls (upstream.globalMaxInFlight), taken after the local
	// upstream.maxInFlight within the same upstream.queueWait; nil: none.
	Slots Slots
	// TracerProvider makes a client span per portal call (its failed attempts events of it) and per
	// token request, and sends the W3C traceparent to the portal; nil: no spans.
	TracerProvider trace.TracerProvider
}

// Client calls one portal. It is safe for concurrent use. Build it with New.
type Client struct {
	cfg       Config
	baseURL   string
	endpoints map[string]endpoint
	http      *resty.Client
	transport http.RoundTripper
	tokens    *tokenSource // nil when auth.type is none
	static    string       // the bearer token when auth.type is bearer
	breaker   *gobreaker.TwoStepCircuitBreaker[struct{}]
	openedAt  atomic.Int64 // unix nanoseconds of the last transition to open
	slots     *limiter
	tracer    trace.Tracer
	log       *zap.Logger
	onCall    func(context.Context, CallInfo)
	onBreaker func(from, to string)
}

// endpoint is one resolved entry of upstream.endpoints.
type endpoint struct {
	op      string
	method  string
	path    string
	enabled bool
	// callSpan names the span of a call to the endpoint ("portal getUser"), built once here rather
	// than for each sampled call.
	callSpan string
}

// New builds a Client from cfg (with the configuration file's defaults applied). It reads the TLS
// files named in cfg.TLS. It returns an error when cfg cannot describe a working client (bad base
// URL, unknown auth type, missing credentials, an endpoint without method or path, unreadable TLS
// files).
func New(cfg Config, opts Options) (*Client, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("upstream.baseURL %q: want an absolute http or https URL", cfg.BaseURL)
	}
	if cfg.Timeout <= 0 || cfg.MaxInFlight <= 0 || cfg.Retry.MaxAttempts <= 0 {
		return nil, fmt.Errorf("upstream: timeout, maxInFlight and retry.maxAttempts must be positive (were defaults applied?)")
	}
	for op := range cfg.Endpoints {
		if _, known := DefaultEndpoints[op]; !known {
			return nil, fmt.Errorf("upstream.endpoints.%s: unknown operation", op)
		}
	}
	eps := make(map[string]endpoint, len(DefaultEndpoints))
	for op := range DefaultEndpoints {
		e := ResolveEndpoint(cfg, op)
		path := e.Path
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		eps[op] = endpoint{op: op, method: strings.ToUpper(e.Method), path: path, enabled: !e.Disabled, callSpan: "portal " + op}
	}

	transport := opts.Transport
	if transport == nil {
		tlsConfig, err := buildTLS(cfg.TLS)
		if err != nil {
			return nil, err
		}
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsConfig
		t.MaxIdleConnsPerHost = cfg.MaxInFlight
		t.MaxIdleConns = cfg.MaxInFlight
		transport = t
	}
	logger := opts.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	logger = logger.With(zap.String("component", "upstream"))
	tp := opts.TracerProvider
	if tp == nil {
		tp = noop.NewTracerProvider()
	}

	hc := &http.Client{
		Transport: transport,
		// A redirect is not part of the portal API: the 3xx comes back as an answer, never followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	rc := resty.NewWithClient(hc).
		SetRetryCount(0). // retries are ours: resty would retry creates on transport errors
		SetLogger(restyLogger{logger.Sugar()}).
		SetHeader("User-Agent", userAgent).
		SetResponseBodyLimit(int(cfg.MaxBody))

	c := &Client{
		cfg:       cfg,
		baseURL:   strings.TrimRight(cfg.BaseURL, "/"),
		endpoints: eps,
		http:      rc,
		transport: transport,
		slots:     newLimiter(cfg.MaxInFlight, cfg.QueueWait, opts.Slots),
		tracer:    tp.Tracer(TracerName),
		log:       logger,
		onCall:    opts.OnCall,
		onBreaker: opts.OnBreakerChange,
	}
	switch cfg.Auth.Type {
	case "none":
	case "bearer":
		if cfg.Auth.Token == "" {
			return nil, fmt.Errorf("upstream.auth.token: required when auth.type is bearer")
		}
		c.static = cfg.Auth.Token
	case "oauth2":
		if cfg.Auth.ClientID == "" || cfg.Auth.ClientSecret == "" {
			return nil, fmt.Errorf("upstream.auth: clientID and clientSecret are required when auth.type is oauth2")
		}
		tokenURL, err := resolveTokenURL(c.baseURL, cfg.Auth.TokenURL)
		if err != nil {
			return nil, err
		}
		c.tokens = newTokenSource(c, tokenURL, cfg.Auth)
	default:
		return nil, fmt.Errorf("upstream.auth.type %q: want oauth2, bearer or none", cfg.Auth.Type)
	}
	c.breaker = newBreaker(c, cfg.Breaker)
	return c, nil
}

// resolveTokenURL makes tokenURL absolute: an absolute URL stays, a path is taken relative to baseURL.
func resolveTokenURL(baseURL, tokenURL string) (string, error) {
	u, err := url.Parse(tokenURL)
	if err != nil || tokenURL == "" {
		return "", fmt.Errorf("upstream.auth.tokenURL %q: not a URL", tokenURL)
	}
	if u.IsAbs() {
		return tokenURL, nil
	}
	if !strings.HasPrefix(tokenURL, "/") {
		tokenURL = "/" + tokenURL
	}
	return baseURL + tokenURL, nil
}

// Close releases idle connections to the portal. Calls in flight are not interrupted.
func (c *Client) Close() {
	type idleCloser interface{ CloseIdleConnections() }
	if t, ok := c.transport.(idleCloser); ok {
		t.CloseIdleConnections()
	}
}

// Endpoint reports whether the portal operation op (OpCreateUser...) is enabled in config, so
// that a caller can refuse a multi-call operation before making its first call. An unknown op is
// reported disabled.
func (c *Client) Endpoint(op string) (enabled bool) {
	e, ok := c.endpoints[op]
	return ok && e.enabled
}

// BreakerState returns the state of the portal's circuit breaker: "closed", "open" or "half-open".
func (c *Client) BreakerState() string { return c.breaker.State().String() }

// InFlight returns the number of portal calls holding a slot (being sent or awaiting an answer).
func (c *Client) InFlight() int { return int(c.slots.inFlight.Load()) }

// Waiting returns the number of portal calls waiting for a free slot.
func (c *Client) Waiting() int { return int(c.slots.waiting.Load()) }

type requestIDKey struct{}

// WithRequestID returns a context whose portal calls carry id in the X-Request-Id header.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id set by WithRequestID, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// restyLogger sends resty's own log lines to zap at debug level: the client handles every error
// itself, so resty's warnings are noise at higher levels.
type restyLogger struct{ s *zap.SugaredLogger }

func (l restyLogger) Errorf(format string, v ...any) { l.s.Debugf(format, v...) }
func (l restyLogger) Warnf(format string, v ...any)  { l.s.Debugf(format, v...) }
func (l restyLogger) Debugf(format string, v ...any) { l.s.Debugf(format, v...) }
