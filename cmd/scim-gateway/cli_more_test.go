package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

// TestHelpListsTheCommands: -h and --help before any command list the commands, as help does; after a
// command they list its flags.
func TestHelpListsTheCommands(t *testing.T) {
	_, helpOut, _ := runCLI(t, "", "help")
	for _, args := range [][]string{{"-h"}, {"--help"}, {"-help"}} {
		code, out, errOut := runCLI(t, "", args...)
		if code != 0 || out != helpOut || errOut != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want help's text", args, code, out, errOut)
		}
	}
	for _, cmd := range []string{"serve", "check-config", "demo", "translate", "probe", "version"} {
		if !strings.Contains(helpOut, "scim-gateway "+cmd) && !strings.Contains(helpOut, "scim-gateway ["+cmd+"]") {
			t.Errorf("help does not list %s:\n%s", cmd, helpOut)
		}
	}
	code, out, errOut := runCLI(t, "", "serve", "-h")
	if code != 0 || out != "" || !strings.Contains(errOut, "-drain-delay") || strings.Contains(errOut, "check-config") {
		t.Errorf("serve -h: exit %d, stdout %q, stderr %q; want serve's flags", code, out, errOut)
	}
}

// TestCheckConfigWithoutFile says what it checked when no --config is given.
func TestCheckConfigWithoutFile(t *testing.T) {
	code, _, errOut := runCLI(t, "", "check-config")
	if code != 1 || !strings.Contains(errOut, "no --config: the defaults and SCIMGW_ variables only") ||
		!strings.Contains(errOut, "server.tokens") {
		t.Errorf("exit %d, stderr:\n%s", code, errOut)
	}
	var out, stderr bytes.Buffer
	environ := []string{"SCIMGW_SERVER_TOKENS_0_NAME=entra", "SCIMGW_SERVER_TOKENS_0_VALUE=entra-token-0123456789",
		"SCIMGW_UPSTREAM_BASEURL=https://portal.example.com", "SCIMGW_UPSTREAM_AUTH_TYPE=none"}
	if code := run([]string{"check-config"}, environ, nil, &out, &stderr); code != 0 ||
		out.String() != "configuration OK (no --config: the defaults and SCIMGW_ variables only)\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), stderr.String())
	}
	if code, out, _ := runCLI(t, "", "check-config", "--config", "../../config/example.yaml"); code != 0 ||
		out != "configuration OK (../../config/example.yaml)\n" {
		t.Errorf("example.yaml: exit %d, stdout %q", code, out)
	}
	if code, _, errOut := runCLI(t, "", "check-config", "../../config/example.yaml"); code != 2 || !strings.Contains(errOut, "--config") {
		t.Errorf("a file without --config: exit %d, stderr %q", code, errOut)
	}
}

// TestCheckConfigSkipFiles checks a configuration whose secrets live in files of the pod only, as the
// chart's ConfigMap is: refused as is, accepted with --skip-files, which names each file it skipped.
func TestCheckConfigSkipFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, `
server:
  listen: ":8080"
  tokens:
    - name: entra
      valueFile: /etc/scim-gateway/secrets/scim-token-entra
admin:
  listen: ":9090"
upstream:
  baseURL: https://portal.example.com/portal
  auth:
    clientID: scim-gateway
    clientSecretFile: /etc/scim-gateway/secrets/upstream-client-secret
`)
	code, _, errOut := runCLI(t, "", "check-config", "--config", path)
	if code != 1 || !strings.Contains(errOut, "server.tokens[0].valueFile: cannot read the file") {
		t.Fatalf("without --skip-files: exit %d, stderr:\n%s", code, errOut)
	}
	code, out, errOut := runCLI(t, "", "check-config", "--skip-files", "--config", path)
	if code != 0 || !strings.Contains(out, "configuration OK") {
		t.Fatalf("--skip-files: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"warning: server.tokens[0].valueFile: /etc/scim-gateway/secrets/scim-token-entra not read (files skipped)",
		"warning: upstream.auth.clientSecretFile: /etc/scim-gateway/secrets/upstream-client-secret not read (files skipped)",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("--skip-files does not say %q:\n%s", want, errOut)
		}
	}
	// Other problems still count.
	writeFile(t, path, "upstream: {timeout: 0s}\n")
	if code, _, errOut := runCLI(t, "", "check-config", "--skip-files", "--config", path); code != 1 || !strings.Contains(errOut, "upstream.timeout") {
		t.Errorf("--skip-files with a bad timeout: exit %d, stderr:\n%s", code, errOut)
	}
}

// TestTranslateNeedsNoSecrets: translate calls nothing, so a configuration without SCIM tokens or
// portal credentials (or with them in absent files) will do; a broken mapping still stops it.
func TestTranslateNeedsNoSecrets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, `
server:
  tokens:
    - name: entra
      valueFile: /etc/scim-gateway/secrets/scim-token-entra
upstream:
  endpoints:
    createUser: {path: /v2/people}
`)
	code, out, errOut := runCLI(t, entraCreate("alice@contoso.com", "alice-ext"), "translate", "--config", path, "--op", "create")
	if code != 0 || !strings.Contains(out, `"path": "/v2/people"`) || errOut != "" {
		t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, entraCreate("alice@contoso.com", "alice-ext"), "translate", "--op", "create")
	if code != 0 {
		t.Fatalf("no --config: exit %d: %s", code, errOut)
	}
	writeFile(t, path, "mapping: {defaultDomain: 'not a domain'}\nupstream: {endpoints: {createUser: {path: relative}}}\n")
	code, _, errOut = runCLI(t, entraCreate("alice@contoso.com", "alice-ext"), "translate", "--config", path)
	if code != 1 || !strings.Contains(errOut, "upstream.endpoints.createUser.path") {
		t.Fatalf("broken endpoint: exit %d: %s", code, errOut)
	}
}

// TestDemoPortsTaken: defaults that are taken give way to free ports, which the banner prints; an
// address asked for with a flag is used or fails, naming it.
func TestDemoPortsTaken(t *testing.T) {
	var taken []string
	for range 3 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		taken = append(taken, ln.Addr().String())
	}
	defaults := demoAddrs{scim: taken[0], admin: taken[1], portal: taken[2]}
	ctx, cancel := context.WithCancel(context.Background())
	out := &lockedWriter{w: &bytes.Buffer{}}
	done := make(chan error, 1)
	go func() { done <- runDemo(ctx, nil, defaults, out, &bytes.Buffer{}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("demo: %v", err)
		}
	}()
	eventually(t, "the demo prints its banner", func() bool { return strings.Contains(out.String(), "Stop with Ctrl-C") })
	banner := out.String()
	for i, flagName := range []string{"listen", "admin-listen", "portal-listen"} {
		if want := "Note: " + taken[i] + " is taken: --" + flagName + " uses a free port instead."; !strings.Contains(banner, want) {
			t.Errorf("banner does not say %q:\n%s", want, banner)
		}
	}
	tenant := regexp.MustCompile(`Tenant URL +(http://\S+)`).FindStringSubmatch(banner)
	token := regexp.MustCompile(`Secret Token +(\S+)`).FindStringSubmatch(banner)
	admin := regexp.MustCompile(`Admin +(http://\S+)`).FindStringSubmatch(banner)
	portal := regexp.MustCompile(`Portal +(http://\S+)`).FindStringSubmatch(banner)
	if tenant == nil || token == nil || admin == nil || portal == nil {
		t.Fatalf("banner lacks an address:\n%s", banner)
	}
	for _, u := range []string{tenant[1], admin[1], portal[1]} {
		for _, tk := range taken {
			if strings.Contains(u, tk) {
				t.Errorf("banner prints the taken address %s: %s", tk, u)
			}
		}
	}
	req, _ := http.NewRequest(http.MethodGet, tenant[1]+"ServiceProviderConfig", nil)
	req.Header.Set("Authorization", "Bearer "+token[1])
	for _, r := range []*http.Request{req, mustRequest(t, admin[1]), mustRequest(t, strings.TrimSuffix(portal[1], "/portal")+"/_sim/stats")} {
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatalf("GET %s: %v", r.URL, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", r.URL, resp.StatusCode)
		}
	}

	// Asked for with a flag, a taken address is an error naming it.
	code, _, errOut := runCLI(t, "", "demo", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--portal-listen", taken[2])
	if code != 1 || !strings.Contains(errOut, taken[2]) {
		t.Errorf("demo --portal-listen %s (taken): exit %d, stderr %q", taken[2], code, errOut)
	}
}

func mustRequest(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestRedisUpMetric: scimgw_redis_up is reported by a gateway on Redis, and not by one on the
// in-memory store (the demo's), which has no Redis to be up.
func TestRedisUpMetric(t *testing.T) {
	memory := newEnv(t, nil)
	if _, m := memory.admin("/metrics", ""); strings.Contains(m, "scimgw_redis_up") {
		t.Errorf("the in-memory store reports scimgw_redis_up:\n%s", grepLines(m, "redis"))
	}
	testkit.RequireSharedRedis(t)
	redis := newEnv(t, withSharedRedis(t))
	eventually(t, "scimgw_redis_up 1", func() bool {
		_, m := redis.admin("/metrics", "")
		return strings.Contains(m, "\nscimgw_redis_up 1\n")
	})
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
