package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/internal/testkit"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

// End-to-end proof of the fleet-wide portal bound (upstream.globalMaxInFlight): replicas sharing a
// Redis never have more portal calls in flight than the bound, a call that finds no slot within the
// queue wait answers 503, and the slots of a killed replica come back within the lease.

// envRunMain makes the test binary run the gateway's main instead of the tests: a real gateway
// process, for tests that kill one.
const envRunMain = "SCIMGW_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// withGlobalBound sets the fleet-wide bound with a long queue wait and a local bound above it.
func withGlobalBound(limit int, lease time.Duration) func(c *config.Config) {
	return func(c *config.Config) {
		c.Upstream.GlobalMaxInFlight = limit
		c.Upstream.GlobalLease = lease
		c.Upstream.MaxInFlight = 16
		c.Upstream.QueueWait = 60 * time.Second
	}
}

// metricValue returns the value of one series of the gateway's /metrics, 0 when it is absent.
func (e *env) metricValue(series string) float64 {
	e.t.Helper()
	_, body := e.admin("/metrics", "")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		e.t.Fatalf("metric %s: %v", series, err)
	}
	return v
}

// globalBoundDetail returns the globalBound detail of the gateway's /readyz.
func (e *env) globalBoundDetail() string {
	e.t.Helper()
	_, body := e.admin("/readyz", "")
	var r struct {
		Detail struct {
			GlobalBound string `json:"globalBound"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		e.t.Fatalf("/readyz %s: %v", body, err)
	}
	return r.Detail.GlobalBound
}

// TestGlobalBoundAcrossReplicas sends 36 concurrent GETs through three replicas (a local bound of 16
// each) with the portal at 30 ms: the portal never sees more than the fleet-wide 3 at once, and
// every GET is answered.
func TestGlobalBoundAcrossReplicas(t *testing.T) {
	const bound, perReplica = 3, 12
	e := newEnv(t, withSharedRedis(t, withGlobalBound(bound, 5*time.Second)))
	id := e.scim(http.MethodPost, "/Users", `{"userName":"ada@contoso.com","active":true}`).want(t, http.StatusCreated).str("id")
	replicas := []*env{e, startReplica(t, e, nil), startReplica(t, e, nil)}
	e.setFaults(func(f *portalsim.Faults) { f.LatencyMs = 30 })

	concurrentGETs(t, e2eToken, id, perReplica, replicas...)
	stats := e.sim.Stats()
	if stats.PeakInFlight > bound {
		t.Fatalf("portal peak concurrency %d, want at most the fleet-wide bound %d", stats.PeakInFlight, bound)
	}
	t.Logf("portal peak concurrency %d with a fleet-wide bound of %d and %d concurrent GETs", stats.PeakInFlight, bound, perReplica*len(replicas))
	var waits float64
	for _, r := range replicas {
		if got := r.globalBoundDetail(); got != "enforced" {
			t.Fatalf("/readyz globalBound %q, want enforced", got)
		}
		waits += r.metricValue(`scimgw_portal_global_waits_total{tenant="default"}`)
	}
	if waits == 0 {
		t.Fatalf("scimgw_portal_global_waits_total is 0 on every replica, want queued calls")
	}
	if got := e.metricValue(`scimgw_portal_global_slots_limit{tenant="default"}`); got != bound {
		t.Fatalf("scimgw_portal_global_slots_limit %v, want %d", got, bound)
	}
}

// TestGlobalBoundQueueFull: with the only fleet-wide slot held by one replica's slow call, another
// replica's call answers 503 with Retry-After once upstream.queueWait has passed, without calling the
// portal; the slow call still succeeds.
func TestGlobalBoundQueueFull(t *testing.T) {
	e := newEnv(t, withSharedRedis(t, withGlobalBound(1, 5*time.Second), func(c *config.Config) {
		c.Upstream.QueueWait = 200 * time.Millisecond
	}))
	id := e.scim(http.MethodPost, "/Users", `{"userName":"ada@contoso.com","active":true}`).want(t, http.StatusCreated).str("id")
	other := startReplica(t, e, nil)
	e.setFaults(func(f *portalsim.Faults) { f.LatencyMs = 1500 })

	slow := make(chan answer, 1)
	go func() { slow <- e.send(http.MethodGet, e.base+"/Users/"+id, e2eToken, nil) }()
	waitFor(t, "the slow call at the portal", func() bool { return e.sim.Stats().InFlight == 1 })
	before := e.sim.Stats().Total
	ans := other.scim(http.MethodGet, "/Users/"+id, nil).wantError(t, http.StatusServiceUnavailable, "")
	if ans.header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After: %s", ans.raw)
	}
	if got := e.sim.Stats().Total; got != before {
		t.Fatalf("portal calls %d then %d: the refused call reached the portal", before, got)
	}
	(<-slow).want(t, http.StatusOK)
	if got := other.metricValue(`scimgw_portal_global_wait_seconds_count{result="timeout",tenant="default"}`); got != 1 {
		t.Fatalf(`scimgw_portal_global_wait_seconds_count{result="timeout"} %v, want 1`, got)
	}
}

// gatewayProcess is a scim-gateway serving in a child process (the test binary running main).
type gatewayProcess struct {
	cmd   *exec.Cmd
	scim  string // http://addr/scim/v2
	admin string // http://addr
}

// startGatewayProcess runs a gateway process with the YAML configuration yaml and waits until its
// admin port answers /readyz.
func startGatewayProcess(t *testing.T, yaml string, scimPort, adminPort int) *gatewayProcess {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	writeFile(t, path, yaml)
	cmd := exec.Command(os.Args[0], "serve", "--config", path)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &gatewayProcess{cmd: cmd, scim: fmt.Sprintf("http://127.0.0.1:%d/scim/v2", scimPort),
		admin: fmt.Sprintf("http://127.0.0.1:%d", adminPort)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	waitFor(t, "the gateway process to answer /readyz", func() bool {
		resp, err := http.Get(p.admin + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return p
}

// TestGlobalBoundKilledReplica kills (SIGKILL) a gateway process while its calls hold every
// fleet-wide slot: another replica's call gets a slot once the leases have expired (1 s), and counts
// the expired leases.
func TestGlobalBoundKilledReplica(t *testing.T) {
	const lease = time.Second
	prefix := sharedRedisPrefix(t)
	e := newEnv(t, withRedis("redis://"+testkit.SharedRedisAddr+"/0", prefix, withGlobalBound(2, lease)))
	id := e.scim(http.MethodPost, "/Users", `{"userName":"ada@contoso.com","active":true}`).want(t, http.StatusCreated).str("id")

	scimPort, adminPort := testkit.FreePort(t), testkit.FreePort(t)
	child := startGatewayProcess(t, fmt.Sprintf(`server:
  listen: 127.0.0.1:%d
  tokens: [{name: entra, value: %s}]
admin:
  listen: 127.0.0.1:%d
store:
  redis: {url: "redis://%s/0", keyPrefix: "%s"}
upstream:
  baseURL: %s/portal
  auth: {clientID: %s, clientSecret: %s}
  maxInFlight: 16
  queueWait: 60s
  globalMaxInFlight: 2
  globalLease: %s
mapping: {defaultDomain: corp.example}
`, scimPort, e2eToken, adminPort, testkit.SharedRedisAddr, prefix, e.simSrv.URL, e2eClientID, e2eSecret, lease), scimPort, adminPort)

	// The child gets its portal token first, then two slow GETs take both fleet-wide slots.
	req, _ := http.NewRequest(http.MethodGet, child.scim+"/Users/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET through the child: %v %v", resp, err)
	}
	resp.Body.Close()
	e.setFaults(func(f *portalsim.Faults) { f.LatencyMs = 600000 })
	for range 2 {
		go func() {
			req, _ := http.NewRequest(http.MethodGet, child.scim+"/Users/"+id, nil)
			req.Header.Set("Authorization", "Bearer "+e2eToken)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	waitFor(t, "both slots held by the child's calls", func() bool { return e.sim.Stats().InFlight == 2 })

	if err := child.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.cmd.Wait()
	killed := time.Now()
	e.setFaults(func(f *portalsim.Faults) { f.LatencyMs = 0 })

	e.scim(http.MethodGet, "/Users/"+id, nil).want(t, http.StatusOK)
	t.Logf("a GET through the surviving replica was answered %s after the kill (lease %s)", time.Since(killed), lease)
	// The first expired lease freed the slot; the second is found by the next call or renewal tick.
	waitFor(t, "both of the killed replica's leases counted expired", func() bool {
		return e.metricValue(`scimgw_portal_global_lease_expiries_total{tenant="default"}`) == 2
	})
	if got := e.metricValue(`scimgw_portal_global_waits_total{tenant="default"}`); got != 1 {
		t.Fatalf("scimgw_portal_global_waits_total %v, want 1", got)
	}
}

// TestGlobalBoundRedisDown stops Redis under a gateway with a fleet-wide bound: SCIM calls are served
// under the local bound alone, /readyz and the metrics say the bound is degraded, and once Redis is
// back the bound is enforced again.
func TestGlobalBoundRedisDown(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	e := newEnv(t, withRedis(srv.URL(), "scimgw:", withGlobalBound(1, 5*time.Second)))
	id := e.scim(http.MethodPost, "/Users", `{"userName":"ada@contoso.com","active":true}`).want(t, http.StatusCreated).str("id")
	if got := e.globalBoundDetail(); got != "enforced" {
		t.Fatalf("/readyz globalBound %q with Redis up, want enforced", got)
	}

	srv.Stop()
	e.scim(http.MethodGet, "/Users/"+id, nil).want(t, http.StatusOK)
	if got := e.globalBoundDetail(); got != "degraded" {
		t.Fatalf("/readyz globalBound %q with Redis down, want degraded", got)
	}
	if got := e.metricValue(`scimgw_portal_global_bound_degraded{tenant="default"}`); got != 1 {
		t.Fatalf("scimgw_portal_global_bound_degraded %v with Redis down, want 1", got)
	}

	srv.Start()
	waitFor(t, "the bound enforced again", func() bool {
		e.scim(http.MethodGet, "/Users/"+id, nil).want(t, http.StatusOK)
		return e.globalBoundDetail() == "enforced"
	})
	if got := e.metricValue(`scimgw_portal_global_bound_degraded{tenant="default"}`); got != 0 {
		t.Fatalf("scimgw_portal_global_bound_degraded %v after Redis came back, want 0", got)
	}
}
