package store

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap/zaptest"

	"github.com/scim-gateway/scim-gateway/config"
)

const (
	realRedisAddr   = "127.0.0.1:6379"
	redisServerPath = "/usr/bin/redis-server"
	startTimeout    = 10 * time.Second
)

// testRedisConfig is the config of a store on a test server.
func testRedisConfig(url string) config.Redis {
	return config.Redis{
		URL:         url,
		KeyPrefix:   config.DefaultRedisKeyPrefix,
		DialTimeout: config.DefaultRedisDialTimeout,
		Timeout:     config.DefaultRedisTimeout,
	}
}

// newTestRedis opens a store with the given circuit settings and closes it at the end of the test.
func newTestRedis(t testing.TB, cfg config.Redis, settings circuitSettings) *Redis {
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

func newMiniKV(t *testing.T) KV {
	mr := miniredis.RunT(t)
	return miniKV{Redis: newTestRedis(t, testRedisConfig("redis://"+mr.Addr()), defaultCircuitSettings()), mr: mr}
}

// requireRealRedis skips the test when the shared Redis on 127.0.0.1:6379 does not answer, or fails it
// when the environment says CI=true (CI provides one).
func requireRealRedis(t testing.TB) {
	t.Helper()
	if err := pingAddr(realRedisAddr, time.Second); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis on %s does not answer (%v); CI must provide it", realRedisAddr, err)
		}
		t.Skipf("Redis on %s does not answer (%v); skipping the real-Redis test", realRedisAddr, err)
	}
}

// newRealRedisKV opens a store on the shared Redis under a key prefix of its own, and deletes every
// key under that prefix when the test ends.
func newRealRedisKV(t testing.TB) *Redis {
	t.Helper()
	cfg := testRedisConfig("redis://" + realRedisAddr + "/0")
	cfg.KeyPrefix = "scimgw-test-" + randomHex(t) + ":"
	r := newTestRedis(t, cfg, defaultCircuitSettings())
	t.Cleanup(func() { deleteByPrefix(t, realRedisAddr, cfg.KeyPrefix) })
	return r
}

func deleteByPrefix(t testing.TB, addr, prefix string) {
	client := redis.NewClient(&redis.Options{Addr: addr})
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		if err := client.Del(ctx, iter.Val()).Err(); err != nil {
			t.Errorf("cleanup: deleting %s: %v", iter.Val(), err)
			return
		}
	}
	if err := iter.Err(); err != nil {
		t.Errorf("cleanup: scanning %s*: %v", prefix, err)
	}
}

func randomHex(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("random: %v", err)
	}
	return hex.EncodeToString(b)
}

// pingAddr sends a raw PING and accepts any reply (+PONG, or -NOAUTH from a server with a password).
func pingAddr(addr string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line == "" || (line[0] != '+' && line[0] != '-') {
		return fmt.Errorf("unexpected reply %q", line)
	}
	return nil
}

// redisServer is a redis-server process of the test's own, on a free port, without persistence.
type redisServer struct {
	t    testing.TB
	port int
	args []string
	cmd  *exec.Cmd
}

// startRedisServer starts redis-server with extra arguments and stops it at the end of the test.
func startRedisServer(t testing.TB, extra ...string) *redisServer {
	t.Helper()
	if _, err := os.Stat(redisServerPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v; CI must provide redis-server", redisServerPath, err)
		}
		t.Skipf("%s: %v; skipping the test that needs its own redis-server", redisServerPath, err)
	}
	s := &redisServer{t: t, port: freePort(t), args: extra}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// start runs the server on its port and waits until it answers PING.
func (s *redisServer) start() {
	s.t.Helper()
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.t.TempDir(),
	}, s.args...)
	s.cmd = exec.Command(redisServerPath, args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	deadline := time.Now().Add(startTimeout)
	for {
		err := pingAddr(s.addr(), time.Second)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			s.stop()
			s.t.Fatalf("redis-server on %s did not answer within %s: %v", s.addr(), startTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the server and waits for it to exit; stopping a stopped server does nothing.
func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
