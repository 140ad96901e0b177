package portalsim

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestTokenEndpoint(t *testing.T) {
	p := newPortal(t)
	tests := []struct {
		name       string
		id, secret string
		form       string
		wantStatus int
		wantBody   string // exact body of an error
		wantScope  string // scope of a 200
	}{
		{name: "no scope means both", id: testClientID, secret: testClientSecret,
			form: "grant_type=client_credentials", wantStatus: 200, wantScope: "api usersync"},
		{name: "both scopes", id: testClientID, secret: testClientSecret,
			form: "grant_type=client_credentials&scope=api+usersync", wantStatus: 200, wantScope: "api usersync"},
		{name: "both scopes in other order", id: testClientID, secret: testClientSecret,
			form: "grant_type=client_credentials&scope=usersync%20api", wantStatus: 200, wantScope: "api usersync"},
		{name: "api only", id: testClientID, secret: testClientSecret,
			form: "grant_type=client_credentials&scope=api", wantStatus: 200, wantScope: "api"},
		{name: "usersync only", id: testClientID, secret: testClientSecret,
			form: "grant_type=client_credentials&scope=usersync", wantStatus: 200, wantScope: "usersync"},
		{name: "wrong secret", id: testClientID, secret: "nope",
			form: "grant_type=client_credentials", wantStatus: 401, wantBody: `{"error":"invalid_client"}`},
		{name: "wrong id", id: "other", secret: testClientSecret,
			form: "grant_type=client_credentials", wantStatus: 401, wantBody: `{"error":"invalid_client"}`},
		{name: "wrong grant", id: testClientID, secret: testClientSecret,
			form: "grant_type=password", wantStatus: 400, wantBody: `{"error":"unsupported_grant_type"}`},
		{name: "no grant", id: testClientID, secret: testClientSecret,
			form: "scope=api", wantStatus: 400, wantBody: `{"error":"unsupported_grant_type"}`},
		{name: "unknown scope", id: testClientID, secret: testClientSecret,
			form: "grant_type=client_credentials&scope=api+admin", wantStatus: 400, wantBody: `{"error":"invalid_scope"}`},
		{name: "wrong secret beats wrong grant", id: testClientID, secret: "nope",
			form: "grant_type=password", wantStatus: 401, wantBody: `{"error":"invalid_client"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := p.tokenRequest(tt.id, tt.secret, tt.form)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", res.status, tt.wantStatus, res.body)
			}
			if ct := res.header.Get("Content-Type"); ct != jsonContentType {
				t.Fatalf("Content-Type = %q", ct)
			}
			if tt.wantStatus != http.StatusOK {
				if string(res.body) != tt.wantBody {
					t.Fatalf("body = %s, want %s", res.body, tt.wantBody)
				}
				return
			}
			var tr TokenResponse
			decode(t, res.body, &tr)
			if !hex64.MatchString(tr.AccessToken) {
				t.Fatalf("access_token = %q, want 64 hex chars", tr.AccessToken)
			}
			if tr.TokenType != "bearer" || tr.ExpiresIn != 3600 || tr.HTTPStatusCode != 200 || tr.Scope != tt.wantScope {
				t.Fatalf("token response = %+v, want bearer, 3600, 200, scope %q", tr, tt.wantScope)
			}
		})
	}
	t.Run("no client authentication", func(t *testing.T) {
		res := p.send(http.MethodPost, p.apiURL("/oauth2/server/token"), "", "grant_type=client_credentials")
		if res.status != 401 || string(res.body) != `{"error":"invalid_client"}` {
			t.Fatalf("got %d %s, want 401 invalid_client", res.status, res.body)
		}
	})
	t.Run("GET is not allowed", func(t *testing.T) {
		res := p.send(http.MethodGet, p.apiURL("/oauth2/server/token"), "", "")
		wantError(t, res, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "")
		if got := res.header.Get("Allow"); got != "POST" {
			t.Fatalf("Allow = %q, want POST", got)
		}
	})
	t.Run("tokens differ", func(t *testing.T) {
		if a, b := p.issueToken(""), p.issueToken(""); a == b {
			t.Fatalf("two tokens are equal: %s", a)
		}
	})
}

func TestBearerAuthentication(t *testing.T) {
	p := newPortal(t)
	apiOnly := p.issueToken("api")
	userSyncOnly := p.issueToken("usersync")
	tests := []struct {
		name       string
		header     string
		wantStatus int
		wantCode   string
	}{
		{name: "no header", header: "", wantStatus: 401, wantCode: CodeUnauthorized},
		{name: "unknown token", header: "Bearer " + strings.Repeat("ab", 32), wantStatus: 401, wantCode: CodeUnauthorized},
		{name: "basic scheme", header: "Basic " + p.token, wantStatus: 401, wantCode: CodeUnauthorized},
		{name: "empty bearer", header: "Bearer ", wantStatus: 401, wantCode: CodeUnauthorized},
		{name: "api-only token", header: "Bearer " + apiOnly, wantStatus: 403, wantCode: CodeInsufficientScope},
		{name: "usersync-only token", header: "Bearer " + userSyncOnly, wantStatus: 200},
		{name: "oauth token", header: "Bearer " + p.token, wantStatus: 200},
		{name: "scheme in lower case", header: "bearer " + p.token, wantStatus: 200},
		{name: "static token", header: "Bearer " + testStaticToken, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, p.apiURL(usersPath), nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			res := p.roundTrip(http.DefaultClient, req)
			if tt.wantStatus == http.StatusOK {
				if res.status != 200 {
					t.Fatalf("status = %d, want 200: %s", res.status, res.body)
				}
				return
			}
			wantError(t, res, tt.wantStatus, tt.wantCode, "")
			wantChallenge := ""
			if tt.wantStatus == http.StatusUnauthorized {
				wantChallenge = `Bearer error="invalid_token"`
			}
			if got := res.header.Get("WWW-Authenticate"); got != wantChallenge {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, wantChallenge)
			}
		})
	}
}

func TestAPIOnlyTokenIsRefusedOnEveryUserSyncCall(t *testing.T) {
	p := newPortal(t)
	u := p.createUser(`{"userName":"ann","domain":"corp"}`)
	g := p.createGroup(`{"name":"staff"}`)
	apiOnly := p.issueToken("api")
	calls := []struct{ method, path, body string }{
		{http.MethodGet, usersPath, ""},
		{http.MethodPost, usersPath, `{"userName":"bob","domain":"corp"}`},
		{http.MethodGet, userPath(u.IDUser, ""), ""},
		{http.MethodPatch, userPath(u.IDUser, ""), `{"fullName":"x"}`},
		{http.MethodPost, userPath(u.IDUser, "/disable"), ""},
		{http.MethodPost, userPath(u.IDUser, "/enable"), ""},
		{http.MethodGet, userPath(u.IDUser, "/groups"), ""},
		{http.MethodGet, groupsPath, ""},
		{http.MethodGet, groupPath(g.IDGroup, ""), ""},
		{http.MethodGet, groupPath(g.IDGroup, "/members"), ""},
		{http.MethodPut, groupPath(g.IDGroup, "/members(1)"), ""},
	}
	for _, c := range calls {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			wantError(t, p.send(c.method, p.apiURL(c.path), apiOnly, c.body), http.StatusForbidden, CodeInsufficientScope, "")
		})
	}
	if got := p.call(http.MethodGet, userPath(u.IDUser, ""), ""); got.status != 200 {
		t.Fatalf("user after refused calls: %d", got.status)
	}
	if res := p.call(http.MethodGet, usersPath+"?$filter=userName%20eq%20'bob'", ""); !strings.Contains(string(res.body), `"@odata.count":0`) {
		t.Fatalf("a refused create was stored: %s", res.body)
	}
}

func TestStaticTokenModes(t *testing.T) {
	t.Run("static token only", func(t *testing.T) {
		p := newPortal(t, func(o *Options) { o.ClientID, o.ClientSecret = "", "" })
		if res := p.call(http.MethodGet, usersPath, ""); res.status != 200 {
			t.Fatalf("static token: status %d: %s", res.status, res.body)
		}
		res := p.tokenRequest(testClientID, testClientSecret, "grant_type=client_credentials")
		if res.status != 401 || string(res.body) != `{"error":"invalid_client"}` {
			t.Fatalf("token endpoint without a client: %d %s", res.status, res.body)
		}
	})
	t.Run("oauth only", func(t *testing.T) {
		p := newPortal(t, func(o *Options) { o.StaticToken = "" })
		wantError(t, p.send(http.MethodGet, p.apiURL(usersPath), testStaticToken, ""), 401, CodeUnauthorized, "")
		if res := p.call(http.MethodGet, usersPath, ""); res.status != 200 {
			t.Fatalf("oauth token: status %d", res.status)
		}
	})
	t.Run("both", func(t *testing.T) {
		p := newPortal(t)
		for _, tok := range []string{p.token, testStaticToken} {
			if res := p.send(http.MethodGet, p.apiURL(usersPath), tok, ""); res.status != 200 {
				t.Fatalf("token %q: status %d", tok, res.status)
			}
		}
	})
	t.Run("static token survives reset", func(t *testing.T) {
		p := newPortal(t)
		p.sim.Reset()
		wantError(t, p.call(http.MethodGet, usersPath, ""), 401, CodeUnauthorized, "")
		if res := p.send(http.MethodGet, p.apiURL(usersPath), testStaticToken, ""); res.status != 200 {
			t.Fatalf("static token after reset: %d", res.status)
		}
		if tok := p.issueToken(""); tok == "" {
			t.Fatal("client forgotten by reset")
		}
	})
}

func TestTokenExpiry(t *testing.T) {
	p := newPortal(t)
	longLived := p.token
	p.putFaults(`{"tokenTTLSeconds":1}`)
	res := p.tokenRequest(testClientID, testClientSecret, "grant_type=client_credentials")
	var tr TokenResponse
	decode(t, res.body, &tr)
	if tr.ExpiresIn != 1 {
		t.Fatalf("expires_in = %d, want 1", tr.ExpiresIn)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := p.send(http.MethodGet, p.apiURL(usersPath), tr.AccessToken, "")
		if got.status == http.StatusUnauthorized {
			wantError(t, got, 401, CodeUnauthorized, "")
			if h := got.header.Get("WWW-Authenticate"); h != `Bearer error="invalid_token"` {
				t.Fatalf("WWW-Authenticate = %q", h)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("token with a TTL of 1s still accepted after 30s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := p.send(http.MethodGet, p.apiURL(usersPath), longLived, ""); got.status != 200 {
		t.Fatalf("a token issued before the TTL change expired with it: status %d", got.status)
	}
}

func TestAuthenticationComesBeforeRouting(t *testing.T) {
	p := newPortal(t)
	tests := []struct {
		name, method, path, token string
		wantStatus                int
		wantCode                  string
	}{
		{"unknown route without token", http.MethodGet, p.apiURL("/api/usersync/v1/nothing"), "", 401, CodeUnauthorized},
		{"wrong method without token", http.MethodPut, p.apiURL(usersPath), "", 401, CodeUnauthorized},
		{"delete without token", http.MethodDelete, p.apiURL(userPath(1, "")), "", 401, CodeUnauthorized},
		{"path outside the base path without token", http.MethodGet, p.srv.URL + "/elsewhere", "", 401, CodeUnauthorized},
		{"unknown route with token", http.MethodGet, p.apiURL("/api/usersync/v1/nothing"), p.token, 404, CodeNotFound},
		{"path outside the base path with token", http.MethodGet, p.srv.URL + "/elsewhere", p.token, 404, CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, p.send(tt.method, tt.path, tt.token, ""), tt.wantStatus, tt.wantCode, "")
		})
	}
}
