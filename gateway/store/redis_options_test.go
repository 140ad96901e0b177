package store

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

func TestUniversalOptions(t *testing.T) {
	tests := []struct {
		name    string
		cfg     RedisOptions
		wantErr string // a part of the error; "" for none

		wantAddrs        []string
		wantDB           int
		wantUser         string
		wantPass         string
		wantSentinelUser string
		wantSentinelPass string
		wantMaster       string
		wantCluster      bool
		wantTLS          bool
	}{
		{
			name:      "standalone url",
			cfg:       RedisOptions{URL: "redis://cache:6380"},
			wantAddrs: []string{"cache:6380"},
		},
		{
			name:      "url with credentials and database",
			cfg:       RedisOptions{URL: "redis://gw:secret@cache:6379/3", DB: 5},
			wantAddrs: []string{"cache:6379"}, wantDB: 3, wantUser: "gw", wantPass: "secret",
		},
		{
			name:      "database from the config when the url has none",
			cfg:       RedisOptions{URL: "redis://cache", DB: 5},
			wantAddrs: []string{"cache:6379"}, wantDB: 5,
		},
		{
			name:      "config credentials win over the url",
			cfg:       RedisOptions{URL: "redis://old:stale@cache/1", Username: "gw", Password: "fromfile"},
			wantAddrs: []string{"cache:6379"}, wantDB: 1, wantUser: "gw", wantPass: "fromfile",
		},
		{
			name:      "rediss implies tls",
			cfg:       RedisOptions{URL: "rediss://cache:6380"},
			wantAddrs: []string{"cache:6380"}, wantTLS: true,
		},
		{
			name:      "tls enabled on redis://",
			cfg:       RedisOptions{URL: "redis://cache", TLS: TLS{Enabled: true}},
			wantAddrs: []string{"cache:6379"}, wantTLS: true,
		},
		{
			name:      "standalone from one addr",
			cfg:       RedisOptions{Mode: "standalone", Addrs: []string{"cache:6379"}, DB: 2},
			wantAddrs: []string{"cache:6379"}, wantDB: 2,
		},
		{
			name:      "sentinel",
			cfg:       RedisOptions{Mode: "sentinel", Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster", DB: 1, Password: "p"},
			wantAddrs: []string{"s1:26379", "s2:26379"}, wantMaster: "mymaster", wantDB: 1, wantPass: "p",
		},
		{
			name: "sentinel with credentials of its own",
			cfg: RedisOptions{Mode: "sentinel", Addrs: []string{"s1:26379"}, MasterName: "mymaster",
				Username: "gw", Password: "master-pass", SentinelUsername: "watcher", SentinelPassword: "sentinel-pass"},
			wantAddrs: []string{"s1:26379"}, wantMaster: "mymaster", wantUser: "gw", wantPass: "master-pass",
			wantSentinelUser: "watcher", wantSentinelPass: "sentinel-pass",
		},
		{
			name:      "sentinel password without a username",
			cfg:       RedisOptions{Mode: "sentinel", Addrs: []string{"s1:26379"}, MasterName: "mymaster", SentinelPassword: "sentinel-pass"},
			wantAddrs: []string{"s1:26379"}, wantMaster: "mymaster", wantSentinelPass: "sentinel-pass",
		},
		{
			name:      "cluster",
			cfg:       RedisOptions{Mode: "cluster", Addrs: []string{"n1:6379", "n2:6379"}, TLS: TLS{Enabled: true}},
			wantAddrs: []string{"n1:6379", "n2:6379"}, wantCluster: true, wantTLS: true,
		},
		{
			name:      "cluster with one seed",
			cfg:       RedisOptions{Mode: "cluster", Addrs: []string{"cluster.example:6379"}},
			wantAddrs: []string{"cluster.example:6379"}, wantCluster: true,
		},
		{name: "unknown mode", cfg: RedisOptions{Mode: "ring", Addrs: []string{"a:1"}}, wantErr: `unknown mode "ring"`},
		{name: "standalone without address", cfg: RedisOptions{}, wantErr: "needs url"},
		{name: "standalone with two addrs", cfg: RedisOptions{Addrs: []string{"a:1", "b:1"}}, wantErr: "exactly one"},
		{name: "url and addrs", cfg: RedisOptions{URL: "redis://a", Addrs: []string{"b:1"}}, wantErr: "not both"},
		{name: "bad scheme", cfg: RedisOptions{URL: "http://cache"}, wantErr: "scheme"},
		{name: "query parameters", cfg: RedisOptions{URL: "redis://cache?dial_timeout=3"}, wantErr: "query parameters"},
		{name: "database not a number", cfg: RedisOptions{URL: "redis://cache/x"}, wantErr: "database"},
		{name: "unparsable url hides the password", cfg: RedisOptions{URL: "redis://u:hunter2@cache:port"}, wantErr: "invalid port"},
		{name: "sentinel without master", cfg: RedisOptions{Mode: "sentinel", Addrs: []string{"s:26379"}}, wantErr: "masterName"},
		{name: "sentinel with url", cfg: RedisOptions{Mode: "sentinel", URL: "redis://s", MasterName: "m"}, wantErr: "url is for mode standalone"},
		{name: "cluster without addrs", cfg: RedisOptions{Mode: "cluster"}, wantErr: "seed nodes"},
		{name: "cluster with a database", cfg: RedisOptions{Mode: "cluster", Addrs: []string{"n:1"}, DB: 1}, wantErr: "database 0"},
		{name: "master name outside sentinel", cfg: RedisOptions{URL: "redis://a", MasterName: "m"}, wantErr: "masterName is for mode sentinel"},
		{name: "sentinel password in standalone", cfg: RedisOptions{URL: "redis://a", SentinelPassword: "hunter2"}, wantErr: "sentinelPassword are for mode sentinel"},
		{name: "sentinel username in cluster", cfg: RedisOptions{Mode: "cluster", Addrs: []string{"n:1"}, SentinelUsername: "watcher"}, wantErr: "sentinelPassword are for mode sentinel"},
		{name: "missing ca file", cfg: RedisOptions{URL: "rediss://a", TLS: TLS{CAFile: "/nonexistent/ca.pem"}}, wantErr: "caFile"},
		{name: "cert without key", cfg: RedisOptions{URL: "rediss://a", TLS: TLS{CertFile: "c.pem"}}, wantErr: "go together"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := universalOptions(tc.cfg)
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("got no error, want one containing %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %q, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("universalOptions: %v", err)
			}
			if !slices.Equal(opts.Addrs, tc.wantAddrs) {
				t.Fatalf("Addrs: got %v, want %v", opts.Addrs, tc.wantAddrs)
			}
			if opts.DB != tc.wantDB {
				t.Fatalf("DB: got %d, want %d", opts.DB, tc.wantDB)
			}
			if opts.Username != tc.wantUser || opts.Password != tc.wantPass {
				t.Fatalf("credentials: got %q/%q, want %q/%q", opts.Username, opts.Password, tc.wantUser, tc.wantPass)
			}
			if opts.SentinelUsername != tc.wantSentinelUser || opts.SentinelPassword != tc.wantSentinelPass {
				t.Fatalf("sentinel credentials: got %q/%q, want %q/%q",
					opts.SentinelUsername, opts.SentinelPassword, tc.wantSentinelUser, tc.wantSentinelPass)
			}
			if tc.wantMaster != "" { // what go-redis' failover client gets: each pair goes to its own nodes
				f := opts.Failover()
				if f.Username != tc.wantUser || f.Password != tc.wantPass || f.SentinelUsername != tc.wantSentinelUser || f.SentinelPassword != tc.wantSentinelPass {
					t.Fatalf("failover credentials: got master %q/%q sentinels %q/%q, want %q/%q and %q/%q",
						f.Username, f.Password, f.SentinelUsername, f.SentinelPassword, tc.wantUser, tc.wantPass, tc.wantSentinelUser, tc.wantSentinelPass)
				}
			}
			if opts.MasterName != tc.wantMaster {
				t.Fatalf("MasterName: got %q, want %q", opts.MasterName, tc.wantMaster)
			}
			if opts.IsClusterMode != tc.wantCluster {
				t.Fatalf("IsClusterMode: got %v, want %v", opts.IsClusterMode, tc.wantCluster)
			}
			if got := opts.TLSConfig != nil; got != tc.wantTLS {
				t.Fatalf("TLS: got %v, want %v", got, tc.wantTLS)
			}
		})
	}
}

// TestUniversalOptionsTimeouts checks that a dead Redis costs a call little: the configured timeouts,
// one dial attempt, no command retries.
func TestUniversalOptionsTimeouts(t *testing.T) {
	tests := []struct {
		name                 string
		dial, timeout        time.Duration
		wantDial, wantIOTime time.Duration
	}{
		{name: "configured", dial: time.Second, timeout: 100 * time.Millisecond, wantDial: time.Second, wantIOTime: 100 * time.Millisecond},
		{name: "defaults", wantDial: DefaultDialTimeout, wantIOTime: DefaultTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := universalOptions(RedisOptions{URL: "redis://cache", DialTimeout: tc.dial, Timeout: tc.timeout})
			if err != nil {
				t.Fatalf("universalOptions: %v", err)
			}
			if opts.DialTimeout != tc.wantDial {
				t.Fatalf("DialTimeout: got %s, want %s", opts.DialTimeout, tc.wantDial)
			}
			for name, got := range map[string]time.Duration{"ReadTimeout": opts.ReadTimeout, "WriteTimeout": opts.WriteTimeout, "PoolTimeout": opts.PoolTimeout} {
				if got != tc.wantIOTime {
					t.Fatalf("%s: got %s, want %s", name, got, tc.wantIOTime)
				}
			}
			if opts.MaxRetries != -1 {
				t.Fatalf("MaxRetries: got %d, want -1 (no retries)", opts.MaxRetries)
			}
			if opts.DialerRetries != 1 {
				t.Fatalf("DialerRetries: got %d, want 1", opts.DialerRetries)
			}
		})
	}
}

// TestSentinelCredentials runs a password-protected master behind a sentinel with a password of its
// own, and checks that each password goes to its own server (the sentinel's to the sentinel, the
// master's to the master), that a refused one is an error, and that neither shows in the error or the
// log.
func TestSentinelCredentials(t *testing.T) {
	// generous: a loaded machine, two hops
	const sentinelTimeout = 10 * time.Second
	const masterPass, sentinelPass = "master-pass-0123", "sentinel-pass-4567"
	master := testkit.StartRedisServer(t, "--requirepass", masterPass)
	sentinelAddr := startSentinel(t, master.Addr(), masterPass, sentinelPass)

	tests := []struct {
		name                   string
		password, sentinelPass string
		wantErr                bool
	}{
		{name: "each server its own password", password: masterPass, sentinelPass: sentinelPass},
		{name: "no sentinel password", password: masterPass, wantErr: true},
		{name: "the master's password sent to the sentinel", password: masterPass, sentinelPass: masterPass, wantErr: true},
		{name: "the sentinel's password sent to the master", password: sentinelPass, sentinelPass: sentinelPass, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := RedisOptions{
				Mode: ModeSentinel, Addrs: []string{sentinelAddr}, MasterName: "mymaster",
				Password: tc.password, SentinelPassword: tc.sentinelPass,
				KeyPrefix:   "sentinel-test:",
				DialTimeout: sentinelTimeout, Timeout: sentinelTimeout,
			}
			core, logs := observer.New(zap.DebugLevel)
			r, err := NewRedis(cfg, zap.New(core))
			if r != nil {
				t.Cleanup(func() { _ = r.Close() })
			}
			var logged strings.Builder
			for _, e := range logs.All() {
				fmt.Fprintln(&logged, e.Message, e.ContextMap())
			}
			for _, secret := range []string{masterPass, sentinelPass} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Fatalf("the error %q shows a password", err)
				}
				if strings.Contains(logged.String(), secret) {
					t.Fatalf("the log shows a password:\n%s", logged.String())
				}
			}
			if tc.wantErr {
				if err == nil {
					t.Fatalf("NewRedis: got no error, want the credentials refused")
				}
				if !redis.IsAuthError(err) {
					t.Fatalf("NewRedis: got %q, want an authentication error", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewRedis: %v", err)
			}
			mustSet(t, r, "k", tc.name, time.Minute)
			mustGet(t, r, "k", tc.name)
		})
	}
}

// startSentinel runs a Redis Sentinel of the test's own that monitors masterAddr as "mymaster" (which
// it reaches with masterPass) and itself requires sentinelPass; it returns the sentinel's address and
// stops it at the end of the test.
func startSentinel(t *testing.T, masterAddr, masterPass, sentinelPass string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(masterAddr)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(testkit.FreePort(t)))
	_, sentinelPort, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "sentinel.conf") // sentinel rewrites its config file: it must be writable
	content := fmt.Sprintf("port %s\nbind 127.0.0.1\ndir %s\nrequirepass %s\nsentinel monitor mymaster %s %s 1\nsentinel auth-pass mymaster %s\n",
		sentinelPort, dir, sentinelPass, host, port, masterPass)
	if err := os.WriteFile(conf, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testkit.RedisServerPath, conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting redis-server --sentinel: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	testkit.WaitForRedis(t, addr)
	return addr
}
