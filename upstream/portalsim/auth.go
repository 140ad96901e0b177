package portalsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// OAuth scopes of docs/portal-api.md section 1.
const (
	ScopeAPI      = "api"
	ScopeUserSync = "usersync"
)

// TokenResponse is the 200 body of the token endpoint. TokenType is the lower-case "bearer" and
// HTTPStatusCode echoes 200, as real portals of this kind do.
type TokenResponse struct {
	AccessToken    string `json:"access_token"`
	TokenType      string `json:"token_type"`
	ExpiresIn      int    `json:"expires_in"`
	Scope          string `json:"scope"`
	HTTPStatusCode int    `json:"http_status_code"`
}

// OAuthError is the error body of the token endpoint: invalid_client, unsupported_grant_type or
// invalid_scope.
type OAuthError struct {
	Error string `json:"error"`
}

// grant is what an issued token allows, and until when.
type grant struct {
	userSync bool
	expires  time.Time
}

// tokenStore holds the OAuth tokens issued since the last reset.
type tokenStore struct {
	mu     sync.RWMutex
	tokens map[string]grant
}

// sweepAbove is the number of tokens above which issuing one first forgets the expired ones.
const sweepAbove = 1024

func (ts *tokenStore) issue(g grant) string {
	var raw [32]byte
	_, _ = rand.Read(raw[:]) // crypto/rand.Read never fails
	token := hex.EncodeToString(raw[:])
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.tokens == nil {
		ts.tokens = make(map[string]grant)
	}
	if len(ts.tokens) > sweepAbove {
		t := time.Now()
		for k, v := range ts.tokens {
			if !t.Before(v.expires) {
				delete(ts.tokens, k)
			}
		}
	}
	ts.tokens[token] = g
	return token
}

func (ts *tokenStore) lookup(token string) (grant, bool) {
	ts.mu.RLock()
	g, ok := ts.tokens[token]
	ts.mu.RUnlock()
	return g, ok
}

func (ts *tokenStore) reset() {
	ts.mu.Lock()
	ts.tokens = nil
	ts.mu.Unlock()
}

// serveToken serves POST /oauth2/server/token: client credentials with Basic client authentication
// and a form body. It returns the status answered.
func (s *Sim) serveToken(w http.ResponseWriter, r *http.Request) int {
	if r.Method != http.MethodPost {
		e := newError(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "%s is not allowed here", r.Method)
		e.allow = http.MethodPost
		s.write(w, errorReply(e), false)
		return e.status
	}
	id, secret, ok := r.BasicAuth()
	if !ok || !s.clientMatches(id, secret) {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauth2"`)
		return writeOAuth(w, http.StatusUnauthorized, OAuthError{Error: "invalid_client"})
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return writeOAuth(w, http.StatusBadRequest, OAuthError{Error: "invalid_request"})
	}
	form, err := url.ParseQuery(string(data))
	if err != nil {
		return writeOAuth(w, http.StatusBadRequest, OAuthError{Error: "invalid_request"})
	}
	if form.Get("grant_type") != "client_credentials" {
		return writeOAuth(w, http.StatusBadRequest, OAuthError{Error: "unsupported_grant_type"})
	}
	api, userSync := true, true
	if scope := strings.Fields(form.Get("scope")); len(scope) > 0 {
		api, userSync = false, false
		for _, sc := range scope {
			switch sc {
			case ScopeAPI:
				api = true
			case ScopeUserSync:
				userSync = true
			default:
				return writeOAuth(w, http.StatusBadRequest, OAuthError{Error: "invalid_scope"})
			}
		}
	}
	var granted []string
	if api {
		granted = append(granted, ScopeAPI)
	}
	if userSync {
		granted = append(granted, ScopeUserSync)
	}
	ttl := s.faults.Load().TokenTTLSeconds
	token := s.tokens.issue(grant{userSync: userSync, expires: time.Now().Add(time.Duration(ttl) * time.Second)})
	return writeOAuth(w, http.StatusOK, TokenResponse{AccessToken: token, TokenType: "bearer",
		ExpiresIn: ttl, Scope: strings.Join(granted, " "), HTTPStatusCode: http.StatusOK})
}

func writeOAuth(w http.ResponseWriter, status int, body any) int {
	h := w.Header()
	h.Set("Content-Type", jsonContentType)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(mustJSON(body))
	return status
}

// clientMatches compares client credentials in constant time. With no client configured (static
// token only), nothing matches.
func (s *Sim) clientMatches(id, secret string) bool {
	if s.clientID == "" {
		return false
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.clientID))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(s.clientSecret))
	return idOK&secretOK == 1
}

// authenticate checks the bearer token of an API call: 401 UNAUTHORIZED with
// WWW-Authenticate: Bearer error="invalid_token" when it is missing, unknown or expired; 403
// INSUFFICIENT_SCOPE when it lacks usersync. The static token carries both scopes and never expires.
func (s *Sim) authenticate(r *http.Request) *apiError {
	h := r.Header.Get("Authorization")
	scheme, token, found := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !found || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return unauthorized("missing bearer token")
	}
	if s.staticToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.staticToken)) == 1 {
		return nil
	}
	g, ok := s.tokens.lookup(token)
	if !ok || !time.Now().Before(g.expires) {
		return unauthorized("unknown or expired token")
	}
	if !g.userSync {
		return newError(http.StatusForbidden, CodeInsufficientScope, "", "the token lacks the usersync scope")
	}
	return nil
}

func unauthorized(msg string) *apiError {
	e := newError(http.StatusUnauthorized, CodeUnauthorized, "", "%s", msg)
	e.wwwAuthenticate = true
	return e
}
