// Package telemetry owns the OpenTelemetry tracing setup: the SDK tracer provider, the OTLP exporter
// (HTTP or gRPC) that telemetry.otlp and the standard OTEL_* environment variables configure. The
// instrumentation itself, with the W3C trace-context propagation in and out, lives where the work is
// done (gateway, upstream, gateway/store), on the trace API only.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/scim-gateway/scim-gateway/config"
)

// ServiceName is the service.name of the gateway's spans, unless OTEL_SERVICE_NAME says otherwise.
const ServiceName = "scim-gateway"

// The OTLP protocols of telemetry.otlp.protocol and OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL.
const (
	ProtocolHTTP = "http/protobuf"
	ProtocolGRPC = "grpc"
)

// Tracing is the tracer provider the gateway uses, and how to flush and stop it.
type Tracing struct {
	// Provider is the SDK provider when tracing is on, a no-op provider when off.
	Provider trace.TracerProvider
	// Enabled reports whether spans are exported.
	Enabled bool
	// Endpoint and Protocol say where spans go, for the startup log ("" when off or left to OTEL_*).
	Endpoint, Protocol string

	shutdown func(context.Context) error
}

// Shutdown flushes the spans not yet exported and stops the exporter (at most until ctx ends).
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.shutdown == nil {
		return nil
	}
	return t.shutdown(ctx)
}

// Enabled reports whether cfg and the environment ask for traces: an endpoint in cfg, or in
// OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; never with OTEL_SDK_DISABLED=true
// or OTEL_TRACES_EXPORTER=none.
func Enabled(cfg config.Telemetry, getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return cfg.OTLP.Endpoint != "" || getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// protocol returns the OTLP protocol: cfg's, else the environment's, else http/protobuf.
func protocol(cfg config.Telemetry, getenv func(string) string) string {
	for _, p := range []string{cfg.OTLP.Protocol, getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), getenv("OTEL_EXPORTER_OTLP_PROTOCOL")} {
		if p != "" {
			return p
		}
	}
	return ProtocolHTTP
}

// Setup builds the tracing cfg and the process environment ask for. Off, it returns a no-op provider
// and nothing is exported. On, spans go in batches to the OTLP endpoint over the protocol chosen; the
// exporter also reads the standard OTEL_EXPORTER_OTLP_* variables (headers, timeout, certificates),
// and the sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default: parentbased_always_on).
// The service version is version. Errors: an unsupported protocol, or an exporter that cannot be
// built from its settings (no connection is made here).
func Setup(ctx context.Context, cfg config.Telemetry, version string) (*Tracing, error) {
	return setup(ctx, cfg, version, os.Getenv)
}

func setup(ctx context.Context, cfg config.Telemetry, version string, getenv func(string) string) (*Tracing, error) {
	if !Enabled(cfg, getenv) {
		return &Tracing{Provider: noop.NewTracerProvider()}, nil
	}
	proto := protocol(cfg, getenv)
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch proto {
	case ProtocolHTTP:
		var opts []otlptracehttp.Option
		if cfg.OTLP.Endpoint != "" {
			opts = append(opts, otlptracehttp.WithEndpointURL(tracesURL(cfg.OTLP.Endpoint)))
		}
		exp, err = newExporter(ctx, otlptracehttp.NewClient(opts...))
	case ProtocolGRPC:
		var opts []otlptracegrpc.Option
		if cfg.OTLP.Endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(cfg.OTLP.Endpoint))
		}
		exp, err = newExporter(ctx, otlptracegrpc.NewClient(opts...))
	default:
		return nil, fmt.Errorf("telemetry: OTLP protocol %q: want %s or %s", proto, ProtocolHTTP, ProtocolGRPC)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", ServiceName), attribute.String("service.version", version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, batchOptions(getenv)...),
		sdktrace.WithResource(res),
	)
	return &Tracing{Provider: tp, Enabled: true, Endpoint: cfg.OTLP.Endpoint, Protocol: proto, shutdown: tp.Shutdown}, nil
}

// DefaultExportBatchSize is the most spans one export sends, unless OTEL_BSP_MAX_EXPORT_BATCH_SIZE
// says otherwise: 64 where the SDK's default is 512. A batch of 512 spans is a burst of some 300 KB
// of protobuf objects and a marshal buffer of over 100 KB (beyond the runtime's 32 KB large-object
// size) every export; on a gateway whose live heap is a few MB, each burst grows the heap, the
// runtime's scavenger hands the pages back to the kernel afterwards and the next burst faults them in
// again. With 64 the minor page faults per GET at 10% sampling fell to those of tracing off, and the
// gateway's CPU per GET by 0.8% (docs/performance.md); the cost is more, smaller POSTs to the
// collector (some 20 a second at 10% of 7,000 GETs a second).
const DefaultExportBatchSize = 64

// batchOptions are the batch span processor's defaults where the environment sets none (the SDK reads
// OTEL_BSP_* itself, and an option given here would override it): spans exported every 2 s at the
// latest (the SDK's 5 s makes a trace wait long), in batches of at most DefaultExportBatchSize.
func batchOptions(getenv func(string) string) []sdktrace.BatchSpanProcessorOption {
	var opts []sdktrace.BatchSpanProcessorOption
	if getenv("OTEL_BSP_SCHEDULE_DELAY") == "" {
		opts = append(opts, sdktrace.WithBatchTimeout(2*time.Second))
	}
	if getenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") == "" {
		opts = append(opts, sdktrace.WithMaxExportBatchSize(DefaultExportBatchSize))
	}
	return opts
}

// tracesURL makes an OTLP/HTTP base URL (http://collector:4318) the traces URL (…/v1/traces), as
// OTEL_EXPORTER_OTLP_ENDPOINT is read; a URL with a path other than "/" is taken as given.
func tracesURL(endpoint string) string {
	rest := endpoint
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 && rest[i:] != "/" {
		return endpoint
	}
	return strings.TrimRight(endpoint, "/") + "/v1/traces"
}
