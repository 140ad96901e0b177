package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/scim-gateway/scim-gateway/gateway/metrics"
	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/gateway/translog"
	"github.com/scim-gateway/scim-gateway/translator"
)

const fabToken = "fabrikam-token-0123456789"

// tenantPair is a Server with two tenants, "default" and "fabrikam", each on its own fake portal and
// its own namespace of one memory store.
type tenantPair struct {
	s            *Server
	def, fab     *Live
	defU, fabU   *portalUsers
	defSt, fabSt *store.Store
	metrics      *metrics.Metrics
	translog     *translog.Logger
}

func newTenantPair(t *testing.T) *tenantPair {
	t.Helper()
	m, err := translator.NewMapping(translator.DefaultMappingConfig())
	if err != nil {
		t.Fatal(err)
	}
	kv := store.NewMemory()
	p := &tenantPair{defU: newPortalUsers(), fabU: &portalUsers{next: 500, byID: map[int64]translator.PortalUser{}},
		metrics: metrics.New()}
	p.defSt = store.New(store.ForTenant(kv, "default"), store.Options{})
	p.fabSt = store.New(store.ForTenant(kv, "fabrikam"), store.Options{})
	live := func(tenant string, users *portalUsers, st *store.Store) *Live {
		fp := userPortal(t, users)
		return &Live{Tenant: tenant, Store: st, Users: fp, Groups: fp, Switches: fp, Mapping: m, OnDelete: OnDeleteDisable,
			PatchStatus: http.StatusNoContent, Limits: Limits{MaxBodyBytes: 1 << 20, MaxPageSize: 100, MaxScan: 1000, MaxOperations: 100}}
	}
	p.def, p.fab = live("default", p.defU, p.defSt), live("fabrikam", p.fabU, p.fabSt)
	p.translog, err = translog.New(translog.Options{Logger: zap.NewNop(), Config: translog.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	p.s = New(Options{
		Tokens:   NewTokens([]Token{{Name: "entra", Value: testToken}, {Name: "entra-fab", Value: fabToken, Tenant: "fabrikam"}}),
		Store:    p.defSt,
		Metrics:  p.metrics,
		Translog: p.translog,
	})
	p.s.SetTenants(p.def, p.fab)
	return p
}

// TestTenantRouting: the token picks the tenant: its portal, its store namespace, its metrics label
// and its translation records. The same login is created once in each portal.
func TestTenantRouting(t *testing.T) {
	p := newTenantPair(t)
	w := do(t, p.s.Handler(), http.MethodPost, "/scim/v2/Users", testToken, aliceBody)
	if w.Code != http.StatusCreated {
		t.Fatalf("default create: %d %s", w.Code, w.Body)
	}
	w = do(t, p.s.Handler(), http.MethodPost, "/scim/v2/Users", fabToken, aliceBody)
	if w.Code != http.StatusCreated {
		t.Fatalf("fabrikam create of the same login: %d %s", w.Code, w.Body)
	}
	defUser, fabUser := p.defU.only(t), p.fabU.only(t)
	if defUser.IDUser == fabUser.IDUser || defUser.GUIDUser == fabUser.GUIDUser {
		t.Fatalf("the two portals' users: %+v %+v", defUser, fabUser)
	}
	ctx := context.Background()
	login := store.NormaliseLogin(defUser.Domain, defUser.UserName)
	for _, c := range []struct {
		st   *store.Store
		want string
	}{{p.defSt, defUser.GUIDUser}, {p.fabSt, fabUser.GUIDUser}} {
		if id, ok, err := c.st.Lookup(ctx, store.User, store.Login, login); err != nil || !ok || id != c.want {
			t.Errorf("store lookup of the login = %q %v %v, want %q", id, ok, err, c.want)
		}
	}
	// Each tenant reads its own user and not the other's.
	if w := do(t, p.s.Handler(), http.MethodGet, "/scim/v2/Users/"+fabUser.GUIDUser, fabToken, ""); w.Code != http.StatusOK {
		t.Errorf("fabrikam GET of its user: %d %s", w.Code, w.Body)
	}
	if w := do(t, p.s.Handler(), http.MethodGet, "/scim/v2/Users/"+fabUser.GUIDUser, testToken, ""); w.Code != http.StatusNotFound {
		t.Errorf("default GET of fabrikam's user: %d, want 404", w.Code)
	}

	if recs := p.translog.Find(translog.Query{Tenant: "fabrikam"}); len(recs) != 1 || recs[0].Op != translog.OpCreate || recs[0].SCIMID != fabUser.GUIDUser {
		t.Errorf("fabrikam's records = %+v", recs)
	}
	if recs := p.translog.Find(translog.Query{Tenant: "default"}); len(recs) != 1 || recs[0].SCIMID != defUser.GUIDUser {
		t.Errorf("default's records = %+v", recs)
	}

	rec := httptest.NewRecorder()
	p.metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`scimgw_creates_total{outcome="created",resource="User",tenant="default"} 1`,
		`scimgw_creates_total{outcome="created",resource="User",tenant="fabrikam"} 1`,
		`scimgw_scim_requests_total{method="GET",route="/scim/v2/Users/:id",status="404",tenant="default"} 1`,
		`scimgw_scim_requests_total{method="GET",route="/scim/v2/Users/:id",status="200",tenant="fabrikam"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestTenantPathForm: /tenants/{name}/scim/v2/... serves the tenant when the token is the tenant's,
// with locations in the same form, and answers 401 when the token belongs to another tenant or the
// name is no tenant.
func TestTenantPathForm(t *testing.T) {
	p := newTenantPair(t)
	w := do(t, p.s.Handler(), http.MethodPost, "/tenants/fabrikam/scim/v2/Users", fabToken, aliceBody)
	if w.Code != http.StatusCreated {
		t.Fatalf("create on the path form: %d %s", w.Code, w.Body)
	}
	u := p.fabU.only(t)
	if loc := w.Header().Get("Location"); !strings.HasSuffix(loc, "/tenants/fabrikam/scim/v2/Users/"+u.GUIDUser) {
		t.Errorf("Location = %q", loc)
	}
	var res map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if meta, _ := res["meta"].(map[string]any); !strings.Contains(meta["location"].(string), "/tenants/fabrikam/scim/v2/Users/") {
		t.Errorf("meta.location = %v", meta["location"])
	}
	for _, c := range []struct {
		name, path, token string
		want              int
	}{
		{"its own tenant, lower-case resource", "/tenants/fabrikam/scim/v2/users/" + u.GUIDUser, fabToken, http.StatusOK},
		{"the /scim form", "/tenants/fabrikam/scim/Users/" + u.GUIDUser, fabToken, http.StatusOK},
		{"discovery", "/tenants/fabrikam/scim/v2/ServiceProviderConfig", fabToken, http.StatusOK},
		{"another tenant's token", "/tenants/fabrikam/scim/v2/Users/" + u.GUIDUser, testToken, http.StatusUnauthorized},
		{"the default tenant's path, fabrikam's token", "/tenants/default/scim/v2/Users", fabToken, http.StatusUnauthorized},
		{"the default tenant's path and token", "/tenants/default/scim/v2/Users", testToken, http.StatusOK},
		{"no such tenant", "/tenants/nope/scim/v2/Users", fabToken, http.StatusUnauthorized},
		{"no token", "/tenants/fabrikam/scim/v2/Users", "", http.StatusUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := do(t, p.s.Handler(), http.MethodGet, c.path, c.token, "")
			if w.Code != c.want {
				t.Fatalf("%s: %d, want %d: %s", c.path, w.Code, c.want, w.Body)
			}
			if c.want == http.StatusUnauthorized {
				if b := decodeError(t, w); b.Status != "401" {
					t.Errorf("error body %+v", b)
				}
			}
		})
	}
	if len(p.defU.byID) != 0 {
		t.Errorf("the default portal got users: %+v", p.defU.byID)
	}
}

// TestTenantRemoved: once a reload drops a tenant's setup, its token is refused, and the other tenant
// serves on.
func TestTenantRemoved(t *testing.T) {
	p := newTenantPair(t)
	p.s.SetTenants(p.def)
	if w := do(t, p.s.Handler(), http.MethodGet, "/scim/v2/Users", fabToken, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("removed tenant's token: %d, want 401", w.Code)
	}
	if w := do(t, p.s.Handler(), http.MethodGet, "/scim/v2/Users", testToken, ""); w.Code != http.StatusOK {
		t.Errorf("default tenant: %d %s", w.Code, w.Body)
	}
}
