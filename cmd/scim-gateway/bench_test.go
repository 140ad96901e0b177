package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/internal/testkit"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

// Benchmarks of the gateway over real HTTP: an App in front of a portal-sim on httptest, with the
// in-process store or the shared Redis (127.0.0.1:6379, skipped when absent), the portal answering at
// once or after 20 ms. Each reports portal-calls/op from portal-sim's stats (token calls excluded).
// Writes also run straight against portal-sim with its static token, the baseline of the
// gateway/direct ratio. Run on demand, e.g.
//
//	go test -run XXX -bench . -benchtime 200x ./cmd/scim-gateway/

// portalLatencies are the portal latencies the benchmarks run at.
var portalLatencies = []int{0, 20}

// benchStores are the gateway's store backends: "memory", or "redis" (the shared Redis).
var benchStores = []string{"memory", "redis"}

// BenchmarkRead measures GET /Users/{id} and a userName filter, cold (nothing cached: a listUsers)
// and warm (the cached portal key: a getUser). Every iteration reads another user.
func BenchmarkRead(b *testing.B) {
	for _, op := range []string{"getByID", "filterUserName"} {
		for _, cache := range []string{"cold", "warm"} {
			for _, st := range benchStores {
				for _, ms := range portalLatencies {
					b.Run(fmt.Sprintf("op=%s/cache=%s/store=%s/portal=%dms", op, cache, st, ms), func(b *testing.B) {
						g := newBenchGateway(b, st)
						users := g.seedUsers(b.N)
						path := func(i int) string {
							if op == "getByID" {
								return "/Users/" + users[i].GUIDUser
							}
							return filterPath(fmt.Sprintf(`userName eq "%s@contoso.com"`, users[i].UserName))
						}
						g.gatewayDo(http.MethodGet, "/Users?count=0", "", http.StatusOK) // fetches the portal token
						if cache == "warm" {
							for i := range users {
								g.gatewayDo(http.MethodGet, path(i), "", http.StatusOK)
							}
						}
						g.setLatency(ms)
						g.measure(func(i int) { g.gatewayDo(http.MethodGet, path(i), "", http.StatusOK) })
					})
				}
			}
		}
	}
}

// BenchmarkCreate measures POST /Users through the gateway (a new user per iteration) beside the
// same create sent straight to the portal.
func BenchmarkCreate(b *testing.B) {
	for _, ms := range portalLatencies {
		for _, st := range benchStores {
			b.Run(fmt.Sprintf("via=gateway/store=%s/portal=%dms", st, ms), func(b *testing.B) {
				g := newBenchGateway(b, st)
				g.gatewayDo(http.MethodGet, "/Users?count=0", "", http.StatusOK)
				g.setLatency(ms)
				g.measure(func(i int) {
					g.gatewayDo(http.MethodPost, "/Users", entraCreate(fmt.Sprintf("new%d@contoso.com", i), fmt.Sprintf("new%d", i)), http.StatusCreated)
				})
			})
		}
		b.Run(fmt.Sprintf("via=direct/portal=%dms", ms), func(b *testing.B) {
			g := newBenchGateway(b, "memory")
			g.setLatency(ms)
			g.measure(func(i int) {
				g.portalDo(http.MethodPost, "/api/usersync/v1/users", directCreateBody(i), http.StatusCreated)
			})
		})
	}
}

// BenchmarkPatch measures a PATCH that changes one attribute of a user (warm: getUser, then
// updateUser) beside the same change sent straight to the portal.
func BenchmarkPatch(b *testing.B) {
	for _, ms := range portalLatencies {
		for _, st := range benchStores {
			b.Run(fmt.Sprintf("via=gateway/store=%s/portal=%dms", st, ms), func(b *testing.B) {
				g := newBenchGateway(b, st)
				u := g.seedUsers(1)[0]
				g.gatewayDo(http.MethodGet, "/Users/"+u.GUIDUser, "", http.StatusOK) // warms the cache
				g.setLatency(ms)
				g.measure(func(i int) {
					g.gatewayDo(http.MethodPatch, "/Users/"+u.GUIDUser,
						patchPrefix+fmt.Sprintf(`[{"op":"Replace","path":"title","value":"Title %d"}]}`, i), http.StatusNoContent)
				})
			})
		}
		b.Run(fmt.Sprintf("via=direct/portal=%dms", ms), func(b *testing.B) {
			g := newBenchGateway(b, "memory")
			u := g.seedUsers(1)[0]
			g.setLatency(ms)
			g.measure(func(i int) {
				g.portalDo(http.MethodPatch, fmt.Sprintf("/api/usersync/v1/users(%d)", u.IDUser),
					fmt.Sprintf(`{"properties":{"title":"Title %d"}}`, i), http.StatusOK)
			})
		})
	}
}

// benchGateway is a gateway App in front of its own portal-sim, both on real HTTP.
type benchGateway struct {
	b      *testing.B
	sim    *portalsim.Sim
	simURL string // portal-sim's URL
	portal string // portal-sim's base URL, with /portal
	base   string // the gateway's SCIM base URL
	client *http.Client
}

// newBenchGateway starts portal-sim and a gateway on the given store ("memory", or "redis": the shared
// Redis under a key prefix of its own, skipped when absent).
func newBenchGateway(b *testing.B, storeName string) *benchGateway {
	b.Helper()
	return startBenchGateway(b, func(cfg *config.Config) {
		if storeName == "redis" {
			testkit.RequireSharedRedis(b)
			cfg.Store.Redis.URL = "redis://" + testkit.SharedRedisAddr + "/0"
			cfg.Store.Redis.KeyPrefix = sharedRedisPrefix(b)
		}
	})
}

// startBenchGateway starts portal-sim and a gateway whose configuration change edits.
func startBenchGateway(b *testing.B, change func(cfg *config.Config)) *benchGateway {
	b.Helper()
	sim, simSrv := startPortalSim(b)
	cfg := e2eConfig(simSrv.URL)
	change(cfg)
	app := startApp(b, cfg, AppOptions{})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	b.Cleanup(client.CloseIdleConnections)
	return &benchGateway{b: b, sim: sim, simURL: simSrv.URL, portal: simSrv.URL + "/portal", base: "http://" + app.SCIMAddr() + "/scim/v2", client: client}
}

// seedUsers creates n users straight in the portal, so that the gateway has cached none of them.
func (g *benchGateway) seedUsers(n int) []portalsim.User {
	out := make([]portalsim.User, n)
	for i := range out {
		raw := g.portalDo(http.MethodPost, "/api/usersync/v1/users", directCreateBody(i), http.StatusCreated)
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			g.b.Fatalf("portal create answer: %v", err)
		}
	}
	return out
}

// directCreateBody is the portal payload the gateway makes of entraCreate("new<i>@contoso.com", "new<i>").
func directCreateBody(i int) string {
	return fmt.Sprintf(`{"userName":"new%d","domain":"contoso.com","fullName":"Alice Smith","firstName":"Alice","lastName":"Smith",`+
		`"contactEmail":"alice.smith@contoso.com","contactCellPhone":"+1 (555) 0100","externalKey":"new%d",`+
		`"properties":{"displayName":"Alice Smith","title":"Engineer","department":"Sales","employeeNumber":"701984"}}`, i, i)
}

func (g *benchGateway) setLatency(ms int) {
	f := g.sim.Faults()
	f.LatencyMs = ms
	if err := g.sim.SetFaults(f); err != nil {
		g.b.Fatal(err)
	}
}

// measure times op over b.N iterations and reports the portal API calls per iteration.
func (g *benchGateway) measure(op func(i int)) {
	before := g.apiCalls()
	g.b.ResetTimer()
	for i := 0; i < g.b.N; i++ {
		op(i)
	}
	g.b.StopTimer()
	g.b.ReportMetric(float64(g.apiCalls()-before)/float64(g.b.N), "portal-calls/op")
}

// apiCalls counts the portal API calls served so far, token calls excluded.
func (g *benchGateway) apiCalls() int64 {
	var n int64
	for _, c := range g.sim.Stats().Calls {
		if c.Route != "/oauth2/server/token" {
			n += c.Count
		}
	}
	return n
}

// gatewayDo sends a SCIM request with the test token and fails unless it answers want.
func (g *benchGateway) gatewayDo(method, path, body string, want int) []byte {
	return g.do(method, g.base+path, e2eToken, "application/scim+json", body, want)
}

// portalDo sends a portal API request with the static token and fails unless it answers want.
func (g *benchGateway) portalDo(method, path, body string, want int) []byte {
	return g.do(method, g.portal+path, e2ePortalToken, "application/json", body, want)
}

func (g *benchGateway) do(method, target, token, contentType, body string, want int) []byte {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		g.b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := g.client.Do(req)
	if err != nil {
		g.b.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		g.b.Fatalf("%s %s: reading the answer: %v", method, target, err)
	}
	if resp.StatusCode != want {
		g.b.Fatalf("%s %s: status %d, want %d: %s", method, target, resp.StatusCode, want, raw)
	}
	return raw
}
