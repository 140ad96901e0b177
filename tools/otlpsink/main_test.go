package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// export sends one trace of a root span with two children, plus one more root span, through the
// SDK's own OTLP/HTTP exporter to srv, with or without gzip.
func export(t *testing.T, url string, gzip bool) {
	t.Helper()
	ctx := context.Background()
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(url + "/v1/traces")}
	if gzip {
		opts = append(opts, otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	tr := tp.Tracer("otlpsink-test")
	rctx, root := tr.Start(ctx, "root")
	_, c1 := tr.Start(rctx, "child1")
	c1.End()
	_, c2 := tr.Start(rctx, "child2")
	c2.End()
	root.End()
	_, other := tr.Start(ctx, "other")
	other.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}
}

func stats(t *testing.T, url string) Stats {
	t.Helper()
	resp, err := http.Get(url + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSinkCountsSDKExports(t *testing.T) {
	srv := httptest.NewServer(NewSink())
	defer srv.Close()
	export(t, srv.URL, false)
	if got, want := stats(t, srv.URL), (Stats{Requests: 4, Spans: 4, RootSpans: 2}); got != want {
		t.Fatalf("after a plain export: %+v, want %+v", got, want)
	}
	export(t, srv.URL, true)
	if got, want := stats(t, srv.URL), (Stats{Requests: 8, Spans: 8, RootSpans: 4}); got != want {
		t.Fatalf("after a gzip export: %+v, want %+v", got, want)
	}
}

func TestSinkRefusesWhatIsNotAnExport(t *testing.T) {
	srv := httptest.NewServer(NewSink())
	defer srv.Close()
	for _, c := range []struct{ method, path, ct, body string }{
		{"POST", "/v1/traces", "application/json", `{}`},
		{"POST", "/v1/traces", "application/x-protobuf", "\xff\xff\xff"},
		{"GET", "/v1/traces", "", ""},
		{"POST", "/v1/metrics", "application/x-protobuf", ""},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
		if c.ct != "" {
			req.Header.Set("Content-Type", c.ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			t.Errorf("%s %s (%s): %d, want an error", c.method, c.path, c.ct, resp.StatusCode)
		}
	}
	if got, want := stats(t, srv.URL), (Stats{Errors: 4}); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}
