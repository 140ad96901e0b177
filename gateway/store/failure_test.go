package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

// recoveryTimeout bounds how long a test waits for the store to notice that Redis is back.
const recoveryTimeout = 10 * time.Second

// TestRedisStoppedFailsFast stops Redis under a store: calls fail with ErrUnavailable, and once the
// short-circuit has opened they no longer reach the network.
func TestRedisStoppedFailsFast(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	// A cool-down longer than the test, so that no probe goes through while it counts.
	r := newTestRedis(t, testRedisConfig("redis://"+srv.Addr()), circuitSettings{threshold: 3, cooldown: time.Hour, maxCooldown: time.Hour})
	ctx := context.Background()
	mustSet(t, r, "k", "v", time.Minute)

	srv.Stop()
	for i := range 3 {
		err := r.Set(ctx, "k", []byte("v"), time.Minute)
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Set %d on a stopped Redis: got %v, want ErrUnavailable", i, err)
		}
		if errors.Is(err, errShortCircuited) {
			t.Fatalf("Set %d on a stopped Redis: short-circuited before %d failures", i, circuitThreshold)
		}
	}
	if r.Healthy() {
		t.Fatalf("Healthy after 3 failures: got true, want false")
	}
	if got := r.Errors(); got != 3 {
		t.Fatalf("Errors after 3 failures: got %d, want 3", got)
	}

	for i := range 100 {
		_, _, err := r.Get(ctx, "k")
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, errShortCircuited) {
			t.Fatalf("Get %d while short-circuited: got %v, want a short-circuit ErrUnavailable", i, err)
		}
	}
	if got := r.Errors(); got != 3 {
		t.Fatalf("Errors after 100 short-circuited calls: got %d, want 3 (no call reached Redis)", got)
	}
	if got := r.Rejected(); got != 100 {
		t.Fatalf("Rejected: got %d, want 100", got)
	}
}

// TestRedisRestartRecovers restarts Redis on the same port: the store finds it again by itself, and says
// so once in the log.
func TestRedisRestartRecovers(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	core, logs := observer.New(zap.InfoLevel)
	r, err := newRedis(testRedisConfig("redis://"+srv.Addr()), zap.New(core),
		circuitSettings{threshold: 3, cooldown: 20 * time.Millisecond, maxCooldown: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("newRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	ctx := context.Background()
	mustSet(t, r, "before", "v", 0)

	srv.Stop()
	for i := 0; r.Healthy(); i++ {
		if i == 10 {
			t.Fatalf("Healthy: still true after %d calls to a stopped Redis", i)
		}
		_ = r.Ping(ctx)
	}

	srv.Start()
	deadline := time.Now().Add(recoveryTimeout)
	for {
		_, _, err := r.Get(ctx, "before")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get: still failing %s after Redis restarted: %v", recoveryTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !r.Healthy() {
		t.Fatalf("Healthy after a successful call: got false")
	}
	mustMissing(t, r, "before") // the restarted server has no persistence: the cache is empty
	mustSet(t, r, "after", "v", 0)
	mustGet(t, r, "after", "v")

	if got := logs.FilterMessageSnippet("redis unavailable").Len(); got != 1 {
		t.Fatalf("log entries for going down: got %d, want 1", got)
	}
	if got := logs.FilterMessage("redis available again").Len(); got != 1 {
		t.Fatalf("log entries for coming back: got %d, want 1", got)
	}
}

// TestRedisFlushAll empties Redis under a store: the data is gone, calls keep working, and the
// compare-and-delete script is sent in full once Redis has forgotten it.
func TestRedisFlushAll(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	r := newTestRedis(t, testRedisConfig("redis://"+srv.Addr()), defaultCircuitSettings())
	ctx := context.Background()
	mustSet(t, r, "a", "1", 0)
	mustSet(t, r, "lock", "owner", time.Minute)
	if deleted, err := r.CompareAndDelete(ctx, "lock", []byte("owner")); err != nil || !deleted {
		t.Fatalf("CompareAndDelete before the flush: got %v, %v, want true, nil", deleted, err)
	}

	admin := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = admin.Close() })
	if err := admin.FlushAll(ctx).Err(); err != nil {
		t.Fatalf("FLUSHALL: %v", err)
	}
	if err := admin.ScriptFlush(ctx).Err(); err != nil {
		t.Fatalf("SCRIPT FLUSH: %v", err)
	}

	mustMissing(t, r, "a")
	mustSet(t, r, "lock", "owner", time.Minute)
	if deleted, err := r.CompareAndDelete(ctx, "lock", []byte("owner")); err != nil || !deleted {
		t.Fatalf("CompareAndDelete after the flush: got %v, %v, want true, nil", deleted, err)
	}
	mustMissing(t, r, "lock")
	if got := r.Errors(); got != 0 {
		t.Fatalf("Errors: got %d, want 0", got)
	}
}

// TestRedisPassword checks credentials from the URL and from the config, the database number, and that
// refused credentials are a clear error from NewRedis.
func TestRedisPassword(t *testing.T) {
	srv := testkit.StartRedisServer(t, "--requirepass", "pass")
	tests := []struct {
		name     string
		url      string
		password string // as config fills it from passwordFile
		wantErr  bool
		wantDB   int
	}{
		{name: "password in the url", url: "redis://:pass@" + srv.Addr() + "/3", wantDB: 3},
		{name: "password from the config", url: "redis://" + srv.Addr() + "/2", password: "pass", wantDB: 2},
		{name: "config wins over the url", url: "redis://:stale@" + srv.Addr(), password: "pass", wantDB: 0},
		{name: "wrong password", url: "redis://:not-the-password@" + srv.Addr() + "/3", wantErr: true},
		{name: "no password", url: "redis://" + srv.Addr(), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testRedisConfig(tc.url)
			cfg.Password = tc.password
			cfg.KeyPrefix = "pw-test:"
			r, err := NewRedis(cfg, zap.NewNop())
			if tc.wantErr {
				if err == nil {
					_ = r.Close()
					t.Fatalf("NewRedis: got no error, want the credentials refused")
				}
				if !strings.Contains(err.Error(), "refused the credentials") || !redis.IsAuthError(err) {
					t.Fatalf("NewRedis: got %q, want an error saying Redis refused the credentials", err)
				}
				if strings.Contains(err.Error(), "not-the-password") {
					t.Fatalf("NewRedis: the error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewRedis: %v", err)
			}
			t.Cleanup(func() { _ = r.Close() })
			mustSet(t, r, "k", tc.name, time.Minute)
			mustGet(t, r, "k", tc.name)

			admin := redis.NewClient(&redis.Options{Addr: srv.Addr(), Password: "pass", DB: tc.wantDB})
			t.Cleanup(func() { _ = admin.Close() })
			got, err := admin.Get(context.Background(), "pw-test:k").Result()
			if err != nil || got != tc.name {
				t.Fatalf("raw GET in database %d: got %q, %v, want %q", tc.wantDB, got, err, tc.name)
			}
		})
	}
}

// TestNewRedisUnreachable checks that a Redis that does not answer at startup is not an error.
func TestNewRedisUnreachable(t *testing.T) {
	cfg := testRedisConfig("redis://127.0.0.1:" + strconv.Itoa(testkit.FreePort(t)))
	r, err := NewRedis(cfg, zap.NewNop())
	if err != nil {
		t.Fatalf("NewRedis on a closed port: got %v, want a store that recovers later", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if err := r.Ping(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ping on a closed port: got %v, want ErrUnavailable", err)
	}
}

// routedRedisLogs routes go-redis' logs to an observer, once per test binary (RouteRedisLogs only acts
// once, and tests may run with -count above 1).
var routedRedisLogs = sync.OnceValue(func() *observer.ObservedLogs {
	core, logs := observer.New(zap.WarnLevel)
	RouteRedisLogs(zap.New(core))
	return logs
})

// TestRouteRedisLogs checks that go-redis' own log lines reach zap.
func TestRouteRedisLogs(t *testing.T) {
	logs := routedRedisLogs()
	RouteRedisLogs(zap.NewNop()) // no effect: the first call wins

	addr := "127.0.0.1:" + strconv.Itoa(testkit.FreePort(t))
	r, err := NewRedis(RedisOptions{URL: "redis://" + addr}, zap.NewNop())
	if err != nil {
		t.Fatalf("NewRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	_ = r.Ping(context.Background())

	entries := logs.FilterField(zap.String("component", "go-redis")).FilterMessageSnippet(addr).All()
	if len(entries) == 0 {
		t.Fatalf("no go-redis line about %s in the zap log; got %d entries: %v", addr, logs.Len(), logs.All())
	}
	if strings.HasPrefix(entries[0].Message, "redis: ") {
		t.Fatalf("message %q keeps go-redis' prefix", entries[0].Message)
	}
}
