package store

import (
	"context"
	"testing"

	"sync/atomic"

	"github.com/alicebob/miniredis/v2"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// TestTracingOnlyUnderSampledSpans: a Redis command is a client span, child of the caller's span, when
// that span is sampled; under an unsampled span, or with no span at all, it makes none. Arguments are
// never recorded.
func TestTracingOnlyUnderSampledSpans(t *testing.T) {
	mr := miniredis.RunT(t)
	r := newTestRedis(t, testRedisConfig("redis://"+mr.Addr()), defaultCircuitSettings())
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.NeverSample())))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	counted := &countingProvider{TracerProvider: tp}
	if err := r.InstrumentTracing(counted); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	if err := r.Set(ctx, "no-parent", []byte("secret-value"), 0); err != nil {
		t.Fatal(err)
	}
	unsampled := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}}))
	if _, _, err := r.Get(unsampled, "no-parent"); err != nil {
		t.Fatal(err)
	}
	if n := len(exp.GetSpans()); n != 0 || counted.starts.Load() != 0 {
		t.Fatalf("%d spans exported, %d started without a sampled parent, want none", n, counted.starts.Load())
	}

	parent := trace.SpanContextConfig{TraceID: trace.TraceID{2}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled}
	sampled := trace.ContextWithSpanContext(ctx, trace.NewSpanContext(parent))
	if _, _, err := r.Get(sampled, "no-parent"); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans under a sampled parent, want 1", len(spans))
	}
	sp := spans[0]
	if sp.Name != "get" || sp.SpanKind != trace.SpanKindClient || sp.Parent.SpanID() != parent.SpanID || sp.SpanContext.TraceID() != parent.TraceID {
		t.Fatalf("span %q kind %v parent %v trace %v", sp.Name, sp.SpanKind, sp.Parent.SpanID(), sp.SpanContext.TraceID())
	}
	for _, kv := range sp.Attributes {
		if v := kv.Value.String(); v == "secret-value" || v == "no-parent" || len(v) > 20 {
			t.Fatalf("span attribute %s = %q records a command argument", kv.Key, v)
		}
	}
}

// countingProvider counts the spans its tracers start, sampled or not: a span that is started and then
// not exported still costs the request.
type countingProvider struct {
	trace.TracerProvider
	starts atomic.Int64
}

func (p *countingProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	return countingTracer{Tracer: p.TracerProvider.Tracer(name, opts...), starts: &p.starts}
}

type countingTracer struct {
	trace.Tracer
	starts *atomic.Int64
}

func (t countingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	t.starts.Add(1)
	return t.Tracer.Start(ctx, name, opts...)
}
