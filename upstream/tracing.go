package upstream

import (
	"context"

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

// startCall starts the span of one portal call (all its attempts).
func (c *Client) startCall(ctx context.Context, ep endpoint) (context.Context, trace.Span) {
	return c.tracer.Start(ctx, "portal "+ep.op, trace.WithAttributes(
		attribute.String(AttrOperation, ep.op),
		attribute.String(AttrMethod, ep.method),
		attribute.String(AttrTemplate, ep.path),
	))
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
	return c.tracer.Start(ctx, method+" "+template, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String(AttrOperation, op),
		attribute.String(AttrMethod, method),
		attribute.String(AttrTemplate, template),
		attribute.Int(AttrAttempt, n),
	))
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

// injectTrace sets the traceparent header of req from ctx's span, when there is one.
func injectTrace(ctx context.Context, req *resty.Request) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return
	}
	h := make(map[string]string, 2)
	propagator.Inject(ctx, propagation.MapCarrier(h))
	for k, v := range h {
		req.SetHeader(k, v)
	}
}
