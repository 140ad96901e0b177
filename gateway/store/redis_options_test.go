package store

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/config"
)

func TestUniversalOptions(t *testing.T) {
	tests := []struct {
		name    string
		cfg     config.Redis
		wantErr string // a part of the error; "" for none

		wantAddrs   []string
		wantDB      int
		wantUser    string
		wantPass    string
		wantMaster  string
		wantCluster bool
		wantTLS     bool
	}{
		{
			name:      "standalone url",
			cfg:       config.Redis{URL: "redis://cache:6380"},
			wantAddrs: []string{"cache:6380"},
		},
		{
			name:      "url with credentials and database",
			cfg:       config.Redis{URL: "redis://gw:secret@cache:6379/3", DB: 5},
			wantAddrs: []string{"cache:6379"}, wantDB: 3, wantUser: "gw", wantPass: "secret",
		},
		{
			name:      "database from the config when the url has none",
			cfg:       config.Redis{URL: "redis://cache", DB: 5},
			wantAddrs: []string{"cache:6379"}, wantDB: 5,
		},
		{
			name:      "config credentials win over the url",
			cfg:       config.Redis{URL: "redis://old:stale@cache/1", Username: "gw", Password: "fromfile"},
			wantAddrs: []string{"cache:6379"}, wantDB: 1, wantUser: "gw", wantPass: "fromfile",
		},
		{
			name:      "rediss implies tls",
			cfg:       config.Redis{URL: "rediss://cache:6380"},
			wantAddrs: []string{"cache:6380"}, wantTLS: true,
		},
		{
			name:      "tls enabled on redis://",
			cfg:       config.Redis{URL: "redis://cache", TLS: config.TLS{Enabled: true}},
			wantAddrs: []string{"cache:6379"}, wantTLS: true,
		},
		{
			name:      "standalone from one addr",
			cfg:       config.Redis{Mode: "standalone", Addrs: []string{"cache:6379"}, DB: 2},
			wantAddrs: []string{"cache:6379"}, wantDB: 2,
		},
		{
			name:      "sentinel",
			cfg:       config.Redis{Mode: "sentinel", Addrs: []string{"s1:26379", "s2:26379"}, MasterName: "mymaster", DB: 1, Password: "p"},
			wantAddrs: []string{"s1:26379", "s2:26379"}, wantMaster: "mymaster", wantDB: 1, wantPass: "p",
		},
		{
			name:      "cluster",
			cfg:       config.Redis{Mode: "cluster", Addrs: []string{"n1:6379", "n2:6379"}, TLS: config.TLS{Enabled: true}},
			wantAddrs: []string{"n1:6379", "n2:6379"}, wantCluster: true, wantTLS: true,
		},
		{
			name:      "cluster with one seed",
			cfg:       config.Redis{Mode: "cluster", Addrs: []string{"cluster.example:6379"}},
			wantAddrs: []string{"cluster.example:6379"}, wantCluster: true,
		},
		{name: "unknown mode", cfg: config.Redis{Mode: "ring", Addrs: []string{"a:1"}}, wantErr: `unknown mode "ring"`},
		{name: "standalone without address", cfg: config.Redis{}, wantErr: "needs url"},
		{name: "standalone with two addrs", cfg: config.Redis{Addrs: []string{"a:1", "b:1"}}, wantErr: "exactly one"},
		{name: "url and addrs", cfg: config.Redis{URL: "redis://a", Addrs: []string{"b:1"}}, wantErr: "not both"},
		{name: "bad scheme", cfg: config.Redis{URL: "http://cache"}, wantErr: "scheme"},
		{name: "query parameters", cfg: config.Redis{URL: "redis://cache?dial_timeout=3"}, wantErr: "query parameters"},
		{name: "database not a number", cfg: config.Redis{URL: "redis://cache/x"}, wantErr: "database"},
		{name: "unparsable url hides the password", cfg: config.Redis{URL: "redis://u:hunter2@cache:port"}, wantErr: "invalid port"},
		{name: "sentinel without master", cfg: config.Redis{Mode: "sentinel", Addrs: []string{"s:26379"}}, wantErr: "masterName"},
		{name: "sentinel with url", cfg: config.Redis{Mode: "sentinel", URL: "redis://s", MasterName: "m"}, wantErr: "url is for mode standalone"},
		{name: "cluster without addrs", cfg: config.Redis{Mode: "cluster"}, wantErr: "seed nodes"},
		{name: "cluster with a database", cfg: config.Redis{Mode: "cluster", Addrs: []string{"n:1"}, DB: 1}, wantErr: "database 0"},
		{name: "master name outside sentinel", cfg: config.Redis{URL: "redis://a", MasterName: "m"}, wantErr: "masterName is for mode sentinel"},
		{name: "missing ca file", cfg: config.Redis{URL: "rediss://a", TLS: config.TLS{CAFile: "/nonexistent/ca.pem"}}, wantErr: "caFile"},
		{name: "cert without key", cfg: config.Redis{URL: "rediss://a", TLS: config.TLS{CertFile: "c.pem"}}, wantErr: "go together"},
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
		{name: "defaults", wantDial: config.DefaultRedisDialTimeout, wantIOTime: config.DefaultRedisTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts, err := universalOptions(config.Redis{URL: "redis://cache", DialTimeout: tc.dial, Timeout: tc.timeout})
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
