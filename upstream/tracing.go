package upstream

import (
	"context"
	"net/http"

	"github.com/go-resty/resty/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/scim-gateway/scim-gateway/internal/spanattr"
	"github.com/scim-gateway/scim-gateway/translator"
)

// TracerName names the portal client's tracer (the instrumentation scope of its spans).
const TracerName = "github.com/scim-gateway/scim-gateway/upstream"

// Span attributes of portal calls. Never a value of the call: the operation, the path template,
// the status, the attempt count and the breaker state only.
const (
	AttrOperation = "portal.operation"
	AttrTemplate  = "url.template"
	AttrRetries   = "portal.retries"
	AttrAttempt   = "portal.attempt"
	AttrBreaker   = "portal.breaker_state"
	AttrErrorCode = "portal.error_code"
	AttrStatus    = "http.response.status_code"
	AttrMethod    = "http.request.method"
)

// propagator sends the W3C traceparent of the call's span (of the request's, when it is not sampled)
// to the portal.
var propagator = propagation.TraceContext{}

// The spans of the portal client: one client span per portal call (all its attempts), whose
// traceparent the portal gets; an attempt that fails is an event of it ("portal attempt failed":
// the attempt's number, the portal's status and the error code), so that a retried call shows each
// failure and when it happened, and a call that succeeds at once (nearly all) costs one span. The
// token request, a request of its own, is a client span under the call that needed it.
//
// Most requests are not sampled, and a span that is not recorded should cost next to nothing: a
// request that is not sampled starts no portal span at all (see unsampledParent); a recorded span
// starts with a name built once (per endpoint, per token URL) and gets all its attributes in one call
// when it ends, from a pooled list (spanattr): one SetAttributes call per span is one allocation of
// the SDK's attribute list, where a call at the start and another at the end grew it twice.
var (
	clientSpanOpts  = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
	failedEventName = "portal attempt failed"
)

// noSpan is what startCall and startToken return instead of a span that could not be recorded:
// it ends, records and allocates nothing (the trace API's no-op span).
var noSpan = trace.SpanFromContext(context.Background())

// unsampledParent reports whether ctx holds a span (local or remote) that is neither sampled nor
// recorded. No child of it can be recorded under the samplers OTEL_TRACES_SAMPLER offers: the
// parentbased_* ones never sample the child of an unsampled parent, traceidratio decides on the trace
// id the child shares (so it decides as it did for the parent), always_off never samples and
// always_on would have sampled the parent. So a portal call of a request that is not sampled (90% of
// them at 10% sampling) starts no span at all: the ids, the sampler and the context value are
// skipped, and the portal gets the request's own traceparent (its trace id, the server span's id,
// sampled flag 0) instead of one with a call span's id that no backend will ever see.
func unsampledParent(ctx context.Context) bool {
	parent := trace.SpanFromContext(ctx)
	sc := parent.SpanContext()
	return sc.IsValid() && !sc.IsSampled() && !parent.IsRecording()
}

// startCall starts the span of one portal call to ep ("portal getUser").
func (c *Client) startCall(ctx context.Context, ep endpoint) (context.Context, trace.Span) {
	if unsampledParent(ctx) {
		return ctx, noSpan
	}
	return c.tracer.Start(ctx, ep.callSpan, clientSpanOpts...)
}

// endCall ends a call's span: the endpoint's operation, method and path template, the final status
// (0: no answer), the retries made, the breaker's state and the error, if any.
func (c *Client) endCall(span trace.Span, ep endpoint, status, attempts int, err *translator.Error) {
	if !span.IsRecording() {
		span.End()
		return
	}
	attrs := spanattr.Get()
	attrs.Add(
		attribute.String(AttrOperation, ep.op),
		attribute.String(AttrMethod, ep.method),
		attribute.String(AttrTemplate, ep.path),
		attribute.Int(AttrStatus, status),
		attribute.Int(AttrRetries, max(attempts-1, 0)),
		attribute.String(AttrBreaker, c.BreakerState()),
	)
	if err != nil {
		attrs.Add(attribute.String(AttrErrorCode, string(err.Code)))
		span.SetStatus(codes.Error, err.Message)
	}
	attrs.Set(span)
	span.End()
}

// failedAttempt records a failed attempt of a call as an event of the call's span.
func failedAttempt(span trace.Span, n, status int, err *translator.Error) {
	if !span.IsRecording() {
		return
	}
	span.AddEvent(failedEventName, trace.WithAttributes(
		attribute.Int(AttrAttempt, n),
		attribute.Int(AttrStatus, status),
		attribute.String(AttrErrorCode, string(err.Code)),
	))
}

// startToken starts the client span of a token request, named name ("POST https://…/token").
func (c *Client) startToken(ctx context.Context, name string) (context.Context, trace.Span) {
	if unsampledParent(ctx) {
		return ctx, noSpan
	}
	return c.tracer.Start(ctx, name, clientSpanOpts...)
}

// endToken ends a token request's span: the operation, method and token URL, the status (0: no
// answer) and the error, if any.
func endToken(span trace.Span, template string, status int, err *translator.Error) {
	if !span.IsRecording() {
		span.End()
		return
	}
	attrs := spanattr.Get()
	attrs.Add(
		attribute.String(AttrOperation, OpToken),
		attribute.String(AttrMethod, http.MethodPost),
		attribute.String(AttrTemplate, template),
		attribute.Int(AttrStatus, status),
	)
	if err != nil {
		attrs.Add(attribute.String(AttrErrorCode, string(err.Code)))
		span.SetStatus(codes.Error, err.Message)
	}
	attrs.Set(span)
	span.End()
}

// injectTrace sets the traceparent header of req from ctx's span, when there is one (sampled or not:
// the flag it carries tells the portal; not sampled, it is the request's span, see unsampledParent).
func injectTrace(ctx context.Context, req *resty.Request) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	propagator.Inject(ctx, headerCarrier(req.Header))
}

// headerCarrier sets the W3C headers in an http.Header under their canonical names directly, without
// the canonicalisation (and allocation) of http.Header.Set.
type headerCarrier http.Header

func (h headerCarrier) Get(key string) string { return http.Header(h).Get(key) }

func (h headerCarrier) Set(key, value string) {
	switch key {
	case "traceparent":
		h["Traceparent"] = []string{value}
	case "tracestate":
		h["Tracestate"] = []string{value}
	default:
		http.Header(h).Set(key, value)
	}
}

func (h headerCarrier) Keys() []string { return propagation.HeaderCarrier(h).Keys() }
