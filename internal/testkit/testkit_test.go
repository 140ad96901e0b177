package testkit

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestCAIssues checks that issued certificates verify against the CA for their usage and names, and
// that the PEM files hold what the fields say.
func TestCAIssues(t *testing.T) {
	ca := NewCA(t)
	if got, err := os.ReadFile(ca.CertFile); err != nil || string(got) != string(ca.CertPEM) {
		t.Fatalf("CA file: %q, %v; want CertPEM", got, err)
	}
	server := ca.IssueServer(t, "redis.test", "127.0.0.1")
	client := ca.IssueClient(t, "gateway")

	tests := []struct {
		name    string
		cert    Cert
		usage   x509.ExtKeyUsage
		dnsName string
		wantOK  bool
	}{
		{name: "server by DNS name", cert: server, usage: x509.ExtKeyUsageServerAuth, dnsName: "redis.test", wantOK: true},
		{name: "server by IP", cert: server, usage: x509.ExtKeyUsageServerAuth, dnsName: "127.0.0.1", wantOK: true},
		{name: "server under another name", cert: server, usage: x509.ExtKeyUsageServerAuth, dnsName: "other.test"},
		{name: "server as a client", cert: server, usage: x509.ExtKeyUsageClientAuth},
		{name: "client", cert: client, usage: x509.ExtKeyUsageClientAuth, wantOK: true},
		{name: "client as a server", cert: client, usage: x509.ExtKeyUsageServerAuth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fromFile, err := os.ReadFile(tc.cert.CertFile)
			if err != nil {
				t.Fatal(err)
			}
			block, _ := pem.Decode(fromFile)
			if block == nil {
				t.Fatalf("%s holds no PEM", tc.cert.CertFile)
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cert.Verify(x509.VerifyOptions{Roots: ca.Pool, DNSName: tc.dnsName, KeyUsages: []x509.ExtKeyUsage{tc.usage}})
			if (err == nil) != tc.wantOK {
				t.Fatalf("Verify: %v, want ok %v", err, tc.wantOK)
			}
		})
	}
}

// TestRedisServerLifecycle starts a server, fills it, flushes it, stops it, and starts it again on the
// same address, empty.
func TestRedisServerLifecycle(t *testing.T) {
	s := NewRedisServer(t)
	if err := PingRedis(s.Addr()); err == nil {
		t.Fatal("PING answered before Start")
	}
	s.Start()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got := s.DBSize(t); got != 1 {
		t.Fatalf("DBSize = %d, want 1", got)
	}
	s.FlushAll(t)
	if got := s.DBSize(t); got != 0 {
		t.Fatalf("DBSize after FlushAll = %d, want 0", got)
	}
	if err := c.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	addr := s.Addr()
	s.Stop()
	if err := PingRedis(addr); err == nil {
		t.Fatal("PING answered after Stop")
	}
	s.Start()
	if s.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", s.Addr(), addr)
	}
	if got := s.DBSize(t); got != 0 {
		t.Fatalf("DBSize after the restart = %d, want 0 (no persistence)", got)
	}
}

// TestRedisServerPassword: extra arguments reach the server; PingRedis accepts its -NOAUTH.
func TestRedisServerPassword(t *testing.T) {
	s := StartRedisServer(t, "--requirepass", "pass")
	if err := PingRedis(s.Addr()); err != nil {
		t.Fatalf("PingRedis: %v", err)
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Fatal("PING without the password: got no error")
	}
}

// TestSharedRedisPrefixCleanup: the keys under a prefix are gone once the test that took it ends.
func TestSharedRedisPrefixCleanup(t *testing.T) {
	RequireSharedRedis(t)
	c := redis.NewClient(&redis.Options{Addr: SharedRedisAddr})
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	var prefix string
	t.Run("writer", func(t *testing.T) {
		prefix = SharedRedisPrefix(t, "scimgw-testkit-")
		for _, k := range []string{"a", "b"} {
			if err := c.Set(ctx, prefix+k, "v", time.Minute).Err(); err != nil {
				t.Fatalf("SET: %v", err)
			}
		}
	})
	keys, err := c.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	if len(keys) != 0 {
		t.Fatalf("keys left under %s: %v", prefix, keys)
	}
}
