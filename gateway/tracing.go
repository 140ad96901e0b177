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
// attributes at once (the samplers offered decide on the trace id and the parent only).
var (
	serverSpanName = "SCIM request"
	serverSpanOpts = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}
)

// traceRequest is the middleware that makes one server span per SCIM request: the parent comes from
// an incoming W3C traceparent, the name is the method and route template, and the attributes say
// the tenant, the SCIM operation and the status. It goes ahead of observe, so that the translation
// record and the access log see the span.
func (s *Server) traceRequest(next echo.HandlerFunc) echo.HandlerFunc {
	prop := propagation.TraceContext{}
	return func(c echo.Context) error {
		r := c.Request()
		ctx := r.Context()
		if r.Header.Get("Traceparent") != "" {
			ctx = prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
		}
		ctx, span := s.tracer.Start(ctx, serverSpanName, serverSpanOpts...)
		defer span.End()
		recording := span.IsRecording()
		if recording {
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			span.SetName(r.Method + " " + route)
			span.SetAttributes(
				attribute.String("http.request.method", r.Method),
				attribute.String("http.route", route),
				attribute.String(AttrRequestID, reqOf(c).id),
			)
		}
		c.SetRequest(r.WithContext(ctx))
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		if !recording {
			return nil
		}
		status := c.Response().Status
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if t := reqOf(c).tenant(); t != "" { // known once the token matched
			span.SetAttributes(attribute.String(AttrTenant, t))
		}
		if rec := reqOf(c).rec; rec != nil {
			op, resource := rec.Operation()
			span.SetAttributes(attribute.String(AttrOperation, op), attribute.String(AttrResource, resource))
		}
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, strconv.Itoa(status))
		}
		return nil
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
