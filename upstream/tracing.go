package upstream

import (
	"context"
	"net/http"

	"github.com/go-resty/resty/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

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

// propagator sends the W3C traceparent of the attempt's span to the portal.
var propagator = propagation.TraceContext{}

// Most requests are not sampled, and a span that is not recorded should cost next to nothing: spans
// start with a fixed name and no attributes (built once here), and get their name and attributes only
// when the sampler chose to record them. The samplers the gateway offers (OTEL_TRACES_SAMPLER) decide
// on the trace id and the parent, not on names or attributes.
var (
	callSpanName    = "portal call"
	attemptSpanName = "portal request"
	attemptSpanOpts = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindClient)}
)

// noSpan is what startCall and startAttempt return instead of a span that could not be recorded:
// it ends, records and allocates nothing (the trace API's no-op span).
var noSpan = trace.SpanFromContext(context.Background())

// unsampledParent reports whether ctx holds a span (local or remote) that is neither sampled nor
// recorded. No child of it can be recorded under the samplers OTEL_TRACES_SAMPLER offers: the
// parentbased_* ones never sample the child of an unsampled parent, traceidratio decides on the trace
// id the child shares (so it decides as it did for the parent), always_off never samples and
// always_on would have sampled the parent. So a portal call of a request that is not sampled (90% of
// them at 10% sampling) starts no spans at all: the ids, the sampler and the two context values
// per span are skipped, and the portal gets the request's own traceparent (its trace id, the server
// span's id, sampled flag 0) instead of one with an attempt span's id that no backend will ever see.
func unsampledParent(ctx context.Context) bool {
	parent := trace.SpanFromContext(ctx)
	sc := parent.SpanContext()
	return sc.IsValid() && !sc.IsSampled() && !parent.IsRecording()
}

// startCall starts the span of one portal call (all its attempts).
func (c *Client) startCall(ctx context.Context, ep endpoint) (context.Context, trace.Span) {
	if unsampledParent(ctx) {
		return ctx, noSpan
	}
	ctx, span := c.tracer.Start(ctx, callSpanName)
	if span.IsRecording() {
		span.SetName("portal " + ep.op)
		span.SetAttributes(
			attribute.String(AttrOperation, ep.op),
			attribute.String(AttrMethod, ep.method),
			attribute.String(AttrTemplate, ep.path),
		)
	}
	return ctx, span
}

// endCall ends a call's span with its final status (0: no answer), the retries made, the breaker's
// state and the error, if any.
func (c *Client) endCall(span trace.Span, status, attempts int, err *translator.Error) {
	if !span.IsRecording() {
		span.End()
		return
	}
	span.SetAttributes(
		attribute.Int(AttrStatus, status),
		attribute.Int(AttrRetries, max(attempts-1, 0)),
		attribute.String(AttrBreaker, c.BreakerState()),
	)
	if err != nil {
		span.SetAttributes(attribute.String(AttrErrorCode, string(err.Code)))
		span.SetStatus(codes.Error, err.Message)
	}
	span.End()
}

// startAttempt starts the client span of one HTTP request to the portal.
func (c *Client) startAttempt(ctx context.Context, op, method, template string, n int) (context.Context, trace.Span) {
	if unsampledParent(ctx) {
		return ctx, noSpan
	}
	ctx, span := c.tracer.Start(ctx, attemptSpanName, attemptSpanOpts...)
	if span.IsRecording() {
		span.SetName(method + " " + template)
		span.SetAttributes(
			attribute.String(AttrOperation, op),
			attribute.String(AttrMethod, method),
			attribute.String(AttrTemplate, template),
			attribute.Int(AttrAttempt, n),
		)
	}
	return ctx, span
}

// endAttempt ends an attempt's span with the portal's status (0: no answer) and the error, if any.
func endAttempt(span trace.Span, status int, err *translator.Error) {
	if span.IsRecording() {
		span.SetAttributes(attribute.Int(AttrStatus, status))
		if err != nil {
			span.SetAttributes(attribute.String(AttrErrorCode, string(err.Code)))
			span.SetStatus(codes.Error, err.Message)
		}
	}
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
