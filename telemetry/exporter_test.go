package telemetry

import (
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// capture is an OTLP client that keeps the messages it is asked to upload, as the bytes its HTTP and
// gRPC peers would send (an ExportTraceServiceRequest, marshalled).
type capture struct {
	mu       sync.Mutex
	requests [][]byte
	err      error // what UploadTraces answers
	started  bool
	stopped  int
}

func (c *capture) Start(context.Context) error { c.started = true; return nil }
func (c *capture) Stop(context.Context) error  { c.stopped++; return nil }
func (c *capture) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	b, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: rs})
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, b)
	return c.err
}

// decoded returns the one request c captured, decoded, with its resources and scopes in a stable
// order (the SDK's exporter groups them through maps).
func (c *capture) decoded(t *testing.T) *coltracepb.ExportTraceServiceRequest {
	t.Helper()
	if len(c.requests) != 1 {
		t.Fatalf("%d requests uploaded, want 1", len(c.requests))
	}
	var req coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(c.requests[0], &req); err != nil {
		t.Fatalf("the request does not decode: %v", err)
	}
	key := func(m proto.Message) string {
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		return string(b)
	}
	slices.SortFunc(req.ResourceSpans, func(a, b *tracepb.ResourceSpans) int { return strings.Compare(key(a.Resource), key(b.Resource)) })
	for _, rs := range req.ResourceSpans {
		slices.SortFunc(rs.ScopeSpans, func(a, b *tracepb.ScopeSpans) int { return strings.Compare(key(a.Scope), key(b.Scope)) })
	}
	return &req
}

// testSpans are spans with every field the OTLP encoding has set, and every kind of attribute value,
// over two resources (one of them twice, as two equal resources) and three scopes (one the zero scope).
func testSpans() []sdktrace.ReadOnlySpan {
	tid := trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	ts, _ := trace.ParseTraceState("vendor=value,other=x")
	sc := func(sid byte, flags trace.TraceFlags, remote bool, state trace.TraceState) trace.SpanContext {
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{sid, 0, 0, 0, 0, 0, 0, sid}, TraceFlags: flags, TraceState: state, Remote: remote})
	}
	resA := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0", attribute.String("service.name", "scim-gateway"), attribute.String("service.version", "v1"))
	resA2 := resource.NewWithAttributes("https://opentelemetry.io/schemas/1.26.0", attribute.String("service.name", "scim-gateway"), attribute.String("service.version", "v1"))
	resB := resource.NewSchemaless(attribute.Int("replica", 2))
	scopeGW := instrumentation.Scope{Name: "gateway", Version: "1.2.3", SchemaURL: "https://example/schema", Attributes: attribute.NewSet(attribute.Bool("x", true))}
	scopeUp := instrumentation.Scope{Name: "upstream"}
	long := strings.Repeat("a long attribute value that makes its message longer than 127 bytes, ", 40)
	t0 := time.Date(2026, 12, 4, 19, 0, 0, 123456789, time.UTC)
	every := []attribute.KeyValue{
		attribute.String("s", "value"), attribute.String("empty", ""), attribute.String("long", long),
		attribute.Bool("t", true), attribute.Bool("f", false),
		attribute.Int64("i", -42), attribute.Int64("zero", 0), attribute.Int64("max", math.MaxInt64),
		attribute.Float64("d", 3.25), attribute.Float64("nzero", 0),
		attribute.BoolSlice("bs", []bool{true, false}), attribute.Int64Slice("is", []int64{1, -1, 0}),
		attribute.Float64Slice("ds", []float64{0.5, -2}), attribute.StringSlice("ss", []string{"a", "", "c"}),
		attribute.StringSlice("none", []string{}),
		{Key: "bytes", Value: attribute.ByteSliceValue([]byte{0, 1, 255})},
		{Key: "slice", Value: attribute.SliceValue(attribute.StringValue("x"), attribute.IntValue(7), attribute.SliceValue(attribute.BoolValue(true)))},
		{Key: "map", Value: attribute.MapValue(attribute.String("k", "v"), attribute.KeyValue{Key: "inner", Value: attribute.MapValue(attribute.Int("n", 1))})},
		{Key: "emptymap", Value: attribute.MapValue()},
		{Key: "nothing", Value: attribute.Value{}},
	}
	stubs := tracetest.SpanStubs{
		{ // a server span with all there is
			Name: "GET /scim/v2/Users/:id", SpanContext: sc(1, trace.FlagsSampled, false, ts), Parent: sc(9, trace.FlagsSampled, true, trace.TraceState{}),
			SpanKind: trace.SpanKindServer, StartTime: t0, EndTime: t0.Add(1500 * time.Microsecond),
			Attributes: every,
			Events: []sdktrace.Event{
				{Name: "portal attempt failed", Time: t0.Add(time.Millisecond), Attributes: []attribute.KeyValue{attribute.Int("portal.attempt", 1)}, DroppedAttributeCount: 2},
				{Name: "bare", Time: t0},
			},
			Links: []sdktrace.Link{
				{SpanContext: sc(7, trace.FlagsSampled, true, ts), Attributes: []attribute.KeyValue{attribute.String("l", "v")}, DroppedAttributeCount: 1},
				{SpanContext: sc(8, 0, false, trace.TraceState{})},
			},
			Status:            sdktrace.Status{Code: codes.Error, Description: "500"},
			DroppedAttributes: 3, DroppedEvents: 4, DroppedLinks: 5,
			Resource: resA, InstrumentationScope: scopeGW,
		},
		{ // a client span under it, another scope, status OK
			Name: "portal getUser", SpanContext: sc(2, trace.FlagsSampled, false, trace.TraceState{}), Parent: sc(1, trace.FlagsSampled, false, ts),
			SpanKind: trace.SpanKindClient, StartTime: t0.Add(10 * time.Microsecond), EndTime: t0.Add(time.Millisecond),
			Attributes: []attribute.KeyValue{attribute.String("portal.operation", "getUser"), attribute.Int("http.response.status_code", 200)},
			Status:     sdktrace.Status{Code: codes.Ok}, Resource: resA2, InstrumentationScope: scopeUp,
		},
		{ // a span of the other resource, the zero scope, nothing set
			Name: "", SpanContext: sc(3, 0, false, trace.TraceState{}), Resource: resB,
		},
		{ // the first resource and scope again, after the others; kinds the gateway does not use
			Name: "produce", SpanContext: sc(4, trace.FlagsSampled, false, trace.TraceState{}), SpanKind: trace.SpanKindProducer,
			StartTime: t0, EndTime: t0, Resource: resA, InstrumentationScope: scopeGW,
		},
		{Name: "consume", SpanContext: sc(5, trace.FlagsSampled, false, trace.TraceState{}), SpanKind: trace.SpanKindConsumer, Resource: resB, InstrumentationScope: scopeUp},
		{Name: "internal", SpanContext: sc(6, trace.FlagsSampled, false, trace.TraceState{}), SpanKind: trace.SpanKindInternal, StartTime: time.Unix(0, 0).Add(-time.Hour), Resource: resB},
		{Name: "no resource", SpanContext: sc(10, trace.FlagsSampled, false, trace.TraceState{}), InstrumentationScope: scopeUp},
	}
	return stubs.Snapshots()
}

// TestExporterAgreesWithTheSDKs: for the same spans, what the gateway's exporter uploads decodes to the
// very messages the SDK's own OTLP exporter (otlptrace.Exporter) builds.
func TestExporterAgreesWithTheSDKs(t *testing.T) {
	ctx := context.Background()
	spans := testSpans()

	theirs := &capture{}
	sdkExp, err := otlptrace.New(ctx, theirs)
	if err != nil {
		t.Fatal(err)
	}
	if err := sdkExp.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	ours := &capture{}
	exp, err := newExporter(ctx, ours)
	if err != nil || !ours.started {
		t.Fatalf("newExporter: %v, client started %v", err, ours.started)
	}
	if err := exp.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	want, got := theirs.decoded(t), ours.decoded(t)
	if n := len(want.ResourceSpans); n != 3 {
		t.Fatalf("the SDK's exporter made %d ResourceSpans, want 3 (the test's spans changed?)", n)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("the gateway's exporter sent\n%v\nthe SDK's\n%v", got, want)
	}

	// The buffer is kept and reused: a second export of other spans sends them alone.
	ours.requests = nil
	theirs.requests = nil
	if err := exp.ExportSpans(ctx, spans[1:2]); err != nil {
		t.Fatal(err)
	}
	if err := sdkExp.ExportSpans(ctx, spans[1:2]); err != nil {
		t.Fatal(err)
	}
	if want, got := theirs.decoded(t), ours.decoded(t); !proto.Equal(got, want) {
		t.Fatalf("second export: the gateway's exporter sent\n%v\nthe SDK's\n%v", got, want)
	}
}

// TestExporterErrorsAndShutdown: an upload's error is the export's, nothing is uploaded for no span,
// and the client is stopped once however often Shutdown is called.
func TestExporterErrorsAndShutdown(t *testing.T) {
	ctx := context.Background()
	c := &capture{err: errors.New("collector said no")}
	exp, err := newExporter(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(ctx, testSpans()[:1]); err == nil || !strings.Contains(err.Error(), "collector said no") {
		t.Fatalf("export: %v, want the client's error", err)
	}
	if err := exp.ExportSpans(ctx, nil); err != nil || len(c.requests) != 1 {
		t.Fatalf("export of no span: %v, %d requests; want nothing uploaded", err, len(c.requests))
	}
	for range 2 {
		if err := exp.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if c.stopped != 1 {
		t.Fatalf("client stopped %d times, want 1", c.stopped)
	}
}

// TestExporterOverHTTP: the exporter Setup builds posts to an OTLP/HTTP endpoint a request that decodes
// to the spans ended, through the SDK's OTLP/HTTP client and its settings.
func TestExporterOverHTTP(t *testing.T) {
	var (
		mu   sync.Mutex
		got  coltracepb.ExportTraceServiceRequest
		hdrs http.Header
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if err := proto.Unmarshal(body, &got); err != nil {
			t.Errorf("the body does not decode: %v", err)
		}
		hdrs = r.Header.Clone()
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	ctx := context.Background()
	exp, err := newExporter(ctx, otlptracehttp.NewClient(otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"),
		otlptracehttp.WithHeaders(map[string]string{"X-Tenant": "t1"}), otlptracehttp.WithCompression(otlptracehttp.NoCompression)))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "scim-gateway"))))
	_, span := tp.Tracer("gateway").Start(ctx, "GET /scim/v2/Users/:id", trace.WithAttributes(attribute.Int("http.response.status_code", 200)))
	span.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hdrs.Get("X-Tenant") != "t1" || hdrs.Get("Content-Type") != "application/x-protobuf" {
		t.Fatalf("headers %v: want the client's own (X-Tenant, protobuf)", hdrs)
	}
	rs := got.GetResourceSpans()
	if len(rs) != 1 || len(rs[0].ScopeSpans) != 1 || len(rs[0].ScopeSpans[0].Spans) != 1 {
		t.Fatalf("received %v, want one span", &got)
	}
	s := rs[0].ScopeSpans[0].Spans[0]
	if s.Name != "GET /scim/v2/Users/:id" || s.Attributes[0].GetValue().GetIntValue() != 200 || rs[0].ScopeSpans[0].Scope.GetName() != "gateway" ||
		rs[0].Resource.Attributes[0].GetValue().GetStringValue() != "scim-gateway" || len(s.TraceId) != 16 || s.EndTimeUnixNano < s.StartTimeUnixNano {
		t.Fatalf("received %v", &got)
	}
}

// BenchmarkExport compares the gateway's exporter with the SDK's on a batch of 64 spans like a sampled
// GET's (a server span with 6 attributes, a portal span with 7).
func BenchmarkExport(b *testing.B) {
	ctx := context.Background()
	res := resource.NewSchemaless(attribute.String("service.name", "scim-gateway"), attribute.String("service.version", "v1"))
	var stubs tracetest.SpanStubs
	for i := range 32 {
		tid := trace.TraceID{byte(i), 1}
		now := time.Now()
		stubs = append(stubs, tracetest.SpanStub{
			Name: "GET /scim/v2/Users/:id", SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled}),
			SpanKind: trace.SpanKindServer, StartTime: now, EndTime: now.Add(time.Millisecond), Resource: res,
			InstrumentationScope: instrumentation.Scope{Name: "github.com/scim-gateway/scim-gateway/gateway"},
			Attributes: []attribute.KeyValue{attribute.String("http.request.method", "GET"), attribute.String("http.route", "/scim/v2/Users/:id"),
				attribute.String("scim.request_id", "0123456789abcdef"), attribute.Int("http.response.status_code", 200),
				attribute.String("scim.operation", "get"), attribute.String("scim.resource_type", "User")},
		}, tracetest.SpanStub{
			Name: "portal getUser", SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled}),
			Parent:   trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{1}, TraceFlags: trace.FlagsSampled}),
			SpanKind: trace.SpanKindClient, StartTime: now, EndTime: now.Add(time.Millisecond), Resource: res,
			InstrumentationScope: instrumentation.Scope{Name: "github.com/scim-gateway/scim-gateway/upstream"},
			Attributes: []attribute.KeyValue{attribute.String("portal.operation", "getUser"), attribute.String("http.request.method", "GET"),
				attribute.String("url.template", "/api/usersync/v1/users({idUser})"), attribute.Int("http.response.status_code", 200),
				attribute.Int("portal.retries", 0), attribute.String("portal.breaker_state", "closed")},
		})
	}
	spans := stubs.Snapshots()
	for _, bc := range []struct {
		name string
		new  func(otlptrace.Client) sdktrace.SpanExporter
	}{
		{"sdk", func(c otlptrace.Client) sdktrace.SpanExporter { e, _ := otlptrace.New(ctx, c); return e }},
		{"gateway", func(c otlptrace.Client) sdktrace.SpanExporter { e, _ := newExporter(ctx, c); return e }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			exp := bc.new(marshalOnly{})
			b.ReportAllocs()
			for b.Loop() {
				if err := exp.ExportSpans(ctx, spans); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// marshalOnly is an OTLP client that marshals the request, as the HTTP client does, and sends nothing.
type marshalOnly struct{}

func (marshalOnly) Start(context.Context) error { return nil }
func (marshalOnly) Stop(context.Context) error  { return nil }
func (marshalOnly) UploadTraces(_ context.Context, rs []*tracepb.ResourceSpans) error {
	_, err := proto.Marshal(&coltracepb.ExportTraceServiceRequest{ResourceSpans: rs})
	return err
}

// traceService is an OTLP/gRPC collector that keeps what it receives.
type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	got chan *coltracepb.ExportTraceServiceRequest
}

func (s *traceService) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.got <- req
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// TestExporterOverGRPC: the same over OTLP/gRPC, to a real gRPC server, through the SDK's gRPC client.
func TestExporterOverGRPC(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	svc := &traceService{got: make(chan *coltracepb.ExportTraceServiceRequest, 4)}
	coltracepb.RegisterTraceServiceServer(srv, svc)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	ctx := context.Background()
	exp, err := newExporter(ctx, otlptracegrpc.NewClient(otlptracegrpc.WithEndpoint(lis.Addr().String()), otlptracegrpc.WithInsecure()))
	if err != nil {
		t.Fatal(err)
	}
	spans := testSpans()
	if err := exp.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	theirs := &capture{}
	sdkExp, _ := otlptrace.New(ctx, theirs)
	if err := sdkExp.ExportSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	var req *coltracepb.ExportTraceServiceRequest
	select {
	case req = <-svc.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the collector received nothing")
	}
	b, err := proto.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	received := &capture{requests: [][]byte{b}}
	if want, got := theirs.decoded(t), received.decoded(t); !proto.Equal(got, want) {
		t.Fatalf("received over gRPC\n%v\nthe SDK's exporter's\n%v", got, want)
	}
}
