package store

import (
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"go.uber.org/zap/zaptest"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

// testRedisConfig is the config of a store on a test server.
func testRedisConfig(url string) RedisOptions {
	return RedisOptions{
		URL:         url,
		KeyPrefix:   "scimgw:",
		DialTimeout: DefaultDialTimeout,
		Timeout:     DefaultTimeout,
	}
}

// newTestRedis opens a store with the given circuit settings and closes it at the end of the test.
func newTestRedis(t testing.TB, cfg RedisOptions, settings circuitSettings) *Redis {
	t.Helper()
	r, err := newRedis(cfg, zaptest.NewLogger(t), settings)
	if err != nil {
		t.Fatalf("newRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// miniKV is a Redis store on its own miniredis, whose clock the conformance suite can move.
type miniKV struct {
	*Redis
	mr *miniredis.Miniredis
}

// FastForward moves miniredis' clock.
func (k miniKV) FastForward(d time.Duration) { k.mr.FastForward(d) }

// conformanceTimeout is the command timeout of the conformance suite's Redis stores: the suite tests
// behaviour, not speed, and the default 250 ms failed commands on a loaded two-core machine (an
// i/o timeout in scan_many_keys and concurrent_setnx under go test -race -count=5).
const conformanceTimeout = 5 * time.Second

func newMiniKV(t *testing.T) KV {
	mr := miniredis.RunT(t)
	cfg := testRedisConfig("redis://" + mr.Addr())
	cfg.Timeout = conformanceTimeout
	return miniKV{Redis: newTestRedis(t, cfg, defaultCircuitSettings()), mr: mr}
}

// newRealRedisKV opens a store on the shared Redis under a key prefix of its own, and deletes every
// key under that prefix when the test ends.
func newRealRedisKV(t testing.TB) *Redis {
	t.Helper()
	cfg := testRedisConfig("redis://" + testkit.SharedRedisAddr + "/0")
	cfg.KeyPrefix = testkit.SharedRedisPrefix(t, "scimgw-test-")
	cfg.Timeout = conformanceTimeout
	return newTestRedis(t, cfg, defaultCircuitSettings())
}
