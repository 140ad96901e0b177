package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/translator"
)

// validConfig is a complete valid configuration built without Load.
func validConfig() *Config {
	c := &Config{}
	c.Server.Tokens = []Token{{Name: "entra", Value: "entra-token-0123456789"}}
	c.Upstream.BaseURL = "https://portal.example.com/portal"
	c.Upstream.Auth.ClientID = "gw"
	c.Upstream.Auth.ClientSecret = "gw-secret"
	c.ApplyDefaults()
	return c
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(c *Config)
		want   map[string]string // path -> message fragment; empty: valid
	}{
		{"defaults and the required keys are valid", func(c *Config) {}, nil},
		{"port 0 on both listeners", func(c *Config) { c.Server.Listen, c.Admin.Listen = ":0", "127.0.0.1:0" }, nil},
		{"TLS asked for over http", func(c *Config) { c.Upstream.BaseURL = "http://portal/p"; c.Upstream.TLS.Enabled = true },
			map[string]string{"upstream.tls.enabled": "use https://"}},
		{"patch status 200", func(c *Config) { c.Server.PatchStatus = 200 }, nil},
		{"trusted proxies: CIDRs and single addresses", func(c *Config) {
			c.Server.TrustedProxies = []string{"10.244.0.0/16", "192.168.1.7", "fd00::/8", "::1"}
		}, nil},
		{"trusted proxies: not an address", func(c *Config) {
			c.Server.TrustedProxies = []string{"10.0.0.0/8", "ingress-nginx", "10.0.0.0/33"}
		}, map[string]string{"server.trustedProxies[1]": `"ingress-nginx" is not a CIDR`, "server.trustedProxies[2]": `"10.0.0.0/33" is not a CIDR`}},
		{"translation stream bounds out of range", func(c *Config) {
			c.Logging.Translation.Stream.MaxLen, c.Logging.Translation.Stream.MaxRecordBytes = 10, 1<<21
		}, map[string]string{"logging.translation.stream.maxLen": "must be 100 to 1000000, not 10",
			"logging.translation.stream.maxRecordBytes": "must be 1024 to 1048576, not 2097152"}},
		{"translation stream off, smallest bounds", func(c *Config) {
			off := false
			c.Logging.Translation.Stream = TranslationStream{Enabled: &off, MaxLen: 100, MaxRecordBytes: 1024}
		}, nil},
		{"patch status 201", func(c *Config) { c.Server.PatchStatus = 201 },
			map[string]string{"server.patchStatus": "must be 204 or 200"}},
		{"mapping rule on an unknown portal field", func(c *Config) {
			c.Mapping.Users = append(c.Mapping.Users[:len(c.Mapping.Users):len(c.Mapping.Users)], translator.AttributeRule{SCIM: "nickName", Field: "nickname"})
		}, map[string]string{"mapping.users[17]": "nickname"}},
		{"mapping rule on the reserved deletion mark", func(c *Config) {
			c.Mapping.Users = append(c.Mapping.Users[:len(c.Mapping.Users):len(c.Mapping.Users)], translator.AttributeRule{SCIM: "nickName", Property: "scimDeleted"})
		}, map[string]string{"mapping.users[17].property": "reserved"}},
		{"admin on the SCIM port", func(c *Config) { c.Admin.Listen = "0.0.0.0:8080" },
			map[string]string{"admin.listen": "the same port as server.listen"}},
		{"admin on the same port of another host", func(c *Config) {
			c.Server.Listen, c.Admin.Listen = "10.0.0.1:8080", "127.0.0.1:8080"
		}, nil},
		{"empty listen", func(c *Config) { c.Server.Listen = "" }, map[string]string{"server.listen": "empty"}},
		{"port out of range", func(c *Config) { c.Server.Listen = ":70000" }, map[string]string{"server.listen": "host:port"}},
		{"publicURL with https", func(c *Config) { c.Server.PublicURL = "https://scim.example.com/base" }, nil},
		{"publicURL with another scheme", func(c *Config) { c.Server.PublicURL = "ftp://scim.example.com" },
			map[string]string{"server.publicURL": "absolute http(s) URL"}},
		{"no token", func(c *Config) { c.Server.Tokens = nil },
			map[string]string{"server.tokens": "at least one token is required"}},
		{"two tokens during a rotation", func(c *Config) {
			c.Server.Tokens = append(c.Server.Tokens, Token{Name: "entra-next", Value: "entra-next-0123456789"})
		}, nil},
		{"a token value from a file that was empty", func(c *Config) {
			c.Server.Tokens[0].Value, c.Server.Tokens[0].ValueFile = "", "/run/secrets/t"
		}, map[string]string{"server.tokens[0].value": "empty (read from valueFile /run/secrets/t)"}},
		{"admin token from its file, too short", func(c *Config) { c.Admin.Token, c.Admin.TokenFile = "short", "/run/a" },
			map[string]string{"admin.token": "shorter than 16 characters (read from tokenFile /run/a)"}},
		{"admin token long enough", func(c *Config) { c.Admin.Token = "admin-token-0123456789" }, nil},
		{"redis standalone URL with TLS", func(c *Config) { c.Store.Redis.URL = "rediss://:pw@redis:6380/2" }, nil},
		{"redis URL of another scheme", func(c *Config) { c.Store.Redis.URL = "http://redis:6379" },
			map[string]string{"store.redis.url": "redis:// or rediss://"}},
		{"redis addrs in standalone mode", func(c *Config) { c.Store.Redis.Addrs = []string{"redis:6379"} },
			map[string]string{"store.redis.addrs": "only for mode sentinel or cluster"}},
		{"redis sentinel", func(c *Config) {
			c.Store.Redis.Mode, c.Store.Redis.Addrs, c.Store.Redis.MasterName = "sentinel", []string{"s0:26379", "s1:26379"}, "mymaster"
		}, nil},
		{"redis sentinel without addrs and with a url", func(c *Config) {
			c.Store.Redis.Mode, c.Store.Redis.URL, c.Store.Redis.MasterName = "sentinel", "redis://r:6379", "mymaster"
		}, map[string]string{"store.redis.addrs": "required for mode sentinel", "store.redis.url": "only for mode standalone"}},
		{"redis sentinel with sentinel credentials", func(c *Config) {
			c.Store.Redis.Mode, c.Store.Redis.Addrs, c.Store.Redis.MasterName = "sentinel", []string{"s0:26379"}, "mymaster"
			c.Store.Redis.SentinelUsername, c.Store.Redis.SentinelPassword = "sentinel-user", "sentinel-pass"
		}, nil},
		{"redis sentinel password read from its file", func(c *Config) {
			c.Store.Redis.Mode, c.Store.Redis.Addrs, c.Store.Redis.MasterName = "sentinel", []string{"s0:26379"}, "mymaster"
			c.Store.Redis.SentinelPassword, c.Store.Redis.SentinelPasswordFile = "sentinel-pass", "/run/s"
		}, nil},
		{"redis sentinel username without a password", func(c *Config) {
			c.Store.Redis.Mode, c.Store.Redis.Addrs, c.Store.Redis.MasterName = "sentinel", []string{"s0:26379"}, "mymaster"
			c.Store.Redis.SentinelUsername = "sentinel-user"
		}, map[string]string{"store.redis.sentinelPassword": "required with sentinelUsername"}},
		{"redis sentinel password file that was empty", func(c *Config) {
			c.Store.Redis.Mode, c.Store.Redis.Addrs, c.Store.Redis.MasterName = "sentinel", []string{"s0:26379"}, "mymaster"
			c.Store.Redis.SentinelPasswordFile = "/run/s"
		}, map[string]string{"store.redis.sentinelPassword": "empty (read from sentinelPasswordFile /run/s)"}},
		{"redis sentinel credentials in standalone mode", func(c *Config) {
			c.Store.Redis.URL = "redis://r:6379/0"
			c.Store.Redis.SentinelUsername, c.Store.Redis.SentinelPassword = "sentinel-user", "sentinel-pass"
		}, map[string]string{
			"store.redis.sentinelUsername": "only for mode sentinel, not standalone",
			"store.redis.sentinelPassword": "only for mode sentinel, not standalone",
		}},
		{"redis sentinel password file in cluster mode", func(c *Config) {
			c.Store.Redis.Mode, c.Store.Redis.Addrs = "cluster", []string{"c0:6379"}
			c.Store.Redis.SentinelPassword, c.Store.Redis.SentinelPasswordFile = "sentinel-pass", "/run/s"
		}, map[string]string{"store.redis.sentinelPasswordFile": "only for mode sentinel, not cluster"}},
		{"redis cluster with a db", func(c *Config) {
			c.Store.Redis.Mode, c.Store.Redis.Addrs, c.Store.Redis.DB = "cluster", []string{"c0:6379"}, 3
		}, map[string]string{"store.redis.db": "must be 0 for mode cluster"}},
		{"redis mode unknown", func(c *Config) { c.Store.Redis.Mode = "replica" },
			map[string]string{"store.redis.mode": "must be one of standalone, sentinel, cluster"}},
		{"redis key without cert", func(c *Config) { c.Store.Redis.TLS.KeyFile = "/k.pem" },
			map[string]string{"store.redis.tls": "certFile and keyFile go together"}},
		{"redis timeouts", func(c *Config) { c.Store.Redis.Timeout, c.Store.Redis.MappingTTL = 0, -time.Second },
			map[string]string{"store.redis.timeout": "positive", "store.redis.mappingTTL": "positive"}},
		{"absolute token URL", func(c *Config) { c.Upstream.Auth.TokenURL = "https://login.example.com/token" }, nil},
		{"token URL neither relative nor absolute", func(c *Config) { c.Upstream.Auth.TokenURL = "oauth2/token" },
			map[string]string{"upstream.auth.tokenURL": "absolute http(s) URL"}},
		{"scope with a space", func(c *Config) { c.Upstream.Auth.Scopes = []string{"api", "user sync"} },
			map[string]string{"upstream.auth.scopes[1]": "one scope"}},
		{"bearer without token", func(c *Config) { c.Upstream.Auth.Type = "bearer" },
			map[string]string{"upstream.auth.token": "required for type bearer"}},
		{"bearer with token", func(c *Config) { c.Upstream.Auth.Type, c.Upstream.Auth.Token = "bearer", "t" }, nil},
		{"no portal auth", func(c *Config) { c.Upstream.Auth = Auth{Type: "none"} }, nil},
		{"unknown auth type", func(c *Config) { c.Upstream.Auth.Type = "basic" },
			map[string]string{"upstream.auth.type": "must be one of oauth2, bearer, none"}},
		{"unknown endpoint", func(c *Config) {
			c.Upstream.Endpoints = map[string]Endpoint{"fetchUser": {Method: "GET", Path: "/u"}}
		}, map[string]string{"upstream.endpoints.fetchUser": "unknown operation"}},
		{"an endpoint switched off, method and path left to the client", func(c *Config) {
			c.Upstream.Endpoints = map[string]Endpoint{OpListMembers: {Enabled: new(bool)}}
		}, nil},
		{"endpoint path with a query and both placeholders", func(c *Config) {
			c.Upstream.Endpoints = map[string]Endpoint{OpRemoveMember: {Method: "POST", Path: "/members/remove?group={idGroup}&user={idUser}"}}
		}, nil},
		{"endpoint path with an unbalanced brace", func(c *Config) {
			c.Upstream.Endpoints = map[string]Endpoint{OpGetGroup: {Method: "GET", Path: "/groups/{idGroup}}"}}
		}, map[string]string{"upstream.endpoints.getGroup.path": "unbalanced"}},
		{"endpoint method in lower case", func(c *Config) {
			c.Upstream.Endpoints = map[string]Endpoint{OpGetGroup: {Method: "get", Path: "/groups/{idGroup}"}}
		}, map[string]string{"upstream.endpoints.getGroup.method": "must be one of GET"}},
		{"retry max delay under the initial delay", func(c *Config) { c.Upstream.Retry.MaxDelay = time.Millisecond },
			map[string]string{"upstream.retry.maxDelay": "shorter than retry.initialDelay"}},
		{"one attempt and no queue wait", func(c *Config) { c.Upstream.Retry.MaxAttempts, c.Upstream.QueueWait = 1, 0 }, nil},
		{"breaker interval 0 never clears", func(c *Config) { c.Upstream.Breaker.Interval = 0 }, nil},
		{"breaker fields", func(c *Config) {
			c.Upstream.Breaker = Breaker{OpenTimeout: -1, Interval: -1}
		}, map[string]string{
			"upstream.breaker.consecutiveFailures": "positive", "upstream.breaker.openTimeout": "positive",
			"upstream.breaker.halfOpenMaxCalls": "positive", "upstream.breaker.interval": "negative",
		}},
		{"negative queue wait and body", func(c *Config) { c.Upstream.QueueWait, c.Upstream.MaxBody = -1, 0 },
			map[string]string{"upstream.queueWait": "negative", "upstream.maxBodyBytes": "positive"}},
		{"global bound with redis", func(c *Config) {
			c.Store.Redis.URL, c.Upstream.GlobalMaxInFlight = "redis://127.0.0.1:6379/0", 20
		}, nil},
		{"global bound without redis, negative, short lease", func(c *Config) {
			c.Upstream.GlobalMaxInFlight, c.Upstream.GlobalLease = 20, 500*time.Millisecond
		}, map[string]string{"upstream.globalMaxInFlight": "needs store.redis", "upstream.globalLease": "at least 1s"}},
		{"negative global bound", func(c *Config) { c.Upstream.GlobalMaxInFlight = -1 },
			map[string]string{"upstream.globalMaxInFlight": "must not be negative"}},
		{"otlp over grpc", func(c *Config) {
			c.Telemetry.OTLP = OTLP{Endpoint: "http://collector:4317", Protocol: "grpc"}
		}, nil},
		{"otlp endpoint not a URL, unknown protocol", func(c *Config) {
			c.Telemetry.OTLP = OTLP{Endpoint: "collector:4318", Protocol: "http/json"}
		}, map[string]string{"telemetry.otlp.endpoint": "absolute http(s) URL", "telemetry.otlp.protocol": "must be one of http/protobuf, grpc"}},
		{"limits", func(c *Config) { c.Limits = Limits{} }, map[string]string{
			"limits.maxBodyBytes": "positive", "limits.maxPageSize": "positive",
			"limits.maxScan": "positive", "limits.maxOperations": "positive",
			"limits.maxMembersPerRequest": "positive",
		}},
		{"delete on delete", func(c *Config) { c.Deprovision.OnDelete = "delete" }, nil},
		{"server timeouts", func(c *Config) { c.Server.WriteTimeout, c.Server.ShutdownTimeout = 0, 0 },
			map[string]string{"server.writeTimeout": "positive", "server.shutdownTimeout": "positive"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, untouched := validConfig(), validConfig()
			tt.change(c)
			tt.change(untouched)
			ps := Validate(c)
			if !reflect.DeepEqual(c, untouched) {
				t.Fatalf("Validate changed the config")
			}
			if len(tt.want) == 0 {
				if len(ps) != 0 {
					t.Fatalf("problems = %v, want none", ps)
				}
				return
			}
			wantProblems(t, ps, tt.want)
		})
	}
}

func TestProblemsError(t *testing.T) {
	ps := Problems{{Path: "a.b", Message: "bad"}, {Message: "file unreadable"}, {Path: "c[0]", Message: "empty"}}
	want := "a.b: bad\nfile unreadable\nc[0]: empty"
	if got := ps.Error(); got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if !strings.Contains(Problems{{Path: "x", Message: "y"}}.Error(), "x: y") {
		t.Fatalf("single problem not rendered as path: message")
	}
}
