package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

const simToken = "static-token"

// newSim starts portal-sim with a static token on a real HTTP server.
func newSim(t *testing.T) (*portalsim.Sim, *httptest.Server) {
	t.Helper()
	sim, err := portalsim.New(portalsim.Options{StaticToken: simToken, Seed: 1})
	if err != nil {
		t.Fatalf("portalsim.New: %v", err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv
}

// portalCount returns the @odata.count of a portal list path.
func portalCount(t *testing.T, srv *httptest.Server, path string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/portal"+path+"?$top=0", nil)
	req.Header.Set("Authorization", "Bearer "+simToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("list %s: %v", path, err)
	}
	defer resp.Body.Close()
	var l struct {
		Count int `json:"@odata.count"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("list %s: status %d, %v", path, resp.StatusCode, err)
	}
	return l.Count
}

// routeCalls returns the portal calls of method and route during an operation's stage.
func routeCalls(t *testing.T, o OpReport, method, route string) RouteCalls {
	t.Helper()
	if o.PortalCalls == nil {
		t.Fatalf("%s: no portal calls reported", o.Name)
	}
	for _, rc := range o.PortalCalls.Routes {
		if rc.Method == method && rc.Route == route {
			return rc
		}
	}
	t.Fatalf("%s: no portal calls to %s %s: %+v", o.Name, method, route, o.PortalCalls.Routes)
	return RouteCalls{}
}

func TestDirectModeAgainstPortalSim(t *testing.T) {
	_, srv := newSim(t)
	args := []string{"--direct", "--base-url", srv.URL + "/portal", "--token", simToken, "--sim-url", srv.URL,
		"--users", "12", "--groups", "2", "--members-per-group", "5", "--concurrency", "3", "--prefix", "d1",
		"--patch-fraction", "0.1", "--disable-fraction", "0.05"}
	rep, _ := runReport(t, append(args, "--scenario", "full")...)
	if rep.Mode != "direct" {
		t.Fatalf("mode = %q", rep.Mode)
	}

	// Each operation maps onto exactly its portal calls.
	tests := []struct {
		phase, op     string
		method, route string
		requests      int
		calls         int64
	}{
		{"initial", "filter", "GET", "/api/usersync/v1/users", 12, 12},
		{"initial", "create", "POST", "/api/usersync/v1/users", 12, 12},
		{"initial", "group_filter", "GET", "/api/usersync/v1/groups", 2, 2},
		{"initial", "group_create", "POST", "/api/usersync/v1/groups", 2, 2},
		{"initial", "group_patch", "PUT", "/api/usersync/v1/groups({idGroup})/members({idUser})", 2, 10},
		{"incremental", "get", "GET", "/api/usersync/v1/users({idUser})", 12, 12},
		{"incremental", "patch", "PATCH", "/api/usersync/v1/users({idUser})", 1, 1},
		{"incremental", "disable", "POST", "/api/usersync/v1/users({idUser})/disable", 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.phase+"/"+tt.op, func(t *testing.T) {
			o := op(t, rep, tt.phase, tt.op)
			checkCounts(t, o, tt.requests, tt.requests, 0, 0, 0)
			rc := routeCalls(t, o, tt.method, tt.route)
			if rc.Calls != tt.calls || o.PortalCalls.Total != tt.calls || len(o.PortalCalls.Routes) != 1 {
				t.Fatalf("portal calls = %+v, want only %d to %s %s", o.PortalCalls, tt.calls, tt.method, tt.route)
			}
			if want := float64(tt.calls) / float64(tt.requests); rc.PerRequest != want || o.PortalCalls.PerRequest != want {
				t.Fatalf("per request = %v and %v, want %v", rc.PerRequest, o.PortalCalls.PerRequest, want)
			}
		})
	}
	if got := portalCount(t, srv, "/api/usersync/v1/users"); got != 12 {
		t.Fatalf("portal has %d users, want 12", got)
	}

	// A second initial cycle with the same prefix matches everything and creates nothing.
	rep, _ = runReport(t, append(args, "--scenario", "initial")...)
	checkCounts(t, op(t, rep, "initial", "filter"), 12, 12, 0, 0, 0)
	checkCounts(t, op(t, rep, "initial", "create"), 0, 0, 0, 0, 0)
	checkCounts(t, op(t, rep, "initial", "group_create"), 0, 0, 0, 0, 0)
	if got := portalCount(t, srv, "/api/usersync/v1/users"); got != 12 {
		t.Fatalf("portal has %d users after a second cycle, want 12", got)
	}
	if got := portalCount(t, srv, "/api/usersync/v1/groups"); got != 2 {
		t.Fatalf("portal has %d groups, want 2", got)
	}
}

func TestDirectModeRetriesPortalErrors(t *testing.T) {
	sim, srv := newSim(t)
	f := sim.Faults()
	f.ErrorRate = 0.3
	if err := sim.SetFaults(f); err != nil {
		t.Fatalf("SetFaults: %v", err)
	}
	rep, _ := runReport(t, "--direct", "--base-url", srv.URL+"/portal", "--token", simToken, "--sim-url", srv.URL,
		"--users", "15", "--groups", "2", "--members-per-group", "4", "--scenario", "full", "--prefix", "d2",
		"--max-retries", "50", "--retry-delay", "1ms", "--concurrency", "3")

	retried := 0
	for _, ph := range rep.Phases {
		for _, o := range ph.Operations {
			if o.Failed != 0 || o.Abandoned != 0 {
				t.Fatalf("%s/%s: %d failed, %d abandoned", ph.Name, o.Name, o.Failed, o.Abandoned)
			}
			if o.Requests != o.OK+o.Retried {
				t.Fatalf("%s/%s: %d requests, %d ok, %d retried", ph.Name, o.Name, o.Requests, o.OK, o.Retried)
			}
			// Each portal 503 is seen by the stage's requests.
			if o.PortalCalls != nil && o.Retried > 0 {
				n := int64(0)
				for _, rc := range o.PortalCalls.Routes {
					n += rc.Statuses["503"]
				}
				if n != int64(o.Retried) {
					t.Fatalf("%s/%s: %d retries, portal answered %d 503s", ph.Name, o.Name, o.Retried, n)
				}
			}
			retried += o.Retried
		}
	}
	// Members confirmed before a failure are not put again on the retry.
	puts := routeCalls(t, op(t, rep, "initial", "group_patch"), "PUT", "/api/usersync/v1/groups({idGroup})/members({idUser})")
	if puts.Statuses["204"] != 8 {
		t.Fatalf("group_patch put %d members, want 8: %+v", puts.Statuses["204"], puts)
	}
	if retried == 0 || rep.Answers.ErrorStatuses["503"] != retried || rep.Answers.Errors != retried {
		t.Fatalf("retried %d, answers %+v", retried, rep.Answers)
	}
	if got := portalCount(t, srv, "/api/usersync/v1/users"); got != 15 {
		t.Fatalf("portal has %d users, want 15", got)
	}
}
