package gateway

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

const testToken = "test-token-0123456789abcdef"

func newTestServer(t *testing.T) *Server {
	t.Helper()
	return New(Options{
		Tokens: NewTokens([]Token{{Name: "entra", Value: testToken}}),
		Live:   &Live{Limits: Limits{MaxBodyBytes: 1 << 20, MaxPageSize: 100, MaxScan: 1000, MaxOperations: 100}, OnDelete: "disable"},
	})
}

func do(t *testing.T, h http.Handler, method, target, token, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decodeError(t *testing.T, w *httptest.ResponseRecorder) ErrorBody {
	t.Helper()
	var b ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, w.Body.String())
	}
	if len(b.Schemas) != 1 || b.Schemas[0] != SchemaError {
		t.Fatalf("error body schemas = %v, want [%s]", b.Schemas, SchemaError)
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Fatalf("Content-Type = %q, want application/scim+json", ct)
	}
	return b
}

func TestAuth(t *testing.T) {
	h := newTestServer(t).Handler()
	for _, tc := range []struct {
		name, header string
		want         int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong", "Bearer nope", http.StatusUnauthorized},
		{"basic scheme", "Basic " + testToken, http.StatusUnauthorized},
		{"right", "Bearer " + testToken, http.StatusOK},
		{"scheme in any case", "bearer " + testToken, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/scim/v2/ServiceProviderConfig", nil)
			if tc.header != "" {
				r.Header.Set("Authorization", tc.header)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status = %d, want %d: %s", w.Code, tc.want, w.Body.String())
			}
			if tc.want == http.StatusUnauthorized {
				if b := decodeError(t, w); b.Status != "401" {
					t.Fatalf("status field = %q, want \"401\"", b.Status)
				}
			}
		})
	}
}

func TestTokenRotation(t *testing.T) {
	tokens := NewTokens([]Token{{Name: "old", Value: "old-token-0123456789"}})
	tokens.Set([]Token{{Name: "old", Value: "old-token-0123456789"}, {Name: "new", Value: "new-token-0123456789"}})
	for _, tc := range []struct{ value, name string }{{"old-token-0123456789", "old"}, {"new-token-0123456789", "new"}} {
		if name, ok := tokens.Match(tc.value); !ok || name != tc.name {
			t.Fatalf("Match(%q) = %q, %v; want %q, true", tc.value, name, ok, tc.name)
		}
	}
	tokens.Set([]Token{{Name: "new", Value: "new-token-0123456789"}})
	if _, ok := tokens.Match("old-token-0123456789"); ok {
		t.Fatal("old token still accepted after rotation")
	}
	if _, ok := tokens.Match(""); ok {
		t.Fatal("empty token accepted")
	}
}

func TestPathTolerance(t *testing.T) {
	h := newTestServer(t).Handler()
	for _, target := range []string{
		"/scim/v2/ServiceProviderConfig",
		"/scim/v2/ServiceProviderConfig/",
		"/scim/ServiceProviderConfig",
		"/scim//v2//ServiceProviderConfig",
		"/scim/v2/ServiceProviderConfig?aadOptscim062020",
		"/scim/v2/ResourceTypes/user",
		"/scim/v2/serviceproviderconfig",
		"/scim/v2/serviceConfiguration",
		"/scim/serviceconfiguration/",
		"/scim/v2/resourcetypes",
		"/scim/v2/RESOURCETYPES/User",
	} {
		t.Run(target, func(t *testing.T) {
			if w := do(t, h, http.MethodGet, target, testToken, ""); w.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200: %s", w.Code, w.Body.String())
			}
		})
	}
}

func TestCleanSCIMPath(t *testing.T) {
	for in, want := range map[string]string{
		"/scim/v2/Users":      "/scim/v2/Users",
		"/scim/v2/Users/":     "/scim/v2/Users",
		"/scim/Users":         "/scim/v2/Users",
		"/scim":               "/scim/v2",
		"/scim/":              "/scim/v2",
		"//scim//v2///Users/": "/scim/v2/Users",
		"/scimx/Users":        "/scimx/Users",
		"/":                   "/",
		"/healthz":            "/healthz",
		// Resource segments in any case; ids untouched.
		"/scim/v2/users":                 "/scim/v2/Users",
		"/scim/users/AbC-123":            "/scim/v2/Users/AbC-123",
		"/scim/v2/GROUPS/Grp-Id/":        "/scim/v2/Groups/Grp-Id",
		"/scim/v2/schemas/urn:x:User":    "/scim/v2/Schemas/urn:x:User",
		"/scim/v2/resourceTypes/user":    "/scim/v2/ResourceTypes/user",
		"/scim/v2/serviceConfiguration":  "/scim/v2/ServiceProviderConfig",
		"/scim/v2/ServiceProviderConfig": "/scim/v2/ServiceProviderConfig",
		"/scim/v2/Users/users":           "/scim/v2/Users/users",
		"/scim/v2/Bulk":                  "/scim/v2/Bulk",
		"/scim/v2/usersx":                "/scim/v2/usersx",
	} {
		if got := cleanSCIMPath(in); got != want {
			t.Errorf("cleanSCIMPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRoutingErrorsAreSCIM(t *testing.T) {
	h := newTestServer(t).Handler()
	t.Run("unknown route", func(t *testing.T) {
		w := do(t, h, http.MethodGet, "/scim/v2/Nope", testToken, "")
		if w.Code != http.StatusNotFound {
			t.Fatalf("status = %d, want 404", w.Code)
		}
		if b := decodeError(t, w); b.Status != "404" || b.Detail == "" {
			t.Fatalf("body = %+v", b)
		}
	})
	t.Run("wrong method", func(t *testing.T) {
		w := do(t, h, http.MethodDelete, "/scim/v2/ServiceProviderConfig", testToken, "")
		if w.Code != http.StatusMethodNotAllowed {
			t.Fatalf("status = %d, want 405", w.Code)
		}
		if b := decodeError(t, w); b.Status != "405" {
			t.Fatalf("body = %+v", b)
		}
		if w.Header().Get("Allow") == "" {
			t.Fatal("405 without an Allow header")
		}
	})
}

func TestReadBody(t *testing.T) {
	e := echo.New()
	for _, tc := range []struct {
		name, contentType, body string
		limit                   int64
		wantErr                 error
	}{
		{"scim json", "application/scim+json; charset=utf-8", `{}`, 10, nil},
		{"plain json", "application/json", `{}`, 10, nil},
		{"no content type", "", `{}`, 10, nil},
		{"at the limit", "application/json", `{"a":"12"}`, 10, nil},
		{"over the limit", "application/json", `{"a":"123"}`, 10, echo.ErrStatusRequestEntityTooLarge},
		{"xml", "text/xml", `<a/>`, 10, echo.ErrUnsupportedMediaType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			c := e.NewContext(r, httptest.NewRecorder())
			got, err := readBody(c, tc.limit)
			if err != tc.wantErr {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && string(got) != tc.body {
				t.Fatalf("body = %q, want %q", got, tc.body)
			}
		})
	}
	t.Run("chunked body over the limit", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(strings.Repeat("x", 100)))
		r.ContentLength = -1
		c := e.NewContext(r, httptest.NewRecorder())
		if _, err := readBody(c, 10); err != echo.ErrStatusRequestEntityTooLarge {
			t.Fatalf("err = %v, want 413", err)
		}
	})
}

func TestRequestID(t *testing.T) {
	h := newTestServer(t).Handler()
	r := httptest.NewRequest(http.MethodGet, "/scim/v2/ServiceProviderConfig", nil)
	r.Header.Set("Authorization", "Bearer "+testToken)
	r.Header.Set(HeaderRequestID, "abc-123")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if got := w.Header().Get(HeaderRequestID); got != "abc-123" {
		t.Fatalf("X-Request-Id = %q, want the client's", got)
	}
	w = do(t, h, http.MethodGet, "/scim/v2/ServiceProviderConfig", testToken, "")
	if got := w.Header().Get(HeaderRequestID); len(got) != 32 {
		t.Fatalf("generated X-Request-Id = %q, want 32 hex characters", got)
	}
}

func TestAuthThrottle(t *testing.T) {
	th := newAuthThrottle()
	now := time.Unix(1000, 0)
	var got []time.Duration
	for range authFreeFailures + 6 {
		got = append(got, th.failure("10.0.0.1", now))
	}
	for i := range authFreeFailures {
		if got[i] != 0 {
			t.Fatalf("failure %d delayed %v; the first %d are free", i+1, got[i], authFreeFailures)
		}
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond, 2 * time.Second}
	for i, w := range want {
		if got[authFreeFailures+i] != w {
			t.Fatalf("delays after the free failures = %v, want %v", got[authFreeFailures:], want)
		}
	}
	if d := th.failure("10.0.0.2", now); d != 0 {
		t.Fatalf("another address delayed %v", d)
	}
	if d := th.failure("10.0.0.1", now.Add(authWindow+time.Second)); d != 0 {
		t.Fatalf("after the window: delayed %v", d)
	}
	for i := range authMaxTracked + 10 {
		th.failure(fmt.Sprintf("addr-%d", i), now)
	}
	if n := len(th.addrs); n > authMaxTracked {
		t.Fatalf("tracking %d addresses, cap %d", n, authMaxTracked)
	}
}

func TestAuthFailuresSlowDown(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	for range authFreeFailures {
		do(t, h, http.MethodGet, "/scim/v2/ServiceProviderConfig", "wrong", "")
	}
	start := time.Now()
	w := do(t, h, http.MethodGet, "/scim/v2/ServiceProviderConfig", "wrong", "")
	if w.Code != http.StatusUnauthorized || time.Since(start) < authBaseDelay {
		t.Fatalf("6th failure: %d after %v, want 401 after at least %v", w.Code, time.Since(start), authBaseDelay)
	}
	// A valid token from the same address is never delayed or refused.
	if w := do(t, h, http.MethodGet, "/scim/v2/ServiceProviderConfig", testToken, ""); w.Code != http.StatusOK {
		t.Fatalf("valid token after failures: %d", w.Code)
	}
}

// TestAuthSlowdownIgnoresForgedForwardedFor sends failed authentications over real HTTP, each with a
// new X-Forwarded-For, from a peer that is not a trusted proxy (none is configured): they all count
// against the TCP peer, so the slowdown applies from the sixth on.
func TestAuthSlowdownIgnoresForgedForwardedFor(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	s := newTestServer(t)
	s.logger = zap.New(core)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	n := authFreeFailures + 1
	for i := range n {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/scim/v2/ServiceProviderConfig", nil)
		req.Header.Set("Authorization", "Bearer wrong")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d, 203.0.113.%d", i, i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", resp.StatusCode)
		}
	}
	s.auth.mu.Lock()
	got, tracked := s.auth.addrs["127.0.0.1"], len(s.auth.addrs)
	s.auth.mu.Unlock()
	if got == nil || got.count != n || tracked != 1 {
		t.Fatalf("throttle tracks %d addresses, 127.0.0.1 with %+v; want only the TCP peer, with %d failures", tracked, got, n)
	}
	for _, e := range logs.FilterMessage("scim request").All() {
		if r := e.ContextMap()["remote"]; r != "127.0.0.1" {
			t.Fatalf("access log remote = %v, want the TCP peer 127.0.0.1", r)
		}
	}
}

func TestClientIPFromTrustedProxiesOnly(t *testing.T) {
	cidrs := func(ss ...string) []*net.IPNet {
		var out []*net.IPNet
		for _, c := range ss {
			_, n, err := net.ParseCIDR(c)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, n)
		}
		return out
	}
	tests := []struct {
		name    string
		trusted []*net.IPNet
		peer    string
		xff     []string
		want    string
	}{
		{"no trusted proxies: the peer, whatever the header", nil, "10.0.0.5:5000", []string{"203.0.113.50"}, "10.0.0.5"},
		{"no trusted proxies: loopback is not trusted either", nil, "127.0.0.1:5000", []string{"203.0.113.50"}, "127.0.0.1"},
		{"peer not trusted: header ignored", cidrs("10.0.0.0/8"), "203.0.113.7:5000", []string{"198.51.100.1"}, "203.0.113.7"},
		{"private peer not configured is not trusted", cidrs("10.244.0.0/16"), "192.168.1.9:5000", []string{"198.51.100.1"}, "192.168.1.9"},
		{"trusted peer, no header: the peer", cidrs("10.0.0.0/8"), "10.0.0.5:5000", nil, "10.0.0.5"},
		{"trusted peer: the entry it appended", cidrs("10.0.0.0/8"), "10.0.0.5:5000", []string{"203.0.113.50"}, "203.0.113.50"},
		{"right-most untrusted entry, forged left entries never reached", cidrs("10.0.0.0/8"), "10.0.0.5:5000",
			[]string{"198.51.100.99, 192.0.2.1, 203.0.113.50, 10.1.2.3"}, "203.0.113.50"},
		{"several headers read as one list", cidrs("10.0.0.0/8"), "10.0.0.5:5000", []string{"198.51.100.99", "203.0.113.50"}, "203.0.113.50"},
		{"chain of trusted proxies", cidrs("10.0.0.0/8", "172.16.0.0/12"), "10.0.0.5:5000",
			[]string{"203.0.113.50, 172.16.3.4, 10.9.9.9"}, "203.0.113.50"},
		{"garbage entry: the peer", cidrs("10.0.0.0/8"), "10.0.0.5:5000", []string{"203.0.113.50, not-an-ip"}, "10.0.0.5"},
		{"IPv6 peer and entry", cidrs("fd00::/8"), "[fd00::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t)
			l := *s.Live()
			l.TrustedProxies = tt.trusted
			s.SetLive(&l)
			var got string
			s.echo.GET("/probe-ip", func(c echo.Context) error { got = c.RealIP(); return nil })
			r := httptest.NewRequest(http.MethodGet, "/probe-ip", nil)
			r.RemoteAddr = tt.peer
			for _, x := range tt.xff {
				r.Header.Add("X-Forwarded-For", x)
			}
			s.Handler().ServeHTTP(httptest.NewRecorder(), r)
			if got != tt.want {
				t.Fatalf("client address = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestTrustedProxiesReloadLive swaps the trusted proxies in with SetLive (a configuration reload) and
// checks the slowdown's key follows.
func TestTrustedProxiesReloadLive(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	fail := func() {
		r := httptest.NewRequest(http.MethodGet, "/scim/v2/ServiceProviderConfig", nil)
		r.RemoteAddr = "10.0.0.5:50000"
		r.Header.Set("Authorization", "Bearer wrong")
		r.Header.Set("X-Forwarded-For", "198.51.100.99, 203.0.113.50")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	fail()
	l := *s.Live()
	_, ingress, _ := net.ParseCIDR("10.0.0.0/8")
	l.TrustedProxies = []*net.IPNet{ingress}
	s.SetLive(&l)
	fail()
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	if p, c := s.auth.addrs["10.0.0.5"], s.auth.addrs["203.0.113.50"]; p == nil || p.count != 1 || c == nil || c.count != 1 {
		t.Fatalf("failures: proxy %+v, client %+v; want one each (before and after the reload)", p, c)
	}
}
