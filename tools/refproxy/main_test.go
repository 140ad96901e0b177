package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

const (
	scimToken   = "refproxy-test-scim-token"
	portalToken = "refproxy-test-portal-token"
)

// startRefproxy runs refproxy through its command line on a free port and returns its base URL; it
// is stopped when the test ends.
func startRefproxy(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	var stderr strings.Builder
	go func() {
		done <- run(ctx, append([]string{"--listen", "127.0.0.1:0"}, args...), &stderr, func(a string) { addr <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("refproxy: %v (%s)", err, stderr.String())
		}
	})
	select {
	case a := <-addr:
		return "http://" + a
	case err := <-done:
		t.Fatalf("refproxy did not start: %v (%s)", err, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("refproxy did not start within 10 s")
	}
	return ""
}

func get(t *testing.T, url, token string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("GET %s: %d, not JSON: %q", url, resp.StatusCode, body)
	}
	return resp.StatusCode, m
}

// TestEndToEnd reads portal-sim users through refproxy with the idUser lookups in the real Redis.
func TestEndToEnd(t *testing.T) {
	testkit.RequireSharedRedis(t)
	sim, err := portalsim.New(portalsim.Options{StaticToken: portalToken})
	if err != nil {
		t.Fatal(err)
	}
	portal := httptest.NewServer(sim)
	defer portal.Close()
	prefix := testkit.SharedRedisPrefix(t, "refproxy-test:")
	rdb := redis.NewClient(&redis.Options{Addr: testkit.SharedRedisAddr})
	defer rdb.Close()

	// One user with every field, one with only the required ones, created through the portal's API.
	full := createUser(t, portal.URL, `{"userName":"alice","domain":"contoso.com","firstName":"Alice","lastName":"Liddell",
		"fullName":"Alice Liddell","contactEmail":"alice@contoso.com","contactCellPhone":"+1 555 0100","externalKey":"e-1","enabled":false}`)
	bare := createUser(t, portal.URL, `{"userName":"bob","domain":"local"}`)
	for _, u := range []portalUser{full, bare} {
		if err := rdb.Set(context.Background(), prefix+u.GUIDUser, strconv.Itoa(u.IDUser), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	ghost := "00000000-0000-0000-0000-000000000001" // mapped in Redis to an idUser the portal does not have
	if err := rdb.Set(context.Background(), prefix+ghost, "999", 0).Err(); err != nil {
		t.Fatal(err)
	}

	base := startRefproxy(t, "--portal", portal.URL+sim.BasePath(), "--portal-token", portalToken,
		"--redis", testkit.SharedRedisAddr, "--key-prefix", prefix, "--token", scimToken) + usersPath

	t.Run("full user", func(t *testing.T) {
		status, got := get(t, base+full.GUIDUser, scimToken)
		want := map[string]any{
			"schemas":      []any{"urn:ietf:params:scim:schemas:core:2.0:User"},
			"id":           full.GUIDUser,
			"externalId":   "e-1",
			"userName":     "alice@contoso.com",
			"active":       false,
			"name":         map[string]any{"givenName": "Alice", "familyName": "Liddell", "formatted": "Alice Liddell"},
			"emails":       []any{map[string]any{"type": "work", "value": "alice@contoso.com"}},
			"phoneNumbers": []any{map[string]any{"type": "mobile", "value": "+1 555 0100"}},
			"meta": map[string]any{"resourceType": "User", "created": full.CreatedOn, "lastModified": full.ModifiedOn,
				"location": usersPath + full.GUIDUser},
		}
		if status != http.StatusOK || !jsonEqual(got, want) {
			t.Errorf("got %d %v\nwant 200 %v", status, got, want)
		}
	})
	t.Run("bare user", func(t *testing.T) {
		status, got := get(t, base+bare.GUIDUser, scimToken)
		if status != http.StatusOK || got["userName"] != "bob@local" || got["active"] != true || got["emails"] != nil {
			t.Errorf("got %d %v", status, got)
		}
	})
	errorCases := []struct {
		name, id, token string
		status          int
	}{
		{"wrong token", full.GUIDUser, "not-the-token", http.StatusUnauthorized},
		{"no token", full.GUIDUser, "", http.StatusUnauthorized},
		{"id not in Redis", "00000000-0000-0000-0000-000000000002", scimToken, http.StatusNotFound},
		{"idUser not in the portal", ghost, scimToken, http.StatusNotFound},
	}
	for _, c := range errorCases {
		t.Run(c.name, func(t *testing.T) {
			status, got := get(t, base+c.id, c.token)
			if status != c.status || got["status"] != strconv.Itoa(c.status) {
				t.Errorf("got %d %v, want %d", status, got, c.status)
			}
		})
	}

	// Every answered read was one portal GET: none for the refusals before the portal call.
	stats := simStats(t, portal.URL)
	if want := "GET /api/usersync/v1/users({idUser}) 200:2 404:1"; stats != want {
		t.Errorf("portal reads: %s, want %s", stats, want)
	}
}

// TestPortalOrRedisDown: a portal that cannot be reached is 502, a Redis that cannot be reached 503.
func TestPortalOrRedisDown(t *testing.T) {
	testkit.RequireSharedRedis(t)
	prefix := testkit.SharedRedisPrefix(t, "refproxy-test:")
	rdb := redis.NewClient(&redis.Options{Addr: testkit.SharedRedisAddr})
	defer rdb.Close()
	if err := rdb.Set(context.Background(), prefix+"g", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	nowhere := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	noPortal := startRefproxy(t, "--portal", "http://"+nowhere+"/portal", "--portal-token", portalToken,
		"--redis", testkit.SharedRedisAddr, "--key-prefix", prefix, "--token", scimToken)
	if status, got := get(t, noPortal+usersPath+"g", scimToken); status != http.StatusBadGateway {
		t.Errorf("portal down: got %d %v, want 502", status, got)
	}
	noRedis := startRefproxy(t, "--portal", "http://"+nowhere+"/portal", "--portal-token", portalToken,
		"--redis", nowhere, "--token", scimToken)
	if status, got := get(t, noRedis+usersPath+"g", scimToken); status != http.StatusServiceUnavailable {
		t.Errorf("Redis down: got %d %v, want 503", status, got)
	}
}

// TestFlags: both tokens are required.
func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"--token", "x"}, {"--portal-token", "x"}, {"--bogus"}} {
		var stderr strings.Builder
		if err := run(context.Background(), args, &stderr, nil); err == nil {
			t.Errorf("run %v: no error", args)
		}
	}
}

func createUser(t *testing.T, portalURL, body string) portalUser {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, portalURL+"/portal/api/usersync/v1/users", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+portalToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var u portalUser
	if err := json.NewDecoder(resp.Body).Decode(&u); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create user: %d %v", resp.StatusCode, err)
	}
	return u
}

// simStats renders portal-sim's counts of one route as "GET ROUTE status:count ...".
func simStats(t *testing.T, portalURL string) string {
	t.Helper()
	resp, err := http.Get(portalURL + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats portalsim.Stats
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	out := "GET /api/usersync/v1/users({idUser})"
	for _, c := range stats.Calls {
		if c.Method == http.MethodGet && c.Route == "/api/usersync/v1/users({idUser})" {
			out += fmt.Sprintf(" %d:%d", c.Status, c.Count)
		}
	}
	return out
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
