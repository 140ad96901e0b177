package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/gateway"
	"github.com/scim-gateway/scim-gateway/internal/testkit"
	"github.com/scim-gateway/scim-gateway/translator"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

// End-to-end proof of issue 13, item 2: a create whose outcome the gateway could not report (it
// answered 503/429, or stopped, or its client left while Redis was down) is answered 201 with the
// existing id when it is retried with the same body; another body of the same login is still 409.

// lookupFailingPortal is the real portal client whose user reads fail as a portal that is down.
type lookupFailingPortal struct {
	gateway.UserPortal
	code translator.Code
}

func (p *lookupFailingPortal) fail() error {
	return &translator.Error{Code: p.code, Message: "portal read failed (test)", RetryAfter: time.Second}
}

func (p *lookupFailingPortal) GetUser(ctx context.Context, idUser int64) (translator.PortalUser, error) {
	return translator.PortalUser{}, p.fail()
}

func (p *lookupFailingPortal) ListUsers(ctx context.Context, f []translator.PortalFilter, page translator.Page) (translator.UserList, error) {
	return translator.UserList{}, p.fail()
}

// wantRetryConverges retries body (whose earlier create the portal committed without the client
// learning it) and checks: 201 with the portal's id, then 409 for the same body (that 201 was
// delivered) and for another body of the same login, and one portal user.
func wantRetryConverges(t *testing.T, e *env, body, domain, userName string) {
	t.Helper()
	retry := e.scim(http.MethodPost, "/Users", body).want(t, http.StatusCreated)
	p := e.portalUser(domain, userName)
	if retry.str("id") != p.GUIDUser {
		t.Fatalf("retry id %q, portal guid %q", retry.str("id"), p.GUIDUser)
	}
	e.scim(http.MethodPost, "/Users", body).wantError(t, http.StatusConflict, "uniqueness")
	other := strings.Replace(body, `"title": "Engineer"`, `"title": "Someone else"`, 1)
	if other == body {
		t.Fatal("the other body is the same body")
	}
	e.scim(http.MethodPost, "/Users", other).wantError(t, http.StatusConflict, "uniqueness")
	if got := len(e.portalUsers()); got != 1 {
		t.Fatalf("the portal holds %d users, want 1", got)
	}
}

// TestCreateRetriedAfterFailedLookup: the portal commits a create but answers after upstream.timeout
// (unknown outcome), and the lookup that follows fails; the gateway answers that failure (503 or 429).
// Entra's retry of the same body must get 201, with the memory store and with Redis.
func TestCreateRetriedAfterFailedLookup(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   translator.Code
		status int
		redis  bool
	}{
		{"memory store, portal down", translator.EUnavailable, http.StatusServiceUnavailable, false},
		{"memory store, portal rate limiting", translator.ERateLimited, http.StatusTooManyRequests, false},
		{"redis, portal down", translator.EUnavailable, http.StatusServiceUnavailable, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			change := func(c *config.Config) { c.Upstream.Timeout = time.Second }
			if tc.redis {
				testkit.RequireSharedRedis(t)
				change = withSharedRedis(t, change)
			}
			e := newEnv(t, change)
			body := entraCreate("lost@contoso.com", "lost-ext")
			live := e.app.server.Live()
			faulty := *live
			faulty.Users = &lookupFailingPortal{UserPortal: live.Users, code: tc.code}
			e.app.server.SetLive(&faulty)
			e.setFaults(func(f *portalsim.Faults) { f.SlowCommitRate, f.SlowCommitMs = 1, 2500 })
			e.scim(http.MethodPost, "/Users", body).wantError(t, tc.status, "")
			e.setFaults(func(f *portalsim.Faults) { *f = portalsim.DefaultFaults() })
			e.app.server.SetLive(live)
			if got := len(e.portalUsers()); got != 1 {
				t.Fatalf("the portal holds %d users after the unknown outcome, want 1 (the slow commit)", got)
			}
			wantRetryConverges(t, e, body, "contoso.com", "lost")
		})
	}
}

// TestCreateRetriedAfterShutdown: creates still in flight when the gateway stops (past
// server.shutdownTimeout, the portal committing slowly) are retried on a new gateway sharing the
// Redis: every retry gets 201 with the portal's id.
func TestCreateRetriedAfterShutdown(t *testing.T) {
	testkit.RequireSharedRedis(t)
	const n = 5
	prefix := sharedRedisPrefix(t)
	e := newEnv(t, withRedis("redis://"+testkit.SharedRedisAddr+"/0", prefix, func(c *config.Config) {
		c.Server.ShutdownTimeout = 200 * time.Millisecond
	}))
	e.setFaults(func(f *portalsim.Faults) { f.SlowCommitRate, f.SlowCommitMs = 1, 3000 })
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		bodies[i] = entraCreate(fmt.Sprintf("inflight%d@contoso.com", i), fmt.Sprintf("inflight%d-ext", i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The answer, if any, does not matter: the process stops under it.
			_, _, _ = postUser(&http.Client{Timeout: 10 * time.Second}, e.base, bodies[i])
		}()
	}
	waitFor(t, "the portal to store the in-flight creates", func() bool { return len(e.portalUsers()) == n })
	e.app.Shutdown()
	// The stopped gateway's create locks expire (createLockHold); here they are deleted.
	testkit.DeleteByPrefix(t, testkit.SharedRedisAddr, prefix+"lock:")
	e.setFaults(func(f *portalsim.Faults) { *f = portalsim.DefaultFaults() })

	restarted := startReplica(t, e, nil)
	for i, body := range bodies {
		a := restarted.scim(http.MethodPost, "/Users", body).want(t, http.StatusCreated)
		p := restarted.portalUser("contoso.com", fmt.Sprintf("inflight%d", i))
		if a.str("id") != p.GUIDUser {
			t.Fatalf("retry %d: id %q, portal guid %q", i, a.str("id"), p.GUIDUser)
		}
		restarted.scim(http.MethodPost, "/Users", body).wantError(t, http.StatusConflict, "uniqueness")
	}
	wg.Wait()
	if got := len(restarted.portalUsers()); got != n {
		t.Fatalf("the portal holds %d users, want %d", got, n)
	}
}

// TestCreateWhoseClientGaveUpWhileRedisDown: with Redis stopped, the client gives up during a slow
// commit; the gateway remembers the undelivered create in process, and the retry on this replica gets
// 201 with the existing id.
func TestCreateWhoseClientGaveUpWhileRedisDown(t *testing.T) {
	for _, tc := range []struct {
		name   string
		faults func(f *portalsim.Faults)
	}{
		{"portal slow to answer", func(f *portalsim.Faults) { f.LatencyMs = 700 }},
		{"portal slow to commit", func(f *portalsim.Faults) { f.SlowCommitRate, f.SlowCommitMs = 1, 3000 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testkit.StartRedisServer(t)
			e := newEnv(t, withRedis(srv.URL(), "scimgw-e2e:", func(c *config.Config) { c.Upstream.Timeout = 1500 * time.Millisecond }))
			srv.Stop()
			body := entraCreate("gone@contoso.com", "gone-ext")
			e.setFaults(tc.faults)
			impatient := &http.Client{Timeout: 200 * time.Millisecond}
			if status, raw, err := postUser(impatient, e.base, body); err == nil {
				t.Fatalf("the impatient client got an answer (%d %s); the portal latency must exceed its timeout", status, raw)
			}
			waitFor(t, "the portal to store the abandoned create", func() bool { return len(e.portalUsers()) == 1 })
			e.setFaults(func(f *portalsim.Faults) { *f = portalsim.DefaultFaults() })
			wantRetryConverges(t, e, body, "contoso.com", "gone")
		})
	}
}

// TestCreateRecordOutlivesFailedRePOSTs: a re-POST of a delivered create writes its pending record,
// then puts the delivered one back when the portal refuses it (503) or when the answer is 409, so that
// later re-POSTs stay 409.
func TestCreateRecordOutlivesFailedRePOSTs(t *testing.T) {
	e := newEnv(t, nil)
	body := entraCreate("kept@contoso.com", "kept-ext")
	e.scim(http.MethodPost, "/Users", body).want(t, http.StatusCreated)
	e.setFaults(func(f *portalsim.Faults) { f.ErrorRate = 1 })
	e.scim(http.MethodPost, "/Users", body).wantError(t, http.StatusServiceUnavailable, "")
	e.setFaults(func(f *portalsim.Faults) { *f = portalsim.DefaultFaults() })
	for range 3 {
		e.scim(http.MethodPost, "/Users", body).wantError(t, http.StatusConflict, "uniqueness")
	}
}
