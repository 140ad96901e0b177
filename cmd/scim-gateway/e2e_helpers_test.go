package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

const (
	e2eToken       = "entra-secret-token-0123456789"
	e2eAdminToken  = "admin-secret-token-0123456789"
	e2ePortalToken = "portal-static-token"
	e2eClientID    = "gateway"
	e2eSecret      = "gateway-secret"
)

// env is a gateway App on :0 in front of a portal-sim on httptest, both real HTTP.
type env struct {
	t      *testing.T
	sim    *portalsim.Sim
	simSrv *httptest.Server
	app    *App
	cfg    *config.Config
	base   string // http://addr/scim/v2
	logs   *lockedWriter
	client *http.Client
}

// newEnv starts portal-sim and the gateway; change edits the gateway's configuration first.
func newEnv(t *testing.T, change func(c *config.Config)) *env {
	t.Helper()
	sim, simSrv := startPortalSim(t)
	cfg := e2eConfig(simSrv.URL)
	if change != nil {
		change(cfg)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
	app := startApp(t, cfg, AppOptions{LogOutput: logs})
	return &env{t: t, sim: sim, simSrv: simSrv, app: app, cfg: cfg, base: "http://" + app.SCIMAddr() + "/scim/v2",
		logs: logs, client: &http.Client{Timeout: 30 * time.Second}}
}

// startPortalSim starts a portal-sim that knows the test credentials (seed 1) on httptest, and closes
// it when the test ends.
func startPortalSim(tb testing.TB) (*portalsim.Sim, *httptest.Server) {
	tb.Helper()
	sim, err := portalsim.New(portalsim.Options{ClientID: e2eClientID, ClientSecret: e2eSecret, StaticToken: e2ePortalToken, Seed: 1})
	if err != nil {
		tb.Fatal(err)
	}
	simSrv := httptest.NewServer(sim)
	tb.Cleanup(simSrv.Close)
	return sim, simSrv
}

// e2eConfig returns the configuration of a gateway on 127.0.0.1:0 with the test tokens, in front of the
// portal-sim at simURL, before defaults.
func e2eConfig(simURL string) *config.Config {
	cfg := &config.Config{}
	cfg.Server.Listen = "127.0.0.1:0"
	cfg.Admin.Listen = "127.0.0.1:0"
	cfg.Server.Tokens = []config.Token{{Name: "entra", Value: e2eToken}}
	cfg.Admin.Token = e2eAdminToken
	cfg.Upstream.BaseURL = simURL + "/portal"
	cfg.Upstream.Auth.ClientID = e2eClientID
	cfg.Upstream.Auth.ClientSecret = e2eSecret
	cfg.Server.ShutdownTimeout = 5 * time.Second
	cfg.Mapping.DefaultDomain = "corp.example"
	return cfg
}

// startApp applies the defaults to cfg, fails the test unless it is valid, starts an App on it and
// shuts the App down when the test ends.
func startApp(tb testing.TB, cfg *config.Config, opts AppOptions) *App {
	tb.Helper()
	cfg.ApplyDefaults()
	if ps := config.Validate(cfg); len(ps) > 0 {
		tb.Fatalf("test configuration invalid:\n%v", ps)
	}
	app, err := NewApp(cfg, opts)
	if err != nil {
		tb.Fatal(err)
	}
	if err := app.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(app.Shutdown)
	return app
}

// startFileApp loads the configuration file at path and starts an App that watches it (a change
// reloads), logging to logs; it shuts the App down when the test ends.
func startFileApp(t *testing.T, path string) (*App, *config.Config, *lockedWriter) {
	t.Helper()
	cfg, _, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
	app, err := NewApp(cfg, AppOptions{ConfigPath: path, LogOutput: logs})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Shutdown)
	return app, cfg, logs
}

// replaceFile replaces the file at path the way an editor or kubectl does: a new file renamed over it.
func replaceFile(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// answer is a decoded HTTP answer.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// scim sends a SCIM request with the test token; body may be a string or a value to encode.
func (e *env) scim(method, path string, body any, headers ...string) answer {
	e.t.Helper()
	return e.send(method, e.base+path, e2eToken, body, headers...)
}

func (e *env) send(method, target, token string, body any, headers ...string) answer {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil && strings.Contains(resp.Header.Get("Content-Type"), "json") {
			e.t.Fatalf("%s %s: answer is not a JSON object: %v: %s", method, target, err, raw)
		}
	}
	return a
}

// want fails the test unless the answer has the given status.
func (a answer) want(t *testing.T, status int) answer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status = %d, want %d: %s", a.status, status, a.raw)
	}
	return a
}

// wantError fails the test unless the answer is a SCIM error with that status and scimType.
func (a answer) wantError(t *testing.T, status int, scimType string) answer {
	t.Helper()
	a.want(t, status)
	schemas, _ := a.body["schemas"].([]any)
	if len(schemas) != 1 || schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" {
		t.Fatalf("not a SCIM error body: %s", a.raw)
	}
	if got, _ := a.body["status"].(string); got != strconv.Itoa(status) {
		t.Fatalf("error status field = %v, want %q", a.body["status"], strconv.Itoa(status))
	}
	if got, _ := a.body["scimType"].(string); got != scimType {
		t.Fatalf("scimType = %q, want %q: %s", got, scimType, a.raw)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Fatalf("Content-Type = %q", ct)
	}
	return a
}

func (a answer) str(path ...string) string {
	var v any = a.body
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// portalUsers reads every user straight from the portal's API (its own wire types).
func (e *env) portalUsers() []portalsim.User {
	e.t.Helper()
	var out struct {
		Value []portalsim.User `json:"value"`
	}
	e.portalGet("/api/usersync/v1/users?$top=500", &out)
	return out.Value
}

// portalUser reads the one portal user with a login, failing the test when there is not exactly one.
func (e *env) portalUser(domain, userName string) portalsim.User {
	e.t.Helper()
	var found []portalsim.User
	for _, u := range e.portalUsers() {
		if strings.EqualFold(u.Domain, domain) && strings.EqualFold(u.UserName, userName) {
			found = append(found, u)
		}
	}
	if len(found) != 1 {
		e.t.Fatalf("portal holds %d users %s\\%s, want 1", len(found), domain, userName)
	}
	return found[0]
}

// portalGet reads path (below /portal) straight from the portal's API into v, failing the test unless
// it answers 200.
func (e *env) portalGet(path string, v any) {
	e.t.Helper()
	if err := json.Unmarshal(e.portalCall(http.MethodGet, path, ""), v); err != nil {
		e.t.Fatal(err)
	}
}

// portalCall sends a request to the portal's API (path below /portal) with its static token and a JSON
// body unless body is empty; it fails the test unless the portal answers 200, and returns the answer.
func (e *env) portalCall(method, path, body string) []byte {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.simSrv.URL+"/portal"+path, rd)
	req.Header.Set("Authorization", "Bearer "+e2ePortalToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("portal %s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return raw
}

// portalWrites counts the portal calls that change something (POST, PUT, PATCH, DELETE), token
// calls excluded.
func (e *env) portalWrites() int64 {
	var n int64
	for _, c := range e.sim.Stats().Calls {
		if c.Method != http.MethodGet && c.Route != "/oauth2/server/token" {
			n += c.Count
		}
	}
	return n
}

// portalCalls counts the portal API calls (token calls excluded).
func (e *env) portalCalls() map[string]int64 {
	out := map[string]int64{}
	for _, c := range e.sim.Stats().Calls {
		if c.Route != "/oauth2/server/token" {
			out[c.Method+" "+c.Route] += c.Count
		}
	}
	return out
}

// callsSince returns the portal calls made since before (a snapshot of portalCalls).
func (e *env) callsSince(before map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range e.portalCalls() {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func (e *env) setFaults(change func(f *portalsim.Faults)) {
	e.t.Helper()
	f := e.sim.Faults()
	change(&f)
	if err := e.sim.SetFaults(f); err != nil {
		e.t.Fatal(err)
	}
}

func filterPath(filter string) string {
	return "/Users?filter=" + url.QueryEscape(filter)
}

func strp(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// lockedWriter serialises writes to a buffer shared by the loggers and the test.
type lockedWriter struct {
	mu sync.Mutex
	w  interface {
		io.Writer
		String() string
	}
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}
