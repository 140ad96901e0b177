package portalsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDefaultFaultsMatchTheContract(t *testing.T) {
	const documented = `{"latencyMs":0,"jitterMs":0,"errorRate":0,"rateLimitRate":0,"retryAfterSeconds":1,"htmlErrors":false,` +
		`"tokenTTLSeconds":3600,"dropRate":0,"slowCommitRate":0,"slowCommitMs":0}`
	p := newPortal(t)
	res := p.simCall(http.MethodGet, "/_sim/faults", "")
	if res.status != 200 || string(res.body) != documented {
		t.Fatalf("GET /_sim/faults = %d %s, want %s", res.status, res.body, documented)
	}
}

func TestPutFaults(t *testing.T) {
	p := newPortal(t)
	res := p.simCall(http.MethodPut, "/_sim/faults", `{"latencyMs":5,"htmlErrors":true,"errorRate":0.25}`)
	want := DefaultFaults()
	want.LatencyMs, want.HTMLErrors, want.ErrorRate = 5, true, 0.25
	var got Faults
	decode(t, res.body, &got)
	if res.status != 200 || got != want || p.sim.Faults() != want {
		t.Fatalf("PUT = %d %s, want %+v", res.status, res.body, want)
	}
	res = p.simCall(http.MethodPut, "/_sim/faults", `{"jitterMs":2}`)
	want.JitterMs = 2
	decode(t, res.body, &got)
	if got != want {
		t.Fatalf("a second PUT changed keys it did not name: %s", res.body)
	}
	refused := []struct{ body, target string }{
		{`{"errorRate":1.5}`, "errorRate"},
		{`{"rateLimitRate":-0.1}`, "rateLimitRate"},
		{`{"dropRate":2}`, "dropRate"},
		{`{"slowCommitRate":-1}`, "slowCommitRate"},
		{`{"latencyMs":-1}`, "latencyMs"},
		{`{"jitterMs":-5}`, "jitterMs"},
		{`{"retryAfterSeconds":-1}`, "retryAfterSeconds"},
		{`{"slowCommitMs":-1}`, "slowCommitMs"},
		{`{"tokenTTLSeconds":0}`, "tokenTTLSeconds"},
		{`{"latencyMs":1.5}`, "latencyMs"},
		{`{"latencyMs":"5"}`, "latencyMs"},
		{`{"errorRate":"0.5"}`, "errorRate"},
		{`{"htmlErrors":"yes"}`, "htmlErrors"},
		{`{"htmlErrors":null}`, "htmlErrors"},
		{`{"latencyMs":null}`, "latencyMs"},
		{`{"latency":5}`, "latency"},
		{`{"latencyMs":7,"bogus":1}`, "bogus"},
		{`{"latencyMs":7,"errorRate":9}`, "errorRate"},
		{`[1]`, ""},
		{`nope`, ""},
	}
	for _, tt := range refused {
		t.Run(tt.body, func(t *testing.T) {
			wantError(t, p.simCall(http.MethodPut, "/_sim/faults", tt.body), 400, CodeValidationFailed, tt.target)
			if got := p.sim.Faults(); got != want {
				t.Fatalf("a refused PUT changed the faults: %+v", got)
			}
		})
	}
	t.Run("SetFaults refuses what PUT refuses", func(t *testing.T) {
		bad := want
		bad.TokenTTLSeconds = 0
		if err := p.sim.SetFaults(bad); err == nil || p.sim.Faults() != want {
			t.Fatalf("SetFaults(%+v) = %v", bad, err)
		}
		if err := p.sim.SetFaults(DefaultFaults()); err != nil || p.sim.Faults() != DefaultFaults() {
			t.Fatalf("SetFaults(defaults) = %v", err)
		}
	})
}

func TestErrorRate(t *testing.T) {
	p := newPortal(t)
	p.putFaults(`{"errorRate":1}`)
	t.Run("JSON body", func(t *testing.T) {
		wantError(t, p.call(http.MethodGet, usersPath, ""), 503, CodeUnavailable, "")
	})
	t.Run("before authentication", func(t *testing.T) {
		wantError(t, p.send(http.MethodGet, p.apiURL(usersPath), "", ""), 503, CodeUnavailable, "")
	})
	t.Run("before routing", func(t *testing.T) {
		wantError(t, p.call(http.MethodGet, "/nowhere", ""), 503, CodeUnavailable, "")
	})
	t.Run("a refused write is not stored", func(t *testing.T) {
		wantError(t, p.call(http.MethodPost, usersPath, `{"userName":"a","domain":"b"}`), 503, CodeUnavailable, "")
		p.putFaults(`{"errorRate":0}`)
		defer p.putFaults(`{"errorRate":1}`)
		if res := p.call(http.MethodGet, usersPath, ""); !startsWithCount(res.body, 0) {
			t.Fatalf("stored: %s", res.body)
		}
	})
	t.Run("token calls get no faults", func(t *testing.T) {
		if tok := p.issueToken(""); tok == "" {
			t.Fatal("no token")
		}
	})
	t.Run("HTML page", func(t *testing.T) {
		p.putFaults(`{"htmlErrors":true}`)
		res := p.call(http.MethodGet, usersPath, "")
		if res.status != 503 || res.header.Get("Content-Type") != "text/html; charset=utf-8" ||
			!strings.HasPrefix(string(res.body), "<!DOCTYPE html>") || !strings.Contains(string(res.body), "503 Service Unavailable") {
			t.Fatalf("got %d %q %s", res.status, res.header.Get("Content-Type"), res.body)
		}
		if json.Valid(res.body) {
			t.Fatal("HTML page is valid JSON")
		}
	})
	t.Run("HTML only for 5xx", func(t *testing.T) {
		p.putFaults(`{"errorRate":0,"htmlErrors":true}`)
		wantError(t, p.call(http.MethodGet, userPath(9, ""), ""), 404, CodeUserNotFound, "idUser")
		wantError(t, p.send(http.MethodGet, p.apiURL(usersPath), "", ""), 401, CodeUnauthorized, "")
	})
}

func TestRateLimitRate(t *testing.T) {
	p := newPortal(t)
	p.putFaults(`{"rateLimitRate":1,"retryAfterSeconds":7,"htmlErrors":true}`)
	res := p.call(http.MethodGet, usersPath, "")
	wantError(t, res, 429, CodeRateLimited, "")
	if got := res.header.Get("Retry-After"); got != "7" {
		t.Fatalf("Retry-After = %q, want 7", got)
	}
	wantError(t, p.send(http.MethodGet, p.apiURL(usersPath), "", ""), 429, CodeRateLimited, "")
	p.putFaults(`{"errorRate":1}`)
	if res := p.call(http.MethodGet, usersPath, ""); res.status != 503 {
		t.Fatalf("503 and 429 both certain: got %d, want 503 (503 comes first)", res.status)
	}
	if tok := p.issueToken(""); tok == "" {
		t.Fatal("token call rate limited")
	}
}

// noReuseClient opens a connection per request, so that a dropped connection is not retried by the
// transport.
func noReuseClient(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
}

func TestDropRate(t *testing.T) {
	p := newPortal(t)
	p.putFaults(`{"dropRate":1,"errorRate":1,"rateLimitRate":1}`)
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPost, usersPath, `{"userName":"dropped","domain":"corp"}`},
		{http.MethodGet, usersPath, ""},
	} {
		req, err := http.NewRequest(c.method, p.apiURL(c.path), strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+p.token)
		resp, err := noReuseClient(30 * time.Second).Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("%s %s answered %d, want a dropped connection", c.method, c.path, resp.StatusCode)
		}
	}
	if tok := p.issueToken(""); tok == "" {
		t.Fatal("token call dropped")
	}
	p.putFaults(`{"dropRate":0,"errorRate":0,"rateLimitRate":0}`)
	if res := p.call(http.MethodGet, usersPath, ""); !startsWithCount(res.body, 0) {
		t.Fatalf("a dropped write was stored: %s", res.body)
	}
	st := p.stats()
	if st.Count("POST", "/api/usersync/v1/users", 0) != 1 || st.Count("GET", "/api/usersync/v1/users", 0) != 1 {
		t.Fatalf("dropped calls not counted with status 0: %+v", st)
	}
}

func TestSlowCommit(t *testing.T) {
	p := newPortal(t)
	p.putFaults(`{"slowCommitRate":1,"slowCommitMs":600000}`)
	req, err := http.NewRequest(http.MethodPost, p.apiURL(usersPath), strings.NewReader(`{"userName":"slow","domain":"corp"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := noReuseClient(500 * time.Millisecond).Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("slow commit answered %d before the client timeout", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "Timeout") {
		t.Fatalf("err = %v, want a client timeout", err)
	}
	// Reads are not slowed, and the write is there although its answer never came.
	res := p.call(http.MethodGet, usersPath+"?$filter=userName%20eq%20'slow'", "")
	if res.status != 200 || !startsWithCount(res.body, 1) {
		t.Fatalf("slow-committed user not stored: %d %s", res.status, res.body)
	}
	// A retried create meets a 409, which is not slowed: only successful writes are.
	eb := wantError(t, p.call(http.MethodPost, usersPath, `{"userName":"slow","domain":"corp"}`), 409, CodeUserAlreadyExists, "userName")
	if eb.Error.ExistingIDUser == nil || *eb.Error.ExistingIDUser != 1 {
		t.Fatalf("existingIdUser: %+v", eb.Error)
	}
	p.putFaults(`{"slowCommitMs":0}`)
	if res := p.call(http.MethodPost, usersPath, `{"userName":"fast","domain":"corp"}`); res.status != 201 {
		t.Fatalf("slow commit of 0 ms: %d", res.status)
	}
}

func TestLatency(t *testing.T) {
	p := newPortal(t)
	p.putFaults(`{"latencyMs":150,"jitterMs":20}`)
	start := time.Now()
	if res := p.call(http.MethodGet, usersPath, ""); res.status != 200 {
		t.Fatalf("status %d", res.status)
	}
	if elapsed := time.Since(start); elapsed < 150*time.Millisecond {
		t.Fatalf("call took %v, want at least the 150ms latency", elapsed)
	}
	// Token calls get no added latency: with an hour of latency, a token still comes back.
	p.putFaults(`{"latencyMs":3600000}`)
	if tok := p.issueToken(""); tok == "" {
		t.Fatal("no token")
	}
}

// TestSeededDraws checks that the same seed gives the same sequence of fault draws, and that a reset
// restarts it.
func TestSeededDraws(t *testing.T) {
	run := func(p *testPortal) string {
		var b strings.Builder
		for range 40 {
			res := p.send(http.MethodGet, p.apiURL(usersPath), testStaticToken, "")
			b.WriteString(map[int]string{200: ".", 503: "E", 429: "R"}[res.status])
		}
		return b.String()
	}
	seeded := func(seed int64) *testPortal {
		return newPortal(t, func(o *Options) {
			o.Seed = seed
			o.Faults = Faults{ErrorRate: 0.3, RateLimitRate: 0.3, JitterMs: 1}
		})
	}
	a := seeded(42)
	first := run(a)
	if len(first) != 40 || !strings.Contains(first, "E") || !strings.Contains(first, "R") || !strings.Contains(first, ".") {
		t.Fatalf("sequence %q lacks a kind of answer", first)
	}
	if second := run(seeded(42)); second != first {
		t.Fatalf("same seed, other sequence: %q vs %q", second, first)
	}
	if other := run(seeded(43)); other == first {
		t.Fatalf("seeds 42 and 43 gave the same sequence %q", other)
	}
	if again := run(a); again == first {
		t.Fatalf("the sequence did not move on: %q", again)
	}
	a.simCall(http.MethodPost, "/_sim/reset", "")
	if replay := run(a); replay != first {
		t.Fatalf("reset did not restart the sequence: %q vs %q", replay, first)
	}
}
