package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

const patchPrefix = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`

// TestBadInputChangesNothing sends what a broken or hostile client might: each request gets its SCIM
// error and the portal sees no write.
func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t, nil)
	id := e.scim(http.MethodPost, "/Users", entraCreate("dave@contoso.com", "dave")).want(t, http.StatusCreated).str("id")
	writes := e.portalWrites()

	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		scimType, detail         string
	}{
		{"malformed JSON", http.MethodPost, "/Users", `{"userName": "x@y.com",`, 400, "invalidSyntax", ""},
		{"not an object", http.MethodPost, "/Users", `["x"]`, 400, "invalidSyntax", ""},
		{"userName of the wrong type", http.MethodPost, "/Users", `{"userName": 7}`, 400, "invalidValue", "userName"},
		{"active of the wrong type", http.MethodPost, "/Users", `{"userName": "e@contoso.com", "active": "maybe"}`, 400, "invalidValue", "active"},
		{"no userName", http.MethodPost, "/Users", `{"displayName": "Nobody"}`, 400, "invalidValue", "userName"},
		{"a character the portal refuses", http.MethodPost, "/Users", `{"userName": "o'brien@contoso.com"}`, 400, "invalidValue", `"'"`},
		{"huge body", http.MethodPost, "/Users", `{"userName":"big@contoso.com","title":"` + strings.Repeat("x", 2<<20) + `"}`, 413, "", "limits.maxBodyBytes"},
		{"invalid filter", http.MethodGet, filterPath(`userName eq`), "", 400, "invalidFilter", ""},
		{"filter with an unknown operator", http.MethodGet, filterPath(`userName xx "a"`), "", 400, "invalidFilter", ""},
		{"invalid PATCH path", http.MethodPatch, "/Users/" + id, patchPrefix + `[{"op":"replace","path":"emails[type eq","value":"x"}]}`, 400, "invalidPath", ""},
		{"invalid PATCH op", http.MethodPatch, "/Users/" + id, patchPrefix + `[{"op":"frobnicate","path":"title","value":"x"}]}`, 400, "invalidValue", ""},
		{"PATCH with a bad value after a good one", http.MethodPatch, "/Users/" + id, patchPrefix + `[{"op":"replace","path":"title","value":"Boss"},{"op":"replace","path":"active","value":"perhaps"}]}`, 400, "invalidValue", ""},
		{"PATCH add without a value", http.MethodPatch, "/Users/" + id, patchPrefix + `[{"op":"Add","path":"title"}]}`, 400, "invalidValue", "add needs a value"},
		{"PATCH add with a null value", http.MethodPatch, "/Users/" + id, patchPrefix + `[{"op":"add","path":"title","value":null}]}`, 400, "invalidValue", "add needs a value"},
		{"PATCH path-less add with a null value", http.MethodPatch, "/Users/" + id, patchPrefix + `[{"op":"add","value":{"title":null}}]}`, 400, "invalidValue", "add needs a value"},
		{"PATCH path-less replace with an empty object", http.MethodPatch, "/Users/" + id, patchPrefix + `[{"op":"replace","value":{}}]}`, 400, "invalidValue", "at least one attribute"},
		{"PATCH remove without a path", http.MethodPatch, "/Users/" + id, patchPrefix + `[{"op":"remove","value":{"title":"Engineer"}}]}`, 400, "noTarget", ""},
		{"PATCH of an unknown id", http.MethodPatch, "/Users/00000000-0000-0000-0000-000000000000", patchPrefix + `[{"op":"replace","path":"title","value":"x"}]}`, 404, "", ""},
		{"GET of an unknown id", http.MethodGet, "/Users/00000000-0000-0000-0000-000000000000", "", 404, "", ""},
		{"DELETE of an unknown id", http.MethodDelete, "/Users/nope", "", 404, "", ""},
		{"PUT of an unknown id", http.MethodPut, "/Users/nope", `{"userName":"x@contoso.com"}`, 404, "", ""},
		{"wrong method", http.MethodPost, "/Users/" + id, `{}`, 405, "", ""},
		{"unknown route", http.MethodGet, "/Nope", "", 404, "", ""},
		{"startIndex not a number", http.MethodGet, "/Users?startIndex=x", "", 400, "invalidValue", "startIndex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.scim(tc.method, tc.path, tc.body).wantError(t, tc.status, tc.scimType)
			if !strings.Contains(a.str("detail"), tc.detail) {
				t.Fatalf("detail %q does not mention %q", a.str("detail"), tc.detail)
			}
			if w := e.portalWrites(); w != writes {
				t.Fatalf("portal writes went from %d to %d", writes, w)
			}
		})
	}
	t.Run("missing and wrong tokens", func(t *testing.T) {
		for _, tok := range []string{"", "wrong-token-0123456789"} {
			a := e.send(http.MethodPost, e.base+"/Users", tok, entraCreate("eve@contoso.com", "eve")).wantError(t, http.StatusUnauthorized, "")
			if strings.Contains(a.raw, e2eToken) {
				t.Fatal("the answer shows the token")
			}
		}
		if w := e.portalWrites(); w != writes {
			t.Fatalf("portal writes went from %d to %d", writes, w)
		}
	})
	t.Run("the refused PATCH changed nothing", func(t *testing.T) {
		if p := e.portalUser("contoso.com", "dave"); p.Properties["title"] != "Engineer" {
			t.Fatalf("title = %v", p.Properties["title"])
		}
	})
}

func TestPortalValidationNamesTheSCIMAttribute(t *testing.T) {
	e := newEnv(t, nil)
	a := e.scim(http.MethodPost, "/Users", `{"userName":"frank@contoso.com","emails":[{"type":"work","value":"not-an-address"}]}`).
		wantError(t, http.StatusBadRequest, "invalidValue")
	if d := a.str("detail"); !strings.Contains(d, `emails[type eq "work"].value`) || strings.Contains(d, "contactEmail") {
		t.Fatalf("detail %q should name the SCIM attribute, not the portal field", d)
	}
	if n := len(e.portalUsers()); n != 0 {
		t.Fatalf("portal holds %d users", n)
	}
}

func TestPortalFailuresAreAnswered(t *testing.T) {
	t.Run("portal down: filters fail, never an empty 200", func(t *testing.T) {
		e := newEnv(t, func(c *config.Config) { c.Upstream.Retry.MaxAttempts = 1 })
		e.setFaults(func(f *portalsim.Faults) { f.ErrorRate = 1 })
		for _, path := range []string{filterPath(`userName eq "x@contoso.com"`), "/Users/some-id"} {
			a := e.scim(http.MethodGet, path, nil).wantError(t, http.StatusServiceUnavailable, "")
			if a.header.Get("Retry-After") == "" {
				t.Fatalf("%s: 503 without Retry-After", path)
			}
		}
		e.scim(http.MethodPost, "/Users", entraCreate("gina@contoso.com", "gina")).wantError(t, http.StatusServiceUnavailable, "")
	})
	t.Run("HTML error pages", func(t *testing.T) {
		e := newEnv(t, func(c *config.Config) { c.Upstream.Retry.MaxAttempts = 1 })
		e.setFaults(func(f *portalsim.Faults) { f.ErrorRate, f.HTMLErrors = 1, true })
		e.scim(http.MethodGet, filterPath(`userName eq "x@contoso.com"`), nil).wantError(t, http.StatusServiceUnavailable, "")
	})
	t.Run("portal rate limit", func(t *testing.T) {
		e := newEnv(t, func(c *config.Config) { c.Upstream.Retry.MaxAttempts = 1 })
		e.setFaults(func(f *portalsim.Faults) { f.RateLimitRate, f.RetryAfterSeconds = 1, 7 })
		a := e.scim(http.MethodPost, "/Users", entraCreate("hank@contoso.com", "hank")).wantError(t, http.StatusTooManyRequests, "")
		if a.header.Get("Retry-After") != "7" {
			t.Fatalf("Retry-After = %q, want the portal's 7", a.header.Get("Retry-After"))
		}
	})
	t.Run("portal refuses the gateway's credentials", func(t *testing.T) {
		e := newEnv(t, func(c *config.Config) { c.Upstream.Auth.ClientSecret = "wrong-secret" })
		a := e.scim(http.MethodGet, filterPath(`userName eq "x@contoso.com"`), nil).wantError(t, http.StatusBadGateway, "")
		if !strings.Contains(a.str("detail"), "portal") {
			t.Fatalf("detail %q should say the portal refused the gateway", a.str("detail"))
		}
		e.scim(http.MethodPost, "/Users", entraCreate("ivy@contoso.com", "ivy")).wantError(t, http.StatusBadGateway, "")
		if n := len(e.portalUsers()); n != 0 {
			t.Fatalf("portal holds %d users", n)
		}
	})
}

func TestEndpointSwitches(t *testing.T) {
	off := false
	e := newEnv(t, func(c *config.Config) {
		c.Upstream.Endpoints = map[string]config.Endpoint{
			config.OpCreateUser: {Enabled: &off},
			config.OpDeleteUser: {Enabled: &off},
		}
	})
	before := e.sim.Stats().Total
	a := e.scim(http.MethodPost, "/Users", entraCreate("jack@contoso.com", "jack")).wantError(t, http.StatusServiceUnavailable, "")
	if !strings.Contains(a.str("detail"), "upstream.endpoints.createUser") || a.header.Get("Retry-After") == "" {
		t.Fatalf("answer %s, Retry-After %q", a.raw, a.header.Get("Retry-After"))
	}
	if after := e.sim.Stats().Total; after != before {
		t.Fatalf("the portal got %d calls", after-before)
	}
	// deleteUser freezes DELETE in disable mode too, before any portal call.
	a = e.scim(http.MethodDelete, "/Users/anything", nil).wantError(t, http.StatusServiceUnavailable, "")
	if !strings.Contains(a.str("detail"), "upstream.endpoints.deleteUser") {
		t.Fatalf("detail %q", a.str("detail"))
	}
	if after := e.sim.Stats().Total; after != before {
		t.Fatalf("the portal got %d calls", after-before)
	}
}

func TestDryRun(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.DryRun = true })
	a := e.scim(http.MethodPost, "/Users", entraCreate("kim@contoso.com", "kim")).want(t, http.StatusCreated)
	if !strings.HasPrefix(a.str("id"), "dryrun-") || a.header.Get("X-Scim-Gateway-Dry-Run") != "true" {
		t.Fatalf("dry-run create: id %q, header %q", a.str("id"), a.header.Get("X-Scim-Gateway-Dry-Run"))
	}
	e.scim(http.MethodGet, "/Users/"+a.str("id"), nil).wantError(t, http.StatusNotFound, "")
	if w := e.portalWrites(); w != 0 {
		t.Fatalf("dry run made %d portal writes", w)
	}
}

func TestListPagingAndLimits(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Limits.MaxScan = 3; c.Limits.MaxPageSize = 2 })
	for i := range 4 {
		e.scim(http.MethodPost, "/Users", entraCreate(fmt.Sprintf("user%d@contoso.com", i), fmt.Sprintf("ext%d", i))).want(t, http.StatusCreated)
	}
	a := e.scim(http.MethodGet, "/Users?startIndex=2&count=5", nil).want(t, http.StatusOK)
	res, _ := a.body["Resources"].([]any)
	if a.body["totalResults"] != 4.0 || a.body["itemsPerPage"] != 2.0 || a.body["startIndex"] != 2.0 || len(res) != 2 ||
		res[0].(map[string]any)["userName"] != "user1@contoso.com" {
		t.Fatalf("page: %s", a.raw)
	}
	a = e.scim(http.MethodGet, "/Users?count=0", nil).want(t, http.StatusOK)
	if a.body["totalResults"] != 4.0 || a.body["itemsPerPage"] != 0.0 {
		t.Fatalf("count=0: %s", a.raw)
	}
	// A filter the portal cannot narrow scans; more candidates than limits.maxScan is 400 tooMany.
	e.scim(http.MethodGet, filterPath(`title eq "Engineer"`), nil).wantError(t, http.StatusBadRequest, "tooMany")
	// Projection.
	a = e.scim(http.MethodGet, filterPath(`userName eq "user2@contoso.com"`)+"&attributes=userName", nil).want(t, http.StatusOK)
	r0 := a.body["Resources"].([]any)[0].(map[string]any)
	if r0["userName"] != "user2@contoso.com" || r0["id"] == nil || r0["emails"] != nil || r0["title"] != nil {
		t.Fatalf("attributes=userName: %s", a.raw)
	}
	a = e.scim(http.MethodGet, filterPath(`userName eq "user2@contoso.com"`)+"&excludedAttributes=emails,name", nil).want(t, http.StatusOK)
	r0 = a.body["Resources"].([]any)[0].(map[string]any)
	if r0["emails"] != nil || r0["name"] != nil || r0["title"] != "Engineer" {
		t.Fatalf("excludedAttributes: %s", a.raw)
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, nil)
	first := e.scim(http.MethodPost, "/Users", entraCreate("lee@contoso.com", "lee"), "Idempotency-Key", "k-1").want(t, http.StatusCreated)
	again := e.scim(http.MethodPost, "/Users", entraCreate("lee@contoso.com", "lee"), "Idempotency-Key", "k-1").want(t, http.StatusCreated)
	if again.str("id") != first.str("id") || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: id %q (first %q), header %q", again.str("id"), first.str("id"), again.header.Get("Idempotent-Replayed"))
	}
	e.scim(http.MethodPost, "/Users", entraCreate("lee@contoso.com", "lee-other"), "Idempotency-Key", "k-1").wantError(t, http.StatusUnprocessableEntity, "")
	if n := len(e.portalUsers()); n != 1 {
		t.Fatalf("portal holds %d users", n)
	}
	if c := e.sim.Stats().Count(http.MethodPost, "/api/usersync/v1/users", http.StatusCreated); c != 1 {
		t.Fatalf("portal creates = %d, want 1", c)
	}
}

func TestWarmReadsMakeOnePortalCall(t *testing.T) {
	e := newEnv(t, nil)
	id := e.scim(http.MethodPost, "/Users", entraCreate("mia@contoso.com", "mia")).want(t, http.StatusCreated).str("id")
	for _, tc := range []struct{ name, path string }{
		{"GET by id", "/Users/" + id},
		{"filter by userName", filterPath(`userName eq "MIA@contoso.com"`)},
		{"filter by externalId", filterPath(`externalId eq "mia"`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.portalCalls()
			e.scim(http.MethodGet, tc.path, nil).want(t, http.StatusOK)
			got := e.callsSince(before)
			if len(got) != 1 || got["GET /api/usersync/v1/users({idUser})"] != 1 {
				t.Fatalf("portal calls = %v, want one getUser", got)
			}
		})
	}
}
