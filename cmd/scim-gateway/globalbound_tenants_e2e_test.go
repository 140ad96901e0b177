package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/internal/testkit"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

// boundTenantsConfig is tenantsConfig with a fleet-wide bound of 2 on the default tenant (portal-sim
// %[1]s) that tenant fabrikam (portal-sim %[2]s) inherits; %[4]s is more tenants.
var boundTenantsConfig = strings.Replace(tenantsConfig, "mapping: {defaultDomain: corp.example}\n",
	"  timeout: 30s\n  maxInFlight: 16\n  queueWait: 60s\n  globalMaxInFlight: 2\nmapping: {defaultDomain: corp.example}\n", 1)

// concurrentGETs sends n concurrent GET /Users/id with token through each gateway of envs, all at once,
// and fails the test unless each answers 200.
func concurrentGETs(t *testing.T, token, id string, n int, envs ...*env) {
	t.Helper()
	var wg sync.WaitGroup
	for _, e := range envs {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, e.base+"/Users/"+id, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := e.client.Do(req)
				if err != nil {
					t.Errorf("GET: %v", err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET through %s: status %d, want 200", e.base, resp.StatusCode)
				}
			}()
		}
	}
	wg.Wait()
}

// tenantsReadiness returns the tenants part of the gateway's /readyz detail.
func (e *env) tenantsReadiness() map[string]struct{ Breaker, GlobalBound string } {
	e.t.Helper()
	_, body := e.admin("/readyz", "")
	var r struct {
		Detail struct {
			GlobalBound string                                           `json:"globalBound"`
			Tenants     map[string]struct{ Breaker, GlobalBound string } `json:"tenants"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		e.t.Fatalf("/readyz %s: %v", body, err)
	}
	return r.Detail.Tenants
}

// TestGlobalBoundPerTenant: each tenant's fleet-wide bound is its own. With every slot of the default
// tenant held by slow portal calls, fabrikam's calls (the same bound of 2, inherited) still go through
// at once, and its own portal never sees more than 2 at a time; each bound has its own Redis keys,
// metrics and /readyz detail. Then a reload adds tenant tailspin with a bound of 1 on a third portal:
// its bound is created and enforced at once.
func TestGlobalBoundPerTenant(t *testing.T) {
	testkit.RequireSharedRedis(t)
	simA, srvA := startPortalSim(t)
	simB, srvB := startPortalSim(t)
	simC, srvC := startPortalSim(t)
	prefix := sharedRedisPrefix(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, fmt.Sprintf(boundTenantsConfig, srvA.URL, srvB.URL, prefix, ""))
	app, cfg, logs := startFileApp(t, path)
	client := &http.Client{Timeout: 60 * time.Second}
	base := "http://" + app.SCIMAddr() + "/scim/v2"
	a := &env{t: t, sim: simA, simSrv: srvA, app: app, cfg: cfg, base: base, logs: logs, client: client}
	b := &env{t: t, sim: simB, simSrv: srvB, app: app, cfg: cfg, base: base, logs: logs, client: client}
	c := &env{t: t, sim: simC, simSrv: srvC, app: app, cfg: cfg, base: base, logs: logs, client: client}
	rc := redis.NewClient(&redis.Options{Addr: testkit.SharedRedisAddr})
	defer rc.Close()
	ctx := context.Background()
	holders := func(tenant string) int64 {
		ns := ""
		if tenant != config.DefaultTenant {
			ns = "t:" + tenant + ":"
		}
		n, err := rc.ZCard(ctx, prefix+ns+"portal-slots:{"+tenant+"}:holders").Result()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	idA := a.send(http.MethodPost, base+"/Users", e2eToken, tenantBody("alice@contoso.com", "AliceA")).want(t, http.StatusCreated).str("id")
	idB := b.send(http.MethodPost, base+"/Users", fabToken, tenantBody("bob@contoso.com", "BobB")).want(t, http.StatusCreated).str("id")

	// Both of the default tenant's slots are held by calls its portal answers only after 3 s.
	a.setFaults(func(f *portalsim.Faults) { f.LatencyMs = 3000 })
	slow := make(chan answer, 2)
	for range 2 {
		go func() { slow <- a.send(http.MethodGet, base+"/Users/"+idA, e2eToken, nil) }()
	}
	waitFor(t, "both of the default tenant's slots held", func() bool { return simA.Stats().InFlight == 2 })
	if got := holders(config.DefaultTenant); got != 2 {
		t.Fatalf("the default tenant's bound holds %d slots in Redis, want 2", got)
	}

	// fabrikam's calls are not queued behind them: 8 at once on its bound of 2 all answer while the
	// default tenant's calls are still at its portal, and fabrikam's portal sees at most 2 at a time.
	b.setFaults(func(f *portalsim.Faults) { f.LatencyMs = 30 })
	concurrentGETs(t, fabToken, idB, 8, b)
	if got := simA.Stats().InFlight; got != 2 {
		t.Fatalf("the default tenant's portal has %d calls in flight after fabrikam's GETs, want its 2 slow ones still there: fabrikam waited for them", got)
	}
	if peak := simB.Stats().PeakInFlight; peak > 2 || peak < 1 {
		t.Fatalf("fabrikam's portal peak concurrency %d, want 1 to 2 (its own bound of 2)", peak)
	}
	if got := b.metricValue(`scimgw_portal_global_waits_total{tenant="fabrikam"}`); got == 0 {
		t.Fatal("no fabrikam call queued for its fleet-wide slots: its bound was not applied")
	}
	// (slots_in_use is what Redis answered last, in whatever order the answers came: not checked.)
	for _, tenant := range []string{config.DefaultTenant, "fabrikam"} {
		if got := a.metricValue(`scimgw_portal_global_slots_limit{tenant="` + tenant + `"}`); got != 2 {
			t.Errorf("scimgw_portal_global_slots_limit of %s = %v, want 2", tenant, got)
		}
	}
	if r := a.tenantsReadiness(); r["fabrikam"].GlobalBound != "enforced" || r["default"].GlobalBound != "enforced" {
		t.Errorf("/readyz tenants %+v, want both bounds enforced", r)
	}
	if got := a.globalBoundDetail(); got != "enforced" {
		t.Errorf("/readyz globalBound %q, want the default tenant's: enforced", got)
	}
	for range 2 {
		(<-slow).want(t, http.StatusOK)
	}
	a.setFaults(func(f *portalsim.Faults) { f.LatencyMs = 0 })

	// Reload: tailspin joins on a third portal with a bound of 1 of its own.
	replaceFile(t, path, fmt.Sprintf(boundTenantsConfig, srvA.URL, srvB.URL, prefix, `  - name: tailspin
    tokens: [{name: entra-tail, value: `+tailToken+`}]
    upstream:
      baseURL: `+srvC.URL+`/portal
      auth: {clientID: `+e2eClientID+`, clientSecret: `+e2eSecret+`}
      globalMaxInFlight: 1
`))
	eventually(t, "tailspin's token accepted", func() bool {
		return c.send(http.MethodGet, base+"/Users?count=1", tailToken, nil).status == http.StatusOK
	})
	idC := c.send(http.MethodPost, base+"/Users", tailToken, tenantBody("carol@contoso.com", "CarolC")).want(t, http.StatusCreated).str("id")
	c.setFaults(func(f *portalsim.Faults) { f.LatencyMs = 30 })
	concurrentGETs(t, tailToken, idC, 6, c)
	if peak := simC.Stats().PeakInFlight; peak != 1 {
		t.Fatalf("tailspin's portal peak concurrency %d, want 1 (its bound)", peak)
	}
	if got := c.metricValue(`scimgw_portal_global_slots_limit{tenant="tailspin"}`); got != 1 {
		t.Errorf(`scimgw_portal_global_slots_limit{tenant="tailspin"} = %v, want 1`, got)
	}
	if got := c.metricValue(`scimgw_portal_global_waits_total{tenant="tailspin"}`); got == 0 {
		t.Error("no tailspin call queued for its one fleet-wide slot")
	}
	if r := c.tenantsReadiness(); r["tailspin"].GlobalBound != "enforced" {
		t.Errorf("/readyz tenants %+v, want tailspin's bound enforced", r)
	}
	if n, err := rc.Get(ctx, prefix+"t:tailspin:portal-slots:{tailspin}:ticket").Int64(); err != nil || n == 0 {
		t.Errorf("tailspin's queue tickets in Redis: %d, %v", n, err)
	}
	for _, tenant := range []string{config.DefaultTenant, "fabrikam", "tailspin"} {
		if got := holders(tenant); got != 0 {
			t.Errorf("tenant %s's bound still holds %d slots with no call in flight", tenant, got)
		}
	}
}
