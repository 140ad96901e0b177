package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/scim-gateway/scim-gateway/gateway/reconcile"
	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/internal/testkit"
	"github.com/scim-gateway/scim-gateway/internal/wiring"
)

// End-to-end proof of issue #16: `scim-gateway reconcile` and GET /admin/reconcile against a real
// portal-sim and the real Redis a gateway provisioned through.

// reconcileConfig is a configuration file for the reconcile command; the fifth argument is more YAML
// under upstream.
const reconcileConfig = `
server:
  tokens: [{name: entra, value: %[1]q}]
store:
  redis:
    url: %[2]q
    keyPrefix: %[3]q
upstream:
  baseURL: %[4]q
  auth:
    clientID: ` + e2eClientID + `
    clientSecret: ` + e2eSecret + `
%[5]s
mapping:
  defaultDomain: corp.example
`

// writeReconcileConfig writes the reconcile configuration of e (its portal, Redis URL and key prefix)
// with more YAML under upstream (indented by two spaces), and returns its path.
func writeReconcileConfig(t *testing.T, portalURL, redisURL, prefix, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, fmt.Sprintf(reconcileConfig, e2eToken, redisURL, prefix, portalURL+"/portal", extra))
	return path
}

// portalPost creates a record straight in the portal's API (not through the gateway) and returns its
// portal key.
func (e *env) portalPost(t *testing.T, path, body string) int64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.simSrv.URL+"/portal/api/usersync/v1"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e2ePortalToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("portal POST %s: %d %s", path, resp.StatusCode, raw)
	}
	var rec struct {
		IDUser  int64 `json:"idUser"`
		IDGroup int64 `json:"idGroup"`
	}
	_ = json.Unmarshal(raw, &rec)
	return rec.IDUser + rec.IDGroup
}

// redisDump returns every key under prefix with its DUMP (the value and its type, byte for byte).
func redisDump(t *testing.T, prefix string) map[string]string {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: testkit.SharedRedisAddr})
	defer c.Close()
	ctx := context.Background()
	out := map[string]string{}
	iter := c.Scan(ctx, 0, prefix+"*", 200).Iterator()
	for iter.Next(ctx) {
		v, err := c.Dump(ctx, iter.Val()).Result()
		if err != nil {
			t.Fatalf("DUMP %s: %v", iter.Val(), err)
		}
		out[iter.Val()] = v
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReconcileFindsPlantedDrift plants every kind of drift (through the gateway, the portal's API and
// store keys written in the setup) and expects the reconcile command and GET /admin/reconcile to report
// exactly it, exit 1, and leave the portal and Redis as they were.
func TestReconcileFindsPlantedDrift(t *testing.T) {
	testkit.RequireSharedRedis(t)
	e := newEnv(t, withSharedRedis(t))
	prefix := e.cfg.Store.Redis.KeyPrefix

	// Provisioned through the gateway: not drift.
	e.scim(http.MethodPost, "/Users", entraCreate("alice@contoso.com", "alice-ext")).want(t, http.StatusCreated)
	carol := e.scim(http.MethodPost, "/Users", entraCreate("carol@contoso.com", "carol-ext")).want(t, http.StatusCreated).str("id")
	e.scim(http.MethodPost, "/Groups", entraGroupCreate("Staff", "staff-ext", carol)).want(t, http.StatusCreated)
	// Deleted through the gateway, then enabled again by hand in the portal.
	bob := e.scim(http.MethodPost, "/Users", entraCreate("bob@contoso.com", "bob-ext")).want(t, http.StatusCreated).str("id")
	e.scim(http.MethodDelete, "/Users/"+bob, nil).want(t, http.StatusNoContent)
	e.portalPost(t, fmt.Sprintf("/users(%d)/enable", e.portalUser("contoso.com", "bob").IDUser), "")
	// Deleted through the gateway while still a member of Staff.
	e.scim(http.MethodDelete, "/Users/"+carol, nil).want(t, http.StatusNoContent)
	// Made by hand in the portal.
	e.portalPost(t, "/users", `{"userName":"handmade","domain":"corp.example"}`)
	e.portalPost(t, "/groups", `{"name":"Handmade Group"}`)
	e.portalPost(t, "/users", `{"userName":"dup1","domain":"corp.example","externalKey":"shared-ext"}`)
	e.portalPost(t, "/users", `{"userName":"dup2","domain":"corp.example","externalKey":"shared-ext"}`)
	e.portalPost(t, "/groups", `{"name":"Dup A","externalKey":"shared-group-ext"}`)
	e.portalPost(t, "/groups", `{"name":"Dup B","externalKey":"shared-group-ext"}`)
	// Store entries naming records the portal does not have.
	kv, err := store.NewRedis(wiring.RedisOptions(e.cfg.Store.Redis), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	st, ctx := store.New(kv, store.Options{LocalIDs: -1}), context.Background()
	for _, err := range []error{
		st.RememberPortalKey(ctx, store.User, "ghost-user", 4242),
		st.Remember(ctx, store.User, store.Login, `corp.example\ghost`, "ghost-user"),
		st.PutCreateRecord(ctx, store.Group, "ghost group", store.CreateRecord{Fingerprint: "fp", ID: "ghost-group"}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	wantKinds := map[string][]string{
		reconcile.KindUnmanaged:           {`user corp.example\handmade`, "group Handmade Group"},
		reconcile.KindDeletedButEnabled:   {`user contoso.com\bob`, `group Staff contoso.com\carol`},
		reconcile.KindDuplicateExternalID: {`user corp.example\dup1`, `user corp.example\dup2`, "group Dup A", "group Dup B"},
		reconcile.KindStaleMapping: {
			"user " + prefix + "by:u:login:" + store.Digest(`corp.example\ghost`),
			"user " + prefix + "id:u:ghost-user",
			"group " + prefix + "create:g:" + store.Digest("ghost group"),
		},
	}
	check := func(t *testing.T, rep reconcile.Report) {
		t.Helper()
		got := map[string][]string{}
		for _, f := range rep.Findings {
			line := f.Resource + " " + strings.TrimSpace(f.Group+" "+f.Login)
			if f.Kind == reconcile.KindStaleMapping {
				line = f.Resource + " " + f.StoreKey
			}
			got[f.Kind] = append(got[f.Kind], line)
		}
		if !maps.EqualFunc(got, wantKinds, slices.Equal) {
			t.Fatalf("findings by kind:\n%v\nwant:\n%v", got, wantKinds)
		}
		if rep.Summary.Clean || rep.Summary.Findings != 11 || rep.Summary.ByKind[reconcile.KindStaleMapping] != 3 {
			t.Fatalf("summary = %+v", rep.Summary)
		}
	}

	redisBefore, writesBefore := redisDump(t, prefix), e.portalWrites()
	path := writeReconcileConfig(t, e.simSrv.URL, e.cfg.Store.Redis.URL, prefix, "")

	t.Run("json", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "reconcile", "--config", path, "--format", "json")
		if code != 1 {
			t.Fatalf("exit %d, want 1 (drift); stderr:\n%s", code, errOut)
		}
		var rep reconcile.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("output is not the JSON report: %v\n%s", err, out)
		}
		check(t, rep)
		if errOut != "" {
			t.Fatalf("stderr is not a terminal, so no progress; got %q", errOut)
		}
	})
	t.Run("table", func(t *testing.T) {
		code, out, _ := runCLI(t, "", "reconcile", "--config", path)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 1 || len(lines) != 11+4+1 {
			t.Fatalf("exit %d, %d lines, want 1 and 16 (a heading per kind, a line per finding, a summary):\n%s", code, len(lines), out)
		}
		for _, want := range []string{"unmanaged (2)", "deletedButEnabled (2)", "duplicateExternalId (4)", "staleMapping (3)",
			`corp.example\handmade`, "key=" + prefix + "id:u:ghost-user"} {
			if !strings.Contains(out, want) {
				t.Errorf("table lacks %q:\n%s", want, out)
			}
		}
		if !strings.HasPrefix(lines[len(lines)-1], "drift: 11 finding(s) (2 unmanaged, 2 deletedButEnabled, 4 duplicateExternalId, 3 staleMapping)") {
			t.Errorf("summary line = %q", lines[len(lines)-1])
		}
	})
	t.Run("admin", func(t *testing.T) {
		if status, _ := e.admin("/admin/reconcile", ""); status != http.StatusUnauthorized {
			t.Fatalf("without the admin token: %d", status)
		}
		status, body := e.admin("/admin/reconcile", e2eAdminToken)
		var rep reconcile.Report
		if status != http.StatusOK || json.Unmarshal([]byte(body), &rep) != nil {
			t.Fatalf("GET /admin/reconcile: %d %s", status, body)
		}
		check(t, rep)
		_, metricsText := e.admin("/metrics", "")
		for kind, list := range wantKinds {
			want := `scimgw_reconcile_findings{kind="` + kind + `"} ` + strconv.Itoa(len(list))
			if !strings.Contains(metricsText, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		if !strings.Contains(metricsText, `scimgw_reconcile_runs_total{result="drift"} 1`) {
			t.Error("metrics lack the drift run")
		}
	})

	if after := redisDump(t, prefix); !maps.Equal(redisBefore, after) {
		t.Errorf("Redis changed under %s: %d keys before, %d after", prefix, len(redisBefore), len(after))
	}
	if after := e.portalWrites(); after != writesBefore {
		t.Errorf("portal writes went from %d to %d", writesBefore, after)
	}
}

// TestReconcileClean: users and groups provisioned only through the gateway are no drift: exit 0.
func TestReconcileClean(t *testing.T) {
	testkit.RequireSharedRedis(t)
	e := newEnv(t, withSharedRedis(t))
	var ids []string
	for i := range 3 {
		ids = append(ids, e.scim(http.MethodPost, "/Users", entraCreate(fmt.Sprintf("user%d@contoso.com", i), fmt.Sprintf("ext-%d", i))).
			want(t, http.StatusCreated).str("id"))
	}
	e.scim(http.MethodPost, "/Groups", entraGroupCreate("Staff", "staff-ext", ids...)).want(t, http.StatusCreated)
	path := writeReconcileConfig(t, e.simSrv.URL, e.cfg.Store.Redis.URL, e.cfg.Store.Redis.KeyPrefix, "")
	code, out, errOut := runCLI(t, "", "reconcile", "--config", path)
	if code != 0 || !strings.HasPrefix(out, "clean: 0 finding(s)") || !strings.Contains(out, "3 portal users, 1 portal groups") {
		t.Fatalf("exit %d, want 0; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}

// TestReconcileCannotRun: exit 2, saying which side or what is wrong, without a report on stdout.
func TestReconcileCannotRun(t *testing.T) {
	testkit.RequireSharedRedis(t)
	sim, simSrv := startPortalSim(t)
	redisURL := "redis://" + testkit.SharedRedisAddr + "/0"
	prefix := sharedRedisPrefix(t)
	deadPort := strconv.Itoa(testkit.FreePort(t))
	cases := []struct {
		name, portal, redis, extra string
		args                       []string
		want                       string
	}{
		{"portal unreachable", "http://127.0.0.1:" + deadPort, redisURL, "", nil, "could not run: portal unreachable"},
		{"redis unreachable", simSrv.URL, "redis://127.0.0.1:" + deadPort + "/0", "", nil, "could not run: Redis unreachable"},
		{"list endpoint switched off", simSrv.URL, redisURL, "  endpoints:\n    listGroups: {enabled: false}\n", nil,
			"upstream.endpoints.listGroups is disabled in config"},
		{"unknown tenant", simSrv.URL, redisURL, "", []string{"--tenant", "fabrikam"}, `unknown tenant "fabrikam"`},
		{"bad format", simSrv.URL, redisURL, "", []string{"--format", "xml"}, "--format"},
		{"no redis", simSrv.URL, "", "", nil, "no Redis configured"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeReconcileConfig(t, c.portal, c.redis, prefix, c.extra)
			code, out, errOut := runCLI(t, "", append([]string{"reconcile", "--config", path}, c.args...)...)
			if code != 2 || out != "" || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, want 2; stdout %q; stderr lacks %q:\n%s", code, out, c.want, errOut)
			}
		})
	}
	if got := sim.Stats().Total; got != 0 {
		t.Fatalf("the portal served %d calls to runs that could not run", got)
	}
}
