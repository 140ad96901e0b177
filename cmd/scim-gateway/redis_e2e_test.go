package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/internal/testkit"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

// End-to-end proof of issue #6: the id-mapping cache and the create records hold across replicas,
// restarts and the loss of Redis (DESIGN.md, "The portal is the source of truth; Redis is a cache" and
// "Creates never duplicate").

const (
	routeGetUser   = "GET /api/usersync/v1/users({idUser})"
	routeListUsers = "GET /api/usersync/v1/users"
	routeCreate    = "/api/usersync/v1/users"
)

// The route mixes of a read: warm is the portal's primary-key call, cold a filter query.
var (
	warmRead = map[string]int64{routeGetUser: 1}
	coldRead = map[string]int64{routeListUsers: 1}
)

// TestWarmReadsAcrossReplicas: with a warm cache, GET by id and the userName and externalId filters
// are one getUser each, on the replica that created the user and on a second replica sharing its
// Redis; a fresh gateway with an empty key prefix goes to listUsers once, then is warm; a user renamed
// in the portal by someone else no longer matches its old name.
func TestWarmReadsAcrossReplicas(t *testing.T) {
	testkit.RequireSharedRedis(t)
	a := newEnv(t, withSharedRedis(t))
	b := startReplica(t, a, nil)
	id := a.scim(http.MethodPost, "/Users", entraCreate("alice@contoso.com", "alice-ext")).want(t, http.StatusCreated).str("id")

	reads := []struct{ name, path string }{
		{"GET by id", "/Users/" + id},
		{"filter by userName", filterPath(`userName eq "Alice@contoso.com"`)},
		{"filter by externalId", filterPath(`externalId eq "alice-ext"`)},
	}
	for _, gw := range []struct {
		name string
		e    *env
	}{{"creating replica", a}, {"second replica", b}} {
		for _, r := range reads {
			t.Run(gw.name+" warm "+r.name, func(t *testing.T) {
				ans, calls := gw.e.readRoutes(t, r.path)
				wantOneUser(t, ans, id)
				wantRoutes(t, calls, warmRead)
			})
		}
	}

	for _, r := range reads {
		t.Run("fresh gateway cold then warm "+r.name, func(t *testing.T) {
			c := startReplica(t, a, func(cfg *config.Config) { cfg.Store.Redis.KeyPrefix = sharedRedisPrefix(t) })
			ans, calls := c.readRoutes(t, r.path)
			wantOneUser(t, ans, id)
			wantRoutes(t, calls, coldRead)
			ans, calls = c.readRoutes(t, r.path)
			wantOneUser(t, ans, id)
			wantRoutes(t, calls, warmRead)
		})
	}

	t.Run("renamed in the portal", func(t *testing.T) {
		p := a.portalUser("contoso.com", "alice")
		a.portalPatchUser(p.IDUser, `{"userName":"alicia"}`)

		old := filterPath(`userName eq "alice@contoso.com"`)
		ans, calls := b.readRoutes(t, old)
		wantNoUser(t, ans)
		// The cached id is read once, found renamed, forgotten; then the portal is asked by name.
		wantRoutes(t, calls, map[string]int64{routeGetUser: 1, routeListUsers: 1})
		ans, calls = a.readRoutes(t, old)
		wantNoUser(t, ans)
		wantRoutes(t, calls, coldRead) // the other replica dropped the stale mapping from Redis

		renamed := filterPath(`userName eq "alicia@contoso.com"`)
		ans, calls = a.readRoutes(t, renamed)
		wantOneUser(t, ans, id)
		wantRoutes(t, calls, coldRead)
		ans, calls = b.readRoutes(t, renamed)
		wantOneUser(t, ans, id)
		wantRoutes(t, calls, warmRead)
		if got := ans.body["Resources"].([]any)[0].(map[string]any)["userName"]; got != "alicia@contoso.com" {
			t.Fatalf("userName = %v, want the portal's new name", got)
		}
	})
}

// TestConcurrentCreatesThroughTwoReplicas sends 50 identical creates at once through two gateways
// sharing one Redis and one portal: one portal user, and every answer is 201 or 409 with one id.
// Creates of one login are serialised, and the first holds the lock until its 201 is delivered and
// recorded, so each duplicate that waited follows the rule: the first's 201 reached its client, so
// 409. Exactly one 201, then; the Redis timeout is raised so that a slow machine cannot lose the
// delivery record (losing it would degrade to a second 201 with the same id, which is also correct).
func TestConcurrentCreatesThroughTwoReplicas(t *testing.T) {
	testkit.RequireSharedRedis(t)
	a := newEnv(t, withSharedRedis(t,
		func(c *config.Config) { c.Store.Redis.Timeout = 5 * time.Second }))
	b := startReplica(t, a, nil)

	const n = 50
	body := entraCreate("race@contoso.com", "race-ext")
	type result struct {
		status int
		id     string
		err    error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		gw := a
		if i%2 == 1 {
			gw = b
		}
		wg.Go(func() {
			<-start
			status, raw, err := postUser(gw.client, gw.base, body)
			var v struct {
				ID string `json:"id"`
			}
			if err == nil && status == http.StatusCreated {
				err = json.Unmarshal(raw, &v)
			}
			results[i] = result{status: status, id: v.ID, err: err}
		})
	}
	close(start)
	wg.Wait()

	p := a.portalUser("contoso.com", "race")
	created := 0
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Fatalf("create %d: %v", i, r.err)
		case r.status == http.StatusCreated:
			created++
			if r.id != p.GUIDUser {
				t.Fatalf("create %d: 201 with id %q, want the portal user's %q", i, r.id, p.GUIDUser)
			}
		case r.status != http.StatusConflict:
			t.Fatalf("create %d: status %d, want 201 or 409", i, r.status)
		}
	}
	if created != 1 {
		t.Fatalf("%d creates answered 201, want 1 (the others wait for it and meet a delivered create)", created)
	}
	if got := a.sim.Stats().Count(http.MethodPost, routeCreate, http.StatusCreated); got != 1 {
		t.Fatalf("the portal created %d users, want 1", got)
	}
	if got := len(a.portalUsers()); got != 1 {
		t.Fatalf("the portal holds %d users, want 1", got)
	}
}

// TestCreateWhoseClientGaveUp: the client gives up before the gateway answers, while the portal
// stores the user. The create must not be cut short with the client: the gateway finishes it and
// records that its 201 never reached the client, so that the retry is 201 with the same id (not 409),
// and the retry after a delivered 201 is 409.
func TestCreateWhoseClientGaveUp(t *testing.T) {
	testkit.RequireSharedRedis(t)
	for _, tc := range []struct {
		name   string
		faults func(f *portalsim.Faults)
	}{
		// The portal answers 201 after the client left; the gateway gets it.
		{"portal slow to answer", func(f *portalsim.Faults) { f.LatencyMs = 700 }},
		// The portal stores the user but answers after the gateway's upstream.timeout: unknown outcome.
		{"portal slow to commit", func(f *portalsim.Faults) { f.SlowCommitRate, f.SlowCommitMs = 1, 3000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withSharedRedis(t,
				func(c *config.Config) { c.Upstream.Timeout = 1500 * time.Millisecond }))
			body := entraCreate("gone@contoso.com", "gone-ext")
			e.setFaults(tc.faults)
			impatient := &http.Client{Timeout: 200 * time.Millisecond}
			if status, raw, err := postUser(impatient, e.base, body); err == nil {
				t.Fatalf("the impatient client got an answer (%d %s); the portal latency must exceed its timeout", status, raw)
			}
			// The portal has the user once the gateway's create reached it; the retry then waits for
			// that create to finish under the login's lock.
			waitFor(t, "the portal to store the abandoned create", func() bool { return len(e.portalUsers()) == 1 })
			e.setFaults(func(f *portalsim.Faults) { *f = portalsim.DefaultFaults() })

			retry := e.scim(http.MethodPost, "/Users", body).want(t, http.StatusCreated)
			p := e.portalUser("contoso.com", "gone")
			if retry.str("id") != p.GUIDUser {
				t.Fatalf("retry id %q, portal guid %q", retry.str("id"), p.GUIDUser)
			}
			// That 201 was delivered: one more POST is a plain 409.
			e.scim(http.MethodPost, "/Users", body).wantError(t, http.StatusConflict, "uniqueness")
			if got := len(e.portalUsers()); got != 1 {
				t.Fatalf("the portal holds %d users, want 1", got)
			}
		})
	}
}

// TestIdempotencyKeyAcrossReplicasScopedToToken: a key used on one replica replays on the other; the
// same key under another token is another key.
func TestIdempotencyKeyAcrossReplicasScopedToToken(t *testing.T) {
	testkit.RequireSharedRedis(t)
	const otherToken = "entra-other-token-0123456789"
	a := newEnv(t, withSharedRedis(t, func(c *config.Config) {
		c.Server.Tokens = append(c.Server.Tokens, config.Token{Name: "entra-2", Value: otherToken})
	}))
	b := startReplica(t, a, nil)
	body := entraCreate("idem@contoso.com", "idem-ext")

	first := a.scim(http.MethodPost, "/Users", body, "Idempotency-Key", "key-1").want(t, http.StatusCreated)
	replay := b.scim(http.MethodPost, "/Users", body, "Idempotency-Key", "key-1").want(t, http.StatusCreated)
	if replay.str("id") != first.str("id") || replay.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay on the second replica: id %q (first %q), Idempotent-Replayed %q",
			replay.str("id"), first.str("id"), replay.header.Get("Idempotent-Replayed"))
	}
	b.scim(http.MethodPost, "/Users", entraCreate("idem@contoso.com", "other-ext"), "Idempotency-Key", "key-1").
		wantError(t, http.StatusUnprocessableEntity, "")
	other := b.send(http.MethodPost, b.base+"/Users", otherToken, body, "Idempotency-Key", "key-1")
	other.wantError(t, http.StatusConflict, "uniqueness")
	if other.header.Get("Idempotent-Replayed") != "" {
		t.Fatal("a key of another token was replayed")
	}
	if got := a.sim.Stats().Count(http.MethodPost, routeCreate, http.StatusCreated); got != 1 {
		t.Fatalf("the portal created %d users, want 1", got)
	}
}

// TestRedisFlushedMidSequence: FLUSHALL between steps loses the cache and the create records; reads
// go cold, then warm again; creates, patches and gets go on; nothing is duplicated or lost.
func TestRedisFlushedMidSequence(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	a := newEnv(t, withRedis(srv.URL(), "scimgw-e2e:"))
	b := startReplica(t, a, nil)
	id1 := a.scim(http.MethodPost, "/Users", entraCreate("flush1@contoso.com", "flush1-ext")).want(t, http.StatusCreated).str("id")
	byName := filterPath(`userName eq "flush1@contoso.com"`)
	byExt := filterPath(`externalId eq "flush1-ext"`)

	ans, calls := b.readRoutes(t, byName)
	wantOneUser(t, ans, id1)
	wantRoutes(t, calls, warmRead)

	srv.FlushAll(t)
	ans, calls = a.readRoutes(t, byName)
	wantOneUser(t, ans, id1)
	wantRoutes(t, calls, coldRead)
	for _, path := range []string{byName, byExt} {
		ans, calls = b.readRoutes(t, path)
		wantOneUser(t, ans, id1)
		wantRoutes(t, calls, warmRead)
	}
	// A replica started after the flush finds the id mapping the cold read wrote back.
	c := startReplica(t, a, nil)
	ans, calls = c.readRoutes(t, "/Users/"+id1)
	if ans.want(t, http.StatusOK).str("id") != id1 {
		t.Fatalf("GET by id: %s", ans.raw)
	}
	wantRoutes(t, calls, warmRead)

	id2 := b.scim(http.MethodPost, "/Users", entraCreate("flush2@contoso.com", "flush2-ext")).want(t, http.StatusCreated).str("id")
	srv.FlushAll(t)
	// The create record is gone: the re-POST degrades to 409, never a second portal user.
	a.scim(http.MethodPost, "/Users", entraCreate("flush2@contoso.com", "flush2-ext")).wantError(t, http.StatusConflict, "uniqueness")
	a.scim(http.MethodPatch, "/Users/"+id2, patchPrefix+`[{"op":"replace","path":"title","value":"After flush"}]}`).
		want(t, http.StatusNoContent)
	srv.FlushAll(t)
	b.scim(http.MethodPatch, "/Users/"+id1, patchPrefix+`[{"op":"replace","path":"active","value":false}]}`).
		want(t, http.StatusNoContent)
	if got := c.scim(http.MethodGet, "/Users/"+id2, nil).want(t, http.StatusOK).str("title"); got != "After flush" {
		t.Fatalf("title after the flush = %q", got)
	}
	id3 := c.scim(http.MethodPost, "/Users", entraCreate("flush3@contoso.com", "flush3-ext")).want(t, http.StatusCreated).str("id")

	wantPortal(t, a, map[string]portalWant{
		"flush1": {id: id1, enabled: false, title: "Engineer"},
		"flush2": {id: id2, enabled: true, title: "After flush"},
		"flush3": {id: id3, enabled: true, title: "Engineer"},
	})
}

// TestRedisStoppedAndRestarted: with Redis killed, every request is served from the portal (no 5xx
// because of Redis), the gateway logs it and reports it degraded; once Redis is back on the same port
// the gateway uses it again by itself; the portal ends with no duplicate and no lost update.
func TestRedisStoppedAndRestarted(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	a := newEnv(t, withRedis(srv.URL(), "scimgw-e2e:"))
	b := startReplica(t, a, nil)
	id1 := a.scim(http.MethodPost, "/Users", entraCreate("down1@contoso.com", "down1-ext")).want(t, http.StatusCreated).str("id")
	if got := readiness(t, a); got != "ok" {
		t.Fatalf("readiness redis = %q before the stop, want ok", got)
	}

	srv.Stop()
	id2 := b.scim(http.MethodPost, "/Users", entraCreate("down2@contoso.com", "down2-ext")).want(t, http.StatusCreated).str("id")
	for _, gw := range []*env{a, b} {
		wantOneUser(t, gw.scim(http.MethodGet, filterPath(`userName eq "down1@contoso.com"`), nil), id1)
		wantOneUser(t, gw.scim(http.MethodGet, filterPath(`externalId eq "down2-ext"`), nil), id2)
		gw.scim(http.MethodGet, "/Users/"+id1, nil).want(t, http.StatusOK)
		gw.scim(http.MethodGet, "/Users/"+id2, nil).want(t, http.StatusOK)
	}
	a.scim(http.MethodPatch, "/Users/"+id2, patchPrefix+`[{"op":"replace","path":"title","value":"While down"}]}`).want(t, http.StatusNoContent)
	b.scim(http.MethodPatch, "/Users/"+id1, patchPrefix+`[{"op":"replace","path":"active","value":false}]}`).want(t, http.StatusNoContent)
	a.scim(http.MethodPost, "/Users", entraCreate("down1@contoso.com", "down1-ext")).wantError(t, http.StatusConflict, "uniqueness")
	b.scim(http.MethodPost, "/Users", entraCreate("down2@contoso.com", "down2-ext")).wantError(t, http.StatusConflict, "uniqueness")
	for _, gw := range []*env{a, b} {
		if got := readiness(t, gw); got != "degraded" {
			t.Fatalf("readiness redis = %q while Redis is down, want degraded", got)
		}
		if !strings.Contains(gw.logs.String(), "redis unavailable") {
			t.Fatalf("no log says Redis is unavailable:\n%s", gw.logs.String())
		}
	}

	srv.Start()
	byName := filterPath(`userName eq "down2@contoso.com"`)
	for _, gw := range []*env{a, b} {
		// The restarted Redis is empty; the gateway's reads probe it and, once it answers, fill it.
		waitFor(t, "the gateway to use the restarted Redis", func() bool {
			wantOneUser(t, gw.scim(http.MethodGet, byName, nil), id2)
			return readiness(t, gw) == "ok"
		})
		// Redis was back for the whole of this read, which therefore fills the cache if the polls did not.
		wantOneUser(t, gw.scim(http.MethodGet, byName, nil), id2)
		ans, calls := gw.readRoutes(t, byName)
		wantOneUser(t, ans, id2)
		wantRoutes(t, calls, warmRead)
		if !strings.Contains(gw.logs.String(), "redis available again") {
			t.Fatalf("no log says Redis is available again:\n%s", gw.logs.String())
		}
	}
	if n := srv.DBSize(t); n == 0 {
		t.Fatal("the restarted Redis holds no key: the gateway does not use it")
	}
	id3 := a.scim(http.MethodPost, "/Users", entraCreate("down3@contoso.com", "down3-ext")).want(t, http.StatusCreated).str("id")
	b.scim(http.MethodPost, "/Users", entraCreate("down3@contoso.com", "down3-ext")).wantError(t, http.StatusConflict, "uniqueness")

	wantPortal(t, a, map[string]portalWant{
		"down1": {id: id1, enabled: false, title: "Engineer"},
		"down2": {id: id2, enabled: true, title: "While down"},
		"down3": {id: id3, enabled: true, title: "Engineer"},
	})
}

// TestRedisUnreachableAtStart: a gateway whose Redis is not there serves from the portal, then adopts
// Redis when it comes up.
func TestRedisUnreachableAtStart(t *testing.T) {
	srv := testkit.NewRedisServer(t) // not started
	e := newEnv(t, withRedis(srv.URL(), "scimgw-e2e:"))
	id := e.scim(http.MethodPost, "/Users", entraCreate("late@contoso.com", "late-ext")).want(t, http.StatusCreated).str("id")
	byName := filterPath(`userName eq "late@contoso.com"`)
	for range 2 {
		ans, calls := e.readRoutes(t, byName)
		wantOneUser(t, ans, id)
		wantRoutes(t, calls, coldRead)
	}
	if got := readiness(t, e); got != "degraded" {
		t.Fatalf("readiness redis = %q without Redis, want degraded", got)
	}

	srv.Start()
	waitFor(t, "the gateway to adopt Redis", func() bool {
		wantOneUser(t, e.scim(http.MethodGet, byName, nil), id)
		return readiness(t, e) == "ok"
	})
	wantOneUser(t, e.scim(http.MethodGet, byName, nil), id) // fills the cache if the polls did not
	ans, calls := e.readRoutes(t, byName)
	wantOneUser(t, ans, id)
	wantRoutes(t, calls, warmRead)
}

// withRedis returns a configuration change that points the store at a Redis URL under a key prefix,
// followed by more changes.
func withRedis(url, prefix string, more ...func(c *config.Config)) func(c *config.Config) {
	return func(c *config.Config) {
		c.Store.Redis.URL = url
		c.Store.Redis.KeyPrefix = prefix
		for _, m := range more {
			m(c)
		}
	}
}

// startReplica starts another gateway App on e's portal with a copy of e's configuration (so the same
// Redis and key prefix unless change says otherwise). It shares e's portal-sim and stats.
func startReplica(t *testing.T, e *env, change func(c *config.Config)) *env {
	t.Helper()
	cfg := *e.cfg
	cfg.Server.Tokens = append([]config.Token(nil), e.cfg.Server.Tokens...)
	cfg.Server.Listen, cfg.Admin.Listen = "127.0.0.1:0", "127.0.0.1:0"
	if change != nil {
		change(&cfg)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
	app := startApp(t, &cfg, AppOptions{LogOutput: logs})
	return &env{t: t, sim: e.sim, simSrv: e.simSrv, app: app, cfg: &cfg, base: "http://" + app.SCIMAddr() + "/scim/v2",
		logs: logs, client: e.client}
}

// readRoutes sends a GET through the gateway and returns its answer and the portal calls it made. The
// gateways of a test share one portal-sim, so calls are read while nothing else runs.
func (e *env) readRoutes(t *testing.T, path string) (answer, map[string]int64) {
	t.Helper()
	before := e.portalCalls()
	ans := e.scim(http.MethodGet, path, nil)
	return ans, e.callsSince(before)
}

func wantRoutes(t *testing.T, got, want map[string]int64) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("portal calls = %v, want %v", got, want)
	}
}

// wantOneUser fails unless a list answer holds exactly the user id.
func wantOneUser(t *testing.T, a answer, id string) {
	t.Helper()
	a.want(t, http.StatusOK)
	if _, list := a.body["Resources"]; !list {
		if a.str("id") != id {
			t.Fatalf("answer id %q, want %q: %s", a.str("id"), id, a.raw)
		}
		return
	}
	res, _ := a.body["Resources"].([]any)
	if a.body["totalResults"] != 1.0 || len(res) != 1 || res[0].(map[string]any)["id"] != id {
		t.Fatalf("want exactly user %s: %s", id, a.raw)
	}
}

func wantNoUser(t *testing.T, a answer) {
	t.Helper()
	a.want(t, http.StatusOK)
	if a.body["totalResults"] != 0.0 {
		t.Fatalf("want no user: %s", a.raw)
	}
}

// portalWant is what the portal must hold for one login of the contoso.com domain.
type portalWant struct {
	id      string
	enabled bool
	title   string
}

// wantPortal checks the portal's users through its own API: exactly the logins of want, once each.
func wantPortal(t *testing.T, e *env, want map[string]portalWant) {
	t.Helper()
	users := e.portalUsers()
	if len(users) != len(want) {
		t.Fatalf("the portal holds %d users, want %d", len(users), len(want))
	}
	for name, w := range want {
		p := e.portalUser("contoso.com", name)
		if p.GUIDUser != w.id || p.Enabled != w.enabled || p.Properties["title"] != w.title {
			t.Fatalf("portal user %s: guid %q enabled %v title %v, want %+v", name, p.GUIDUser, p.Enabled, p.Properties["title"], w)
		}
	}
}

// portalPatchUser changes a user straight through the portal's API, as another system would.
func (e *env) portalPatchUser(idUser int64, body string) {
	e.t.Helper()
	e.portalCall(http.MethodPatch, fmt.Sprintf("/api/usersync/v1/users(%d)", idUser), body)
}

// postUser creates a user through a gateway with the test token; it does not fail the test, so that
// it can run in other goroutines.
func postUser(client *http.Client, base, body string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/Users", strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e2eToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// readiness returns the redis detail of the gateway's /readyz.
func readiness(t *testing.T, e *env) string {
	t.Helper()
	resp, err := e.client.Get("http://" + e.app.AdminAddr() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Detail struct {
			Redis string `json:"redis"`
		} `json:"detail"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	return body.Detail.Redis
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	const limit = 60 * time.Second
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// withSharedRedis returns a configuration change that points the store at the shared Redis under a key
// prefix of the test's own, followed by more changes.
func withSharedRedis(t testing.TB, more ...func(c *config.Config)) func(c *config.Config) {
	return withRedis("redis://"+testkit.SharedRedisAddr+"/0", sharedRedisPrefix(t), more...)
}

// sharedRedisPrefix returns a key prefix of the test's own on the shared Redis, whose keys are deleted
// when the test ends.
func sharedRedisPrefix(t testing.TB) string { return testkit.SharedRedisPrefix(t, "scimgw-e2e-") }
