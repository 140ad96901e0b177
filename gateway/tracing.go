package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/scim-gateway/scim-gateway/internal/spanattr"
)

// TracerName names the gateway's tracer (the instrumentation scope of its spans).
const TracerName = "github.com/scim-gateway/scim-gateway/gateway"

// Span attributes of a SCIM request. Never a value from the request: only the route template, the
// method, the operation and the status.
const (
	AttrTenant    = "scim.tenant"
	AttrOperation = "scim.operation"
	AttrResource  = "scim.resource_type"
	AttrRequestID = "scim.request_id"
)

// serverSpanName and serverSpanOpts start every server span: a request that is not sampled (most of
// them) then costs no name, no attribute and no option slice; a recorded span gets its name and
// attributes when it ends (the samplers offered decide on the trace id and the parent only).
var (
	serverSpanName = "SCIM request"
	serverSpanOpts = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
	traceContext   = propagation.TraceContext{}
)

// startServerSpan starts the server span of a SCIM request (begin calls it, so that the span and the
// request's value share one copy of the http.Request): the parent comes from an incoming W3C
// traceparent in h, if any.
func (s *Server) startServerSpan(ctx context.Context, h http.Header) (context.Context, trace.Span) {
	if h.Get("Traceparent") != "" {
		ctx = traceContext.Extract(ctx, propagation.HeaderCarrier(h))
	}
	return s.tracer.Start(ctx, serverSpanName, serverSpanOpts...)
}

// endServerSpan ends a request's server span, recording it first when it is sampled.
func endServerSpan(c echo.Context, span trace.Span, answered bool) {
	if span.IsRecording() {
		recordServerSpan(c, span, answered)
	}
	span.End()
}

// recordServerSpan names a sampled server span by method and route template and gives it all its
// attributes (request id, status, tenant, SCIM operation and resource type) in one call, from a pooled
// list (spanattr). A request that did not come back (a panic past the recover middleware) has no
// status: its span says so.
func recordServerSpan(c echo.Context, span trace.Span, answered bool) {
	r, rq := c.Request(), reqOf(c)
	route := c.Path()
	if route == "" {
		route = "unmatched"
	}
	span.SetName(r.Method + " " + route)
	attrs := spanattr.Get()
	attrs.Add(
		attribute.String("http.request.method", r.Method),
		attribute.String("http.route", route),
		attribute.String(AttrRequestID, rq.id),
	)
	status := c.Response().Status
	if answered {
		attrs.Add(attribute.Int("http.response.status_code", status))
	}
	if t := rq.tenant(); t != "" { // known once the token matched
		attrs.Add(attribute.String(AttrTenant, t))
	}
	if rq.rec != nil {
		op, resource := rq.rec.Operation()
		attrs.Add(attribute.String(AttrOperation, op), attribute.String(AttrResource, resource))
	}
	attrs.Set(span)
	switch {
	case !answered:
		span.SetStatus(codes.Error, "panic")
	case status >= http.StatusInternalServerError:
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
}

// traceIDOf returns the hex trace id of ctx's span when it is sampled, "" otherwise: an unsampled trace
// is never exported, so its id would lead nowhere.
func traceIDOf(ctx context.Context) string {
	if sc := trace.SpanContextFromContext(ctx); sc.IsSampled() {
		return sc.TraceID().String()
	}
	return ""
}

// TraceField is the zap field of ctx's trace id, so that a log line leads to its trace; it is
// skipped when ctx has no trace.
func TraceField(ctx context.Context) zap.Field {
	if id := traceIDOf(ctx); id != "" {
		return zap.String("traceId", id)
	}
	return zap.Skip()
}
