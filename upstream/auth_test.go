package upstream

import (
	"context"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
	"github.com/scim-gateway/scim-gateway/translator"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

func TestTokenExpiryDuringARun(t *testing.T) {
	p := newPortal(t, faults(func(f *portalsim.Faults) { f.TokenTTLSeconds = 1 }))
	c := newClient(t, p, nil, Options{})
	user := mustCreateUser(t, c, "longrun")
	calls := 0
	waitFor(t, "three tokens issued", func() bool {
		if _, err := c.GetUser(context.Background(), user.IDUser); err != nil {
			t.Fatalf("GetUser call %d: %v", calls, err)
		}
		calls++
		return p.stats(t).count(http.MethodPost, routeToken, http.StatusOK) >= 3
	})
}

func TestTokenRenewedAndReplayedOnce(t *testing.T) {
	ctx := context.Background()

	t.Run("a refused token is renewed and the call replayed", func(t *testing.T) {
		p := newPortal(t, portalsim.DefaultFaults())
		c := newClient(t, p, nil, Options{})
		mustCreateUser(t, c, "before")
		p.sim.Reset() // forgets the issued token (and the counters)
		created, err := c.CreateUser(ctx, newUser("after"))
		if err != nil {
			t.Fatalf("CreateUser with a forgotten token: %v", err)
		}
		if created.IDUser != 1 {
			t.Fatalf("idUser = %d, want 1 after the reset", created.IDUser)
		}
		s := p.stats(t)
		if s.count(http.MethodPost, routeUsers, http.StatusUnauthorized) != 1 ||
			s.count(http.MethodPost, routeUsers, http.StatusCreated) != 1 ||
			s.count(http.MethodPost, routeToken, -1) != 1 {
			t.Fatalf("stats = %+v, want one 401, one token call, one 201", s.Calls)
		}
	})

	t.Run("only once per call", func(t *testing.T) {
		p := newPortal(t, portalsim.DefaultFaults())
		p.hook(func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":{"code":"UNAUTHORIZED","message":"expired"}}`))
			return false
		})
		var api atomic.Int64
		var log callLog
		c := newClient(t, p, nil, Options{OnCall: func(ctx context.Context, info CallInfo) {
			if info.Op != OpToken {
				api.Add(1)
			}
			log.record(ctx, info)
		}})
		_, err := c.GetUser(ctx, 1)
		e := wantCode(t, err, translator.EUnauthorized)
		if e.Status != http.StatusUnauthorized || e.PortalCode != "UNAUTHORIZED" {
			t.Fatalf("error = %+v", e)
		}
		if n := api.Load(); n != 2 {
			t.Fatalf("API calls = %d, want 2 (the call and one replay)", n)
		}
		if n := p.stats(t).count(http.MethodPost, routeToken, -1); n != 2 {
			t.Fatalf("token calls = %d, want 2", n)
		}
	})
}

func TestCredentialsRefused(t *testing.T) {
	ctx := context.Background()

	t.Run("wrong secret, concurrent calls", func(t *testing.T) {
		p := newPortal(t, portalsim.DefaultFaults())
		c := newClient(t, p, func(u *Config) { u.Auth.ClientSecret = "wrong" }, Options{})
		c.tokens.failureTTL = time.Hour // the whole test runs inside one failure window
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				_, err := c.GetUser(ctx, 1)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			e := wantCode(t, err, translator.EUnauthorized)
			if !strings.Contains(e.Message, "invalid_client") {
				t.Fatalf("message = %q, want it to name invalid_client", e.Message)
			}
		}
		s := p.stats(t)
		if got := s.count(http.MethodPost, routeToken, http.StatusUnauthorized); got != 1 {
			t.Fatalf("token calls = %d for %d concurrent calls, want 1", got, n)
		}
		if s.apiCalls() != 0 {
			t.Fatalf("API calls = %d, want 0", s.apiCalls())
		}
	})

	t.Run("api-only scope", func(t *testing.T) {
		p := newPortal(t, portalsim.DefaultFaults())
		c := newClient(t, p, func(u *Config) { u.Auth.Scopes = []string{"api"} }, Options{})
		_, err := c.ListUsers(ctx, nil, translator.Page{Top: 1})
		e := wantCode(t, err, translator.EUnauthorized)
		if e.Status != http.StatusForbidden || e.PortalCode != "INSUFFICIENT_SCOPE" {
			t.Fatalf("error = %+v, want 403 INSUFFICIENT_SCOPE", e)
		}
		if n := p.stats(t).apiCalls(); n != 1 {
			t.Fatalf("API calls = %d, want 1 (a 403 is not replayed)", n)
		}
	})

	t.Run("unknown scope", func(t *testing.T) {
		p := newPortal(t, portalsim.DefaultFaults())
		c := newClient(t, p, func(u *Config) { u.Auth.Scopes = []string{"api", "admin"} }, Options{})
		_, err := c.ListUsers(ctx, nil, translator.Page{Top: 1})
		e := wantCode(t, err, translator.EUnauthorized)
		if e.PortalCode != "invalid_scope" || !strings.Contains(e.Message, "upstream.auth.scopes") {
			t.Fatalf("error = %+v, want invalid_scope naming the scopes key", e)
		}
	})

	t.Run("refused token is not retried by a safe call", func(t *testing.T) {
		p := newPortal(t, portalsim.DefaultFaults())
		c := newClient(t, p, func(u *Config) { u.Auth.ClientID = "someone-else" }, Options{})
		c.tokens.failureTTL = 0 // every attempt would ask again if the client retried
		err := c.DisableUser(ctx, 1)
		wantCode(t, err, translator.EUnauthorized)
		if n := p.stats(t).count(http.MethodPost, routeToken, -1); n != 1 {
			t.Fatalf("token calls = %d, want 1", n)
		}
	})
}

func TestStaticAndNoAuth(t *testing.T) {
	ctx := context.Background()
	p := newPortal(t, portalsim.DefaultFaults(), func(o *portalsim.Options) { o.StaticToken = "static-token" })

	t.Run("static bearer", func(t *testing.T) {
		c := newClient(t, p, func(u *Config) { u.Auth = Auth{Type: "bearer", Token: "static-token"} }, Options{})
		if _, err := c.ListUsers(ctx, nil, translator.Page{Top: 1}); err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		if n := p.stats(t).count(http.MethodPost, routeToken, -1); n != 0 {
			t.Fatalf("token calls = %d, want 0", n)
		}
	})
	t.Run("wrong static bearer is refused without a replay", func(t *testing.T) {
		c := newClient(t, p, func(u *Config) { u.Auth = Auth{Type: "bearer", Token: "stale"} }, Options{})
		before := p.stats(t).apiCalls()
		_, err := c.ListUsers(ctx, nil, translator.Page{Top: 1})
		wantCode(t, err, translator.EUnauthorized)
		if n := p.stats(t).apiCalls() - before; n != 1 {
			t.Fatalf("API calls = %d, want 1", n)
		}
	})
	t.Run("none", func(t *testing.T) {
		c := newClient(t, p, func(u *Config) { u.Auth = Auth{Type: "none"} }, Options{})
		seen := make(chan string, 1)
		p.hook(func(w http.ResponseWriter, r *http.Request) bool {
			seen <- r.Header.Get("Authorization")
			return true
		})
		defer p.hook(func(http.ResponseWriter, *http.Request) bool { return true })
		_, err := c.ListUsers(ctx, nil, translator.Page{Top: 1})
		wantCode(t, err, translator.EUnauthorized)
		if got := <-seen; got != "" {
			t.Fatalf("Authorization = %q, want none", got)
		}
	})
}

// TestTokenAnswers drives the token handling with answers the simulator does not give: a fake token
// endpoint in front of a static-token simulator.
func TestTokenAnswers(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		code   translator.Code // "" when the token must be accepted
	}{
		{"upper-case type, quoted lifetime", 200, `{"access_token":"static-token","token_type":"Bearer","expires_in":"3600","http_status_code":200}`, ""},
		{"no type, no lifetime", 200, `{"access_token":"static-token"}`, ""},
		{"error echoed in a 200", 200, `{"error":"invalid_client","http_status_code":401}`, translator.EUnauthorized},
		{"other token type", 200, `{"access_token":"x","token_type":"mac"}`, translator.EInternal},
		{"HTML page", 200, `<html>login</html>`, translator.EInternal},
		{"server error", 502, `<html>bad gateway</html>`, translator.EUnavailable},
		{"unsupported grant", 400, `{"error":"unsupported_grant_type"}`, translator.EUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPortal(t, portalsim.DefaultFaults(), func(o *portalsim.Options) { o.StaticToken = "static-token" })
			var form atomic.Pointer[string]
			tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.ParseForm()
				id, secret, _ := r.BasicAuth()
				got := r.PostForm.Encode() + " " + id + ":" + secret
				form.Store(&got)
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			defer tokenSrv.Close()
			c := newClient(t, p, func(u *Config) { u.Auth.TokenURL = tokenSrv.URL + "/token" }, Options{})
			_, err := c.ListUsers(context.Background(), nil, translator.Page{Top: 1})
			if want := "grant_type=client_credentials&scope=api+usersync " + testClientID + ":" + testClientSecret; *form.Load() != want {
				t.Fatalf("token request = %q, want %q", *form.Load(), want)
			}
			if tt.code == "" {
				if err != nil {
					t.Fatalf("ListUsers: %v", err)
				}
				return
			}
			wantCode(t, err, tt.code)
		})
	}
}

func TestTLS(t *testing.T) {
	ca := testkit.NewCA(t)
	caFile := ca.CertFile
	client := ca.IssueClient(t, "gateway")
	certFile, keyFile := client.CertFile, client.KeyFile

	sim, err := portalsim.New(portalsim.Options{BasePath: testBasePath, StaticToken: "static-token"})
	if err != nil {
		t.Fatalf("portalsim.New: %v", err)
	}
	srv := httptest.NewUnstartedServer(sim)
	server := ca.IssueServer(t, "127.0.0.1")
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{server.TLS}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	defer srv.Close()

	tests := []struct {
		name string
		tls  TLS
		code translator.Code
	}{
		{"custom CA and client certificate", TLS{Enabled: true, CAFile: caFile, CertFile: certFile, KeyFile: keyFile}, ""},
		{"no client certificate", TLS{Enabled: true, CAFile: caFile}, translator.EUnavailable},
		{"system roots do not know the CA", TLS{Enabled: true}, translator.EUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(srv.URL + testBasePath)
			cfg.Auth = Auth{Type: "bearer", Token: "static-token"}
			cfg.TLS = tt.tls
			cfg.Retry.MaxAttempts = 1
			c, err := New(cfg, Options{})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer c.Close()
			_, err = c.CreateUser(context.Background(), newUser("tls"))
			if tt.code == "" {
				if err != nil {
					t.Fatalf("CreateUser over TLS: %v", err)
				}
				return
			}
			// A failed handshake sent nothing: not an unknown outcome.
			wantCode(t, err, tt.code)
		})
	}

	if _, err := New(func() Config {
		cfg := testConfig(srv.URL)
		cfg.TLS = TLS{CertFile: certFile}
		return cfg
	}(), Options{}); err == nil {
		t.Fatalf("New with a certFile and no keyFile: want an error")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
	}{
		{"relative base URL", func(u *Config) { u.BaseURL = "/portal" }},
		{"unknown auth type", func(u *Config) { u.Auth.Type = "kerberos" }},
		{"oauth2 without secret", func(u *Config) { u.Auth.ClientSecret = "" }},
		{"bearer without token", func(u *Config) { u.Auth = Auth{Type: "bearer"} }},
		{"unknown operation", func(u *Config) { u.Endpoints = map[string]Endpoint{"fetchUser": {Method: "GET", Path: "/u"}} }},
		{"unreadable CA", func(u *Config) { u.TLS.CAFile = "/nonexistent/ca.pem" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig("http://127.0.0.1:1/portal")
			tt.edit(&cfg)
			if _, err := New(cfg, Options{}); err == nil {
				t.Fatalf("New: want an error")
			}
		})
	}
}
