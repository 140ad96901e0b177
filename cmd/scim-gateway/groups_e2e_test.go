package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/gateway"
	"github.com/scim-gateway/scim-gateway/translator"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

const (
	routeMembers = "GET /api/usersync/v1/groups({idGroup})/members"
	routeAdd     = "PUT /api/usersync/v1/groups({idGroup})/members({idUser})"
	routeRemove  = "DELETE /api/usersync/v1/groups({idGroup})/members({idUser})"
	patchOpURN   = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	msGroupURN   = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
)

// entraGroupCreate is the body Entra sends to create a group (AZURE_AD.md): displayName, externalId,
// an empty members list and Microsoft's extra schema.
func entraGroupCreate(displayName, externalID string, members ...string) string {
	list := make([]string, len(members))
	for i, m := range members {
		list[i] = `{"value":"` + m + `"}`
	}
	return `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","` + msGroupURN + `"],
		"displayName":"` + displayName + `","externalId":"` + externalID + `","members":[` + strings.Join(list, ",") + `]}`
}

// patchBody wraps PATCH operations (JSON objects) in a PatchOp request.
func patchBody(ops ...string) string {
	return `{"schemas":["` + patchOpURN + `"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// memberValues renders ids as a members value list.
func memberValues(ids ...string) string {
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = `{"value":"` + id + `"}`
	}
	return "[" + strings.Join(list, ",") + "]"
}

// groupFilterPath is a /Groups filter query.
func groupFilterPath(filter, extra string) string {
	return "/Groups?filter=" + url.QueryEscape(filter) + extra
}

// createSCIMUser provisions a user through the gateway and returns its SCIM id.
func (e *env) createSCIMUser(t *testing.T, userName string) string {
	t.Helper()
	a := e.scim(http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+
		userName+`","active":true}`).want(t, http.StatusCreated)
	return a.str("id")
}

// seedPortalUsers creates n users straight in the portal (not through the gateway, whose cache then
// knows none of them) and returns their guidUser values.
func (e *env) seedPortalUsers(t *testing.T, prefix string, n int) []string {
	t.Helper()
	return seedPortalUsers(t, e.simSrv.URL, e.client, prefix, n)
}

func seedPortalUsers(tb testing.TB, simURL string, client *http.Client, prefix string, n int) []string {
	tb.Helper()
	ids := make([]string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	slots := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			body := fmt.Sprintf(`{"userName":"%s%d","domain":"contoso.com"}`, prefix, i)
			req, _ := http.NewRequest(http.MethodPost, simURL+"/portal/api/usersync/v1/users", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+e2ePortalToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var u portalsim.User
			if resp.StatusCode != http.StatusCreated {
				b, _ := io.ReadAll(resp.Body)
				errs <- fmt.Errorf("portal create user: %d %s", resp.StatusCode, b)
				return
			}
			if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
				errs <- err
				return
			}
			ids[i] = u.GUIDUser
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return ids
}

// portalGroup reads the portal group with a guidGroup through the portal's API, failing the test when
// there is none.
func (e *env) portalGroup(t *testing.T, guid string) portalsim.Group {
	t.Helper()
	var out struct {
		Value []portalsim.Group `json:"value"`
	}
	e.portalGet("/api/usersync/v1/groups?$filter="+url.QueryEscape("guidGroup eq '"+guid+"'"), &out)
	if len(out.Value) != 1 {
		t.Fatalf("portal holds %d groups with guid %s, want 1", len(out.Value), guid)
	}
	return out.Value[0]
}

// portalGroupCount counts the portal's groups.
func (e *env) portalGroupCount() int {
	var out struct {
		Count int `json:"@odata.count"`
	}
	e.portalGet("/api/usersync/v1/groups?$top=0", &out)
	return out.Count
}

// portalMembers reads a group's member list through the portal's API, every page, and returns the
// members' guidUser values sorted.
func (e *env) portalMembers(t *testing.T, groupGUID string) []string {
	t.Helper()
	g := e.portalGroup(t, groupGUID)
	var ids []string
	for {
		var page struct {
			Count int                `json:"@odata.count"`
			Value []portalsim.Member `json:"value"`
		}
		e.portalGet(fmt.Sprintf("/api/usersync/v1/groups(%d)/members?$top=500&$skip=%d", g.IDGroup, len(ids)), &page)
		for _, m := range page.Value {
			ids = append(ids, m.GUIDUser)
		}
		if len(page.Value) == 0 || len(ids) >= page.Count {
			break
		}
	}
	slices.Sort(ids)
	return ids
}

// wantMembers fails the test unless the portal group holds exactly ids.
func (e *env) wantMembers(t *testing.T, groupGUID string, ids ...string) {
	t.Helper()
	want := slices.Clone(ids)
	slices.Sort(want)
	if got := e.portalMembers(t, groupGUID); !slices.Equal(got, want) {
		t.Fatalf("portal members = %v, want %v", got, want)
	}
}

// scimMembers returns the member values of a SCIM group answer.
func scimMembers(a answer) []string {
	list, _ := a.body["members"].([]any)
	out := make([]string, 0, len(list))
	for _, m := range list {
		if obj, ok := m.(map[string]any); ok {
			s, _ := obj["value"].(string)
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

// TestEntraGroupLifecycle replays Entra's group provisioning against the gateway, in both PATCH
// dialects, and checks the portal's membership through its own API after each step.
func TestEntraGroupLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	u := make([]string, 5)
	for i := range u {
		u[i] = e.createSCIMUser(t, fmt.Sprintf("member%d@contoso.com", i))
	}

	var id string
	t.Run("match then create", func(t *testing.T) {
		a := e.scim(http.MethodGet, groupFilterPath(`displayName eq "Sales"`, "&excludedAttributes=members"), nil).want(t, http.StatusOK)
		if a.body["totalResults"] != 0.0 {
			t.Fatalf("match before create: %s", a.raw)
		}
		a = e.scim(http.MethodPost, "/Groups", entraGroupCreate("Sales", "sales-ext")).want(t, http.StatusCreated)
		id = a.str("id")
		if id == "" || a.header.Get("Location") != e.base+"/Groups/"+id || a.str("displayName") != "Sales" ||
			a.str("externalId") != "sales-ext" || a.str("meta", "resourceType") != "Group" {
			t.Fatalf("create answer: Location %q: %s", a.header.Get("Location"), a.raw)
		}
		g := e.portalGroup(t, id)
		if g.Name != "Sales" || strp(g.ExternalKey) != "sales-ext" {
			t.Fatalf("portal group = %+v", g)
		}
		e.wantMembers(t, id)
	})

	t.Run("reads with excludedAttributes=members make no members call", func(t *testing.T) {
		before := e.portalCalls()
		a := e.scim(http.MethodGet, groupFilterPath(`displayName eq "SALES"`, "&excludedAttributes=members"), nil).want(t, http.StatusOK)
		res, _ := a.body["Resources"].([]any)
		if a.body["totalResults"] != 1.0 || len(res) != 1 || res[0].(map[string]any)["id"] != id {
			t.Fatalf("filter answer: %s", a.raw)
		}
		if _, ok := res[0].(map[string]any)["members"]; ok {
			t.Fatalf("members returned although excluded: %s", a.raw)
		}
		a = e.scim(http.MethodGet, "/Groups/"+id+"?excludedAttributes=members", nil).want(t, http.StatusOK)
		if _, ok := a.body["members"]; ok || a.str("displayName") != "Sales" {
			t.Fatalf("get answer: %s", a.raw)
		}
		if n := e.callsSince(before)[routeMembers]; n != 0 {
			t.Fatalf("%d listMembers calls", n)
		}
	})

	steps := []struct {
		name string
		body string
		want []string
	}{
		{"add several members in one op",
			patchBody(`{"op":"Add","path":"members","value":[{"$ref":null,"value":"` + u[0] + `"},{"value":"` + u[1] + `"},{"value":"` + u[2] + `"}]}`),
			[]string{u[0], u[1], u[2]}},
		{"remove with a value list removes only those (default dialect)",
			patchBody(`{"op":"Remove","path":"members","value":[{"value":"` + u[0] + `"}]}`),
			[]string{u[1], u[2]}},
		{"remove one by filter (aadOptscim062020 dialect)",
			patchBody(`{"op":"remove","path":"members[value eq \"` + u[1] + `\"]"}`),
			[]string{u[2]}},
		{"re-adding a member and removing a non-member are not errors",
			patchBody(`{"op":"add","path":"members","value":`+memberValues(u[2])+`}`,
				`{"op":"Remove","path":"members","value":`+memberValues(u[0])+`}`),
			[]string{u[2]}},
		{"rename with a path", patchBody(`{"op":"Replace","path":"displayName","value":"Sales EMEA"}`), []string{u[2]}},
		{"rename path-less and add", patchBody(`{"op":"replace","value":{"displayName":"Sales West"}}`,
			`{"op":"Add","path":"members","value":`+memberValues(u[3])+`}`), []string{u[2], u[3]}},
	}
	for _, s := range steps {
		t.Run("patch "+s.name, func(t *testing.T) {
			e.scim(http.MethodPatch, "/Groups/"+id, s.body).want(t, http.StatusNoContent)
			e.wantMembers(t, id, s.want...)
		})
	}

	t.Run("renames reached the portal", func(t *testing.T) {
		if g := e.portalGroup(t, id); g.Name != "Sales West" {
			t.Fatalf("portal name = %q", g.Name)
		}
		a := e.scim(http.MethodGet, groupFilterPath(`displayName eq "Sales EMEA"`, "&excludedAttributes=members"), nil).want(t, http.StatusOK)
		if a.body["totalResults"] != 0.0 {
			t.Fatalf("old name still matches: %s", a.raw)
		}
	})

	t.Run("get returns members with $ref and display", func(t *testing.T) {
		a := e.scim(http.MethodGet, "/Groups/"+id, nil).want(t, http.StatusOK)
		list, _ := a.body["members"].([]any)
		if len(list) != 2 {
			t.Fatalf("members: %s", a.raw)
		}
		for _, m := range list {
			obj := m.(map[string]any)
			v, _ := obj["value"].(string)
			i := slices.Index(u, v)
			if i < 0 || obj["$ref"] != e.base+"/Users/"+v || obj["display"] != fmt.Sprintf("member%d@contoso.com", i) {
				t.Fatalf("member %v in %s", obj, a.raw)
			}
		}
	})

	t.Run("PUT replaces the member set by applying only the difference", func(t *testing.T) {
		before := e.portalCalls()
		a := e.scim(http.MethodPut, "/Groups/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],
			"displayName":"Sales West","externalId":"sales-ext","members":`+memberValues(u[3], u[4], u[0])+`}`).want(t, http.StatusOK)
		if got, want := scimMembers(a), sorted(u[0], u[3], u[4]); !slices.Equal(got, want) {
			t.Fatalf("PUT answer members %v, want %v", got, want)
		}
		e.wantMembers(t, id, u[0], u[3], u[4])
		calls := e.callsSince(before)
		if calls[routeAdd] != 2 || calls[routeRemove] != 1 {
			t.Fatalf("member calls: %v, want 2 adds and 1 remove", calls)
		}
	})

	t.Run("remove with path members and no value removes all", func(t *testing.T) {
		e.scim(http.MethodPatch, "/Groups/"+id, patchBody(`{"op":"Remove","path":"members"}`)).want(t, http.StatusNoContent)
		e.wantMembers(t, id)
		a := e.scim(http.MethodGet, "/Groups/"+id, nil).want(t, http.StatusOK)
		// An empty multi-valued attribute is unassigned (RFC 7643 section 2.5): left out.
		if v, ok := a.body["members"]; ok && len(v.([]any)) != 0 {
			t.Fatalf("empty group: members %v: %s", v, a.raw)
		}
	})

	t.Run("delete", func(t *testing.T) {
		e.scim(http.MethodDelete, "/Groups/"+id, nil).want(t, http.StatusNoContent)
		if n := e.portalGroupCount(); n != 0 {
			t.Fatalf("portal holds %d groups", n)
		}
		e.scim(http.MethodGet, "/Groups/"+id, nil).wantError(t, http.StatusNotFound, "")
		e.scim(http.MethodDelete, "/Groups/"+id, nil).wantError(t, http.StatusNotFound, "")
		// Its members are still users.
		e.scim(http.MethodGet, "/Users/"+u[0], nil).want(t, http.StatusOK)
	})
}

func sorted(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func TestGroupCreateWithMembers(t *testing.T) {
	e := newEnv(t, nil)
	a1, a2 := e.createSCIMUser(t, "ann@contoso.com"), e.createSCIMUser(t, "ben")
	a := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Engineering", "eng", a1, a2)).want(t, http.StatusCreated)
	id := a.str("id")
	if got := scimMembers(a); !slices.Equal(got, sorted(a1, a2)) {
		t.Fatalf("create answer members %v: %s", got, a.raw)
	}
	e.wantMembers(t, id, a1, a2)
	// The plain userName ("ben", in the default domain) is displayed as sent.
	a = e.scim(http.MethodGet, "/Groups/"+id+"?attributes=members", nil).want(t, http.StatusOK)
	displays := map[string]any{}
	for _, m := range a.body["members"].([]any) {
		obj := m.(map[string]any)
		displays[obj["value"].(string)] = obj["display"]
	}
	if displays[a1] != "ann@contoso.com" || displays[a2] != "ben" || a.str("displayName") != "" {
		t.Fatalf("attributes=members answer: %s", a.raw)
	}
}

func TestGroupDuplicateDisplayName(t *testing.T) {
	e := newEnv(t, nil)
	first := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Finance", "fin-1")).want(t, http.StatusCreated)
	for _, tc := range []struct{ name, body string }{
		{"a second Entra group of the same name", entraGroupCreate("FINANCE", "fin-2")},
		{"a re-POST of the first", entraGroupCreate("Finance", "fin-1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.scim(http.MethodPost, "/Groups", tc.body).wantError(t, http.StatusConflict, "uniqueness")
			d := a.str("detail")
			if !strings.Contains(d, "requires unique group names") || !strings.Contains(d, `"Finance"`) || !strings.Contains(d, first.str("id")) {
				t.Fatalf("detail %q", d)
			}
			if n := e.portalGroupCount(); n != 1 {
				t.Fatalf("portal holds %d groups", n)
			}
		})
	}
	t.Run("a rename onto a name in use", func(t *testing.T) {
		other := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Legal", "legal")).want(t, http.StatusCreated)
		a := e.scim(http.MethodPatch, "/Groups/"+other.str("id"), patchBody(`{"op":"Replace","path":"displayName","value":"finance"}`)).
			wantError(t, http.StatusConflict, "uniqueness")
		if !strings.Contains(a.str("detail"), "requires unique group names") {
			t.Fatalf("detail %q", a.str("detail"))
		}
	})
}

func TestGroupBadInput(t *testing.T) {
	e := newEnv(t, nil)
	known := e.createSCIMUser(t, "kate@contoso.com")
	gone := e.createSCIMUser(t, "gone@contoso.com")
	e.scim(http.MethodDelete, "/Users/"+gone, nil).want(t, http.StatusNoContent)
	id := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Ops", "ops", known)).want(t, http.StatusCreated).str("id")
	const unknown = "0b7c3a52-5a4f-4f0e-9d1c-000000000000"

	tests := []struct {
		name, method, path, body string
		status                   int
		scimType, detail         string
	}{
		{"unknown member id in an add", http.MethodPatch, "/Groups/" + id,
			patchBody(`{"op":"Remove","path":"members","value":`+memberValues(known)+`}`,
				`{"op":"Add","path":"members","value":`+memberValues(known, unknown)+`}`),
			http.StatusBadRequest, "invalidValue", unknown},
		{"a member deleted through SCIM", http.MethodPatch, "/Groups/" + id,
			patchBody(`{"op":"Add","path":"members","value":` + memberValues(gone) + `}`),
			http.StatusBadRequest, "invalidValue", gone},
		{"unknown member id in a create", http.MethodPost, "/Groups", entraGroupCreate("Ghosts", "ghosts", unknown),
			http.StatusBadRequest, "invalidValue", unknown},
		{"unknown member id in a PUT", http.MethodPut, "/Groups/" + id,
			`{"displayName":"Ops","members":` + memberValues(unknown) + `}`, http.StatusBadRequest, "invalidValue", unknown},
		{"member without a value", http.MethodPatch, "/Groups/" + id,
			patchBody(`{"op":"Add","path":"members","value":[{"display":"x"}]}`), http.StatusBadRequest, "invalidValue", ""},
		{"malformed JSON", http.MethodPatch, "/Groups/" + id, `{"Operations":[`, http.StatusBadRequest, "invalidSyntax", ""},
		{"malformed create", http.MethodPost, "/Groups", `{"displayName":`, http.StatusBadRequest, "invalidSyntax", ""},
		{"create without displayName", http.MethodPost, "/Groups", `{"externalId":"x"}`, http.StatusBadRequest, "invalidValue", ""},
		{"invalid filter", http.MethodGet, groupFilterPath(`displayName eq`, ""), "", http.StatusBadRequest, "invalidFilter", ""},
		{"unknown group get", http.MethodGet, "/Groups/" + unknown, "", http.StatusNotFound, "", ""},
		{"unknown group patch", http.MethodPatch, "/Groups/" + unknown,
			patchBody(`{"op":"Replace","path":"displayName","value":"x"}`), http.StatusNotFound, "", ""},
		{"unknown group put", http.MethodPut, "/Groups/" + unknown, `{"displayName":"x"}`, http.StatusNotFound, "", ""},
		{"unknown group delete", http.MethodDelete, "/Groups/" + unknown, "", http.StatusNotFound, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.portalWrites()
			var body any
			if tc.body != "" {
				body = tc.body
			}
			a := e.scim(tc.method, tc.path, body).wantError(t, tc.status, tc.scimType)
			if !strings.Contains(a.str("detail"), tc.detail) {
				t.Fatalf("detail %q does not name %q", a.str("detail"), tc.detail)
			}
			if after := e.portalWrites(); after != before {
				t.Fatalf("portal writes went from %d to %d", before, after)
			}
			e.wantMembers(t, id, known)
		})
	}
	if n := e.portalGroupCount(); n != 1 {
		t.Fatalf("portal holds %d groups, want 1", n)
	}
}

func TestGroupEndpointSwitchAndDryRun(t *testing.T) {
	off := false
	e := newEnv(t, func(c *config.Config) {
		c.Upstream.Endpoints = map[string]config.Endpoint{config.OpDeleteGroup: {Enabled: &off}}
	})
	id := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Frozen", "frozen")).want(t, http.StatusCreated).str("id")
	before := e.sim.Stats().Total
	a := e.scim(http.MethodDelete, "/Groups/"+id, nil).wantError(t, http.StatusServiceUnavailable, "")
	if !strings.Contains(a.str("detail"), "upstream.endpoints.deleteGroup") || a.header.Get("Retry-After") == "" {
		t.Fatalf("answer %s", a.raw)
	}
	if after := e.sim.Stats().Total; after != before {
		t.Fatalf("the portal got %d calls", after-before)
	}

	d := newEnv(t, func(c *config.Config) { c.DryRun = true })
	a = d.scim(http.MethodPost, "/Groups", entraGroupCreate("Trial", "trial")).want(t, http.StatusCreated)
	if !strings.HasPrefix(a.str("id"), "dryrun-") || a.header.Get(gateway.HeaderDryRun) != "true" {
		t.Fatalf("dry-run create: id %q, header %q", a.str("id"), a.header.Get(gateway.HeaderDryRun))
	}
	d.scim(http.MethodGet, "/Groups/"+a.str("id"), nil).wantError(t, http.StatusNotFound, "")
	if w := d.portalWrites(); w != 0 {
		t.Fatalf("dry run made %d portal writes", w)
	}
}

// TestLargeGroup adds 1,200 members in one PATCH (limits.maxMembersPerRequest raised to allow it) and
// reads them back over three portal pages.
func TestLargeGroup(t *testing.T) {
	const n = 1200
	e := newEnv(t, func(c *config.Config) { c.Limits.MaxMembersPerRequest = n })
	ids := e.seedPortalUsers(t, "bulk", n)
	id := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Everyone", "everyone")).want(t, http.StatusCreated).str("id")

	e.scim(http.MethodPatch, "/Groups/"+id, patchBody(`{"op":"Add","path":"members","value":`+memberValues(ids...)+`}`)).
		want(t, http.StatusNoContent)
	e.wantMembers(t, id, ids...)

	before := e.portalCalls()
	a := e.scim(http.MethodGet, "/Groups/"+id, nil).want(t, http.StatusOK)
	if got := scimMembers(a); !slices.Equal(got, sorted(ids...)) {
		t.Fatalf("GET returned %d members, want %d", len(got), n)
	}
	if calls := e.callsSince(before)[routeMembers]; calls != 3 {
		t.Fatalf("%d listMembers calls for %d members, want 3 pages of 500", calls, n)
	}

	// The wipe bug at scale: removing half by value list keeps the other half.
	e.scim(http.MethodPatch, "/Groups/"+id, patchBody(`{"op":"Remove","path":"members","value":`+memberValues(ids[:n/2]...)+`}`)).
		want(t, http.StatusNoContent)
	e.wantMembers(t, id, ids[n/2:]...)
}

// failingPortal lets the first okAdds member additions through and fails the others as an
// unavailable portal would.
type failingPortal struct {
	gateway.GroupPortal
	mu     sync.Mutex
	okAdds int
}

func (p *failingPortal) AddMember(ctx context.Context, idGroup, idUser int64) error {
	p.mu.Lock()
	ok := p.okAdds > 0
	p.okAdds--
	p.mu.Unlock()
	if !ok {
		return &translator.Error{Code: translator.EUnavailable, Message: "portal unavailable (test)", RetryAfter: time.Second}
	}
	return p.GroupPortal.AddMember(ctx, idGroup, idUser)
}

// TestGroupPatchReplayConverges fails a PATCH midway (after its removal and three of its eight
// additions) and checks that replaying it converges.
func TestGroupPatchReplayConverges(t *testing.T) {
	e := newEnv(t, nil)
	ids := e.seedPortalUsers(t, "replay", 12)
	id := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Replay", "replay", ids[:4]...)).want(t, http.StatusCreated).str("id")
	body := patchBody(`{"op":"Remove","path":"members","value":`+memberValues(ids[0])+`}`,
		`{"op":"Add","path":"members","value":`+memberValues(ids[4:]...)+`}`)

	live := e.app.server.Live()
	faulty := *live
	faulty.Groups = &failingPortal{GroupPortal: live.Groups, okAdds: 3}
	e.app.server.SetLive(&faulty)
	a := e.scim(http.MethodPatch, "/Groups/"+id, body).wantError(t, http.StatusServiceUnavailable, "")
	if a.header.Get("Retry-After") == "" {
		t.Fatalf("no Retry-After: %v", a.header)
	}
	got := e.portalMembers(t, id)
	if len(got) != 3+3 || slices.Contains(got, ids[0]) {
		t.Fatalf("after the failure the portal holds %d members %v, want the 3 kept and 3 of the 8 added", len(got), got)
	}

	e.app.server.SetLive(live)
	e.scim(http.MethodPatch, "/Groups/"+id, body).want(t, http.StatusNoContent)
	e.wantMembers(t, id, ids[1:]...)
}

// TestGroupCreateReplayConverges fails the member additions of a create and checks that Entra's
// retry of the same body answers 201 with the same group and all its members.
func TestGroupCreateReplayConverges(t *testing.T) {
	e := newEnv(t, nil)
	ids := e.seedPortalUsers(t, "create", 6)
	live := e.app.server.Live()
	faulty := *live
	faulty.Groups = &failingPortal{GroupPortal: live.Groups, okAdds: 2}
	e.app.server.SetLive(&faulty)
	e.scim(http.MethodPost, "/Groups", entraGroupCreate("Retry", "retry", ids...)).wantError(t, http.StatusServiceUnavailable, "")
	e.app.server.SetLive(live)

	a := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Retry", "retry", ids...)).want(t, http.StatusCreated)
	if n := e.portalGroupCount(); n != 1 {
		t.Fatalf("portal holds %d groups", n)
	}
	e.wantMembers(t, a.str("id"), ids...)
	// The 201 was delivered: a third POST is a plain 409.
	e.scim(http.MethodPost, "/Groups", entraGroupCreate("Retry", "retry", ids...)).wantError(t, http.StatusConflict, "uniqueness")
}

// BenchmarkPatchAdd1000Members measures one Entra PATCH adding 1,000 members (users the gateway has
// not cached: one listUsers and one addMember per member) to a portal answering every call in 20 ms.
// Entra gives up after 60 s.
func BenchmarkPatchAdd1000Members(b *testing.B) {
	const n = 1000
	g := newBenchGateway(b, "memory")
	g.client.Timeout = 120 * time.Second // Entra's 60 s, and more for a loaded machine

	ids := seedPortalUsers(b, g.simURL, g.client, "bench", n)
	var created struct{ ID string }
	if err := json.Unmarshal(g.gatewayDo(http.MethodPost, "/Groups", entraGroupCreate("Bench", "bench"), http.StatusCreated), &created); err != nil {
		b.Fatal(err)
	}
	add := patchBody(`{"op":"Add","path":"members","value":` + memberValues(ids...) + `}`)
	removeAll := patchBody(`{"op":"Remove","path":"members"}`)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		g.setLatency(0)
		g.gatewayDo(http.MethodPatch, "/Groups/"+created.ID, removeAll, http.StatusNoContent)
		g.setLatency(20)
		b.StartTimer()
		g.gatewayDo(http.MethodPatch, "/Groups/"+created.ID, add, http.StatusNoContent)
	}
	b.StopTimer()
	g.setLatency(0)
	var got struct{ Members []any }
	if err := json.Unmarshal(g.gatewayDo(http.MethodGet, "/Groups/"+created.ID, "", http.StatusOK), &got); err != nil {
		b.Fatal(err)
	}
	if len(got.Members) != n {
		b.Fatalf("the group has %d members, want %d", len(got.Members), n)
	}
}

// TestGroupTranslationRecords checks that group writes leave translation records on the admin port:
// the create with its portal fields, a member PATCH as an update with its member calls, a PATCH that
// changes nothing as unchanged, the delete.
func TestGroupTranslationRecords(t *testing.T) {
	e := newEnv(t, nil)
	member := e.createSCIMUser(t, "rita@contoso.com")
	id := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Audit", "audit")).want(t, http.StatusCreated).str("id")
	add := patchBody(`{"op":"Add","path":"members","value":` + memberValues(member) + `}`)
	e.scim(http.MethodPatch, "/Groups/"+id, add).want(t, http.StatusNoContent)
	e.scim(http.MethodPatch, "/Groups/"+id, patchBody(`{"op":"Replace","path":"displayName","value":"Audit"}`)).want(t, http.StatusNoContent)
	e.scim(http.MethodDelete, "/Groups/"+id, nil).want(t, http.StatusNoContent)

	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"op=create", []string{`"outcome":"created"`, `"resourceType":"Group"`, `"portal":"name"`, `"op":"createGroup"`}},
		{"op=patch&outcome=updated", []string{`"op":"addMember"`, `"status":204`}},
		{"op=patch&outcome=unchanged", []string{`"resourceType":"Group"`}},
		{"op=delete", []string{`"outcome":"deleted"`, `"op":"deleteGroup"`}},
	} {
		t.Run(tc.query, func(t *testing.T) {
			s, body := e.admin("/admin/translations?scimId="+id+"&"+tc.query, e2eAdminToken)
			if s != http.StatusOK {
				t.Fatalf("/admin/translations: %d %s", s, body)
			}
			for _, want := range tc.want {
				if !strings.Contains(body, want) {
					t.Errorf("translations lack %s:\n%s", want, body)
				}
			}
		})
	}
}

// unknownIDs returns n SCIM ids that are no user.
func unknownIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("0b7c3a52-5a4f-4f0e-9d1c-%012d", i)
	}
	return ids
}

// portalReads counts the portal's read calls in calls (a callsSince result).
func portalReads(calls map[string]int64) int64 {
	var n int64
	for k, v := range calls {
		if strings.HasPrefix(k, http.MethodGet+" ") {
			n += v
		}
	}
	return n
}

// TestGroupMemberFanOutIsBounded checks that one group request cannot fan out into a portal call per
// member id: more ids than limits.maxMembersPerRequest are refused before any portal call (or after the
// group's own read, for a PATCH), and unknown ids stop the checks at the first one found, ids the store
// does not know checked first.
func TestGroupMemberFanOutIsBounded(t *testing.T) {
	const limit = 300
	e := newEnv(t, func(c *config.Config) { c.Limits.MaxMembersPerRequest = limit })
	gid := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Fan", "fan")).want(t, http.StatusCreated).str("id")
	var known []string
	for i := range 40 {
		known = append(known, e.createSCIMUser(t, fmt.Sprintf("fan%d@contoso.com", i)))
	}
	// memberConcurrency (16) lookups may be in flight when the first unknown id is found.
	const maxReads = 16

	t.Run("over the limit in a create", func(t *testing.T) {
		before := e.portalCalls()
		a := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Big", "big", unknownIDs(10000)...)).
			wantError(t, http.StatusBadRequest, "tooMany")
		if !strings.Contains(a.str("detail"), "limits.maxMembersPerRequest") {
			t.Fatalf("detail %q", a.str("detail"))
		}
		if calls := e.callsSince(before); len(calls) != 0 {
			t.Fatalf("portal calls %v, want none", calls)
		}
	})
	t.Run("over the limit in a PATCH", func(t *testing.T) {
		before := e.portalCalls()
		e.scim(http.MethodPatch, "/Groups/"+gid, patchBody(`{"op":"Add","path":"members","value":`+memberValues(unknownIDs(limit+1)...)+`}`)).
			wantError(t, http.StatusBadRequest, "tooMany")
		if calls := e.callsSince(before); len(calls) > 1 || portalReads(calls) > 1 {
			t.Fatalf("portal calls %v, want the group's read only", calls)
		}
	})
	t.Run("over the limit in a PUT", func(t *testing.T) {
		before := e.portalCalls()
		e.scim(http.MethodPut, "/Groups/"+gid, `{"displayName":"Fan","members":`+memberValues(unknownIDs(limit+1)...)+`}`).
			wantError(t, http.StatusBadRequest, "tooMany")
		if calls := e.callsSince(before); len(calls) != 0 {
			t.Fatalf("portal calls %v, want none", calls)
		}
	})
	t.Run("unknown ids stop at the first", func(t *testing.T) {
		before := e.portalCalls()
		e.scim(http.MethodPost, "/Groups", entraGroupCreate("Ghosts", "ghosts", unknownIDs(limit)...)).
			wantError(t, http.StatusBadRequest, "invalidValue")
		if n := portalReads(e.callsSince(before)); n > maxReads {
			t.Fatalf("%d portal reads for %d unknown ids, want at most %d", n, limit, maxReads)
		}
	})
	t.Run("an unknown id after known ones is checked first", func(t *testing.T) {
		ids := append(slices.Clone(known), unknownIDs(1)...)
		writes := e.portalWrites()
		before := e.portalCalls()
		a := e.scim(http.MethodPatch, "/Groups/"+gid, patchBody(`{"op":"Add","path":"members","value":`+memberValues(ids...)+`}`)).
			wantError(t, http.StatusBadRequest, "invalidValue")
		if !strings.Contains(a.str("detail"), unknownIDs(1)[0]) {
			t.Fatalf("detail %q does not name the unknown id", a.str("detail"))
		}
		// The group's read and the unknown id's lookup: the known ids are not read.
		if n := portalReads(e.callsSince(before)); n != 2 {
			t.Fatalf("%d portal reads for %d known ids and one unknown, want 2", n, len(known))
		}
		if w := e.portalWrites(); w != writes {
			t.Fatalf("portal writes went from %d to %d", writes, w)
		}
		e.wantMembers(t, gid)
	})
	t.Run("a repeated id costs one read", func(t *testing.T) {
		ids := make([]string, limit)
		for i := range ids {
			ids[i] = known[0]
		}
		before := e.portalCalls()
		e.scim(http.MethodPatch, "/Groups/"+gid, patchBody(`{"op":"Add","path":"members","value":`+memberValues(ids...)+`}`)).
			want(t, http.StatusNoContent)
		if calls := e.callsSince(before); calls[routeAdd] != 1 {
			t.Fatalf("portal calls %v, want one addMember", calls)
		}
		e.wantMembers(t, gid, known[0])
	})
}

// TestDeletedUserLeavesMemberLists deletes a member (disable mode) and checks that the group no longer
// lists it, nor matches it in a members filter, at the cost of one listUsers of the disabled users per
// member list; the user stays a portal member, so that a restore brings it back.
func TestDeletedUserLeavesMemberLists(t *testing.T) {
	e := newEnv(t, nil)
	alice := e.createSCIMUser(t, "alice@contoso.com")
	bob := e.createSCIMUser(t, "bob@contoso.com")
	// A disabled user that is not deleted stays a member.
	carol := e.createSCIMUser(t, "carol@contoso.com")
	e.scim(http.MethodPatch, "/Users/"+carol, patchBody(`{"op":"Replace","path":"active","value":"False"}`)).want(t, http.StatusNoContent)
	gid := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Crew", "crew", alice, bob, carol)).want(t, http.StatusCreated).str("id")
	byMember := func(id string) string {
		return groupFilterPath(`members[value eq "`+id+`"]`, "&excludedAttributes=members")
	}
	e.scim(http.MethodGet, byMember(alice), nil).want(t, http.StatusOK)

	e.scim(http.MethodDelete, "/Users/"+alice, nil).want(t, http.StatusNoContent)
	e.scim(http.MethodGet, "/Users/"+alice, nil).want(t, http.StatusNotFound)

	before := e.portalCalls()
	a := e.scim(http.MethodGet, "/Groups/"+gid, nil).want(t, http.StatusOK)
	if got, want := scimMembers(a), sorted(bob, carol); !slices.Equal(got, want) {
		t.Fatalf("members after the delete = %v, want %v", got, want)
	}
	if strings.Contains(a.raw, alice) {
		t.Fatalf("the group still names the deleted user: %s", a.raw)
	}
	calls := e.callsSince(before)
	if total := portalReads(calls); total != 3 || calls["GET /api/usersync/v1/users"] != 1 {
		t.Fatalf("portal calls %v: want getGroup, listMembers and one listUsers", calls)
	}
	if a := e.scim(http.MethodGet, byMember(alice), nil).want(t, http.StatusOK); a.body["totalResults"] != 0.0 {
		t.Fatalf("members[value eq] still matches the deleted user: %s", a.raw)
	}
	if a := e.scim(http.MethodGet, byMember(bob), nil).want(t, http.StatusOK); a.body["totalResults"] != 1.0 {
		t.Fatalf("members[value eq] of a member: %s", a.raw)
	}
	// The portal keeps the membership: the restore brings it back.
	e.wantMembers(t, gid, alice, bob, carol)
	if id := e.scim(http.MethodPost, "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@contoso.com","active":true}`).
		want(t, http.StatusCreated).str("id"); id != alice {
		t.Fatalf("restore answered id %s, want %s", id, alice)
	}
	a = e.scim(http.MethodGet, "/Groups/"+gid, nil).want(t, http.StatusOK)
	if got, want := scimMembers(a), sorted(alice, bob, carol); !slices.Equal(got, want) {
		t.Fatalf("members after the restore = %v, want %v", got, want)
	}
}
