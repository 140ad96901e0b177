package store

import (
	"github.com/redis/go-redis/extra/redisotel/v9"
	"go.opentelemetry.io/otel/trace"
)

// InstrumentTracing makes a client span per Redis command (and pipeline) on tp, named after the
// command. The arguments are never recorded: they hold logins, external ids and SCIM ids. Errors: a
// client type redisotel does not know (none that Open builds).
func (r *Redis) InstrumentTracing(tp trace.TracerProvider) error {
	return redisotel.InstrumentTracing(r.client,
		redisotel.WithTracerProvider(tp),
		redisotel.WithDBStatement(false),
		redisotel.WithCallerEnabled(false),
		redisotel.WithDialFilter(true), // connecting is not a call: no root span per new connection
	)
}
