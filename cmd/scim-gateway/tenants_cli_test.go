package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const tenantsCLIYAML = `
server:
  tokens: [{name: entra, value: "entra-token-0123456789"}]
upstream:
  baseURL: "http://127.0.0.1:8081/portal"
  auth: {clientID: gw, clientSecret: gw-secret}
tenants:
  - name: fabrikam
    tokens: [{name: entra-fab, value: "fabrikam-token-0123456789"}]
    upstream:
      baseURL: "%s"
      auth: {clientID: fab, clientSecret: fab-secret}
    deprovision: {onDelete: delete}
`

// TestCheckConfigTenants: check-config lists each tenant of a valid file and names a tenant's problem
// by its key path.
func TestCheckConfigTenants(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(strings.Replace(tenantsCLIYAML, "%s", "http://127.0.0.1:9091/portal", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(strings.Replace(tenantsCLIYAML, "%s", "ftp://nowhere", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "check-config", "--config", good)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"tenant default: 1 token(s), portal http://127.0.0.1:8081/portal, onDelete disable",
		"tenant fabrikam: 1 token(s), portal http://127.0.0.1:9091/portal, onDelete delete",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, out)
		}
	}
	code, _, errOut = runCLI(t, "", "check-config", "--config", bad)
	if code != 1 || !strings.Contains(errOut, "tenants[0].upstream.baseURL: must be an absolute http(s) URL") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
}
