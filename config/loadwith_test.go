package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// podOnlyYAML names secrets and TLS files that exist only in the pod (a rendered ConfigMap).
const podOnlyYAML = `
server:
  tokens:
    - name: entra
      valueFile: /etc/scim-gateway/secrets/scim-token-entra
    - name: next
      valueFile: /etc/scim-gateway/secrets/scim-token-next
admin:
  tokenFile: /etc/scim-gateway/secrets/admin-token
upstream:
  baseURL: "https://portal.example.com/portal"
  auth:
    clientID: gw
    clientSecretFile: /etc/scim-gateway/secrets/upstream-client-secret
  tls:
    caFile: /etc/scim-gateway/ca/ca.pem
`

func TestLoadWithSkipFiles(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config.yaml", podOnlyYAML)

	// Without the option, every absent file is a problem.
	_, _, err := Load(path, nil)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Load: %v, want Problems", err)
	}
	wantProblems(t, ps, map[string]string{
		"server.tokens[0].valueFile":     "cannot read the file",
		"server.tokens[1].valueFile":     "cannot read the file",
		"admin.tokenFile":                "cannot read the file",
		"upstream.auth.clientSecretFile": "cannot read the file",
		"upstream.tls.caFile":            "cannot read the file",
	})

	// With it, the configuration passes and each file skipped is named.
	c, warnings, err := LoadWith(path, nil, LoadOptions{SkipFiles: true})
	if err != nil {
		t.Fatalf("LoadWith SkipFiles: %v", err)
	}
	want := []string{
		"server.tokens[0].valueFile: /etc/scim-gateway/secrets/scim-token-entra not read (files skipped)",
		"server.tokens[1].valueFile: /etc/scim-gateway/secrets/scim-token-next not read (files skipped)",
		"admin.tokenFile: /etc/scim-gateway/secrets/admin-token not read (files skipped)",
		"upstream.auth.clientSecretFile: /etc/scim-gateway/secrets/upstream-client-secret not read (files skipped)",
		"upstream.tls.caFile: /etc/scim-gateway/ca/ca.pem not read (files skipped)",
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings:\n%s\nwant:\n%s", strings.Join(warnings, "\n"), strings.Join(want, "\n"))
	}
	if len(c.SecretFiles()) != 0 {
		t.Errorf("files read: %v", c.SecretFiles())
	}

	// The rest is still checked: a value set beside its file, and every other problem.
	bad := writeFile(t, t.TempDir(), "config.yaml", podOnlyYAML+"  timeout: 0s\n"+`
logging:
  translation:
    hashKey: "0123456789abcdef0123"
    hashKeyFile: /etc/scim-gateway/secrets/hash-key
`)
	_, _, err = LoadWith(bad, nil, LoadOptions{SkipFiles: true})
	if !errors.As(err, &ps) {
		t.Fatalf("LoadWith: %v, want Problems", err)
	}
	wantProblems(t, ps, map[string]string{
		"upstream.timeout":                "must be a positive duration",
		"logging.translation.hashKeyFile": "set together with logging.translation.hashKey",
	})
}

func TestLoadWithSections(t *testing.T) {
	noSecrets := `
upstream:
  baseURL: "https://portal.example.com/portal"
  endpoints:
    getUser: {path: "/v2/users({idUser})"}
`
	path := writeFile(t, t.TempDir(), "config.yaml", noSecrets)
	if _, _, err := Load(path, nil); err == nil {
		t.Fatal("Load accepted a configuration without tokens or portal credentials")
	}
	sections := LoadOptions{Sections: []string{"mapping", "upstream.endpoints", "limits"}}
	c, _, err := LoadWith(path, nil, sections)
	if err != nil {
		t.Fatalf("LoadWith Sections: %v", err)
	}
	if got := c.Upstream.Endpoints[OpGetUser].Path; got != "/v2/users({idUser})" {
		t.Errorf("getUser path %q", got)
	}

	// Problems inside the sections, and of the file as a whole, still count.
	broken := writeFile(t, t.TempDir(), "config.yaml", noSecrets+"limits: {maxBodyBytes: 0}\n")
	_, _, err = LoadWith(broken, nil, sections)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("LoadWith: %v, want Problems", err)
	}
	wantProblems(t, ps, map[string]string{"limits.maxBodyBytes": "must be positive"})
	if _, _, err := LoadWith(writeFile(t, t.TempDir(), "config.yaml", "server: [1"), nil, sections); err == nil {
		t.Error("LoadWith Sections accepted unparsable YAML")
	}
}
