package portalsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

const (
	testClientID     = "gateway"
	testClientSecret = "s3cret"
	testStaticToken  = "static-token-for-tests"
	usersPath        = "/api/usersync/v1/users"
	groupsPath       = "/api/usersync/v1/groups"
)

// testPortal is a Sim on a real HTTP server, with a token of both scopes.
type testPortal struct {
	t     *testing.T
	sim   *Sim
	srv   *httptest.Server
	token string
}

// newPortal starts a Sim with the test client and static token; edit adjusts the options.
func newPortal(t *testing.T, edit ...func(*Options)) *testPortal {
	t.Helper()
	opts := Options{ClientID: testClientID, ClientSecret: testClientSecret, StaticToken: testStaticToken, Seed: 1}
	for _, e := range edit {
		e(&opts)
	}
	sim, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	p := &testPortal{t: t, sim: sim, srv: srv}
	if opts.ClientID != "" {
		p.token = p.issueToken("")
	} else {
		p.token = opts.StaticToken
	}
	return p
}

// result is an answer read in full.
type result struct {
	status int
	header http.Header
	body   []byte
}

// apiURL returns the absolute URL of an API path (relative to the base path).
func (p *testPortal) apiURL(path string) string { return p.srv.URL + p.sim.BasePath() + path }

// send makes a request with the given bearer token ("" for none) and reads the answer.
func (p *testPortal) send(method, rawURL, token, body string) result {
	p.t.Helper()
	res, err := trySend(method, rawURL, token, body)
	if err != nil {
		p.t.Fatal(err)
	}
	return res
}

// trySend is send for goroutines other than the test's: it returns its error.
func trySend(method, rawURL, token, body string) (result, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, rawURL, rd)
	if err != nil {
		return result{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return tryRoundTrip(http.DefaultClient, req)
}

func (p *testPortal) roundTrip(c *http.Client, req *http.Request) result {
	p.t.Helper()
	res, err := tryRoundTrip(c, req)
	if err != nil {
		p.t.Fatal(err)
	}
	return res
}

func tryRoundTrip(c *http.Client, req *http.Request) (result, error) {
	resp, err := c.Do(req)
	if err != nil {
		return result{}, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, fmt.Errorf("%s %s: read body: %w", req.Method, req.URL, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// call makes an API call with the portal's token.
func (p *testPortal) call(method, path, body string) result {
	p.t.Helper()
	return p.send(method, p.apiURL(path), p.token, body)
}

// tokenRequest posts a form to the token endpoint with Basic client authentication.
func (p *testPortal) tokenRequest(clientID, secret, form string) result {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.apiURL("/oauth2/server/token"), strings.NewReader(form))
	if err != nil {
		p.t.Fatalf("NewRequest: %v", err)
	}
	req.SetBasicAuth(clientID, secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return p.roundTrip(http.DefaultClient, req)
}

// issueToken gets a token for scope ("" for the default).
func (p *testPortal) issueToken(scope string) string {
	p.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	res := p.tokenRequest(testClientID, testClientSecret, form.Encode())
	if res.status != http.StatusOK {
		p.t.Fatalf("token: status %d: %s", res.status, res.body)
	}
	var tr TokenResponse
	decode(p.t, res.body, &tr)
	return tr.AccessToken
}

// createUser creates a user from a JSON body and returns it.
func (p *testPortal) createUser(body string) User {
	p.t.Helper()
	res := p.call(http.MethodPost, usersPath, body)
	if res.status != http.StatusCreated {
		p.t.Fatalf("create user %s: status %d: %s", body, res.status, res.body)
	}
	var u User
	decode(p.t, res.body, &u)
	return u
}

// createGroup creates a group from a JSON body and returns it.
func (p *testPortal) createGroup(body string) Group {
	p.t.Helper()
	res := p.call(http.MethodPost, groupsPath, body)
	if res.status != http.StatusCreated {
		p.t.Fatalf("create group %s: status %d: %s", body, res.status, res.body)
	}
	var g Group
	decode(p.t, res.body, &g)
	return g
}

// simCall calls the /_sim surface at the server root.
func (p *testPortal) simCall(method, path, body string) result {
	p.t.Helper()
	return p.send(method, p.srv.URL+path, "", body)
}

func (p *testPortal) stats() Stats {
	p.t.Helper()
	res := p.simCall(http.MethodGet, "/_sim/stats", "")
	if res.status != http.StatusOK {
		p.t.Fatalf("stats: status %d: %s", res.status, res.body)
	}
	var st Stats
	decode(p.t, res.body, &st)
	return st
}

func (p *testPortal) putFaults(body string) {
	p.t.Helper()
	if res := p.simCall(http.MethodPut, "/_sim/faults", body); res.status != http.StatusOK {
		p.t.Fatalf("put faults %s: status %d: %s", body, res.status, res.body)
	}
}

func decode(t *testing.T, data []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}

// wantError checks an error answer of section 5: status, code, target ("" for null) and a trace id.
func wantError(t *testing.T, res result, status int, code, target string) ErrorBody {
	t.Helper()
	if res.status != status {
		t.Fatalf("status = %d, want %d; body %s", res.status, status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != jsonContentType {
		t.Fatalf("Content-Type = %q, want %q", ct, jsonContentType)
	}
	var eb ErrorBody
	decode(t, res.body, &eb)
	if eb.Error.Code != code {
		t.Fatalf("code = %q, want %q; body %s", eb.Error.Code, code, res.body)
	}
	got := ""
	if eb.Error.Target != nil {
		got = *eb.Error.Target
	}
	if got != target {
		t.Fatalf("target = %q, want %q; body %s", got, target, res.body)
	}
	if eb.Error.Message == "" || eb.TraceID == "" {
		t.Fatalf("message or traceId empty: %s", res.body)
	}
	return eb
}

// userPath returns the path of one user.
func userPath(id int64, tail string) string { return fmt.Sprintf("%s(%d)%s", usersPath, id, tail) }

// groupPath returns the path of one group.
func groupPath(id int64, tail string) string { return fmt.Sprintf("%s(%d)%s", groupsPath, id, tail) }

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// str renders an optional string for messages.
func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}
