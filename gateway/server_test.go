package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

const testToken = "test-token-0123456789abcdef"

func newTestServer(t *testing.T) *Server {
	t.Helper()
	return New(Options{
		Tokens: NewTokens([]Token{{Name: "entra", Value: testToken}}),
		Live:   &Live{Limits: Limits{MaxBodyBytes: 1 << 20, MaxPageSize: 100, MaxScan: 1000, MaxOperations: 100}, OnDelete: "disable"},
	})
}

func do(t *testing.T, h http.Handler, method, target, token, body string) *httptest.ResponseRecorder {
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

func TestAuthSlowdownIgnoresForgedForwardedFor(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	fail := func(remote, xff string) {
		r := httptest.NewRequest(http.MethodGet, "/scim/v2/ServiceProviderConfig", nil)
		r.RemoteAddr = remote
		r.Header.Set("Authorization", "Bearer wrong")
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	// A client on the internet forging a new X-Forwarded-For each time is still one address.
	for i := range authFreeFailures {
		fail("203.0.113.7:40000", fmt.Sprintf("198.51.100.%d", i))
	}
	if n := s.auth.addrs["203.0.113.7"]; n == nil || n.count != authFreeFailures {
		t.Fatalf("failures by the real address = %+v, want %d", n, authFreeFailures)
	}
	// Behind the ingress (a private address), the client it appended is the one counted.
	fail("10.0.0.5:50000", "198.51.100.99, 203.0.113.50")
	if n := s.auth.addrs["203.0.113.50"]; n == nil || n.count != 1 {
		t.Fatalf("failures by the forwarded client = %+v, want 1", n)
	}
}
