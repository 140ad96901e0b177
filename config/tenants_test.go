package config

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

const tenantsYAML = minimalYAML + `  timeout: 7s
  retry: {maxAttempts: 4}
  endpoints:
    deleteUser: {enabled: false}
mapping:
  defaultDomain: contoso
limits:
  maxPageSize: 50
dryRun: true
tenants:
  - name: fabrikam
    tokens: [{name: entra-fab, value: "fabrikam-token-0123456789"}]
    upstream:
      baseURL: "http://127.0.0.1:9091/portal"
      auth: {clientID: fab, clientSecret: fab-secret}
      endpoints:
        createUser: {enabled: false}
    limits: {maxScan: 77}
    dryRun: false
  - name: tailspin
    tokens: [{name: entra-tail, value: "tailspin-token-0123456789"}]
`

// TestTenantsInherit checks key-by-key inheritance: what an entry sets wins, what it leaves out is
// the top level's, and upstream.auth is taken whole (defaults, not the top level's, fill it).
func TestTenantsInherit(t *testing.T) {
	c, _ := mustLoad(t, tenantsYAML)
	if got := c.TenantNames(); !reflect.DeepEqual(got, []string{"default", "fabrikam", "tailspin"}) {
		t.Fatalf("TenantNames = %v", got)
	}
	fab, tail := c.Tenants[0], c.Tenants[1]

	if fab.Upstream.BaseURL != "http://127.0.0.1:9091/portal" || fab.Upstream.Auth.ClientID != "fab" || fab.Upstream.Auth.ClientSecret != "fab-secret" {
		t.Errorf("fabrikam upstream = %+v", fab.Upstream)
	}
	// Inherited from the top level, key by key.
	if fab.Upstream.Timeout != 7*time.Second || fab.Upstream.Retry.MaxAttempts != 4 || fab.Upstream.Breaker != c.Upstream.Breaker {
		t.Errorf("fabrikam did not inherit timeout, retry, breaker: %+v", fab.Upstream)
	}
	if fab.Upstream.Endpoints["deleteUser"].IsEnabled() || fab.Upstream.Endpoints["createUser"].IsEnabled() {
		t.Errorf("fabrikam endpoints = %+v, want deleteUser (inherited) and createUser (own) off", fab.Upstream.Endpoints)
	}
	if c.Upstream.Endpoints["createUser"].Enabled != nil {
		t.Errorf("a tenant's switch leaked to the top level: %+v", c.Upstream.Endpoints)
	}
	// auth taken whole: the defaults, not the top level's, fill what fabrikam's auth leaves out.
	if fab.Upstream.Auth.Type != DefaultAuthType || fab.Upstream.Auth.TokenURL != DefaultTokenURL {
		t.Errorf("fabrikam auth = %+v", fab.Upstream.Auth)
	}
	if fab.Limits.MaxScan != 77 || fab.Limits.MaxPageSize != 50 || fab.Limits.MaxOperations != DefaultMaxOperations {
		t.Errorf("fabrikam limits = %+v", fab.Limits)
	}
	if fab.DryRun || !tail.DryRun {
		t.Errorf("dryRun: fabrikam %v (set false), tailspin %v (inherits true)", fab.DryRun, tail.DryRun)
	}
	if fab.Mapping.DefaultDomain != "contoso" || !reflect.DeepEqual(fab.Mapping, c.Mapping) {
		t.Errorf("fabrikam mapping = %+v, want the top level's", fab.Mapping)
	}
	// An entry that names no upstream is the top level's portal, credentials included.
	if !reflect.DeepEqual(tail.Upstream, c.Upstream) || tail.Deprovision != c.Deprovision {
		t.Errorf("tailspin upstream = %+v, want the top level's %+v", tail.Upstream, c.Upstream)
	}
	def, ok := c.Tenant(DefaultTenant)
	if !ok || def.Upstream.BaseURL != c.Upstream.BaseURL || !reflect.DeepEqual(def.Tokens, c.Server.Tokens) {
		t.Errorf("Tenant(default) = %+v, %v", def, ok)
	}
}

func TestTenantsValidation(t *testing.T) {
	ps := loadProblems(t, minimalYAML+`tenants:
  - name: Fabrikam
    tokens: [{name: a, value: "entra-token-0123456789"}, {name: a, value: "x"}]
    upstream:
      baseURL: "not a url"
      auth: {type: oauth2}
      timeout: 0s
    deprovision: {onDelete: erase}
    limits: {maxScan: -1}
  - name: default
    tokens: []
  - name: tailspin
    tokens: [{name: t, value: "tailspin-token-0123456789"}, {name: u, value: "tailspin-token-0123456789"}]
    upstream: {baseURL: "http://other.example.com/portal"}
    mapping: {users: [{scim: userName, field: nope}]}
  - name: tailspin
    tokens: [{name: t, value: "tailspin2-token-0123456789"}]
`)
	wantProblems(t, ps, map[string]string{
		"tenants[0].name":                       "must be a DNS label",
		"tenants[0].tokens[0].value":            "same value as server.tokens[0]",
		"tenants[0].tokens[1].name":             `"a" is also the name of tenants[0].tokens[0]`,
		"tenants[0].tokens[1].value":            "shorter than 16 characters",
		"tenants[0].upstream.baseURL":           "must be an absolute http(s) URL",
		"tenants[0].upstream.auth.clientID":     "required for type oauth2",
		"tenants[0].upstream.auth.clientSecret": "required for type oauth2",
		"tenants[0].upstream.timeout":           "must be a positive duration",
		"tenants[0].deprovision.onDelete":       "must be one of disable, delete",
		"tenants[0].limits.maxScan":             "must be positive",
		"tenants[1].name":                       `"default" is the top level's tenant`,
		"tenants[1].tokens":                     "at least one token is required",
		"tenants[2].tokens[1].value":            "same value as tenants[2].tokens[0]",
		"tenants[2].upstream.auth":              "required when upstream.baseURL is not the top level's",
		"tenants[2].mapping.users[0]":           `unknown or read-only portal field "nope"`,
		"tenants[2].mapping.users":              "no rule maps a SCIM attribute to the portal's required field userName",
		"tenants[3].name":                       `"tailspin" is also the name of tenants[2]`,
	})
}

// TestTenantsInheritedProblemOnce: a problem of the top level that a tenant inherits is reported once,
// at the top level's key.
func TestTenantsInheritedProblemOnce(t *testing.T) {
	ps := loadProblems(t, minimalYAML+`  timeout: 0s
tenants:
  - name: fabrikam
    tokens: [{name: f, value: "fabrikam-token-0123456789"}]
`)
	wantProblems(t, ps, map[string]string{"upstream.timeout": "must be a positive duration"})
}

// TestTenantsGlobalBoundNeedsRedis: a tenant's own upstream.globalMaxInFlight needs store.redis, as the
// top level's does, and is reported at the tenant's key.
func TestTenantsGlobalBoundNeedsRedis(t *testing.T) {
	ps := loadProblems(t, minimalYAML+`tenants:
  - name: fabrikam
    tokens: [{name: f, value: "fabrikam-token-0123456789"}]
    upstream: {globalMaxInFlight: 4}
`)
	wantProblems(t, ps, map[string]string{"tenants[0].upstream.globalMaxInFlight": "needs store.redis"})
}

// TestTenantsEnv: SCIMGW_TENANTS_0_... sets and adds tenants, as for other lists.
func TestTenantsEnv(t *testing.T) {
	c, _ := mustLoad(t, tenantsYAML,
		"SCIMGW_TENANTS_0_UPSTREAM_BASEURL=http://127.0.0.1:9999/portal",
		"SCIMGW_TENANTS_1_DRYRUN=false",
		"SCIMGW_TENANTS_2_NAME=northwind",
		"SCIMGW_TENANTS_2_TOKENS_0_NAME=entra-nw",
		"SCIMGW_TENANTS_2_TOKENS_0_VALUE=northwind-token-0123456789",
		"SCIMGW_TENANTS_2_LIMITS_MAXSCAN=5",
	)
	if len(c.Tenants) != 3 {
		t.Fatalf("tenants = %+v", c.Tenants)
	}
	if got := c.Tenants[0].Upstream.BaseURL; got != "http://127.0.0.1:9999/portal" {
		t.Errorf("tenants[0].upstream.baseURL = %q", got)
	}
	if c.Tenants[1].DryRun {
		t.Error("tenants[1].dryRun from the environment not applied")
	}
	nw := c.Tenants[2]
	if nw.Name != "northwind" || nw.Tokens[0].Value != "northwind-token-0123456789" || nw.Limits.MaxScan != 5 ||
		nw.Limits.MaxPageSize != 50 || nw.Upstream.BaseURL != c.Upstream.BaseURL {
		t.Errorf("northwind = %+v", nw)
	}
}

// TestTenantsSecretFiles: a tenant's valueFile and clientSecretFile are read, listed for the watcher,
// and a file a tenant inherits is listed once.
func TestTenantsSecretFiles(t *testing.T) {
	dir := t.TempDir()
	tok := writeFile(t, dir, "fab-token", "fabrikam-token-from-file-0123\n")
	sec := writeFile(t, dir, "fab-secret", "fab-client-secret\n")
	top := writeFile(t, dir, "top-secret", "top-client-secret\n")
	c, _ := mustLoad(t, `server:
  tokens: [{name: entra, value: "entra-token-0123456789"}]
upstream:
  baseURL: "http://127.0.0.1:8081/portal"
  auth: {clientID: gw, clientSecretFile: `+top+`}
tenants:
  - name: fabrikam
    tokens: [{name: f, valueFile: `+tok+`}]
    upstream:
      baseURL: "http://127.0.0.1:9091/portal"
      auth: {clientID: fab, clientSecretFile: `+sec+`}
  - name: tailspin
    tokens: [{name: t, value: "tailspin-token-0123456789"}]
`)
	if c.Tenants[0].Tokens[0].Value != "fabrikam-token-from-file-0123" || c.Tenants[0].Upstream.Auth.ClientSecret != "fab-client-secret" {
		t.Errorf("fabrikam secrets not read: %+v", c.Tenants[0])
	}
	if c.Tenants[1].Upstream.Auth.ClientSecret != "top-client-secret" {
		t.Errorf("tailspin's inherited clientSecretFile not read: %+v", c.Tenants[1].Upstream.Auth)
	}
	want := []string{top, tok, sec}
	if got := c.SecretFiles(); !reflect.DeepEqual(got, want) {
		t.Errorf("SecretFiles = %v, want %v", got, want)
	}
	ps := loadProblems(t, minimalYAML+`tenants:
  - name: fabrikam
    tokens: [{name: f, valueFile: `+filepath.Join(dir, "missing")+`}]
`)
	wantProblems(t, ps, map[string]string{"tenants[0].tokens[0].valueFile": "cannot read the file"})
}

// TestNoTenantsUnchanged: a configuration without tenants loads as before, with one tenant, default.
func TestNoTenantsUnchanged(t *testing.T) {
	c, _ := mustLoad(t, minimalYAML)
	if c.Tenants != nil || len(c.AllTenants()) != 1 || c.AllTenants()[0].Name != DefaultTenant {
		t.Fatalf("tenants = %+v, all = %+v", c.Tenants, c.AllTenants())
	}
}
