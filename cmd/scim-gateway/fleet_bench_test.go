package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

// Benchmarks of issue #17, over real HTTP like the others in bench_test.go:
//
//	go test -run XXX -bench 'PortalBound|Tracing' -benchtime 2000x -count 5 ./cmd/scim-gateway/

// BenchmarkPortalBound measures a warm GET /Users/{id} (one getUser) with the local bound alone and
// with the fleet-wide bound on, on a private redis-server so that its command count is the
// gateway's alone: redis-trips/op counts the commands the gateway sent per SCIM request (a script
// call is one; the commands a script runs inside Redis are not round trips); a warm GET by id reads
// its id mapping from the in-process cache, so the local bound makes none, and the fleet-wide bound
// adds the slot's take and give back (plus a poll per retry while a slot is contended). Serial is one request at a time (latency);
// parallel keeps 8 in flight from the benchmark's goroutines (throughput, slots contended when the
// bound is under 8).
func BenchmarkPortalBound(b *testing.B) {
	for _, bound := range []int{0, 64, 4} {
		for _, mode := range []string{"serial", "parallel"} {
			name := "bound=local"
			if bound > 0 {
				name = fmt.Sprintf("bound=global%d", bound)
			}
			b.Run(name+"/"+mode, func(b *testing.B) {
				srv := testkit.StartRedisServer(b)
				g := startBenchGateway(b, func(cfg *config.Config) {
					cfg.Store.Redis.URL = srv.URL()
					cfg.Upstream.GlobalMaxInFlight = bound
				})
				u := g.seedUsers(1)[0]
				g.gatewayDo(http.MethodGet, "/Users/"+u.GUIDUser, "", http.StatusOK) // token, cache
				rc := redis.NewClient(&redis.Options{Addr: srv.Addr()})
				defer rc.Close()
				before := redisTrips(b, rc)
				if mode == "serial" {
					g.measure(func(int) { g.gatewayDo(http.MethodGet, "/Users/"+u.GUIDUser, "", http.StatusOK) })
				} else {
					g.b.SetParallelism(4) // 2 cores x 4 = 8 goroutines
					g.b.ResetTimer()
					g.b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							g.gatewayDo(http.MethodGet, "/Users/"+u.GUIDUser, "", http.StatusOK)
						}
					})
					g.b.StopTimer()
				}
				b.ReportMetric(float64(redisTrips(b, rc)-before)/float64(b.N), "redis-trips/op")
			})
		}
	}
}

// topLevel are the commands the gateway sends itself (the scripts run ZADD, TIME... inside Redis).
var topLevel = map[string]bool{"evalsha": true, "eval": true, "get": true, "set": true, "setnx": true, "del": true, "ping": true, "script": true}

// redisTrips returns how many top-level commands the server has served (INFO commandstats).
func redisTrips(b *testing.B, rc *redis.Client) int64 {
	info, err := rc.Info(context.Background(), "commandstats").Result()
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		cmd, isStat := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isStat || !topLevel[cmd] {
			continue
		}
		calls, _, _ := strings.Cut(strings.TrimPrefix(rest, "calls="), ",")
		v, err := strconv.ParseInt(calls, 10, 64)
		if err != nil {
			b.Fatalf("INFO commandstats %q: %v", line, err)
		}
		n += v
	}
	return n
}

// BenchmarkTracing measures warm GET /Users/{id} throughput (8 requests in flight, memory store,
// portal answering at once: the gateway's own cost is all there is) with tracing off, and on with
// 0% (tracing on, nothing sampled), 10% and 100% sampling, the spans exported over OTLP/HTTP to a local receiver that reads and
// discards them: the configuration path a deployment uses. cpu-ns/op is the process's CPU time per
// request (see processCPU). Compare with benchstat -col /tracing over -count 10 or more.
func BenchmarkTracing(b *testing.B) {
	for _, sampling := range []string{"off", "0%", "10%", "100%"} {
		b.Run("tracing="+sampling, func(b *testing.B) {
			var exported atomic.Int64
			collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n, _ := io.Copy(io.Discard, r.Body)
				exported.Add(n)
				w.Header().Set("Content-Type", "application/x-protobuf")
			}))
			b.Cleanup(collector.Close) // after the App's shutdown, which flushes the spans
			switch sampling {
			case "0%": // on, nothing sampled: what every request pays once tracing is on
				b.Setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
				b.Setenv("OTEL_TRACES_SAMPLER_ARG", "0")
			case "10%":
				b.Setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
				b.Setenv("OTEL_TRACES_SAMPLER_ARG", "0.1")
			case "100%":
				b.Setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on")
			}
			g := startBenchGateway(b, func(cfg *config.Config) {
				if sampling != "off" {
					cfg.Telemetry.OTLP.Endpoint = collector.URL
				}
			})
			u := g.seedUsers(1)[0]
			g.gatewayDo(http.MethodGet, "/Users/"+u.GUIDUser, "", http.StatusOK)
			b.SetParallelism(4)
			cpu := processCPU(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					g.gatewayDo(http.MethodGet, "/Users/"+u.GUIDUser, "", http.StatusOK)
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU returns the CPU time (user and system) this process has used: the gateway, portal-sim
// and the benchmark's client, which all run in it. Per request it is less sensitive than the time per
// request to what else a shared machine runs, as long as the machine does not also run out of cores.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTracingInterleaved runs the three gateways of BenchmarkTracing side by side and sends each
// iteration's warm GET /Users/{id} to all three in turn, so that the noise of a shared machine falls
// on each alike; it reports each gateway's mean time per request (off-ns/req, 10pct-ns/req,
// 100pct-ns/req) and the overheads against off (10pct-overhead-%, 100pct-overhead-%).
func BenchmarkTracingInterleaved(b *testing.B) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(collector.Close)
	type variant struct {
		name, sampler, arg string
		g                  *benchGateway
		id                 string
		total              time.Duration
	}
	vs := []*variant{{name: "off"}, {name: "10pct", sampler: "parentbased_traceidratio", arg: "0.1"}, {name: "100pct", sampler: "parentbased_always_on"}}
	for _, v := range vs {
		b.Setenv("OTEL_TRACES_SAMPLER", v.sampler) // read when the App builds its tracer provider
		b.Setenv("OTEL_TRACES_SAMPLER_ARG", v.arg)
		v.g = startBenchGateway(b, func(cfg *config.Config) {
			if v.sampler != "" {
				cfg.Telemetry.OTLP.Endpoint = collector.URL
			}
		})
		v.id = v.g.seedUsers(1)[0].GUIDUser
		for range 200 { // warm up: token, cache, connections
			v.g.gatewayDo(http.MethodGet, "/Users/"+v.id, "", http.StatusOK)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for k := range vs {
			v := vs[(i+k)%len(vs)] // rotate the order too
			start := time.Now()
			v.g.gatewayDo(http.MethodGet, "/Users/"+v.id, "", http.StatusOK)
			v.total += time.Since(start)
		}
	}
	b.StopTimer()
	off := float64(vs[0].total) / float64(b.N)
	for _, v := range vs {
		mean := float64(v.total) / float64(b.N)
		b.ReportMetric(mean, v.name+"-ns/req")
		if v.name != "off" {
			b.ReportMetric(100*(mean-off)/off, v.name+"-overhead-%")
		}
	}
}
