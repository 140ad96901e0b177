package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, nil, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, `
server:
  listen: "nope"
  tokens: []
upstream:
  baseURL: "ftp://portal"
deprovision:
  onDelete: shred
`)
	code, _, errOut := runCLI(t, "", "check-config", "--config", bad)
	if code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	for _, want := range []string{"server.listen", "server.tokens", "upstream.baseURL", "deprovision.onDelete", "upstream.auth.clientID"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("check-config output lacks %s:\n%s", want, errOut)
		}
	}
	code, out, errOut := runCLI(t, "", "check-config", "--config", "../../config/example.yaml")
	if code != 0 || !strings.Contains(out, "configuration OK") {
		t.Fatalf("example.yaml: exit %d: %s %s", code, out, errOut)
	}
}

func TestTranslateCommand(t *testing.T) {
	cfgPath := "../../config/example.yaml"
	t.Run("create", func(t *testing.T) {
		code, out, errOut := runCLI(t, entraCreate("alice@contoso.com", "alice-ext"), "translate", "--config", cfgPath, "--op", "create")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var tr translation
		if err := json.Unmarshal([]byte(out), &tr); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if len(tr.Calls) != 1 || tr.Calls[0].Op != "createUser" || tr.Calls[0].Method != http.MethodPost {
			t.Fatalf("calls: %s", out)
		}
		body, _ := json.Marshal(tr.Calls[0].Body)
		for _, want := range []string{`"userName":"alice"`, `"domain":"contoso.com"`, `"contactEmail":"alice.smith@contoso.com"`, `"department":"Sales"`} {
			if !strings.Contains(string(body), want) {
				t.Errorf("create body lacks %s: %s", want, body)
			}
		}
		if len(tr.Changes) == 0 {
			t.Fatal("no changes explained")
		}
	})
	t.Run("patch against a SCIM user", func(t *testing.T) {
		cur := filepath.Join(t.TempDir(), "current.json")
		writeFile(t, cur, entraCreate("alice@contoso.com", "alice-ext"))
		code, out, errOut := runCLI(t, patchPrefix+`[{"op":"Replace","path":"active","value":"False"},{"op":"Replace","path":"title","value":"Boss"}]}`,
			"translate", "--config", cfgPath, "--op", "patch", "--current", cur)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var tr translation
		if err := json.Unmarshal([]byte(out), &tr); err != nil {
			t.Fatal(err)
		}
		if len(tr.Calls) != 2 || tr.Calls[0].Op != "updateUser" || tr.Calls[1].Op != "disableUser" || tr.Calls[1].Path != "/api/usersync/v1/users(1)/disable" {
			t.Fatalf("calls: %s", out)
		}
		if b, _ := json.Marshal(tr.Calls[0].Body); string(b) != `{"properties":{"title":"Boss"}}` {
			t.Fatalf("PATCH body = %s", b)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		if code, _, errOut := runCLI(t, `{"userName": 7}`, "translate", "--config", cfgPath); code != 1 || !strings.Contains(errOut, "userName") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if code, _, _ := runCLI(t, `{}`, "translate", "--config", cfgPath, "--op", "patch"); code != 1 {
			t.Fatalf("patch without --current: exit %d", code)
		}
	})
}

func TestProbeAndVersion(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer down.Close()
	if code, _, errOut := runCLI(t, "", "probe", "--url", ok.URL); code != 0 {
		t.Fatalf("probe of a 200: exit %d %s", code, errOut)
	}
	if code, _, _ := runCLI(t, "", "probe", "--url", down.URL); code != 1 {
		t.Fatalf("probe of a 503: exit %d", code)
	}
	if code, out, _ := runCLI(t, "", "version"); code != 0 || strings.TrimSpace(out) != version {
		t.Fatalf("version: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "", "frobnicate"); code != 2 {
		t.Fatalf("unknown command: exit %d", code)
	}
}

func TestDemoStarts(t *testing.T) {
	d, err := startDemo("127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "", &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.app.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { d.app.Shutdown(); _ = d.portalSrv.Close() }()
	banner := d.banner()
	if !strings.Contains(banner, "http://"+d.app.SCIMAddr()+"/scim/v2/") || !strings.Contains(banner, d.token) {
		t.Fatalf("banner:\n%s", banner)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+d.app.SCIMAddr()+"/scim/v2/Users",
		strings.NewReader(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@contoso.com","active":true}`))
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("demo create: %d", resp.StatusCode)
	}
}
