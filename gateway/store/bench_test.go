package store

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

func BenchmarkMemoryGet(b *testing.B) {
	m := NewMemory()
	b.Cleanup(func() { _ = m.Close() })
	benchmarkGet(b, m)
}

// BenchmarkRedisGet measures one GET round trip to the Redis on 127.0.0.1:6379.
func BenchmarkRedisGet(b *testing.B) {
	testkit.RequireSharedRedis(b)
	benchmarkGet(b, newRealRedisKV(b))
}

// BenchmarkRedisGetDown measures what a call costs while Redis is down and the short-circuit is open.
func BenchmarkRedisGetDown(b *testing.B) {
	r := newTestRedis(b, testRedisConfig("redis://127.0.0.1:"+strconv.Itoa(testkit.FreePort(b))), circuitSettings{threshold: 1, cooldown: time.Hour, maxCooldown: time.Hour})
	ctx := context.Background()
	_ = r.Ping(ctx) // fails and opens the circuit
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := r.Get(ctx, "user:1"); !errors.Is(err, ErrUnavailable) {
			b.Fatalf("Get: got %v, want ErrUnavailable", err)
		}
	}
}

func benchmarkGet(b *testing.B, kv KV) {
	ctx := context.Background()
	if err := kv.Set(ctx, "user:1", []byte("a1b2c3d4-0000-4000-8000-000000000001"), time.Hour); err != nil {
		b.Fatalf("Set: %v", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, ok, err := kv.Get(ctx, "user:1"); err != nil || !ok {
				b.Fatalf("Get: ok=%v err=%v", ok, err)
			}
		}
	})
}
