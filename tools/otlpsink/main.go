// Command otlpsink is an OTLP/HTTP trace receiver for benchmarks: it accepts protobuf exports
// (POST /v1/traces, gzip or not), decodes them, counts requests, spans and root spans (spans without a
// parent: one per trace the exporter started), answers 200 with an empty ExportTraceServiceResponse,
// and keeps nothing else. GET /stats answers the counts as JSON. scripts/bench-tracing.sh runs it as
// a process of its own, off the gateway's CPU, so that what the gateway pays for tracing is measured
// without the receiver's work.
//
//	otlpsink --listen 127.0.0.1:4318
//	curl http://127.0.0.1:4318/stats   # {"requests":12,"spans":3456,"rootSpans":1152,"errors":0}
package main

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fs := flag.NewFlagSet("otlpsink", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4318", "address to listen on")
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "otlpsink: %v\n", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: NewSink(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "otlpsink: %v\n", err)
		os.Exit(1)
	}
}

// Stats are the counts of what a Sink received.
type Stats struct {
	Requests  int64 `json:"requests"`  // exports decoded
	Spans     int64 `json:"spans"`     // spans in them
	RootSpans int64 `json:"rootSpans"` // spans without a parent span id
	Errors    int64 `json:"errors"`    // exports refused (not protobuf, bad gzip, wrong method or path)
}

// Sink is the receiver's handler.
type Sink struct {
	requests, spans, roots, errors atomic.Int64
}

// NewSink returns a Sink with zero counts.
func NewSink() *Sink { return &Sink{} }

// Stats returns the counts so far.
func (s *Sink) Stats() Stats {
	return Stats{Requests: s.requests.Load(), Spans: s.spans.Load(), RootSpans: s.roots.Load(), Errors: s.errors.Load()}
}

func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/stats" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(s.Stats())
	case r.URL.Path == "/v1/traces" && r.Method == http.MethodPost:
		n, roots, err := decode(r)
		if err != nil {
			s.errors.Add(1)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.requests.Add(1)
		s.spans.Add(n)
		s.roots.Add(roots)
		body, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(body)
	default:
		s.errors.Add(1)
		http.Error(w, "otlpsink: POST /v1/traces (application/x-protobuf) or GET /stats", http.StatusNotFound)
	}
}

// decode reads an ExportTraceServiceRequest and returns its span and root span counts.
func decode(r *http.Request) (spans, roots int64, err error) {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-protobuf" {
		return 0, 0, fmt.Errorf("content type %q: want application/x-protobuf", ct)
	}
	var body io.Reader = http.MaxBytesReader(nil, r.Body, 64<<20)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return 0, 0, fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return 0, 0, fmt.Errorf("read: %w", err)
	}
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(raw, &req); err != nil {
		return 0, 0, fmt.Errorf("protobuf: %w", err)
	}
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				spans++
				if len(sp.GetParentSpanId()) == 0 {
					roots++
				}
			}
		}
	}
	return spans, roots, nil
}
