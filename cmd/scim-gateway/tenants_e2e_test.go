package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

const (
	fabToken  = "entra-fabrikam-token-0123456789"
	tailToken = "entra-tailspin-token-0123456789"
)

// tenantsConfig is a gateway with the default tenant on one portal-sim and tenant fabrikam on another,
// sharing one Redis; %[4]s is more tenants.
const tenantsConfig = `
server:
  listen: 127.0.0.1:0
  tokens: [{name: entra, value: ` + e2eToken + `}]
admin:
  listen: 127.0.0.1:0
  token: ` + e2eAdminToken + `
store:
  redis: {url: "redis://` + testkit.SharedRedisAddr + `/0", keyPrefix: "%[3]s"}
upstream:
  baseURL: %[1]s/portal
  auth: {clientID: ` + e2eClientID + `, clientSecret: ` + e2eSecret + `}
mapping: {defaultDomain: corp.example}
tenants:
  - name: fabrikam
    tokens: [{name: entra-fab, value: ` + fabToken + `}]
    upstream:
      baseURL: %[2]s/portal
      auth: {clientID: ` + e2eClientID + `, clientSecret: ` + e2eSecret + `}
      endpoints: {deleteUser: {enabled: false}}
%[4]s`

// tenantBody is a create of login with a given name, so that each tenant's copy can be told apart.
func tenantBody(login, given string) string {
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"` + login + `","active":true,
"externalId":"ext-` + given + `","name":{"givenName":"` + given + `","familyName":"Liddell"},
"emails":[{"type":"work","value":"` + login + `","primary":true}]}`
}

// TestTenantsE2E runs two tenants with separate portal-sims through one gateway and one real Redis,
// and checks that nothing crosses: creates of the same login, reads, filters, an endpoint switch off in
// one tenant only, deletes, metrics, translation records, Redis keys; then a reload that removes a
// tenant and adds one.
func TestTenantsE2E(t *testing.T) {
	testkit.RequireSharedRedis(t)
	simA, srvA := startPortalSim(t)
	simB, srvB := startPortalSim(t)
	prefix := sharedRedisPrefix(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	writeFile(t, path, fmt.Sprintf(tenantsConfig, srvA.URL, srvB.URL, prefix, ""))
	app, cfg, logs := startFileApp(t, path)
	client := &http.Client{Timeout: 30 * time.Second}
	base := "http://" + app.SCIMAddr() + "/scim/v2"
	a := &env{t: t, sim: simA, simSrv: srvA, app: app, cfg: cfg, base: base, logs: logs, client: client}
	b := &env{t: t, sim: simB, simSrv: srvB, app: app, cfg: cfg, base: base, logs: logs, client: client}

	// The same login in both tenants: each its own portal user.
	const login = "alice@contoso.com"
	idA := a.send(http.MethodPost, base+"/Users", e2eToken, tenantBody(login, "AliceA")).want(t, http.StatusCreated).str("id")
	idB := b.send(http.MethodPost, base+"/Users", fabToken, tenantBody(login, "AliceB")).want(t, http.StatusCreated).str("id")
	pa, pb := a.portalUser("contoso.com", "alice"), b.portalUser("contoso.com", "alice")
	if pa.GUIDUser != idA || pb.GUIDUser != idB || strp(pa.FirstName) != "AliceA" || strp(pb.FirstName) != "AliceB" {
		t.Fatalf("portal users: A %+v (id %s), B %+v (id %s)", pa, idA, pb, idB)
	}
	// A second create of the login in fabrikam is a conflict there, not in the default tenant.
	b.send(http.MethodPost, base+"/Users", fabToken, tenantBody(login, "Other")).wantError(t, http.StatusConflict, "uniqueness")
	if n := len(a.portalUsers()); n != 1 {
		t.Fatalf("portal A holds %d users", n)
	}

	// Reads and filters answer each tenant from its own portal.
	for _, c := range []struct {
		e           *env
		token, id   string
		given, path string
	}{{a, e2eToken, idA, "AliceA", ""}, {b, fabToken, idB, "AliceB", ""}, {b, fabToken, idB, "AliceB", "/tenants/fabrikam/scim/v2"}} {
		target := base
		if c.path != "" {
			target = "http://" + app.SCIMAddr() + c.path
		}
		got := c.e.send(http.MethodGet, target+"/Users/"+c.id, c.token, nil).want(t, http.StatusOK)
		if got.str("name", "givenName") != c.given {
			t.Errorf("GET %s as %s: givenName %q, want %q", c.id, c.token, got.str("name", "givenName"), c.given)
		}
		list := c.e.send(http.MethodGet, target+"/Users?filter="+url.QueryEscape(`userName eq "`+login+`"`), c.token, nil).want(t, http.StatusOK)
		res, _ := list.body["Resources"].([]any)
		if len(res) != 1 || res[0].(map[string]any)["id"] != c.id {
			t.Errorf("filter as %s: %s", c.token, list.raw)
		}
	}
	if idA != idB { // the sims may hand out the same guid; then each tenant still reads its own (above)
		a.send(http.MethodGet, base+"/Users/"+idB, e2eToken, nil).want(t, http.StatusNotFound)
	}
	// The path form must agree with the token.
	a.send(http.MethodGet, "http://"+app.SCIMAddr()+"/tenants/fabrikam/scim/v2/Users/"+idB, e2eToken, nil).want(t, http.StatusUnauthorized)

	// deleteUser is switched off in fabrikam only.
	b.send(http.MethodDelete, base+"/Users/"+idB, fabToken, nil).wantError(t, http.StatusServiceUnavailable, "")
	a.send(http.MethodDelete, base+"/Users/"+idA, e2eToken, nil).want(t, http.StatusNoContent)
	a.send(http.MethodGet, base+"/Users/"+idA, e2eToken, nil).want(t, http.StatusNotFound)
	b.send(http.MethodGet, base+"/Users/"+idB, fabToken, nil).want(t, http.StatusOK)
	if u := b.portalUser("contoso.com", "alice"); !u.Enabled {
		t.Errorf("fabrikam's user was disabled by the default tenant's delete: %+v", u)
	}

	// Metrics carry the tenant.
	_, m := a.admin("/metrics", "")
	for _, want := range []string{
		`scimgw_portal_calls_total{op="createUser",status="201",tenant="default"} 1`,
		`scimgw_portal_calls_total{op="createUser",status="201",tenant="fabrikam"} 1`,
		`scimgw_creates_total{outcome="conflict",resource="User",tenant="fabrikam"} 1`,
		`scimgw_scim_requests_total{method="DELETE",route="/scim/v2/Users/:id",status="503",tenant="fabrikam"} 1`,
		`scimgw_scim_requests_total{method="DELETE",route="/scim/v2/Users/:id",status="204",tenant="default"} 1`,
		`scimgw_breaker_state{tenant="fabrikam"} 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(m, `scimgw_creates_total{outcome="conflict",resource="User",tenant="default"}`) {
		t.Error("the default tenant counted fabrikam's conflict")
	}

	// Translation records carry the tenant and filter by it.
	var recs struct {
		Records []struct {
			Tenant, Op, SCIMID, Outcome string
		} `json:"records"`
	}
	_, body := a.admin("/admin/translations?tenant=fabrikam", e2eAdminToken)
	if err := json.Unmarshal([]byte(body), &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs.Records) != 3 { // create, conflict, refused delete
		t.Errorf("fabrikam's records: %s", body)
	}
	for _, r := range recs.Records {
		if r.Tenant != "fabrikam" {
			t.Errorf("record of tenant %q under ?tenant=fabrikam", r.Tenant)
		}
	}

	// Redis: the default tenant's keys are today's, fabrikam's under t:fabrikam:.
	rc := redis.NewClient(&redis.Options{Addr: testkit.SharedRedisAddr})
	defer rc.Close()
	ctx := context.Background()
	keys, err := rc.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var def, fab int
	for _, k := range keys {
		switch {
		case strings.HasPrefix(k, prefix+"t:fabrikam:"):
			fab++
		case strings.HasPrefix(k, prefix+"t:"):
			t.Errorf("key of another namespace: %s", k)
		default:
			def++
		}
	}
	if def == 0 || fab == 0 {
		t.Errorf("keys: %d default, %d fabrikam: %v", def, fab, keys)
	}
	if _, err := rc.Get(ctx, prefix+"t:fabrikam:id:u:"+idB).Result(); err != nil {
		t.Errorf("fabrikam's id mapping of %s: %v", idB, err)
	}

	// /readyz names each tenant's breaker.
	_, ready := a.admin("/readyz", "")
	if !strings.Contains(ready, `"tenants":{`) || !strings.Contains(ready, `"fabrikam":{"breaker":"closed","globalBound":"off"}`) {
		t.Errorf("/readyz: %s", ready)
	}

	// Reconcile per tenant: fabrikam's portal and namespace.
	code, rep := a.admin("/admin/reconcile?tenant=fabrikam&format=json", e2eAdminToken)
	var run struct {
		Summary struct {
			Tenant       string `json:"tenant"`
			Clean        bool   `json:"clean"`
			PortalUsers  int    `json:"portalUsers"`
			StoreEntries int    `json:"storeEntries"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(rep), &run); err != nil || code != http.StatusOK {
		t.Fatalf("reconcile fabrikam: %d %v %s", code, err, rep)
	}
	if s := run.Summary; s.Tenant != "fabrikam" || !s.Clean || s.PortalUsers != 1 || s.StoreEntries == 0 {
		t.Errorf("reconcile fabrikam: %s", rep)
	}

	// Reload: fabrikam goes, tailspin (on portal A) comes; the default tenant's portal client stays.
	before := app.portalClient("default")
	replaceFile(t, path, strings.Replace(fmt.Sprintf(tenantsConfig, srvA.URL, srvB.URL, prefix, ""),
		"  - name: fabrikam\n    tokens: [{name: entra-fab, value: "+fabToken+"}]",
		"  - name: tailspin\n    tokens: [{name: entra-tail, value: "+tailToken+"}]", 1))
	eventually(t, "fabrikam's token is refused", func() bool {
		return b.send(http.MethodGet, base+"/Users/"+idB, fabToken, nil).status == http.StatusUnauthorized
	})
	b.send(http.MethodGet, base+"/Users/"+idB, tailToken, nil).want(t, http.StatusOK) // tailspin took fabrikam's portal block
	if app.portalClient("default") != before {
		t.Error("the default tenant's portal client was rebuilt though its upstream block did not change")
	}
	if app.portalClient("fabrikam") != nil {
		t.Error("fabrikam's client is still in force")
	}
}
