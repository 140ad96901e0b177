package telemetry

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/scim-gateway/scim-gateway/config"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestEnabled(t *testing.T) {
	withEndpoint := config.Telemetry{OTLP: config.OTLP{Endpoint: "http://collector:4318"}}
	tests := []struct {
		name string
		cfg  config.Telemetry
		env  func(string) string
		want bool
	}{
		{"nothing set: off", config.Telemetry{}, env(), false},
		{"config endpoint", withEndpoint, env(), true},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", config.Telemetry{}, env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), true},
		{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", config.Telemetry{}, env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/v1/traces"), true},
		{"OTEL_SDK_DISABLED wins", withEndpoint, env("OTEL_SDK_DISABLED", "true"), false},
		{"OTEL_TRACES_EXPORTER none wins", withEndpoint, env("OTEL_TRACES_EXPORTER", "none"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Enabled(tt.cfg, tt.env); got != tt.want {
				t.Fatalf("Enabled = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSetup(t *testing.T) {
	ctx := context.Background()
	off, err := setup(ctx, config.Telemetry{}, "v1", env())
	if err != nil || off.Enabled || off.Provider == nil {
		t.Fatalf("off: %+v, %v; want a no-op provider", off, err)
	}
	for _, proto := range []string{ProtocolHTTP, ProtocolGRPC} {
		tr, err := setup(ctx, config.Telemetry{OTLP: config.OTLP{Endpoint: "http://127.0.0.1:1", Protocol: proto}}, "v1", env())
		if err != nil || !tr.Enabled || tr.Protocol != proto {
			t.Fatalf("%s: %+v, %v", proto, tr, err)
		}
		_ = tr.Shutdown(ctx)
	}
	tr, err := setup(ctx, config.Telemetry{}, "v1", env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"))
	if err != nil || tr.Protocol != ProtocolGRPC {
		t.Fatalf("protocol from the environment: %+v, %v; want grpc", tr, err)
	}
	_ = tr.Shutdown(ctx)
	if _, err := setup(ctx, config.Telemetry{}, "v1", env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c", "OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")); err == nil || !strings.Contains(err.Error(), "http/json") {
		t.Fatalf("unsupported protocol: err %v, want one naming it", err)
	}
}

func TestTracesURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://collector:4318":            "http://collector:4318/v1/traces",
		"http://collector:4318/":           "http://collector:4318/v1/traces",
		"https://otel.example/v1/traces":   "https://otel.example/v1/traces",
		"https://otel.example/custom/path": "https://otel.example/custom/path",
	} {
		if got := tracesURL(in); got != want {
			t.Errorf("tracesURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// batchSizes is a span exporter that records the size of every batch it is given.
type batchSizes struct {
	mu    sync.Mutex
	sizes []int
}

func (b *batchSizes) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sizes = append(b.sizes, len(spans))
	return nil
}

func (b *batchSizes) Shutdown(context.Context) error { return nil }

// TestBatchOptions: batches of at most DefaultExportBatchSize spans, unless
// OTEL_BSP_MAX_EXPORT_BATCH_SIZE sets another size, which the gateway's default must not override.
func TestBatchOptions(t *testing.T) {
	for _, tt := range []struct {
		env  string
		want int
	}{{"", DefaultExportBatchSize}, {"100", 100}} {
		t.Run("OTEL_BSP_MAX_EXPORT_BATCH_SIZE="+tt.env, func(t *testing.T) {
			t.Setenv("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", tt.env)
			exp := &batchSizes{}
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, batchOptions(os.Getenv)...))
			tr := tp.Tracer("test")
			const spans = 1000 // under the queue's 2048, so none is dropped
			for range spans {
				_, span := tr.Start(context.Background(), "s")
				span.End()
			}
			if err := tp.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			exp.mu.Lock()
			defer exp.mu.Unlock()
			total, largest := 0, 0
			for _, n := range exp.sizes {
				total += n
				largest = max(largest, n)
			}
			if total != spans || largest != tt.want {
				t.Fatalf("batches %v: %d spans, largest %d; want %d spans in batches of at most %d, one that size", exp.sizes, total, largest, spans, tt.want)
			}
		})
	}
	if got := len(batchOptions(env("OTEL_BSP_SCHEDULE_DELAY", "500", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"))); got != 0 {
		t.Fatalf("with both OTEL_BSP variables set, %d options given; want none, the environment's own", got)
	}
}
