package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fileEnv is a gateway started from a configuration file (so that it reloads), in front of portal-sim.
type fileEnv struct {
	*env
	dir  string
	path string
}

const fileConfig = `
server:
  listen: 127.0.0.1:0
  tokens:
    - name: entra
      valueFile: %[1]s/token
admin:
  listen: 127.0.0.1:0
  token: ` + e2eAdminToken + `
upstream:
  baseURL: %[2]s/portal
  auth:
    clientID: ` + e2eClientID + `
    clientSecret: ` + e2eSecret + `
%[3]s
`

func newFileEnv(t *testing.T, extra string) *fileEnv {
	t.Helper()
	sim, simSrv := startPortalSim(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "token"), e2eToken+"\n")
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, fmt.Sprintf(fileConfig, dir, simSrv.URL, extra))
	app, cfg, logs := startFileApp(t, path)
	e := &env{t: t, sim: sim, simSrv: simSrv, app: app, cfg: cfg, base: "http://" + app.SCIMAddr() + "/scim/v2",
		logs: logs, client: &http.Client{Timeout: 30 * time.Second}}
	return &fileEnv{env: e, dir: dir, path: path}
}

// rewrite replaces the configuration file the way an editor or kubectl does: a new file renamed over it.
func (f *fileEnv) rewrite(extra string) {
	f.t.Helper()
	replaceFile(f.t, f.path, fmt.Sprintf(fileConfig, f.dir, f.simSrv.URL, extra))
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds, failing the test after a generous timeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) admin(path, token string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+e.app.AdminAddr()+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReloadUnderLoadAndTokenRotation(t *testing.T) {
	f := newFileEnv(t, "")
	id := f.scim(http.MethodPost, "/Users", entraCreate("rot@contoso.com", "rot")).want(t, http.StatusCreated).str("id")

	// Load: GETs with the current token, all through the reloads below; none may fail.
	ctx, cancel := context.WithCancel(context.Background())
	var failed, done atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				req, _ := http.NewRequest(http.MethodGet, f.base+"/Users/"+id, nil)
				req.Header.Set("Authorization", "Bearer "+e2eToken)
				resp, err := f.client.Do(req)
				if err != nil || resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				if resp != nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				done.Add(1)
			}
		}()
	}

	// A rotation: the second token joins through the config file, requests keep flowing.
	const next = "entra-next-token-0123456789"
	writeFile(t, filepath.Join(f.dir, "next"), next)
	writeFile(t, f.path+".tmp", strings.Replace(fmt.Sprintf(fileConfig, f.dir, f.simSrv.URL, ""),
		"      valueFile: "+f.dir+"/token\n",
		"      valueFile: "+f.dir+"/token\n    - name: entra-next\n      valueFile: "+f.dir+"/next\n", 1))
	if err := os.Rename(f.path+".tmp", f.path); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the new token is accepted", func() bool {
		return f.send(http.MethodGet, f.base+"/Users/"+id, next, nil).status == http.StatusOK
	})
	// An invalid file is refused; the running configuration stays.
	writeFile(t, f.path+".tmp", "server: [this is not a mapping\n")
	if err := os.Rename(f.path+".tmp", f.path); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the invalid reload is counted", func() bool {
		_, m := f.admin("/metrics", "")
		return strings.Contains(m, `scimgw_config_reloads_total{result="invalid"} 1`)
	})
	f.send(http.MethodGet, f.base+"/Users/"+id, next, nil).want(t, http.StatusOK)
	f.rewrite("")
	eventually(t, "the valid file is back and entra-next is gone", func() bool {
		return f.send(http.MethodGet, f.base+"/Users/"+id, next, nil).status == http.StatusUnauthorized
	})
	// The old token's file is rotated: the old value stops working.
	writeFile(t, filepath.Join(f.dir, "token.tmp"), "entra-third-token-0123456789")
	if err := os.Rename(filepath.Join(f.dir, "token.tmp"), filepath.Join(f.dir, "token")); err != nil {
		t.Fatal(err)
	}
	cancel()
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d of %d requests failed during the reloads", failed.Load(), done.Load())
	}
	if done.Load() == 0 {
		t.Fatal("no request ran during the reloads")
	}
	eventually(t, "the rotated-out token is refused", func() bool {
		return f.send(http.MethodGet, f.base+"/Users/"+id, e2eToken, nil).status == http.StatusUnauthorized
	})
	f.send(http.MethodGet, f.base+"/Users/"+id, "entra-third-token-0123456789", nil).want(t, http.StatusOK)
	if s, body := f.admin("/readyz", ""); s != http.StatusOK || strings.Contains(body, `"configVersion":1`) {
		t.Fatalf("/readyz after reloads: %d %s", s, body)
	}
}

func TestReloadSwitchesAnEndpointOff(t *testing.T) {
	f := newFileEnv(t, "")
	f.rewrite(`  endpoints:
    createUser: {enabled: false}`)
	eventually(t, "the reload is in force", func() bool {
		_, body := f.admin("/readyz", "")
		return strings.Contains(body, `"configVersion":2`)
	})
	a := f.scim(http.MethodPost, "/Users", entraCreate("off@contoso.com", "off")).wantError(t, http.StatusServiceUnavailable, "")
	if !strings.Contains(a.str("detail"), "upstream.endpoints.createUser") {
		t.Fatalf("detail %q", a.str("detail"))
	}
	if n := len(f.portalUsers()); n != 0 {
		t.Fatalf("portal holds %d users", n)
	}
}

// TestLogsCarryNoPII checks every log line after traffic: no raw email, phone, name or token.
func TestLogsCarryNoPII(t *testing.T) {
	e := newEnv(t, nil)
	id := e.scim(http.MethodPost, "/Users", entraCreate("alice.smith@contoso.com", "alice-ext")).want(t, http.StatusCreated).str("id")
	e.scim(http.MethodGet, filterPath(`userName eq "alice.smith@contoso.com"`), nil).want(t, http.StatusOK)
	e.scim(http.MethodPatch, "/Users/"+id, patchPrefix+`[{"op":"Replace","path":"phoneNumbers[type eq \"mobile\"].value","value":"+44 20 7946 0958"}]}`).
		want(t, http.StatusNoContent)
	e.scim(http.MethodPost, "/Users", `{"userName":"bad@contoso.com","emails":[{"type":"work","value":"broken-address"}]}`).want(t, http.StatusBadRequest)
	logs := e.logs.String()
	if !strings.Contains(logs, `"log":"translation"`) || !strings.Contains(logs, `scim request`) {
		t.Fatalf("expected translation and access records in the logs:\n%s", logs)
	}
	for _, raw := range []string{"alice.smith@contoso.com", "alice.smith", "+1 (555) 0100", "+44 20 7946 0958", "Alice Smith", "Smith",
		"broken-address", e2eToken, e2eSecret} {
		if strings.Contains(logs, raw) {
			t.Errorf("a log line shows %q", raw)
		}
	}
}

func TestAdminTranslationsAndMetrics(t *testing.T) {
	e := newEnv(t, nil)
	e.scim(http.MethodPost, "/Users", entraCreate("nora@contoso.com", "nora")).want(t, http.StatusCreated)
	e.scim(http.MethodPost, "/Users", entraCreate("nora@contoso.com", "nora")).want(t, http.StatusConflict)

	if s, _ := e.admin("/admin/translations", ""); s != http.StatusUnauthorized {
		t.Fatalf("/admin/translations without the admin token: %d", s)
	}
	s, body := e.admin("/admin/translations?userName=NORA@contoso.com&op=create", e2eAdminToken)
	if s != http.StatusOK {
		t.Fatalf("/admin/translations: %d %s", s, body)
	}
	for _, want := range []string{`"outcome":"created"`, `"outcome":"conflict"`, `"portal":"contactEmail"`,
		`"op":"createUser"`, `"status":201`, `"status":409`} {
		if !strings.Contains(body, want) {
			t.Errorf("translations lack %s:\n%s", want, body)
		}
	}
	if strings.Contains(body, "nora@contoso.com") {
		t.Error("translations show the raw userName")
	}

	_, m := e.admin("/metrics", "")
	for _, want := range []string{
		`scimgw_scim_requests_total{method="POST",route="/scim/v2/Users",status="201",tenant="default"} 1`,
		`scimgw_scim_requests_total{method="POST",route="/scim/v2/Users",status="409",tenant="default"} 1`,
		`scimgw_portal_calls_total{op="createUser",status="201",tenant="default"} 1`,
		`scimgw_creates_total{outcome="created",resource="User",tenant="default"} 1`,
		`scimgw_creates_total{outcome="conflict",resource="User",tenant="default"} 1`,
		`scimgw_translations_total{op="create",outcome="created",tenant="default"} 1`,
		`scimgw_breaker_state{tenant="default"} 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestShutdownFailsReadinessFirst(t *testing.T) {
	e := newEnv(t, nil)
	e.app.opts.DrainDelay = 3 * time.Second // long enough for the checks below on a loaded machine
	go e.app.Shutdown()
	eventually(t, "readiness fails", func() bool {
		s, _ := e.admin("/readyz", "")
		return s == http.StatusServiceUnavailable
	})
	// Still serving while the load balancer catches up.
	e.scim(http.MethodGet, "/ServiceProviderConfig", nil).want(t, http.StatusOK)
}
