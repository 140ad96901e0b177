package telemetry

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// exporter is the span exporter Setup gives the batch span processor: the OTLP client of
// otlptracehttp or otlptracegrpc (with all its settings, the OTEL_EXPORTER_OTLP_* variables, its
// retries, TLS, headers and compression) sends the spans, and exporter encodes them.
//
// It does the encoding itself because the SDK's own exporter (otlptrace.Exporter) was about a quarter
// of what a sampled request cost the gateway's CPU: it turns each span into a tree of protobuf
// objects (one per span, per attribute, per attribute value and per value's type: some 25 allocations
// per span) that proto.Marshal then walks by reflection. exporter appends the same OTLP encoding
// straight from the SDK's spans to one buffer it keeps from export to export, and hands the client
// each resource's spans as the unknown fields of an otherwise empty ResourceSpans message: protobuf
// keeps a message's unknown fields and marshals them as they are, so what the collector receives is
// an ordinary ResourceSpans message (TestExporterAgreesWithTheSDKs decodes it and compares it with the
// SDK exporter's objects). The one thing this changes: the OTLP clients' experimental
// self-observability metrics (OTEL_GO_X_OBSERVABILITY) count spans from those objects and read 0
// spans per export.
type exporter struct {
	client otlptrace.Client

	mu   sync.Mutex // ExportSpans is called by one goroutine at a time; the lock makes that a fact
	buf  []byte     // the encoding, kept for the next export unless it grew past maxKeptBuffer
	done []bool     // the spans of the batch already encoded

	stopOnce sync.Once
}

// maxKeptBuffer bounds the buffer an exporter keeps between exports: a batch of unusually large spans
// is encoded in a buffer of its own size, which is then left to the garbage collector.
const maxKeptBuffer = 1 << 20

// newExporter starts client (a gRPC client dials) and returns the exporter that sends through it.
func newExporter(ctx context.Context, client otlptrace.Client) (*exporter, error) {
	if err := client.Start(ctx); err != nil {
		return nil, err
	}
	return &exporter{client: client}, nil
}

// ExportSpans encodes spans as OTLP (one ResourceSpans per resource, one ScopeSpans per
// instrumentation scope in it) and uploads them.
func (e *exporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	b := e.buf[:0]
	var (
		out    []*tracepb.ResourceSpans
		starts []int // where each ResourceSpans' encoding starts in b
	)
	// Spans are grouped by resource, and within a resource by scope, in the order each first
	// appears (a batch has one resource and a few scopes).
	e.done = slices.Grow(e.done[:0], len(spans))[:len(spans)]
	clear(e.done)
	for i, sd := range spans {
		if sd == nil || e.done[i] {
			continue
		}
		starts = append(starts, len(b))
		b = appendResourceSpans(b, sd.Resource(), spans, i, e.done)
	}
	for k, start := range starts {
		end := len(b)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		rs := &tracepb.ResourceSpans{}
		rs.ProtoReflect().SetUnknown(protoreflect.RawFields(b[start:end:end]))
		out = append(out, rs)
	}
	if cap(b) <= maxKeptBuffer {
		e.buf = b
	} else {
		e.buf = nil
	}
	if len(out) == 0 {
		return nil
	}
	if err := e.client.UploadTraces(ctx, out); err != nil {
		return fmt.Errorf("traces export: %w", err)
	}
	return nil
}

// Shutdown stops the client (once): spans exported after it fail.
func (e *exporter) Shutdown(ctx context.Context) error {
	var err error
	e.stopOnce.Do(func() { err = e.client.Stop(ctx) })
	return err
}

// OTLP field numbers (opentelemetry/proto/trace/v1/trace.proto, common/v1/common.proto,
// resource/v1/resource.proto).
const (
	fResourceSpansResource   = 1
	fResourceSpansScopeSpans = 2
	fResourceSpansSchemaURL  = 3

	fResourceAttributes = 1

	fScopeSpansScope     = 1
	fScopeSpansSpans     = 2
	fScopeSpansSchemaURL = 3

	fScopeName       = 1
	fScopeVersion    = 2
	fScopeAttributes = 3

	fSpanTraceID       = 1
	fSpanSpanID        = 2
	fSpanTraceState    = 3
	fSpanParentSpanID  = 4
	fSpanName          = 5
	fSpanKind          = 6
	fSpanStart         = 7
	fSpanEnd           = 8
	fSpanAttributes    = 9
	fSpanDroppedAttrs  = 10
	fSpanEvents        = 11
	fSpanDroppedEvents = 12
	fSpanLinks         = 13
	fSpanDroppedLinks  = 14
	fSpanStatus        = 15
	fSpanFlags         = 16

	fEventTime         = 1
	fEventName         = 2
	fEventAttributes   = 3
	fEventDroppedAttrs = 4

	fLinkTraceID      = 1
	fLinkSpanID       = 2
	fLinkAttributes   = 4
	fLinkDroppedAttrs = 5
	fLinkFlags        = 6

	fStatusMessage = 2
	fStatusCode    = 3

	fKeyValueKey   = 1
	fKeyValueValue = 2

	fAnyString = 1
	fAnyBool   = 2
	fAnyInt    = 3
	fAnyDouble = 4
	fAnyArray  = 5
	fAnyKVList = 6
	fAnyBytes  = 7

	fArrayValues  = 1 // ArrayValue.values
	fKVListValues = 1 // KeyValueList.values
)

// Span flags: the W3C trace flags in the low byte, and whether the parent is known to be remote.
const (
	flagHasIsRemote = uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK)
	flagIsRemote    = uint32(tracepb.SpanFlags_SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK)
)

// appendResourceSpans appends the fields of one ResourceSpans: the resource res of spans[first], and
// every span of the batch with an equivalent resource, grouped by scope; it marks them in done.
func appendResourceSpans(b []byte, res *resource.Resource, spans []sdktrace.ReadOnlySpan, first int, done []bool) []byte {
	if res != nil { // the SDK's exporter sends no resource for a span without one
		var m int
		b, m = openMessage(b, fResourceSpansResource)
		for iter := res.Iter(); iter.Next(); {
			b = appendKeyValue(b, fResourceAttributes, iter.Attribute())
		}
		b = closeMessage(b, m)
	}
	key := res.Equivalent()
	for i := first; i < len(spans); i++ {
		sd := spans[i]
		if sd == nil || done[i] || sd.Resource().Equivalent() != key {
			continue
		}
		b = appendScopeSpans(b, key, sd.InstrumentationScope(), spans, i, done)
	}
	return appendString(b, fResourceSpansSchemaURL, res.SchemaURL())
}

// appendScopeSpans appends a ScopeSpans field: scope, and the spans from first on of resource key and
// scope, which it marks in done.
func appendScopeSpans(b []byte, key attribute.Distinct, scope instrumentation.Scope, spans []sdktrace.ReadOnlySpan, first int, done []bool) []byte {
	b, m := openMessage(b, fResourceSpansScopeSpans)
	if scope != (instrumentation.Scope{}) { // the SDK's exporter sends no scope for the zero scope
		var sm int
		b, sm = openMessage(b, fScopeSpansScope)
		b = appendString(b, fScopeName, scope.Name)
		b = appendString(b, fScopeVersion, scope.Version)
		for iter := scope.Attributes.Iter(); iter.Next(); {
			b = appendKeyValue(b, fScopeAttributes, iter.Attribute())
		}
		b = closeMessage(b, sm)
	}
	for i := first; i < len(spans); i++ {
		sd := spans[i]
		if sd == nil || done[i] || sd.InstrumentationScope() != scope || sd.Resource().Equivalent() != key {
			continue
		}
		done[i] = true
		b = appendSpan(b, sd)
	}
	b = appendString(b, fScopeSpansSchemaURL, scope.SchemaURL)
	return closeMessage(b, m)
}

// appendSpan appends one Span field of a ScopeSpans.
func appendSpan(b []byte, sd sdktrace.ReadOnlySpan) []byte {
	b, m := openMessage(b, fScopeSpansSpans)
	sc := sd.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	b = appendBytes(b, fSpanTraceID, tid[:])
	b = appendBytes(b, fSpanSpanID, sid[:])
	b = appendString(b, fSpanTraceState, sc.TraceState().String())
	parent := sd.Parent()
	if psid := parent.SpanID(); psid.IsValid() {
		b = appendBytes(b, fSpanParentSpanID, psid[:])
	}
	b = appendString(b, fSpanName, sd.Name())
	b = appendVarint(b, fSpanKind, uint64(spanKind(sd.SpanKind())))
	b = appendFixed64(b, fSpanStart, unixNano(sd.StartTime().UnixNano()))
	b = appendFixed64(b, fSpanEnd, unixNano(sd.EndTime().UnixNano()))
	for _, kv := range sd.Attributes() {
		b = appendKeyValue(b, fSpanAttributes, kv)
	}
	b = appendVarint(b, fSpanDroppedAttrs, clampUint32(sd.DroppedAttributes()))
	for _, ev := range sd.Events() {
		var em int
		b, em = openMessage(b, fSpanEvents)
		b = appendFixed64(b, fEventTime, unixNano(ev.Time.UnixNano()))
		b = appendString(b, fEventName, ev.Name)
		for _, kv := range ev.Attributes {
			b = appendKeyValue(b, fEventAttributes, kv)
		}
		b = appendVarint(b, fEventDroppedAttrs, clampUint32(ev.DroppedAttributeCount))
		b = closeMessage(b, em)
	}
	b = appendVarint(b, fSpanDroppedEvents, clampUint32(sd.DroppedEvents()))
	for _, l := range sd.Links() {
		var lm int
		b, lm = openMessage(b, fSpanLinks)
		ltid, lsid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
		b = appendBytes(b, fLinkTraceID, ltid[:])
		b = appendBytes(b, fLinkSpanID, lsid[:])
		// The link's trace state is left out, as the SDK's exporter leaves it out.
		for _, kv := range l.Attributes {
			b = appendKeyValue(b, fLinkAttributes, kv)
		}
		b = appendVarint(b, fLinkDroppedAttrs, clampUint32(l.DroppedAttributeCount))
		b = appendFixed32(b, fLinkFlags, spanFlags(l.SpanContext.TraceFlags(), l.SpanContext))
		b = closeMessage(b, lm)
	}
	b = appendVarint(b, fSpanDroppedLinks, clampUint32(sd.DroppedLinks()))
	// The status is always there, empty when unset, as the SDK's exporter sends it.
	var stm int
	b, stm = openMessage(b, fSpanStatus)
	st := sd.Status()
	b = appendString(b, fStatusMessage, st.Description)
	b = appendVarint(b, fStatusCode, uint64(statusCode(st.Code)))
	b = closeMessage(b, stm)
	b = appendFixed32(b, fSpanFlags, spanFlags(sc.TraceFlags(), parent))
	return closeMessage(b, m)
}

func spanKind(k trace.SpanKind) tracepb.Span_SpanKind {
	switch k {
	case trace.SpanKindInternal:
		return tracepb.Span_SPAN_KIND_INTERNAL
	case trace.SpanKindServer:
		return tracepb.Span_SPAN_KIND_SERVER
	case trace.SpanKindClient:
		return tracepb.Span_SPAN_KIND_CLIENT
	case trace.SpanKindProducer:
		return tracepb.Span_SPAN_KIND_PRODUCER
	case trace.SpanKindConsumer:
		return tracepb.Span_SPAN_KIND_CONSUMER
	default:
		return tracepb.Span_SPAN_KIND_UNSPECIFIED
	}
}

func statusCode(c codes.Code) tracepb.Status_StatusCode {
	switch c {
	case codes.Ok:
		return tracepb.Status_STATUS_CODE_OK
	case codes.Error:
		return tracepb.Status_STATUS_CODE_ERROR
	default:
		return tracepb.Status_STATUS_CODE_UNSET
	}
}

// spanFlags: the W3C flags, and that whether the parent is remote is known (and whether it is).
func spanFlags(tf trace.TraceFlags, parent trace.SpanContext) uint32 {
	f := uint32(tf) | flagHasIsRemote
	if parent.IsRemote() {
		f |= flagIsRemote
	}
	return f
}

func unixNano(ns int64) uint64 { return uint64(max(0, ns)) } //nolint:gosec // clamped at 0

func clampUint32(v int) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(min(int64(v), math.MaxUint32))
}

// appendKeyValue appends a KeyValue field num: the key, then the value as an AnyValue (always there,
// empty for an EMPTY value, as the SDK's exporter sends it).
func appendKeyValue(b []byte, num protowire.Number, kv attribute.KeyValue) []byte {
	b, m := openMessage(b, num)
	b = appendString(b, fKeyValueKey, string(kv.Key))
	b = appendAnyValue(b, fKeyValueValue, kv.Value)
	return closeMessage(b, m)
}

// appendAnyValue appends an AnyValue field num holding v. A oneof member is written even when it is
// its type's zero value (false, 0, ""): that it is set is the value.
func appendAnyValue(b []byte, num protowire.Number, v attribute.Value) []byte {
	b, m := openMessage(b, num)
	switch v.Type() {
	case attribute.BOOL:
		b = protowire.AppendTag(b, fAnyBool, protowire.VarintType)
		b = protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		b = protowire.AppendTag(b, fAnyInt, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(v.AsInt64())) //nolint:gosec // int64 is a varint of its two's complement
	case attribute.FLOAT64:
		b = protowire.AppendTag(b, fAnyDouble, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	case attribute.STRING:
		b = protowire.AppendTag(b, fAnyString, protowire.BytesType)
		b = protowire.AppendString(b, v.AsString())
	case attribute.BYTESLICE:
		b = protowire.AppendTag(b, fAnyBytes, protowire.BytesType)
		b = protowire.AppendBytes(b, v.AsByteSlice())
	case attribute.BOOLSLICE, attribute.INT64SLICE, attribute.FLOAT64SLICE, attribute.STRINGSLICE, attribute.SLICE:
		var am int
		b, am = openMessage(b, fAnyArray)
		b = appendArray(b, v)
		b = closeMessage(b, am)
	case attribute.MAP:
		var km int
		b, km = openMessage(b, fAnyKVList)
		for _, kv := range v.AsMap() {
			b = appendKeyValue(b, fKVListValues, kv)
		}
		b = closeMessage(b, km)
	case attribute.EMPTY:
	default:
		b = protowire.AppendTag(b, fAnyString, protowire.BytesType)
		b = protowire.AppendString(b, "INVALID")
	}
	return closeMessage(b, m)
}

// appendArray appends the values of a slice value v as the AnyValue fields of an ArrayValue.
func appendArray(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.BOOLSLICE:
		return appendValues(b, v.AsBoolSlice(), attribute.BoolValue)
	case attribute.INT64SLICE:
		return appendValues(b, v.AsInt64Slice(), attribute.Int64Value)
	case attribute.FLOAT64SLICE:
		return appendValues(b, v.AsFloat64Slice(), attribute.Float64Value)
	case attribute.STRINGSLICE:
		return appendValues(b, v.AsStringSlice(), attribute.StringValue)
	case attribute.SLICE:
		return appendValues(b, v.AsSlice(), func(x attribute.Value) attribute.Value { return x })
	}
	return b
}

// appendValues appends each of xs, made a value by value, as an AnyValue field of an ArrayValue.
func appendValues[T any](b []byte, xs []T, value func(T) attribute.Value) []byte {
	for _, x := range xs {
		b = appendAnyValue(b, fArrayValues, value(x))
	}
	return b
}

// openMessage appends the tag of message field num and one byte for its length, and returns where
// the message starts; closeMessage writes the length, moving the message right when the length needs
// more than the byte reserved (a message of 128 bytes or more).
func openMessage(b []byte, num protowire.Number) ([]byte, int) {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = append(b, 0)
	return b, len(b)
}

func closeMessage(b []byte, start int) []byte {
	n := len(b) - start
	if n < 0x80 {
		b[start-1] = byte(n)
		return b
	}
	extra := protowire.SizeVarint(uint64(n)) - 1
	for range extra {
		b = append(b, 0)
	}
	copy(b[start+extra:], b[start:start+n])
	protowire.AppendVarint(b[:start-1], uint64(n)) // writes in place: b has the room
	return b
}

// The scalar fields below are left out at their zero value, as protobuf's proto3 encoding does; but
// appendBytes, which writes the ids, always writes (the SDK's exporter always sends them).

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendBytes(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func appendVarint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendFixed64(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, v)
}

func appendFixed32(b []byte, num protowire.Number, v uint32) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, v)
}
