package store

import (
	"context"
	"errors"
	"net"

	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentTracing makes a client span per Redis command (and one per pipeline) on tp, named after the
// command, as a child of the calling request's span, and only when that span is sampled: a command of
// a request that is not traced, or of no request at all (start-up, background renewals), costs nothing.
// The arguments are never recorded: they hold logins, external ids and SCIM ids. Connecting is not a
// command and makes no span. Errors: none today (the signature leaves room for a client that cannot
// take hooks).
//
// This is a hook of our own rather than redisotel's: redisotel starts a span (and builds its
// attributes) for every command whatever the parent's sampling, and its filters do not see the
// context, so an unsampled request paid for spans no one would see.
func (r *Redis) InstrumentTracing(tp trace.TracerProvider) error {
	r.client.AddHook(tracingHook{tracer: tp.Tracer("github.com/scim-gateway/scim-gateway/gateway/store")})
	return nil
}

// tracingHook is the go-redis hook InstrumentTracing adds.
type tracingHook struct{ tracer trace.Tracer }

var redisSystem = attribute.String("db.system", "redis")

func (h tracingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h tracingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !trace.SpanContextFromContext(ctx).IsSampled() {
			return next(ctx, cmd)
		}
		ctx, span := h.tracer.Start(ctx, cmd.FullName(), trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(redisSystem, attribute.String("db.operation.name", cmd.FullName())))
		defer span.End()
		err := next(ctx, cmd)
		recordRedisError(span, err)
		return err
	}
}

func (h tracingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !trace.SpanContextFromContext(ctx).IsSampled() {
			return next(ctx, cmds)
		}
		ctx, span := h.tracer.Start(ctx, "pipeline", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(redisSystem, attribute.Int("db.operation.batch.size", len(cmds))))
		defer span.End()
		err := next(ctx, cmds)
		recordRedisError(span, err)
		return err
	}
}

// recordRedisError marks span failed for an error other than a missing key (redis.Nil is an answer).
func recordRedisError(span trace.Span, err error) {
	if err == nil || errors.Is(err, redis.Nil) {
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		span.SetAttributes(attribute.Bool("error.timeout", true))
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, "redis command failed")
}
