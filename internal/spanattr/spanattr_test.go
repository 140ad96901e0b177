package spanattr

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// A list given back to the pool and borrowed again must not change the attributes of the span it
// was set on: the SDK keeps a copy.
func TestSetKeepsNoReferenceToTheList(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tracer := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)).Tracer("test")
	_, span := tracer.Start(context.Background(), "first")
	l := Get()
	l.Add(attribute.String("k", "first"), attribute.Int("n", 1))
	l.Set(span)
	for range 10 { // the pool may hand the same list back: overwrite whatever comes
		again := Get()
		again.Add(attribute.String("k", "overwritten"), attribute.Int("n", 2))
		_, other := tracer.Start(context.Background(), "other")
		again.Set(other)
		other.End()
	}
	span.End()
	ended := rec.Ended()
	got := ended[len(ended)-1] // "first" ends last
	if got.Name() != "first" || len(got.Attributes()) != 2 || got.Attributes()[0].Value.AsString() != "first" ||
		got.Attributes()[1].Value.AsInt64() != 1 {
		t.Fatalf("span %q attributes %v, want k=first n=1", got.Name(), got.Attributes())
	}
	if l := Get(); len(l.kvs) != 0 {
		t.Fatalf("a borrowed list holds %d attributes, want 0", len(l.kvs))
	}
}
