package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"go.uber.org/zap/zaptest"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

func TestMemoryConformance(t *testing.T) {
	RunConformance(t, func(t *testing.T) KV {
		m := NewMemory()
		t.Cleanup(func() { _ = m.Close() })
		return m
	})
}

func TestMiniredisConformance(t *testing.T) {
	RunConformance(t, newMiniKV)
}

func TestRealRedisConformance(t *testing.T) {
	testkit.RequireSharedRedis(t)
	RunConformance(t, func(t *testing.T) KV { return newRealRedisKV(t) })
}

// TestRealRedisKeyPrefix checks that the store writes under its prefix and nowhere else.
func TestRealRedisKeyPrefix(t *testing.T) {
	testkit.RequireSharedRedis(t)
	a, b := newRealRedisKV(t), newRealRedisKV(t)
	ctx := context.Background()
	if err := a.Set(ctx, "k", []byte("from a"), time.Minute); err != nil {
		t.Fatalf("Set: %v", err)
	}
	mustMissing(t, b, "k")
	got, err := a.client.Get(ctx, a.prefix+"k").Result()
	if err != nil {
		t.Fatalf("raw GET of the prefixed key: %v", err)
	}
	if got != "from a" {
		t.Fatalf("raw GET of the prefixed key: got %q, want %q", got, "from a")
	}
}

// fakeClock is a clock tests move by hand.
type fakeClock struct{ now time.Time }

func newFakeClock() *fakeClock               { return &fakeClock{now: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)} }
func (c *fakeClock) Now() time.Time          { return c.now }
func (c *fakeClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

// TestMemorySweep checks that expired entries nobody reads again are dropped by later writes.
func TestMemorySweep(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory()
	m.now = clock.Now
	ctx := context.Background()
	const n = 10000
	for i := range n {
		if err := m.Set(ctx, fmt.Sprintf("old-%d", i), []byte("v"), time.Minute); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	if got := m.Len(); got != n {
		t.Fatalf("Len after %d sets: got %d", n, got)
	}
	clock.Advance(time.Hour)
	// Each write examines sweepSample entries and every old one has expired, so n/(sweepSample-1)
	// writes of one fresh key are enough to drop them all.
	for range n/(sweepSample-1) + 1 {
		if err := m.Set(ctx, "fresh", []byte("v"), 0); err != nil {
			t.Fatalf("Set: %v", err)
		}
	}
	if got := m.Len(); got != 1 {
		t.Fatalf("Len after the sweep: got %d, want 1", got)
	}
	mustGet(t, m, "fresh", "v")
}

// TestMemoryExpiryBoundary checks that a key lives for exactly its ttl.
func TestMemoryExpiryBoundary(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory()
	m.now = clock.Now
	mustSet(t, m, "k", "v", time.Second)
	clock.Advance(time.Second - time.Nanosecond)
	mustGet(t, m, "k", "v")
	clock.Advance(time.Nanosecond)
	mustMissing(t, m, "k")
	if got := m.Len(); got != 0 {
		t.Fatalf("Len after reading the expired key: got %d, want 0", got)
	}
}

func TestOpen(t *testing.T) {
	mr := miniredis.RunT(t)
	tests := []struct {
		name    string
		cfg     RedisOptions
		want    string // the backend's type
		wantErr bool
	}{
		{name: "nothing configured", cfg: RedisOptions{KeyPrefix: "p:"}, want: "*store.Memory"},
		{name: "url", cfg: testRedisConfig("redis://" + mr.Addr()), want: "*store.Redis"},
		{name: "addrs", cfg: RedisOptions{Addrs: []string{mr.Addr()}}, want: "*store.Redis"},
		{name: "bad config", cfg: RedisOptions{Mode: "ring", Addrs: []string{mr.Addr()}}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kv, err := Open(tc.cfg, zaptest.NewLogger(t))
			if tc.wantErr {
				if err == nil {
					_ = kv.Close()
					t.Fatalf("Open: got no error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { _ = kv.Close() })
			if got := fmt.Sprintf("%T", kv); got != tc.want {
				t.Fatalf("Open: got %s, want %s", got, tc.want)
			}
			if h, ok := kv.(interface{ Healthy() bool }); !ok || !h.Healthy() {
				t.Fatalf("Healthy: got ok=%v, want a healthy backend", ok)
			}
			if err := kv.Ping(context.Background()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		})
	}
}
