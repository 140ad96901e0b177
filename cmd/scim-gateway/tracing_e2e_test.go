package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

// End-to-end proof of the OpenTelemetry traces: the span tree of a SCIM request, its portal calls
// and attempts and its Redis calls; the W3C traceparent honoured coming in and sent to the portal;
// trace ids in the translation record and the access log; no attribute values in spans.

// tracedPortal is a portal-sim behind a handler that records the traceparent of every API call and
// can answer the next API calls 503.
type tracedPortal struct {
	sim      *portalsim.Sim
	srv      *httptest.Server
	fail503  atomic.Int32 // API calls still to answer 503
	mu       sync.Mutex
	parents  []string // traceparent of each API call, in arrival order
	apiPaths []string
}

func startTracedPortal(t *testing.T) *tracedPortal {
	t.Helper()
	sim, err := portalsim.New(portalsim.Options{ClientID: e2eClientID, ClientSecret: e2eSecret, StaticToken: e2ePortalToken, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := &tracedPortal{sim: sim}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/portal/api/") {
			p.mu.Lock()
			p.parents = append(p.parents, r.Header.Get("Traceparent"))
			p.apiPaths = append(p.apiPaths, r.Method+" "+r.URL.Path)
			p.mu.Unlock()
			if p.fail503.Add(-1) >= 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = io.WriteString(w, `{"error":{"code":"UNAVAILABLE","message":"busy"}}`)
				return
			}
			p.fail503.Store(0)
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *tracedPortal) calls() (parents, paths []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.parents...), append([]string(nil), p.apiPaths...)
}

// tracedEnv starts a gateway whose spans go to an in-memory recorder.
func tracedEnv(t *testing.T, p *tracedPortal, change func(c *config.Config)) (*env, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	cfg := e2eConfig(p.srv.URL)
	if change != nil {
		change(cfg)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
	app := startApp(t, cfg, AppOptions{LogOutput: logs, TracerProvider: tp})
	return &env{t: t, sim: p.sim, simSrv: p.srv, app: app, cfg: cfg, base: "http://" + app.SCIMAddr() + "/scim/v2",
		logs: logs, client: &http.Client{Timeout: 30 * time.Second}}, rec
}

// spanTree indexes ended spans by id, for walking a trace.
type spanTree struct {
	spans []sdktrace.ReadOnlySpan
}

// endedTree waits for the request's server span to end (it ends after the answer is written) and
// returns the spans ended by then.
func endedTree(t *testing.T, rec *tracetest.SpanRecorder) spanTree {
	t.Helper()
	var tree spanTree
	waitFor(t, "the server span to end", func() bool {
		tree = spanTree{rec.Ended()}
		for _, sp := range tree.spans {
			if sp.SpanKind() == trace.SpanKindServer {
				return true
			}
		}
		return false
	})
	return tree
}

func (s spanTree) children(parent trace.SpanID) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, sp := range s.spans {
		if sp.Parent().SpanID() == parent {
			out = append(out, sp)
		}
	}
	return out
}

func (s spanTree) named(t *testing.T, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, sp := range s.spans {
		if sp.Name() == name {
			return sp
		}
	}
	t.Fatalf("no span %q among %v", name, s.names())
	return nil
}

func (s spanTree) names() []string {
	out := make([]string, len(s.spans))
	for i, sp := range s.spans {
		out[i] = sp.Name()
	}
	return out
}

// attr returns a span attribute as a string ("" when absent).
func attr(sp sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range sp.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

func wantAttrs(t *testing.T, sp sdktrace.ReadOnlySpan, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := attr(sp, k); got != v {
			t.Errorf("span %q: %s = %q, want %q (attributes %v)", sp.Name(), k, got, v, sp.Attributes())
		}
	}
}

// failedAttempts lists the failed-attempt events of a portal call's span as attempt/status/error code.
func failedAttempts(sp sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, ev := range sp.Events() {
		if ev.Name != "portal attempt failed" {
			continue
		}
		vals := map[string]string{}
		for _, kv := range ev.Attributes {
			vals[string(kv.Key)] = kv.Value.String()
		}
		out = append(out, vals["portal.attempt"]+"/"+vals["http.response.status_code"]+"/"+vals["portal.error_code"])
	}
	return out
}

// noValues fails when any span attribute holds one of the request's values.
func noValues(t *testing.T, spans []sdktrace.ReadOnlySpan, values ...string) {
	t.Helper()
	for _, sp := range spans {
		for _, kv := range sp.Attributes() {
			for _, v := range values {
				if strings.Contains(strings.ToLower(kv.Value.String()), strings.ToLower(v)) {
					t.Errorf("span %q attribute %s = %q holds the request value %q", sp.Name(), kv.Key, kv.Value.String(), v)
				}
			}
		}
	}
}

const (
	incomingTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	incomingParent = "00f067aa0ba902b7"
)

// TestTraceCreateWithUnknownOutcome: a create whose portal answer never comes (slow commit past the
// timeout) under an incoming traceparent. The server span continues the caller's trace; under it
// the portal createUser call (a client span: outcome unknown, one attempt, no status, the attempt an
// event) and the read-back that finds the user, each call's traceparent received by the portal;
// Redis calls are spans of the trace too. The translation record and the access log carry the trace id; no span holds a
// value of the request.
func TestTraceCreateWithUnknownOutcome(t *testing.T) {
	p := startTracedPortal(t)
	e, rec := tracedEnv(t, p, withSharedRedis(t, func(c *config.Config) {
		c.Upstream.Timeout = time.Second
		c.Logging.Translation.Reads = true
	}))
	e.setFaults(func(f *portalsim.Faults) { f.SlowCommitRate, f.SlowCommitMs = 1, 3000 })
	a := e.scim(http.MethodPost, "/Users", entraCreate("carol@contoso.com", "carol"),
		"Traceparent", "00-"+incomingTrace+"-"+incomingParent+"-01").want(t, http.StatusCreated)
	e.setFaults(func(f *portalsim.Faults) { f.SlowCommitRate, f.SlowCommitMs = 0, 0 })

	tree := endedTree(t, rec)
	server := tree.named(t, "POST /scim/v2/Users")
	if server.SpanContext().TraceID().String() != incomingTrace || server.Parent().SpanID().String() != incomingParent {
		t.Fatalf("server span trace %s parent %s, want the incoming %s / %s", server.SpanContext().TraceID(), server.Parent().SpanID(), incomingTrace, incomingParent)
	}
	wantAttrs(t, server, map[string]string{"scim.tenant": "default", "scim.operation": "create", "scim.resource_type": "User",
		"http.route": "/scim/v2/Users", "http.request.method": "POST", "http.response.status_code": "201"})

	create := tree.named(t, "portal createUser")
	if create.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Fatalf("portal createUser is not a child of the server span")
	}
	wantAttrs(t, create, map[string]string{"portal.operation": "createUser", "url.template": "/api/usersync/v1/users",
		"http.response.status_code": "0", "portal.retries": "0", "portal.breaker_state": "closed", "portal.error_code": "outcome_unknown"})
	if create.SpanKind() != trace.SpanKindClient {
		t.Fatalf("portal createUser is a %v span, want a client span", create.SpanKind())
	}
	// Its one attempt was sent and got no answer in time: an event of the call's span.
	if got := failedAttempts(create); !slices.Equal(got, []string{"1/0/outcome_unknown"}) {
		t.Fatalf("createUser failed attempts %v, want [1/0/outcome_unknown]", got)
	}

	// The read-back: a portal read under the server span, answered 200.
	var readBack sdktrace.ReadOnlySpan
	for _, sp := range tree.children(server.SpanContext().SpanID()) {
		if sp.Name() == "portal getUser" || sp.Name() == "portal listUsers" {
			readBack = sp
		}
	}
	if readBack == nil {
		t.Fatalf("no portal read-back span under the server span: %v", tree.names())
	}
	wantAttrs(t, readBack, map[string]string{"http.response.status_code": "200", "portal.retries": "0"})

	// Every API call carried the traceparent of its call's span.
	parents, paths := p.calls()
	callIDs := map[string]bool{}
	for _, sp := range tree.spans {
		if sp.SpanKind() == trace.SpanKindClient && attr(sp, "portal.operation") != "" {
			callIDs[sp.SpanContext().SpanID().String()] = true
		}
	}
	for i, tp := range parents {
		parts := strings.Split(tp, "-")
		if len(parts) != 4 || parts[1] != incomingTrace || !callIDs[parts[2]] {
			t.Fatalf("portal call %s: traceparent %q, want trace %s and the span id of a portal call span", paths[i], tp, incomingTrace)
		}
	}

	redisSpans := 0
	for _, sp := range tree.spans {
		if attr(sp, "db.system") == "redis" {
			if sp.SpanContext().TraceID().String() == incomingTrace {
				redisSpans++ // the request's own; startup and background calls make traces of their own
			}
			if attr(sp, "db.statement") != "" {
				t.Fatalf("redis span %q records the statement %q", sp.Name(), attr(sp, "db.statement"))
			}
		}
	}
	if redisSpans == 0 {
		t.Fatalf("no Redis span in the trace: %v", tree.names())
	}
	noValues(t, tree.spans, "carol", a.str("id"))

	_, body := e.admin("/admin/translations?op=create", e2eAdminToken)
	if !strings.Contains(body, `"traceId":"`+incomingTrace+`"`) {
		t.Fatalf("translation record without the trace id: %s", body)
	}
	if !strings.Contains(e.logs.String(), `"traceId":"`+incomingTrace+`"`) {
		t.Fatalf("no log line carries the trace id")
	}
}

// TestTraceRetriedGet: a GET whose first portal attempt is answered 503: one portal getUser span
// with one retry and the final status 200, its failed attempt an event (attempt 1, 503), both
// attempts sending the call span's traceparent. Without an incoming traceparent the server span
// starts a new trace.
func TestTraceRetriedGet(t *testing.T) {
	p := startTracedPortal(t)
	e, rec := tracedEnv(t, p, nil)
	id := e.scim(http.MethodPost, "/Users", entraCreate("dave@contoso.com", "dave")).want(t, http.StatusCreated).str("id")
	rec.Reset()
	before, _ := p.calls()

	p.fail503.Store(1)
	e.scim(http.MethodGet, "/Users/"+id, nil).want(t, http.StatusOK)

	tree := endedTree(t, rec)
	server := tree.named(t, "GET /scim/v2/Users/:id")
	if server.Parent().IsValid() {
		t.Fatalf("server span has a parent %s without an incoming traceparent", server.Parent().SpanID())
	}
	wantAttrs(t, server, map[string]string{"scim.operation": "get", "http.response.status_code": "200"})
	get := tree.named(t, "portal getUser")
	if get.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Fatalf("portal getUser is not a child of the server span")
	}
	wantAttrs(t, get, map[string]string{"portal.retries": "1", "http.response.status_code": "200", "portal.breaker_state": "closed",
		"url.template": "/api/usersync/v1/users({idUser})", "http.request.method": "GET"})
	if got := failedAttempts(get); !slices.Equal(got, []string{"1/503/unavailable"}) {
		t.Fatalf("getUser failed attempts %v, want [1/503/unavailable]", got)
	}

	// Both attempts sent the call span's traceparent.
	parents, _ := p.calls()
	sent := parents[len(before):]
	want := "00-" + server.SpanContext().TraceID().String() + "-" + get.SpanContext().SpanID().String() + "-01"
	if len(sent) != 2 || sent[0] != want || sent[1] != want {
		t.Fatalf("the GET's portal calls sent traceparent %q, want two calls with %q", sent, want)
	}
	noValues(t, tree.spans, "dave", id)
}

// TestTraceExportOTLPHTTP runs a gateway with telemetry.otlp.endpoint pointing at a local OTLP/HTTP
// receiver: the spans of a SCIM request arrive as an OTLP protobuf export with the service name.
func TestTraceExportOTLPHTTP(t *testing.T) {
	var (
		mu       sync.Mutex
		names    []string
		services []string
		paths    []string
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rd io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			rd = zr
		}
		raw, _ := io.ReadAll(rd)
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &req); err != nil || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "not an OTLP protobuf export", http.StatusBadRequest)
			return
		}
		mu.Lock()
		paths = append(paths, r.URL.Path)
		for _, rs := range req.GetResourceSpans() {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.GetKey() == "service.name" {
					services = append(services, kv.GetValue().GetStringValue())
				}
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, sp := range ss.GetSpans() {
					names = append(names, sp.GetName())
				}
			}
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		_, _ = w.Write(b)
	}))
	defer collector.Close()
	t.Setenv("OTEL_TRACES_SAMPLER", "always_on")

	sim, simSrv := startPortalSim(t)
	cfg := e2eConfig(simSrv.URL)
	cfg.Telemetry.OTLP = config.OTLP{Endpoint: collector.URL, Protocol: "http/protobuf"}
	cfg.ApplyDefaults()
	app, err := NewApp(cfg, AppOptions{LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, sim: sim, simSrv: simSrv, app: app, cfg: cfg, base: "http://" + app.SCIMAddr() + "/scim/v2",
		client: &http.Client{Timeout: 30 * time.Second}}
	e.scim(http.MethodPost, "/Users", entraCreate("erin@contoso.com", "erin")).want(t, http.StatusCreated)
	app.Shutdown() // flushes the batch

	mu.Lock()
	defer mu.Unlock()
	got := strings.Join(names, ",")
	for _, want := range []string{"POST /scim/v2/Users", "portal createUser", "POST /oauth2/server/token"} {
		if !strings.Contains(got, want) {
			t.Fatalf("exported spans %v lack %q", names, want)
		}
	}
	if len(services) == 0 || services[0] != "scim-gateway" {
		t.Fatalf("service.name %v, want scim-gateway", services)
	}
	if paths[0] != "/v1/traces" {
		t.Fatalf("export path %q, want /v1/traces", paths[0])
	}
}

// countingIDs is the SDK's ID generator contract with ids handed out in order and remembered, so a
// test sees which spans were started (recorded or not).
type countingIDs struct {
	mu   sync.Mutex
	next uint64
	ids  []trace.SpanID
}

func (g *countingIDs) span() trace.SpanID {
	g.next++
	var sid trace.SpanID
	for i := range 8 {
		sid[7-i] = byte(g.next >> (8 * i))
	}
	g.ids = append(g.ids, sid)
	return sid
}

func (g *countingIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	g.mu.Lock()
	defer g.mu.Unlock()
	tid := trace.TraceID{0x0a}
	tid[15] = byte(g.next + 1)
	return tid, g.span()
}

func (g *countingIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.span()
}

func (g *countingIDs) handedOut() []trace.SpanID {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]trace.SpanID(nil), g.ids...)
}

// TestTraceUnsampledRequestStartsNoPortalSpans: a GET whose incoming traceparent is not sampled
// starts one span only, its server span (not recorded), and no portal call span; the portal gets
// the request's trace id with the server span's id and the sampled flag off. A sampled GET after it
// has its full tree: the server span and the portal call span, with no child span or event.
func TestTraceUnsampledRequestStartsNoPortalSpans(t *testing.T) {
	p := startTracedPortal(t)
	rec := tracetest.NewSpanRecorder()
	ids := &countingIDs{}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec), sdktrace.WithIDGenerator(ids))
	cfg := e2eConfig(p.srv.URL)
	app := startApp(t, cfg, AppOptions{LogOutput: &lockedWriter{w: &bytes.Buffer{}}, TracerProvider: tp})
	e := &env{t: t, sim: p.sim, simSrv: p.srv, app: app, cfg: cfg, base: "http://" + app.SCIMAddr() + "/scim/v2",
		logs: &lockedWriter{w: &bytes.Buffer{}}, client: &http.Client{Timeout: 30 * time.Second}}
	id := e.scim(http.MethodPost, "/Users", entraCreate("erin@contoso.com", "erin")).want(t, http.StatusCreated).str("id")
	before, _ := p.calls()
	idsBefore := len(ids.handedOut())

	e.scim(http.MethodGet, "/Users/"+id, nil, "Traceparent", "00-"+incomingTrace+"-"+incomingParent+"-00").want(t, http.StatusOK)
	started := ids.handedOut()[idsBefore:]
	if len(started) != 1 {
		t.Fatalf("an unsampled GET started %d spans, want 1 (the server span): %v", len(started), started)
	}
	parents, _ := p.calls()
	sent := parents[len(before):]
	want := "00-" + incomingTrace + "-" + started[0].String() + "-00"
	if len(sent) != 1 || sent[0] != want {
		t.Fatalf("portal calls of the unsampled GET sent traceparent %q, want one call with %q", sent, want)
	}

	rec.Reset()
	e.scim(http.MethodGet, "/Users/"+id, nil, "Traceparent", "00-"+incomingTrace+"-"+incomingParent+"-01").want(t, http.StatusOK)
	var tree spanTree
	waitFor(t, "the sampled GET's server span to end", func() bool {
		tree = spanTree{rec.Ended()}
		for _, sp := range tree.spans {
			if sp.SpanKind() == trace.SpanKindServer {
				return true
			}
		}
		return false
	})
	get := tree.named(t, "portal getUser")
	if n, events := len(tree.children(get.SpanContext().SpanID())), len(get.Events()); n != 0 || events != 0 {
		t.Fatalf("the sampled GET's portal call has %d child spans and %d events, want none (spans %v)", n, events, tree.names())
	}
	for _, sp := range tree.spans {
		if sp.SpanContext().TraceID().String() != incomingTrace || !sp.SpanContext().IsSampled() {
			t.Fatalf("span %q of trace %s (sampled %v) recorded: only the sampled GET's spans should be", sp.Name(),
				sp.SpanContext().TraceID(), sp.SpanContext().IsSampled())
		}
	}
}
