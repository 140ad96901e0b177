package testkit

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

	"github.com/redis/go-redis/v9"
)

const (
	// SharedRedisAddr is the shared Redis the real-Redis tests use; CI provides it.
	SharedRedisAddr = "127.0.0.1:6379"
	// RedisServerPath is the redis-server binary the tests run servers of their own with.
	RedisServerPath = "/usr/bin/redis-server"
	// RedisStartTimeout bounds how long WaitForRedis waits for a server to answer: generous, for a
	// loaded machine.
	RedisStartTimeout = 60 * time.Second
)

// pingTimeout bounds one raw PING: the dial, the write and the reply.
const pingTimeout = time.Second

// PingRedis sends a raw PING to addr and accepts any reply (+PONG, or -NOAUTH from a server with a
// password). It returns the dial or I/O error, or an error for a reply that is not a Redis status.
func PingRedis(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, pingTimeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(pingTimeout)); err != nil {
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

// WaitForRedis polls addr with PingRedis until it answers, and fails the test after RedisStartTimeout.
func WaitForRedis(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(RedisStartTimeout)
	for {
		err := PingRedis(addr)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis on %s did not answer within %s: %v", addr, RedisStartTimeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// RequireSharedRedis skips the test when the shared Redis on SharedRedisAddr does not answer, or fails
// it when the environment says CI=true (CI provides one).
func RequireSharedRedis(t testing.TB) {
	t.Helper()
	if err := PingRedis(SharedRedisAddr); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Redis on %s does not answer (%v); CI must provide it", SharedRedisAddr, err)
		}
		t.Skipf("Redis on %s does not answer (%v); skipping the real-Redis test", SharedRedisAddr, err)
	}
}

// SharedRedisPrefix returns a key prefix of the test's own on the shared Redis: base, 16 random hex
// digits and a colon. Every key under it is deleted when the test ends; a failed deletion fails the
// test.
func SharedRedisPrefix(t testing.TB, base string) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random: %v", err)
	}
	prefix := base + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() { deleteByPrefix(t, SharedRedisAddr, prefix) })
	return prefix
}

// DeleteByPrefix deletes every key under prefix on the Redis at addr (a test that stands in for a
// key's expiry, such as a create lock left by a stopped gateway); a failure fails the test.
func DeleteByPrefix(t testing.TB, addr, prefix string) { deleteByPrefix(t, addr, prefix) }

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

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago, for a server the test starts
// or for an address where nothing listens.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// RequireRedisServerBinary skips the test when RedisServerPath is missing, or fails it when CI=true
// (CI provides redis-server).
func RequireRedisServerBinary(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(RedisServerPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s: %v; CI must provide redis-server", RedisServerPath, err)
		}
		t.Skipf("%s: %v; skipping the test that needs its own redis-server", RedisServerPath, err)
	}
}

// RedisServer is a redis-server of the test's own on a free port of 127.0.0.1, without persistence,
// that the test may stop, start again on the same port (empty), or flush.
type RedisServer struct {
	t    testing.TB
	port int
	dir  string
	args []string
	cmd  *exec.Cmd
}

// StartRedisServer starts a redis-server with extra command-line arguments (e.g. "--requirepass",
// "secret"), waits until it answers PING, and stops it when the test ends. Without redis-server the
// test is skipped, or fails when CI=true.
func StartRedisServer(t testing.TB, extra ...string) *RedisServer {
	t.Helper()
	s := NewRedisServer(t, extra...)
	s.Start()
	return s
}

// NewRedisServer reserves a port for a redis-server with extra command-line arguments without starting
// it; it is stopped when the test ends. Without redis-server the test is skipped, or fails when
// CI=true.
func NewRedisServer(t testing.TB, extra ...string) *RedisServer {
	t.Helper()
	RequireRedisServerBinary(t)
	s := &RedisServer{t: t, port: FreePort(t), dir: t.TempDir(), args: extra}
	t.Cleanup(s.Stop)
	return s
}

// Addr is the server's host:port.
func (s *RedisServer) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// URL is the server's redis:// URL, database 0.
func (s *RedisServer) URL() string { return "redis://" + s.Addr() + "/0" }

// Start runs the server on its port and waits until it answers PING; it fails the test when the
// process cannot start or does not answer within RedisStartTimeout.
func (s *RedisServer) Start() {
	s.t.Helper()
	args := append([]string{
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
	}, s.args...)
	s.cmd = exec.Command(RedisServerPath, args...)
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("starting redis-server: %v", err)
	}
	WaitForRedis(s.t, s.Addr()) // on failure, the cleanup kills the process
}

// Stop kills the server and waits for it to exit; stopping a stopped server does nothing.
func (s *RedisServer) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// FlushAll deletes every key of the server (which must not require a password); it fails the test
// on an error.
func (s *RedisServer) FlushAll(t testing.TB) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	if err := c.FlushAll(context.Background()).Err(); err != nil {
		t.Fatalf("FLUSHALL: %v", err)
	}
}

// DBSize returns the number of keys in database 0 of the server (which must not require a
// password); it fails the test on an error.
func (s *RedisServer) DBSize(t testing.TB) int64 {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	defer c.Close()
	n, err := c.DBSize(context.Background()).Result()
	if err != nil {
		t.Fatalf("DBSIZE: %v", err)
	}
	return n
}
