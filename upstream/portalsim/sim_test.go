package portalsim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestStats(t *testing.T) {
	p := newPortal(t) // issues one token
	u := p.createUser(`{"userName":"ann","domain":"corp"}`)
	p.call(http.MethodGet, userPath(u.IDUser, ""), "")
	p.call(http.MethodGet, userPath(u.IDUser, ""), "")
	p.call(http.MethodGet, userPath(42, ""), "")
	p.call(http.MethodPost, userPath(u.IDUser, "/disable"), "")
	p.call(http.MethodGet, "/nowhere", "")
	p.send(http.MethodGet, p.srv.URL+"/elsewhere", p.token, "")
	p.call(http.MethodDelete, userPath(u.IDUser, ""), "")
	p.send(http.MethodGet, p.apiURL(usersPath), "", "")
	p.tokenRequest(testClientID, "wrong", "grant_type=client_credentials")
	p.simCall(http.MethodGet, "/_sim/faults", "")
	p.simCall(http.MethodGet, "/_sim/stats", "")

	want := Stats{Total: 11, Calls: []CallCount{
		{"DELETE", "/api/usersync/v1/users({idUser})", 405, 1},
		{"GET", "/api/usersync/v1/users", 401, 1},
		{"GET", "/api/usersync/v1/users({idUser})", 200, 2},
		{"GET", "/api/usersync/v1/users({idUser})", 404, 1},
		{"GET", "unmatched", 404, 2},
		{"POST", "/api/usersync/v1/users", 201, 1},
		{"POST", "/api/usersync/v1/users({idUser})/disable", 204, 1},
		{"POST", "/oauth2/server/token", 200, 1},
		{"POST", "/oauth2/server/token", 401, 1},
	}}
	got := p.stats()
	if got.Total != want.Total || !slices.Equal(got.Calls, want.Calls) {
		t.Fatalf("stats = %+v\nwant    %+v", got, want)
	}
	if direct := p.sim.Stats(); direct.Total != got.Total || !slices.Equal(direct.Calls, got.Calls) {
		t.Fatalf("Sim.Stats = %+v, GET /_sim/stats = %+v", direct, got)
	}
}

func TestStatsRouteTemplates(t *testing.T) {
	p := newPortal(t, func(o *Options) { o.AllowDelete = true })
	u := p.createUser(`{"userName":"ann","domain":"corp"}`)
	g := p.createGroup(`{"name":"g"}`)
	member := groupPath(g.IDGroup, fmt.Sprintf("/members(%d)", u.IDUser))
	calls := []struct{ method, path, route string }{
		{http.MethodGet, usersPath, "/api/usersync/v1/users"},
		{http.MethodPatch, userPath(u.IDUser, ""), "/api/usersync/v1/users({idUser})"},
		{http.MethodPost, userPath(u.IDUser, "/enable"), "/api/usersync/v1/users({idUser})/enable"},
		{http.MethodGet, userPath(u.IDUser, "/groups"), "/api/usersync/v1/users({idUser})/groups"},
		{http.MethodGet, groupsPath, "/api/usersync/v1/groups"},
		{http.MethodGet, groupPath(g.IDGroup, ""), "/api/usersync/v1/groups({idGroup})"},
		{http.MethodGet, groupPath(g.IDGroup, "/members"), "/api/usersync/v1/groups({idGroup})/members"},
		{http.MethodPut, member, "/api/usersync/v1/groups({idGroup})/members({idUser})"},
	}
	for _, c := range calls {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			res := p.call(c.method, c.path, "{}")
			if p.stats().Count(c.method, c.route, res.status) != 1 {
				t.Fatalf("no entry for %s %s %d: %+v", c.method, c.route, res.status, p.stats())
			}
		})
	}
}

func TestReset(t *testing.T) {
	p := newPortal(t)
	p.createUser(`{"userName":"ann","domain":"corp"}`)
	p.createUser(`{"userName":"bob","domain":"corp"}`)
	g := p.createGroup(`{"name":"g"}`)
	p.call(http.MethodPut, groupPath(g.IDGroup, "/members(1)"), "")
	p.putFaults(`{"latencyMs":1,"retryAfterSeconds":9}`)
	faults := p.sim.Faults()

	res := p.simCall(http.MethodPost, "/_sim/reset", "")
	if res.status != http.StatusNoContent || len(res.body) != 0 {
		t.Fatalf("reset = %d %s", res.status, res.body)
	}
	if st := p.stats(); st.Total != 0 || len(st.Calls) != 0 || st.Calls == nil {
		t.Fatalf("stats after reset = %+v", st)
	}
	wantError(t, p.call(http.MethodGet, usersPath, ""), 401, CodeUnauthorized, "") // tokens forgotten
	if p.sim.Faults() != faults {
		t.Fatalf("faults after reset = %+v, want %+v", p.sim.Faults(), faults)
	}
	p.token = testStaticToken // the static token is kept
	if res := p.call(http.MethodGet, usersPath, ""); res.status != 200 || string(res.body) != `{"@odata.count":0,"value":[]}` {
		t.Fatalf("users after reset: %d %s", res.status, res.body)
	}
	if res := p.call(http.MethodGet, groupsPath, ""); string(res.body) != `{"@odata.count":0,"value":[]}` {
		t.Fatalf("groups after reset: %s", res.body)
	}
	p.token = p.issueToken("") // the client is kept
	if u := p.createUser(`{"userName":"ann","domain":"corp"}`); u.IDUser != 1 {
		t.Fatalf("first user after reset has id %d", u.IDUser)
	}
	if g := p.createGroup(`{"name":"g"}`); g.IDGroup != 1 {
		t.Fatalf("first group after reset has id %d", g.IDGroup)
	}
	if res := p.call(http.MethodGet, groupPath(1, "/members"), ""); !startsWithCount(res.body, 0) {
		t.Fatalf("membership survived reset: %s", res.body)
	}
}

func TestSimRoutes(t *testing.T) {
	p := newPortal(t)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodPost, "/_sim/stats", 405, "GET"},
		{http.MethodGet, "/_sim/reset", 405, "POST"},
		{http.MethodDelete, "/_sim/faults", 405, "GET, PUT"},
		{http.MethodGet, "/_sim/other", 404, ""},
		{http.MethodGet, "/_sim", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := p.simCall(tt.method, tt.path, "")
			code := CodeNotFound
			if tt.status == 405 {
				code = CodeMethodNotAllowed
			}
			wantError(t, res, tt.status, code, "")
			if got := res.header.Get("Allow"); got != tt.allow {
				t.Fatalf("Allow = %q, want %q", got, tt.allow)
			}
		})
	}
	t.Run("not faulted, not counted", func(t *testing.T) {
		p.putFaults(`{"errorRate":1,"dropRate":1}`)
		defer p.putFaults(`{"errorRate":0,"dropRate":0}`)
		if res := p.simCall(http.MethodGet, "/_sim/faults", ""); res.status != 200 {
			t.Fatalf("GET /_sim/faults under faults: %d", res.status)
		}
		if st := p.stats(); st.Total != 1 { // the token of newPortal
			t.Fatalf("stats = %+v", st)
		}
	})
}

// TestConcurrentWrites races creates of the same and of different logins, renames, memberships and
// reads; run it with -race.
func TestConcurrentWrites(t *testing.T) {
	p := newPortal(t)
	g := p.createGroup(`{"name":"all"}`)
	const workers, logins = 8, 20
	var wg sync.WaitGroup
	statuses := make([][]int, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			call := func(method, path, body string) result {
				res, err := trySend(method, p.apiURL(path), p.token, body)
				if err != nil {
					t.Error(err)
				}
				return res
			}
			for i := range logins {
				res := call(http.MethodPost, usersPath, fmt.Sprintf(`{"userName":"user%d","domain":"corp"}`, i))
				statuses[w] = append(statuses[w], res.status)
				if res.status == http.StatusCreated {
					var u User
					if err := json.Unmarshal(res.body, &u); err != nil {
						t.Error(err)
						return
					}
					call(http.MethodPut, groupPath(g.IDGroup, fmt.Sprintf("/members(%d)", u.IDUser)), "")
					call(http.MethodPatch, userPath(u.IDUser, ""), `{"fullName":"x","properties":{"w":1}}`)
				}
				call(http.MethodGet, usersPath+"?$filter=userName%20eq%20'user1'", "")
			}
		}()
	}
	wg.Wait()
	created := 0
	for _, ss := range statuses {
		for _, s := range ss {
			switch s {
			case http.StatusCreated:
				created++
			case http.StatusConflict:
			default:
				t.Fatalf("create answered %d", s)
			}
		}
	}
	if created != logins {
		t.Fatalf("%d creates succeeded, want %d (one per login)", created, logins)
	}
	var pg page
	decode(t, p.call(http.MethodGet, usersPath, "").body, &pg)
	if pg.Count != logins || !slices.Equal(pg.ids(), span(1, logins)) {
		t.Fatalf("users = %v", pg.ids())
	}
	if res := p.call(http.MethodGet, groupPath(g.IDGroup, "/members"), ""); !startsWithCount(res.body, logins) {
		t.Fatalf("members: %s", res.body)
	}
}

// TestStatsPeakInFlight holds five API calls in the simulator at once (a long added latency, which
// ends when the client leaves): stats count them in flight and keep the peak until a reset.
func TestStatsPeakInFlight(t *testing.T) {
	p := newPortal(t)
	p.putFaults(`{"latencyMs": 600000}`)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.apiURL(usersPath), nil)
			req.Header.Set("Authorization", "Bearer "+p.token)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	for p.sim.Stats().InFlight != 5 {
		time.Sleep(time.Millisecond)
	}
	if got := p.stats(); got.InFlight != 5 || got.PeakInFlight != 5 {
		t.Fatalf("stats with five calls held: inFlight %d, peakInFlight %d; want 5, 5", got.InFlight, got.PeakInFlight)
	}
	cancel()
	wg.Wait()
	for p.sim.Stats().InFlight != 0 {
		time.Sleep(time.Millisecond)
	}
	p.putFaults(`{"latencyMs": 0}`)
	p.call(http.MethodGet, usersPath, "")
	if got := p.stats(); got.InFlight != 0 || got.PeakInFlight != 5 {
		t.Fatalf("stats after the calls ended: inFlight %d, peakInFlight %d; want 0, 5", got.InFlight, got.PeakInFlight)
	}
	p.simCall(http.MethodPost, "/_sim/reset", "")
	if got := p.stats(); got.PeakInFlight != 0 {
		t.Fatalf("peakInFlight after a reset: %d, want 0", got.PeakInFlight)
	}
}
