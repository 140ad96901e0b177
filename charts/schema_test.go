package charts

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/config"
)

// TestChartRefuses checks that the chart refuses values the gateway could not run with, through
// values.schema.json (each value on its own: the refusal names its path) and the templates' checks
// across values (one message naming every value to set or change).
func TestChartRefuses(t *testing.T) {
	tests := []struct {
		name      string
		base      string // values file under the chart; "" for the chart's defaults alone
		overrides string
		want      []string // substrings of the error
	}{
		{
			name: "the chart's defaults alone",
			want: []string{"set config.upstream.baseURL", "config.upstream.auth.clientID", "secrets.scimTokens[0].value",
				"secrets.upstreamClientSecret.value", "or secrets.existingSecret", "helm show readme"},
		},
		{
			name:      "two replicas without Redis",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {store: {redis: {url: ''}}}",
			want:      []string{"replicaCount=2 needs Redis", "set config.store.redis.url", "bundledRedis.enabled=true", "or set replicaCount=1."},
		},
		{
			name:      "autoscaling without Redis",
			base:      "ci/defaults-values.yaml",
			overrides: "replicaCount: 1\nautoscaling: {enabled: true}\nconfig: {store: {redis: {url: ''}}}",
			want:      []string{"autoscaling.enabled needs Redis", "set config.store.redis.url", "or set replicaCount=1 and autoscaling.enabled=false"},
		},
		{
			name:      "an OTLP endpoint that is not a URL, an unknown protocol",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {telemetry: {otlp: {endpoint: 'collector:4318', protocol: http/json}}}",
			want:      []string{"values don't meet the specifications of the schema", "/config/telemetry/otlp/endpoint", "/config/telemetry/otlp/protocol"},
		},
		{
			name:      "a negative fleet-wide bound",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {upstream: {globalMaxInFlight: -1}}",
			want:      []string{"values don't meet the specifications of the schema", "/config/upstream/globalMaxInFlight"},
		},
		{
			name:      "the bundled Redis and an external one",
			base:      "ci/defaults-values.yaml",
			overrides: "bundledRedis: {enabled: true}",
			want:      []string{"bundledRedis.enabled and an external Redis (config.store.redis.url or addrs) exclude each other"},
		},
		{
			name:      "a SCIM token in the config instead of secrets",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {server: {tokens: [{name: x, value: abcdefghijklmnopqrstuvwxyz}]}}",
			want:      []string{"/config/server", "tokens"},
		},
		{
			name:      "the admin section, which the chart owns",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {admin: {token: abcdefghijklmnopqrstuvwxyz}}",
			want:      []string{"/config", "admin"},
		},
		{
			name:      "a Redis password in the config",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {store: {redis: {password: hunter2hunter2hunter2}}}",
			want:      []string{"/config/store/redis", "password"},
		},
		{
			name:      "a Redis Sentinel password in the config",
			base:      "ci/sentinel-values.yaml",
			overrides: "config: {store: {redis: {sentinelPassword: hunter2hunter2hunter2}}}",
			want:      []string{"/config/store/redis", "sentinelPassword"},
		},
		{
			name:      "a Redis Sentinel password without mode sentinel",
			base:      "ci/defaults-values.yaml",
			overrides: "secrets: {redisSentinelPassword: {enabled: true, value: sentinel-pass}}",
			want:      []string{"secrets.redisSentinelPassword and config.store.redis.sentinelUsername are for the sentinels"},
		},
		{
			name:      "a Redis Sentinel username in cluster mode",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {store: {redis: {url: '', mode: cluster, addrs: ['redis-0:6379'], sentinelUsername: watcher}}}",
			want:      []string{"set config.store.redis.mode sentinel"},
		},
		{
			name:      "no Redis Sentinel password value",
			base:      "ci/sentinel-values.yaml",
			overrides: "secrets: {redisSentinelPassword: {value: ''}}",
			want:      []string{"set secrets.redisSentinelPassword.value (or secrets.existingSecret"},
		},
		{
			name:      "the Redis password's key for the sentinels, with another value",
			base:      "ci/sentinel-values.yaml",
			overrides: "secrets: {redisSentinelPassword: {key: redis-password}}",
			want:      []string{`secrets.redisSentinelPassword: the key "redis-password" is also secrets.redisPassword's, with another value`},
		},
		{
			name:      "a misspelt config key",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {upstream: {baseUrl: https://portal.example.com}}",
			want:      []string{"/config/upstream", "baseUrl"},
		},
		{
			name:      "an unknown value",
			base:      "ci/defaults-values.yaml",
			overrides: "replicas: 3",
			want:      []string{"replicas"},
		},
		{
			name:      "a SCIM token shorter than 16 characters",
			base:      "ci/defaults-values.yaml",
			overrides: "secrets: {scimTokens: [{name: entra, value: short}]}",
			want:      []string{"/secrets/scimTokens/0/value"},
		},
		{
			name:      "a duration without its unit",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {server: {shutdownTimeout: 25}}",
			want:      []string{"/config/server/shutdownTimeout"},
		},
		{
			name:      "an unknown portal operation",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {upstream: {endpoints: {removeUser: {enabled: false}}}}",
			want:      []string{"invalid propertyName 'removeUser'"},
		},
		{
			name:      "an unknown Redis mode",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {store: {redis: {mode: replicated}}}",
			want:      []string{"/config/store/redis/mode"},
		},
		{
			name:      "an Ingress without a host",
			base:      "ci/defaults-values.yaml",
			overrides: "ingress: {enabled: true}",
			want:      []string{"ingress.host is required when ingress.enabled"},
		},
		{
			name:      "no portal URL",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {upstream: {baseURL: ''}}",
			want:      []string{"set config.upstream.baseURL (the portal's absolute http(s) URL)."},
		},
		{
			name:      "no OAuth client id",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {upstream: {auth: {clientID: ''}}}",
			want:      []string{"set config.upstream.auth.clientID (the portal's OAuth client; or config.upstream.auth.type bearer or none)."},
		},
		{
			name:      "no SCIM token value",
			base:      "ci/defaults-values.yaml",
			overrides: "secrets: {scimTokens: [{name: entra}]}",
			want:      []string{"set secrets.scimTokens[0].value (or secrets.existingSecret: a Secret you manage that holds them)."},
		},
		{
			name:      "no portal client secret",
			base:      "ci/defaults-values.yaml",
			overrides: "secrets: {upstreamClientSecret: {value: ''}}",
			want:      []string{"set secrets.upstreamClientSecret.value (or secrets.existingSecret"},
		},
		{
			name:      "a bearer portal without its token",
			base:      "ci/defaults-values.yaml",
			overrides: "config: {upstream: {auth: {type: bearer}}}",
			want:      []string{"set secrets.upstreamToken.value (or secrets.existingSecret"},
		},
		{
			name:      "two SCIM tokens in one Secret key",
			base:      "ci/defaults-values.yaml",
			overrides: "secrets: {scimTokens: [{name: a, key: tok, value: aaaaaaaaaaaaaaaaaaaa}, {name: b, key: tok, value: bbbbbbbbbbbbbbbbbbbb}]}",
			want:      []string{`the key "tok" is used twice`},
		},
		{
			name:      "a NetworkPolicy without the portal's address",
			base:      "ci/defaults-values.yaml",
			overrides: "networkPolicy: {enabled: true, egress: {redis: {cidrs: [10.0.0.0/8]}}}",
			want:      []string{"networkPolicy.egress.portal: set cidrs or to"},
		},
		{
			name:      "a NetworkPolicy without the external Redis's address",
			base:      "ci/defaults-values.yaml",
			overrides: "networkPolicy: {enabled: true, egress: {portal: {cidrs: [10.0.0.0/8]}}}",
			want:      []string{"networkPolicy.egress.redis: set cidrs or to"},
		},
		{
			name:      "fewer replicas at most than at least",
			base:      "ci/defaults-values.yaml",
			overrides: "autoscaling: {enabled: true, minReplicas: 4, maxReplicas: 3}",
			want:      []string{"autoscaling.maxReplicas is smaller than autoscaling.minReplicas"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vals := map[string]any{}
			if tt.base != "" {
				vals = readValues(t, tt.base)
			}
			if tt.overrides != "" {
				vals = withOverrides(vals, parseValues(t, tt.overrides))
			}
			_, err := render(t, vals, renderOptions{})
			if err == nil {
				t.Fatalf("the chart rendered; want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// chartOwnedConfigKeys are the gateway config keys the chart sets itself (from ports, secrets and
// bundledRedis); values.schema.json refuses them under config.
var chartOwnedConfigKeys = []string{
	"server.listen", "server.tokens", "admin",
	"store.redis.password", "store.redis.passwordFile", "store.redis.sentinelPassword", "store.redis.sentinelPasswordFile",
	"upstream.auth.clientSecret", "upstream.auth.clientSecretFile", "upstream.auth.token", "upstream.auth.tokenFile",
	"logging.translation.hashKey", "logging.translation.hashKeyFile",
	"tenants", // the chart's tenants value: each tenant's secrets from Secrets you manage
}

// TestSchemaCoversConfig keeps values.schema.json's config subtree in step with the gateway's config
// keys (config.Config's yaml tags): every key is in the schema unless the chart owns it, and the
// schema has no key the gateway does not know. A new config key fails this test until the schema
// (and so the chart's users) know it.
func TestSchemaCoversConfig(t *testing.T) {
	schema := loadSchema(t)
	cfgSchema := schema.resolve(schema.root["properties"].(map[string]any)["config"])

	var gatewayKeys []string
	configKeys(reflect.TypeFor[config.Config](), "", &gatewayKeys)
	var want []string
	for _, k := range gatewayKeys {
		owned := slices.ContainsFunc(chartOwnedConfigKeys, func(o string) bool {
			return k == o || strings.HasPrefix(k, o+".") || strings.HasPrefix(k, o+"[]")
		})
		if !owned {
			want = append(want, k)
		}
	}
	var got []string
	schema.keys(cfgSchema, "", &got)
	sort.Strings(want)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Fatalf("schema config keys differ from the gateway's\nonly in the schema: %v\nonly in the gateway: %v",
			minus(got, want), minus(want, got))
	}

	endpoints := schema.resolve(schema.resolve(cfgSchema["properties"].(map[string]any)["upstream"])["properties"].(map[string]any)["endpoints"])
	var ops []string
	for _, op := range endpoints["propertyNames"].(map[string]any)["enum"].([]any) {
		ops = append(ops, op.(string))
	}
	if !slices.Equal(ops, config.Operations) {
		t.Fatalf("schema endpoint names %v, gateway operations %v", ops, config.Operations)
	}
}

// configKeys appends the yaml key paths of the leaves of t: struct fields by their yaml tag, map
// entries as ".*", list items as "[]".
func configKeys(t reflect.Type, prefix string, out *[]string) {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[time.Duration]():
		*out = append(*out, prefix)
	case t.Kind() == reflect.Struct:
		for f := range t.Fields() {
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || tag == "" || tag == "-" {
				continue
			}
			configKeys(f.Type, strings.TrimPrefix(prefix+"."+tag, "."), out)
		}
	case t.Kind() == reflect.Map:
		configKeys(t.Elem(), prefix+".*", out)
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct:
		configKeys(t.Elem(), prefix+"[]", out)
	default:
		*out = append(*out, prefix)
	}
}

// jsonSchema is values.schema.json, parsed.
type jsonSchema struct{ root map[string]any }

func loadSchema(t *testing.T) jsonSchema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	if root["$schema"] != "http://json-schema.org/draft-07/schema#" {
		t.Fatalf("values.schema.json is not draft-07 (helm v3 validates draft-07): $schema %v", root["$schema"])
	}
	return jsonSchema{root: root}
}

// resolve follows a local "$ref", and an "allOf" of one "$ref" (how a described reference is written in
// draft-07, which ignores the siblings of "$ref").
func (s jsonSchema) resolve(node any) map[string]any {
	m, _ := node.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/definitions/")
		return s.resolve(s.root["definitions"].(map[string]any)[name])
	}
	if all, ok := m["allOf"].([]any); ok && len(all) == 1 && m["properties"] == nil {
		return s.resolve(all[0])
	}
	return m
}

// keys appends the key paths of the leaves of an object schema, in configKeys' notation.
func (s jsonSchema) keys(node map[string]any, prefix string, out *[]string) {
	if props, ok := node["properties"].(map[string]any); ok && node["type"] == "object" {
		if node["additionalProperties"] != false {
			*out = append(*out, prefix+" (open: additionalProperties is not false)")
		}
		for k, v := range props {
			s.keys(s.resolve(v), strings.TrimPrefix(prefix+"."+k, "."), out)
		}
		return
	}
	if item, ok := node["additionalProperties"].(map[string]any); ok {
		s.keys(s.resolve(item), prefix+".*", out)
		return
	}
	if items, ok := node["items"].(map[string]any); ok && s.resolve(items)["type"] == "object" {
		s.keys(s.resolve(items), prefix+"[]", out)
		return
	}
	*out = append(*out, prefix)
}

// minus returns the elements of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
