package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/translator"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

const (
	testClientID     = "gateway"
	testClientSecret = "s3cret"
	testBasePath     = "/portal"
	apiPrefix        = testBasePath + "/api/"
	routeUsers       = "/api/usersync/v1/users"
	routeUser        = "/api/usersync/v1/users({idUser})"
	routeToken       = "/oauth2/server/token"
)

// portal is a portalsim behind an httptest server, with the handler chain tests can hook into.
type portal struct {
	sim *portalsim.Sim
	srv *httptest.Server
	// before, when set, runs ahead of the simulator for every API call (not token or /_sim calls);
	// returning false means it answered the request itself.
	before atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
}

// newPortal starts a simulator with the test client credentials, faults f and options changed by
// opts.
func newPortal(t testing.TB, f portalsim.Faults, opts ...func(*portalsim.Options)) *portal {
	t.Helper()
	o := portalsim.Options{
		BasePath:     testBasePath,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		Faults:       f,
		Seed:         1,
	}
	for _, fn := range opts {
		fn(&o)
	}
	sim, err := portalsim.New(o)
	if err != nil {
		t.Fatalf("portalsim.New: %v", err)
	}
	p := &portal{sim: sim}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hook := p.before.Load(); hook != nil && strings.HasPrefix(r.URL.Path, apiPrefix) {
			if !(*hook)(w, r) {
				return
			}
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// hook installs fn ahead of the simulator for API calls.
func (p *portal) hook(fn func(w http.ResponseWriter, r *http.Request) bool) { p.before.Store(&fn) }

// setFaults changes the simulator's faults.
func (p *portal) setFaults(t testing.TB, f portalsim.Faults) {
	t.Helper()
	if err := p.sim.SetFaults(f); err != nil {
		t.Fatalf("SetFaults: %v", err)
	}
}

// healAfter lets n API calls meet the current faults, then restores the default faults: a burst.
func (p *portal) healAfter(t testing.TB, n int64) {
	var seen atomic.Int64
	p.hook(func(http.ResponseWriter, *http.Request) bool {
		if seen.Add(1) == n+1 {
			if err := p.sim.SetFaults(portalsim.DefaultFaults()); err != nil {
				t.Errorf("SetFaults: %v", err)
			}
		}
		return true
	})
}

type simCall struct {
	Method string `json:"method"`
	Route  string `json:"route"`
	Status int    `json:"status"`
	Count  int    `json:"count"`
}

type simStats struct {
	Total int       `json:"total"`
	Calls []simCall `json:"calls"`
}

// stats reads /_sim/stats.
func (p *portal) stats(t testing.TB) simStats {
	t.Helper()
	resp, err := http.Get(p.srv.URL + "/_sim/stats")
	if err != nil {
		t.Fatalf("GET /_sim/stats: %v", err)
	}
	defer resp.Body.Close()
	var s simStats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatalf("decode /_sim/stats: %v", err)
	}
	return s
}

// count returns how many calls of method on route the simulator served; status -1 counts them all.
func (s simStats) count(method, route string, status int) int {
	n := 0
	for _, c := range s.Calls {
		if c.Method == method && c.Route == route && (status < 0 || c.Status == status) {
			n += c.Count
		}
	}
	return n
}

// apiCalls counts every call but token calls.
func (s simStats) apiCalls() int { return s.Total - s.count(http.MethodPost, routeToken, -1) }

// testConfig returns an upstream config for the portal with the configuration file's defaults and
// short retry delays.
func testConfig(baseURL string) Config {
	return Config{
		BaseURL: baseURL,
		Auth: Auth{Type: "oauth2", ClientID: testClientID, ClientSecret: testClientSecret, TokenURL: "/oauth2/server/token",
			Scopes: []string{"api", "usersync"}, RenewBefore: 60 * time.Second},
		Timeout:     10 * time.Second,
		MaxInFlight: 64,
		QueueWait:   5 * time.Second,
		MaxBody:     4 << 20,
		Retry:       Retry{MaxAttempts: 3, InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: 10 * time.Second},
		Breaker:     Breaker{ConsecutiveFailures: 5, OpenTimeout: 30 * time.Second, HalfOpenMaxCalls: 1, Interval: 60 * time.Second},
	}
}

// newClient builds a client for p, with cfg changed by edit.
func newClient(t testing.TB, p *portal, edit func(*Config), opts Options) *Client {
	t.Helper()
	cfg := testConfig(p.srv.URL + testBasePath)
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// callLog collects CallInfo records from Options.OnCall.
type callLog struct {
	mu    sync.Mutex
	calls []CallInfo
}

func (l *callLog) record(_ context.Context, info CallInfo) {
	l.mu.Lock()
	l.calls = append(l.calls, info)
	l.mu.Unlock()
}

func (l *callLog) all() []CallInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]CallInfo(nil), l.calls...)
}

// wantCode fails the test unless err is a *translator.Error with code want, and returns it.
func wantCode(t testing.TB, err error, want translator.Code) *translator.Error {
	t.Helper()
	var e *translator.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want a *translator.Error with code %s", err, err, want)
	}
	if e.Code != want {
		t.Fatalf("error code = %s (%v), want %s", e.Code, e, want)
	}
	return e
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newUser returns a valid create body for userName.
func newUser(userName string) translator.NewPortalUser {
	return translator.NewPortalUser{
		UserName:     userName,
		Domain:       "CORP",
		FullName:     "Test " + userName,
		ContactEmail: userName + "@example.com",
		ExternalKey:  "ext-" + userName,
	}
}

// mustCreateUser creates a user through c.
func mustCreateUser(t testing.TB, c *Client, userName string) translator.PortalUser {
	t.Helper()
	u, err := c.CreateUser(context.Background(), newUser(userName))
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", userName, err)
	}
	return u
}

func ptr[T any](v T) *T { return &v }
