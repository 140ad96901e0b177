package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// minimalYAML is the smallest valid configuration: one token, the portal and its credentials.
const minimalYAML = `
server:
  tokens:
    - name: entra
      value: "entra-token-0123456789"
upstream:
  baseURL: "http://127.0.0.1:8081/portal"
  auth:
    clientID: gw
    clientSecret: gw-secret
`

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// mustLoad loads yamlText (written to a temp file) with environ and fails the test on any problem.
func mustLoad(t *testing.T, yamlText string, environ ...string) (*Config, []string) {
	t.Helper()
	c, warnings, err := Load(writeFile(t, t.TempDir(), "config.yaml", yamlText), environ)
	if err != nil {
		t.Fatalf("Load: unexpected problems:\n%v", err)
	}
	return c, warnings
}

// loadProblems loads yamlText with environ and returns the problems (failing the test if there are none).
func loadProblems(t *testing.T, yamlText string, environ ...string) Problems {
	t.Helper()
	c, _, err := Load(writeFile(t, t.TempDir(), "config.yaml", yamlText), environ)
	if err == nil {
		t.Fatalf("Load: no problems, want some")
	}
	if c != nil {
		t.Fatalf("Load returned a config together with problems")
	}
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load error is %T, want Problems", err)
	}
	return ps
}

// wantProblems checks that ps holds exactly the wanted paths, each message containing its fragments
// (separated by " | " when a path has several problems).
func wantProblems(t *testing.T, ps Problems, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, p := range ps {
		if prev, dup := got[p.Path]; dup {
			got[p.Path] = prev + " | " + p.Message
			continue
		}
		got[p.Path] = p.Message
	}
	for path, fragment := range want {
		msg, ok := got[path]
		if !ok {
			t.Errorf("no problem at %q; got:\n%v", path, ps)
			continue
		}
		for _, f := range strings.Split(fragment, " | ") {
			if !strings.Contains(msg, f) {
				t.Errorf("problem at %q = %q, want it to contain %q", path, msg, f)
			}
		}
	}
	for path, msg := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("unexpected problem %q: %s", path, msg)
		}
	}
}

func TestLoadDefaults(t *testing.T) {
	c, warnings := mustLoad(t, minimalYAML)
	if len(warnings) != 0 {
		t.Fatalf("warnings = %v, want none", warnings)
	}
	tests := []struct {
		key       string
		got, want any
	}{
		{"server.listen", c.Server.Listen, DefaultListen},
		{"server.publicURL", c.Server.PublicURL, ""},
		{"server.readHeaderTimeout", c.Server.ReadHeaderTimeout, DefaultReadHeaderTimeout},
		{"server.readTimeout", c.Server.ReadTimeout, DefaultReadTimeout},
		{"server.writeTimeout", c.Server.WriteTimeout, DefaultWriteTimeout},
		{"server.idleTimeout", c.Server.IdleTimeout, DefaultIdleTimeout},
		{"server.shutdownTimeout", c.Server.ShutdownTimeout, DefaultShutdownTimeout},
		{"admin.listen", c.Admin.Listen, DefaultAdminListen},
		{"store.redis.url", c.Store.Redis.URL, ""},
		{"store.redis.mode", c.Store.Redis.Mode, DefaultRedisMode},
		{"store.redis.keyPrefix", c.Store.Redis.KeyPrefix, DefaultRedisKeyPrefix},
		{"store.redis.dialTimeout", c.Store.Redis.DialTimeout, DefaultRedisDialTimeout},
		{"store.redis.timeout", c.Store.Redis.Timeout, DefaultRedisTimeout},
		{"store.redis.mappingTTL", c.Store.Redis.MappingTTL, DefaultMappingTTL},
		{"upstream.auth.type", c.Upstream.Auth.Type, DefaultAuthType},
		{"upstream.auth.tokenURL", c.Upstream.Auth.TokenURL, DefaultTokenURL},
		{"upstream.auth.scopes", fmt.Sprint(c.Upstream.Auth.Scopes), fmt.Sprint(DefaultScopes)},
		{"upstream.auth.renewBefore", c.Upstream.Auth.RenewBefore, DefaultAuthRenewBefore},
		{"upstream.timeout", c.Upstream.Timeout, DefaultUpstreamTimeout},
		{"upstream.maxInFlight", c.Upstream.MaxInFlight, DefaultUpstreamMaxInFlight},
		{"upstream.queueWait", c.Upstream.QueueWait, DefaultUpstreamQueueWait},
		{"upstream.maxBodyBytes", c.Upstream.MaxBody, int64(DefaultUpstreamMaxBody)},
		{"upstream.retry.maxAttempts", c.Upstream.Retry.MaxAttempts, DefaultRetryMaxAttempts},
		{"upstream.retry.initialDelay", c.Upstream.Retry.InitialDelay, DefaultRetryInitialDelay},
		{"upstream.retry.maxDelay", c.Upstream.Retry.MaxDelay, DefaultRetryMaxDelay},
		{"upstream.retry.maxRetryAfter", c.Upstream.Retry.MaxRetryAfter, DefaultRetryMaxRetryAfter},
		{"upstream.breaker.consecutiveFailures", c.Upstream.Breaker.ConsecutiveFailures, DefaultBreakerConsecutiveFailures},
		{"upstream.breaker.openTimeout", c.Upstream.Breaker.OpenTimeout, DefaultBreakerOpenTimeout},
		{"upstream.breaker.halfOpenMaxCalls", c.Upstream.Breaker.HalfOpenMaxCalls, DefaultBreakerHalfOpenMaxCalls},
		{"upstream.breaker.interval", c.Upstream.Breaker.Interval, DefaultBreakerInterval},
		{"deprovision.onDelete", c.Deprovision.OnDelete, DefaultOnDelete},
		{"dryRun", c.DryRun, false},
		{"limits.maxBodyBytes", c.Limits.MaxBodyBytes, int64(DefaultMaxBodyBytes)},
		{"limits.maxPageSize", c.Limits.MaxPageSize, DefaultMaxPageSize},
		{"limits.maxScan", c.Limits.MaxScan, DefaultMaxScan},
		{"limits.maxOperations", c.Limits.MaxOperations, DefaultMaxOperations},
		{"limits.maxMembersPerRequest", c.Limits.MaxMembersPerRequest, DefaultMaxMembersPerRequest},
		{"logging.level", c.Logging.Level, DefaultLogLevel},
		{"logging.format", c.Logging.Format, DefaultLogFormat},
		{"endpoints: as the file sets them (the portal client has their defaults)", len(c.Upstream.Endpoints), 0},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("%s = %v, want %v", tt.key, tt.got, tt.want)
			}
		})
	}
}

func TestLoadFileLayer(t *testing.T) {
	c, _ := mustLoad(t, minimalYAML+`
  endpoints:
    deleteUser: {enabled: false}
    getUser: {path: "/v2/users/{idUser}"}
  breaker:
    interval: 0s
store:
  redis:
    # everything commented out: the section is null and must leave the defaults alone
logging:
  level: debug
`)
	tests := []struct {
		name      string
		got, want any
	}{
		{"a file value replaces the default", c.Logging.Level, "debug"},
		{"an explicit zero is kept", c.Upstream.Breaker.Interval, time.Duration(0)},
		{"an empty section keeps its defaults", c.Store.Redis.Mode, DefaultRedisMode},
		{"an endpoint switch leaves the method to the client's default", c.Upstream.Endpoints[OpDeleteUser].Method, ""},
		{"an endpoint switch leaves the path to the client's default", c.Upstream.Endpoints[OpDeleteUser].Path, ""},
		{"an endpoint switch applies", c.Upstream.Endpoints[OpDeleteUser].IsEnabled(), false},
		{"an endpoint path applies", c.Upstream.Endpoints[OpGetUser].Path, "/v2/users/{idUser}"},
		{"an endpoint path leaves the method to the client's default", c.Upstream.Endpoints[OpGetUser].Method, ""},
		{"other endpoints stay enabled", c.Upstream.Endpoints[OpCreateUser].IsEnabled(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadEnvironment(t *testing.T) {
	fileYAML := minimalYAML + `
  timeout: 20s
logging:
  level: debug
  format: console
`
	c, warnings := mustLoad(t, fileYAML,
		"PATH=/usr/bin",
		"SCIMGW_UPSTREAM_TIMEOUT=30s",
		"scimgw_logging_level=error", // not the prefix: ignored
		"SCIMGW_logging_format=json", // segments in any case
		"SCIMGW_UPSTREAM_BASEURL=https://portal.example.com/portal",
		"SCIMGW_SERVER_TOKENS_0_VALUE=env-token-0123456789",
		"SCIMGW_SERVER_TOKENS_1_NAME=entra-next",
		"SCIMGW_SERVER_TOKENS_1_VALUE=next-token-0123456789",
		"SCIMGW_STORE_REDIS_URL=redis://redis:6379/1",
		"SCIMGW_UPSTREAM_ENDPOINTS_DELETEUSER_ENABLED=false",
		"SCIMGW_UPSTREAM_ENDPOINTS_GETGROUP_PATH=/g/{idGroup}",
		"SCIMGW_UPSTREAM_AUTH_SCOPES=api, usersync,extra",
		"SCIMGW_UPSTREAM_AUTH_SCOPES_2=other",
		"SCIMGW_UPSTREAM_MAXINFLIGHT=8",
		"SCIMGW_DRYRUN=true",
	)
	if len(warnings) != 0 {
		t.Fatalf("warnings = %v, want none", warnings)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"env over file", c.Upstream.Timeout, 30 * time.Second},
		{"file over default", c.Logging.Level, "debug"},
		{"case-insensitive segments", c.Logging.Format, "json"},
		{"env over default", c.Upstream.BaseURL, "https://portal.example.com/portal"},
		{"list item by index keeps its other keys", c.Server.Tokens[0].Name, "entra"},
		{"list item by index", c.Server.Tokens[0].Value, "env-token-0123456789"},
		{"index == len adds an item", len(c.Server.Tokens), 2},
		{"added item name", c.Server.Tokens[1].Name, "entra-next"},
		{"added item value", c.Server.Tokens[1].Value, "next-token-0123456789"},
		{"nested key", c.Store.Redis.URL, "redis://redis:6379/1"},
		{"map entry by operation name", c.Upstream.Endpoints[OpDeleteUser].IsEnabled(), false},
		{"map entry leaves the method to the client's default", c.Upstream.Endpoints[OpDeleteUser].Method, ""},
		{"map entry path", c.Upstream.Endpoints[OpGetGroup].Path, "/g/{idGroup}"},
		{"comma-separated list, then an item by index", strings.Join(c.Upstream.Auth.Scopes, ","), "api,usersync,other"},
		{"integer", c.Upstream.MaxInFlight, 8},
		{"boolean", c.DryRun, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

func TestLoadEnvironmentOnly(t *testing.T) {
	c, warnings, err := Load("", []string{
		"SCIMGW_SERVER_TOKENS_0_NAME=entra",
		"SCIMGW_SERVER_TOKENS_0_VALUE=entra-token-0123456789",
		"SCIMGW_UPSTREAM_BASEURL=http://portal:8081/portal",
		"SCIMGW_UPSTREAM_AUTH_TYPE=bearer",
		"SCIMGW_UPSTREAM_AUTH_TOKEN=static-portal-token",
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(warnings) != 0 {
		t.Fatalf("warnings = %v, want none", warnings)
	}
	if len(c.Server.Tokens) != 1 || c.Server.Tokens[0].Name != "entra" {
		t.Fatalf("tokens = %+v, want the one token from the environment", c.Server.Tokens)
	}
	if c.Upstream.Auth.Type != "bearer" || c.Upstream.Auth.Token != "static-portal-token" {
		t.Fatalf("auth = %+v, want bearer from the environment", c.Upstream.Auth)
	}
}

func TestLoadEnvironmentWarnings(t *testing.T) {
	_, warnings := mustLoad(t, minimalYAML,
		"SCIMGW_SERVICE_HOST=10.0.0.1",               // Kubernetes service variables
		"SCIMGW_PORT=tcp://10.0.0.1:8080",            //
		"SCIMGW_SERVER_PORT_8080_TCP=tcp://x:8080",   // no key server.port
		"SCIMGW_UPSTREAM_ENDPOINTS_FOO_ENABLED=true", // not an operation
		"SCIMGW_SERVER_TOKENS_X_NAME=a",              // not an index
		"SCIMGW_DRYRUN_X=true",                       // below a key
	)
	want := []string{
		"SCIMGW_DRYRUN_X: names no configuration key, ignored",
		"SCIMGW_PORT: names no configuration key, ignored",
		"SCIMGW_SERVER_PORT_8080_TCP: names no configuration key, ignored",
		"SCIMGW_SERVER_TOKENS_X_NAME: names no configuration key, ignored",
		"SCIMGW_SERVICE_HOST: names no configuration key, ignored",
		"SCIMGW_UPSTREAM_ENDPOINTS_FOO_ENABLED: names no configuration key, ignored",
	}
	slices.Sort(warnings)
	if !slices.Equal(warnings, want) {
		t.Fatalf("warnings =\n%s\nwant\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadEnvironmentProblems(t *testing.T) {
	ps := loadProblems(t, minimalYAML,
		"SCIMGW_SERVER_TOKENS_2_NAME=skipped-one",
		"SCIMGW_DRYRUN=maybe",
		"SCIMGW_UPSTREAM_TIMEOUT=10",
		"SCIMGW_LIMITS_MAXPAGESIZE=many",
		"SCIMGW_SERVER=x",
		"SCIMGW_SERVER_TOKENS=a,b",
	)
	wantProblems(t, ps, map[string]string{
		"server.tokens[2]":   "from SCIMGW_SERVER_TOKENS_2_NAME: index 2 is past the end of the list (1 items)",
		"dryRun":             `from SCIMGW_DRYRUN: "maybe" is not true or false`,
		"upstream.timeout":   `from SCIMGW_UPSTREAM_TIMEOUT: "10" is not a duration`,
		"limits.maxPageSize": `from SCIMGW_LIMITS_MAXPAGESIZE: "many" is not an integer`,
		"server":             "from SCIMGW_SERVER: names a section",
		"server.tokens":      "from SCIMGW_SERVER_TOKENS: names a list of sections",
	})
}

func TestLoadUnknownYAMLKeys(t *testing.T) {
	ps := loadProblems(t, `
server:
  tokens:
    - name: entra
      valu: "entra-token-0123456789"
upstream:
  baseurl: "http://x"
  auth:
    clientID: gw
    clientSecret: gw-secret
  endpoints:
    fetchUser: {enabled: false}
    getuser: {enabled: false}
    getUser: {enabled: false, verb: GET}
  retry:
    attempts: 3
server2: {}
`)
	wantProblems(t, ps, map[string]string{
		"server.tokens[0].valu":           "unknown key",
		"server.tokens[0].value":          "empty",
		"upstream.baseurl":                `unknown key (did you mean "baseURL"?`,
		"upstream.endpoints.fetchUser":    "unknown key; one of createUser, getUser",
		"upstream.endpoints.getuser":      `unknown key (did you mean "getUser"?`,
		"upstream.endpoints.getUser.verb": "unknown key",
		"upstream.retry.attempts":         "unknown key",
		"upstream.baseURL":                "must be an absolute http(s) URL",
		"server2":                         "unknown key",
	})
}

// TestLoadReportsEveryProblem feeds one file with many mistakes and expects each, with its path.
func TestLoadReportsEveryProblem(t *testing.T) {
	ps := loadProblems(t, `
server:
  listen: "8080"
  publicURL: "scim.example.com"
  tokens:
    - name: entra
      value: "entra-token-0123456789"
    - name: ""
      value: ""
    - name: entra
      value: short
    - name: copy
      value: "entra-token-0123456789"
  readTimeout: 30
admin:
  listen: ":http"
  token: tiny
store:
  redis:
    mode: sentinel
    addrs: ["sentinel-0", "sentinel-1:26379"]
    keyPrefix: 5
upstream:
  baseURL: "portal.example.com"
  auth:
    type: oauth2
    clientID: ""
  endpoints:
    getUser: {path: "/users/{id}"}
    createUser: {path: "/users/{idUser}"}
    addMember: {method: FETCH, path: "/groups/{idGroup}/members"}
    listUsers: {path: "users"}
  timeout: -1s
  maxInFlight: 0
  retry:
    maxAttempts: 11
  breaker:
    consecutiveFailures: 0
  tls:
    certFile: /etc/tls/client.crt
deprovision:
  onDelete: purge
dryRun: "yes"
limits:
  maxPageSize: 0
logging:
  level: verbose
  format: text
`)
	wantProblems(t, ps, map[string]string{
		"server.listen":                        `must be host:port or :port`,
		"server.publicURL":                     "must be an absolute http(s) URL",
		"server.tokens[1].name":                "empty",
		"server.tokens[1].value":               "empty",
		"server.tokens[2].name":                `"entra" is also the name of server.tokens[0]`,
		"server.tokens[2].value":               "shorter than 16 characters",
		"server.tokens[3].value":               "same value as server.tokens[0]",
		"server.readTimeout":                   `must be a duration such as "10s" or "500ms", got a number`,
		"admin.listen":                         "must be host:port or :port",
		"admin.token":                          "shorter than 16 characters",
		"store.redis.addrs[0]":                 "must be host:port",
		"store.redis.masterName":               "required for mode sentinel",
		"store.redis.keyPrefix":                "must be a string, got a number",
		"upstream.baseURL":                     "must be an absolute http(s) URL",
		"upstream.auth.clientID":               "required for type oauth2",
		"upstream.auth.clientSecret":           "required for type oauth2",
		"upstream.endpoints.getUser.path":      "unknown placeholder {id} | must contain {idUser}",
		"upstream.endpoints.createUser.path":   "{idUser} is not known to createUser",
		"upstream.endpoints.addMember.method":  "must be one of GET, POST, PUT, PATCH, DELETE",
		"upstream.endpoints.addMember.path":    "must contain {idUser}",
		"upstream.endpoints.listUsers.path":    `must start with "/"`,
		"upstream.tls":                         "certFile and keyFile go together",
		"upstream.timeout":                     "must be a positive duration",
		"upstream.maxInFlight":                 "must be positive",
		"upstream.retry.maxAttempts":           "must be between 1 and 10",
		"upstream.breaker.consecutiveFailures": "must be positive",
		"deprovision.onDelete":                 `must be one of disable, delete, not "purge"`,
		"dryRun":                               "must be true or false, got a string",
		"limits.maxPageSize":                   "must be positive",
		"logging.level":                        `must be one of debug, info, warn, error, not "verbose"`,
		"logging.format":                       `must be one of json, console, not "text"`,
	})
	// The whole list is also the error text, one "path: message" a line.
	text := ps.Error()
	if got := strings.Count(text, "\n") + 1; got != len(ps) {
		t.Fatalf("Error() has %d lines for %d problems", got, len(ps))
	}
	if !strings.Contains(text, "upstream.baseURL: must be an absolute http(s) URL") {
		t.Fatalf("Error() lacks the baseURL line:\n%s", text)
	}
	if strings.Contains(text, "entra-token-0123456789") {
		t.Fatalf("Error() shows a token value:\n%s", text)
	}
}

func TestLoadFileErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"not YAML", "server: [unclosed", "config file"},
		{"not a mapping", "- a\n- b\n", "config file"},
		{"duplicate key", "dryRun: true\ndryRun: false\n", "already defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := loadProblems(t, tt.yaml)
			if len(ps) != 1 || ps[0].Path != "" || !strings.Contains(ps[0].Message, tt.want) {
				t.Fatalf("problems = %v, want one file problem containing %q", ps, tt.want)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		_, _, err := Load(filepath.Join(t.TempDir(), "absent.yaml"), nil)
		if err == nil || !strings.Contains(err.Error(), "no such file") {
			t.Fatalf("err = %v, want a missing-file problem", err)
		}
	})
}

func TestLoadSecretFiles(t *testing.T) {
	dir := t.TempDir()
	tokenFile := writeFile(t, dir, "scim-token", "file-token-0123456789\n\n")
	secretFile := writeFile(t, dir, "client-secret", "client-secret-from-file \r\n")
	passwordFile := writeFile(t, dir, "redis-password", "redis-pass")
	adminFile := writeFile(t, dir, "admin-token", "admin-token-0123456789")
	portalFile := writeFile(t, dir, "portal-token", "portal-static-token")
	missing := filepath.Join(dir, "absent")

	t.Run("values come from the files", func(t *testing.T) {
		c, _ := mustLoad(t, fmt.Sprintf(`
server:
  tokens:
    - name: entra
      valueFile: %q
admin:
  tokenFile: %q
store:
  redis:
    url: "redis://127.0.0.1:6379/0"
    passwordFile: %q
upstream:
  baseURL: "http://127.0.0.1:8081/portal"
  auth:
    clientID: gw
    clientSecretFile: %q
`, tokenFile, adminFile, passwordFile, secretFile))
		tests := []struct{ name, got, want string }{
			{"server.tokens[0].value", c.Server.Tokens[0].Value, "file-token-0123456789"},
			{"admin.token", c.Admin.Token, "admin-token-0123456789"},
			{"store.redis.password", c.Store.Redis.Password, "redis-pass"},
			{"upstream.auth.clientSecret", c.Upstream.Auth.ClientSecret, "client-secret-from-file"},
		}
		for _, tt := range tests {
			if tt.got != tt.want {
				t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
			}
		}
		want := []string{tokenFile, adminFile, passwordFile, secretFile}
		if got := c.SecretFiles(); !slices.Equal(got, want) {
			t.Fatalf("SecretFiles() = %v, want %v", got, want)
		}
	})
	t.Run("bearer token file set from the environment", func(t *testing.T) {
		c, _ := mustLoad(t, minimalYAML, "SCIMGW_UPSTREAM_AUTH_TYPE=bearer", "SCIMGW_UPSTREAM_AUTH_TOKENFILE="+portalFile)
		if c.Upstream.Auth.Token != "portal-static-token" {
			t.Fatalf("upstream.auth.token = %q, want the file's content", c.Upstream.Auth.Token)
		}
	})
	t.Run("value and file both set, or file missing", func(t *testing.T) {
		ps := loadProblems(t, minimalYAML+fmt.Sprintf(`
    clientSecretFile: %q
admin:
  tokenFile: %q
`, secretFile, missing), "SCIMGW_SERVER_TOKENS_0_VALUEFILE="+tokenFile)
		wantProblems(t, ps, map[string]string{
			"server.tokens[0].valueFile":     "set together with server.tokens[0].value; set only one",
			"upstream.auth.clientSecretFile": "set together with upstream.auth.clientSecret; set only one",
			"admin.tokenFile":                "cannot read the file: open " + missing,
		})
	})
	t.Run("sentinel password from its file", func(t *testing.T) {
		sentinelFile := writeFile(t, t.TempDir(), "redis-sentinel-password", "sentinel-pass\n")
		c, _ := mustLoad(t, minimalYAML+fmt.Sprintf(`
store:
  redis:
    mode: sentinel
    addrs: ["sentinel-0:26379"]
    masterName: mymaster
    passwordFile: %q
    sentinelUsername: sentinel-user
`, passwordFile), "SCIMGW_STORE_REDIS_SENTINELPASSWORDFILE="+sentinelFile)
		r := c.Store.Redis
		if r.Password != "redis-pass" || r.SentinelUsername != "sentinel-user" || r.SentinelPassword != "sentinel-pass" {
			t.Fatalf("credentials %q, %q/%q; want the master's from passwordFile, the sentinels' from sentinelPasswordFile",
				r.Password, r.SentinelUsername, r.SentinelPassword)
		}
		if got, want := c.SecretFiles(), []string{passwordFile, sentinelFile}; !slices.Equal(got, want) {
			t.Fatalf("SecretFiles() = %v, want %v", got, want)
		}
	})
	t.Run("sentinel password file misused", func(t *testing.T) {
		sentinelFile := writeFile(t, t.TempDir(), "redis-sentinel-password", "sentinel-pass")
		const sentinel = `
store:
  redis:
    mode: sentinel
    addrs: ["sentinel-0:26379"]
    masterName: mymaster
`
		tests := []struct {
			name, yaml string
			want       map[string]string
		}{
			{"outside mode sentinel", minimalYAML + fmt.Sprintf(`
store:
  redis:
    url: "redis://127.0.0.1:6379/0"
    sentinelPasswordFile: %q
`, sentinelFile), map[string]string{"store.redis.sentinelPasswordFile": "only for mode sentinel, not standalone"}},
			{"with its value", minimalYAML + sentinel + fmt.Sprintf(`
    sentinelPassword: inline
    sentinelPasswordFile: %q
`, sentinelFile), map[string]string{"store.redis.sentinelPasswordFile": "set together with store.redis.sentinelPassword; set only one"}},
			{"missing", minimalYAML + sentinel + fmt.Sprintf(`
    sentinelPasswordFile: %q
`, missing), map[string]string{"store.redis.sentinelPasswordFile": "cannot read the file: open " + missing}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				wantProblems(t, loadProblems(t, tt.yaml), tt.want)
			})
		}
	})
	t.Run("empty file", func(t *testing.T) {
		empty := writeFile(t, t.TempDir(), "empty", "\n")
		ps := loadProblems(t, minimalYAML, "SCIMGW_SERVER_TOKENS_0_VALUE=", "SCIMGW_SERVER_TOKENS_0_VALUEFILE="+empty)
		wantProblems(t, ps, map[string]string{
			"server.tokens[0].value": "empty (read from valueFile " + empty + ")",
		})
	})
}

func TestLoadTLSFiles(t *testing.T) {
	dir := t.TempDir()
	notPEM := writeFile(t, dir, "not-pem", "hello")
	ps := loadProblems(t, minimalYAML+fmt.Sprintf(`
  tls:
    caFile: %q
    certFile: %q
    keyFile: %q
store:
  redis:
    tls:
      caFile: %q
`, notPEM, notPEM, notPEM, filepath.Join(dir, "absent.pem")))
	wantProblems(t, ps, map[string]string{
		"upstream.tls.caFile":    "holds no PEM certificate",
		"upstream.tls.certFile":  "cannot load the certificate and key",
		"store.redis.tls.caFile": "cannot read the file",
	})
}

func TestCheck(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml", minimalYAML+"logging: {level: loud}\n")
	warnings, problems := Check(path, []string{"SCIMGW_UNKNOWN=1"})
	if len(warnings) != 1 || !strings.HasPrefix(warnings[0], "SCIMGW_UNKNOWN:") {
		t.Fatalf("warnings = %v, want one about SCIMGW_UNKNOWN", warnings)
	}
	if len(problems) != 1 || problems[0].Path != "logging.level" {
		t.Fatalf("problems = %v, want one at logging.level", problems)
	}
	path = writeFile(t, t.TempDir(), "config.yaml", minimalYAML)
	if _, problems := Check(path, nil); len(problems) != 0 {
		t.Fatalf("problems = %v, want none", problems)
	}
}

// TestExampleConfig loads the documented example and checks that it shows every key of the tree.
func TestExampleConfig(t *testing.T) {
	if _, _, err := Load("example.yaml", nil); err != nil {
		t.Fatalf("example.yaml does not load:\n%v", err)
	}
	data, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var missing []string
	var walk func(n *keyNode, raw any, path string)
	walk = func(n *keyNode, raw any, path string) {
		switch n.kind {
		case kindStruct:
			m, _ := raw.(map[string]any)
			for _, f := range n.fields {
				v, ok := m[f.name]
				if !ok {
					missing = append(missing, joinKey(path, f.name))
					continue
				}
				walk(f.node, v, joinKey(path, f.name))
			}
		case kindMap:
			m, _ := raw.(map[string]any)
			for _, k := range n.mapKeys {
				v, ok := m[k]
				if !ok {
					missing = append(missing, joinKey(path, k))
					continue
				}
				walk(n.elem, v, joinKey(path, k))
			}
		case kindList:
			if l, _ := raw.([]any); len(l) > 0 {
				walk(n.elem, l[0], indexKey(path, 0))
			} else if n.elem.kind != kindLeaf && path != "tenants" { // tenants: an entry shown commented out
				missing = append(missing, indexKey(path, 0))
			}
		}
	}
	walk(configTree(), doc, "")
	if len(missing) > 0 {
		t.Fatalf("example.yaml lacks keys: %v", missing)
	}
}

func TestOperationsHavePlaceholders(t *testing.T) {
	if len(Operations) != len(EndpointPlaceholders) {
		t.Fatalf("%d operations, %d placeholder entries", len(Operations), len(EndpointPlaceholders))
	}
	for _, op := range Operations {
		if _, ok := EndpointPlaceholders[op]; !ok {
			t.Fatalf("operation %s has no placeholder entry", op)
		}
	}
}

// TestDefaultsLayerRoundTrip checks that the defaults rendered as a map layer decode back unchanged.
func TestDefaultsLayerRoundTrip(t *testing.T) {
	var want Config
	want.ApplyDefaults()
	c, _, err := Load("", []string{
		"SCIMGW_SERVER_TOKENS_0_NAME=n", "SCIMGW_SERVER_TOKENS_0_VALUE=v-0123456789abcdef",
		"SCIMGW_UPSTREAM_BASEURL=http://p", "SCIMGW_UPSTREAM_AUTH_TYPE=none",
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Server.Tokens, c.Upstream.BaseURL, c.Upstream.Auth.Type = nil, "", want.Upstream.Auth.Type
	if !reflect.DeepEqual(*c, want) {
		t.Fatalf("loaded defaults differ from ApplyDefaults:\n got %+v\nwant %+v", *c, want)
	}
}
