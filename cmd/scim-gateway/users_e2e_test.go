package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

const enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// entraCreate is the body Entra sends to create a user (AZURE_AD.md): both schemas, "True" as a
// string, nulls, an empty roles list, attributes the mapping does not hold.
func entraCreate(userName, externalID string) string {
	return `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "` + enterpriseURN + `"],
  "externalId": "` + externalID + `",
  "userName": "` + userName + `",
  "active": "True",
  "displayName": "Alice Smith",
  "title": "Engineer",
  "nickName": null,
  "preferredLanguage": "en-US",
  "emails": [{"primary": true, "type": "work", "value": "alice.smith@contoso.com"}],
  "phoneNumbers": [{"type": "mobile", "value": "+1 (555) 0100"}, {"type": "fax", "value": "+1 555 0199"}],
  "addresses": [{"type": "work", "postalCode": "98052", "primary": true}],
  "name": {"formatted": "Alice Smith", "familyName": "Smith", "givenName": "Alice"},
  "roles": [],
  "meta": {"resourceType": "User"},
  "` + enterpriseURN + `": {"employeeNumber": "701984", "department": "Sales", "costCenter": null}
}`
}

// TestEntraUserLifecycle replays an Entra provisioning session against the gateway and checks the
// portal's own state through its API after each step.
func TestEntraUserLifecycle(t *testing.T) {
	e := newEnv(t, nil)

	t.Run("test connection", func(t *testing.T) {
		a := e.scim(http.MethodGet, filterPath(`userName eq "9c1e3b6c-32f0-4b5e-9d55-2d1f0c1b7a10"`)+"&aadOptscim062020", nil).want(t, http.StatusOK)
		want := map[string]any{"schemas": []any{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
			"totalResults": 0.0, "Resources": []any{}, "startIndex": 1.0, "itemsPerPage": 0.0}
		if !jsonEqual(a.body, want) {
			t.Fatalf("Test Connection answer = %s", a.raw)
		}
	})

	var id string
	t.Run("match then create", func(t *testing.T) {
		e.scim(http.MethodGet, filterPath(`userName eq "alice@contoso.com"`), nil).want(t, http.StatusOK)
		a := e.scim(http.MethodPost, "/Users", entraCreate("alice@contoso.com", "alice-ext")).want(t, http.StatusCreated)
		id = a.str("id")
		if id == "" || a.header.Get("Location") != e.base+"/Users/"+id {
			t.Fatalf("create answer: id %q, Location %q", id, a.header.Get("Location"))
		}
		for _, kv := range [][2]any{
			{a.body["userName"], "alice@contoso.com"}, {a.body["active"], true}, {a.body["externalId"], "alice-ext"},
			{a.body["displayName"], "Alice Smith"}, {a.body["title"], "Engineer"},
		} {
			if kv[0] != kv[1] {
				t.Fatalf("created resource: got %v, want %v in %s", kv[0], kv[1], a.raw)
			}
		}
		if strings.Contains(a.raw, "preferredLanguage") {
			t.Fatalf("an unmapped attribute came back: %s", a.raw)
		}
		p := e.portalUser("contoso.com", "alice")
		if p.GUIDUser != id || !p.Enabled || strp(p.ContactEmail) != "alice.smith@contoso.com" ||
			strp(p.FirstName) != "Alice" || strp(p.LastName) != "Smith" || strp(p.FullName) != "Alice Smith" ||
			strp(p.ContactCellPhone) != "+1 (555) 0100" || strp(p.ExternalKey) != "alice-ext" ||
			p.Properties["department"] != "Sales" || p.Properties["employeeNumber"] != "701984" {
			t.Fatalf("portal user = %+v", p)
		}
	})

	t.Run("read back exactly as sent", func(t *testing.T) {
		a := e.scim(http.MethodGet, "/Users/"+id, nil).want(t, http.StatusOK)
		// Every value as sent: the work email and mobile phone from their portal fields, the fax
		// phone and the address from the whole attributes (properties scimPhoneNumbers, scimAddresses).
		var sent map[string]any
		if err := json.Unmarshal([]byte(entraCreate("alice@contoso.com", "alice-ext")), &sent); err != nil {
			t.Fatal(err)
		}
		for _, attr := range []string{"emails", "phoneNumbers", "addresses"} {
			if !jsonEqual(a.body[attr], sent[attr]) {
				t.Fatalf("%s = %v, want as sent %v", attr, a.body[attr], sent[attr])
			}
		}
		if p := e.portalUser("contoso.com", "alice"); p.Properties["scimEmails"] != nil {
			t.Fatalf("scimEmails = %v: one work email is all the contact email and emailPrimary need", p.Properties["scimEmails"])
		}
		ext, _ := a.body[enterpriseURN].(map[string]any)
		if ext["department"] != "Sales" || ext["employeeNumber"] != "701984" {
			t.Fatalf("enterprise extension: %s", a.raw)
		}
		if a.str("meta", "location") != e.base+"/Users/"+id || a.str("meta", "resourceType") != "User" {
			t.Fatalf("meta: %s", a.raw)
		}
	})

	t.Run("filters", func(t *testing.T) {
		for _, f := range []string{
			`userName eq "ALICE@contoso.com"`,
			`externalId eq alice-ext`,
			`externalId eq "alice-ext"`,
			`emails[type eq "work"].value eq "alice.smith@contoso.com"`,
			`userName eq "alice@contoso.com" and active eq true`,
		} {
			a := e.scim(http.MethodGet, filterPath(f), nil).want(t, http.StatusOK)
			res, _ := a.body["Resources"].([]any)
			if a.body["totalResults"] != 1.0 || len(res) != 1 || res[0].(map[string]any)["id"] != id {
				t.Fatalf("filter %s: %s", f, a.raw)
			}
		}
		for _, f := range []string{`externalId eq "ALICE-EXT"`, `userName eq "alice@other.com"`, `title eq "Boss"`} {
			a := e.scim(http.MethodGet, filterPath(f), nil).want(t, http.StatusOK)
			if a.body["totalResults"] != 0.0 {
				t.Fatalf("filter %s matched: %s", f, a.raw)
			}
		}
	})

	patches := []struct {
		name  string
		body  string
		check func(t *testing.T, p portalsim.User)
	}{
		{"filtered path, default dialect", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Replace","path":"emails[type eq \"work\"].value","value":"alice@contoso.com"},
			{"op":"Replace","path":"name.familyName","value":"Smith-Jones"}]}`,
			func(t *testing.T, p portalsim.User) {
				if strp(p.ContactEmail) != "alice@contoso.com" || strp(p.LastName) != "Smith-Jones" {
					t.Fatalf("portal: %+v", p)
				}
			}},
		{"extension path and manager as a string", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Replace","path":"` + enterpriseURN + `:department","value":"Marketing"},
			{"op":"Add","path":"` + enterpriseURN + `:manager","value":"mgr-1"}]}`,
			func(t *testing.T, p portalsim.User) {
				if p.Properties["department"] != "Marketing" || p.Properties["manager"] != "mgr-1" {
					t.Fatalf("portal properties: %v", p.Properties)
				}
			}},
		{"path-less value object, aadOptscim062020 dialect", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"replace","value":{"displayName":"Alice S.","name.givenName":"Alicia","` + enterpriseURN + `:department":"R&D"}}]}`,
			func(t *testing.T, p portalsim.User) {
				if p.Properties["displayName"] != "Alice S." || strp(p.FirstName) != "Alicia" || p.Properties["department"] != "R&D" {
					t.Fatalf("portal: %+v", p)
				}
			}},
		{"clear with an empty string and remove the manager", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Replace","path":"title","value":""},
			{"op":"Remove","path":"` + enterpriseURN + `:manager"}]}`,
			func(t *testing.T, p portalsim.User) {
				if _, ok := p.Properties["title"]; ok {
					t.Fatalf("title not removed: %v", p.Properties)
				}
				if _, ok := p.Properties["manager"]; ok {
					t.Fatalf("manager not removed: %v", p.Properties)
				}
			}},
		{"disable with the string False", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"Replace","path":"active","value":"False"}]}`,
			func(t *testing.T, p portalsim.User) {
				if p.Enabled {
					t.Fatal("portal user still enabled")
				}
			}},
		{"re-enable with a JSON boolean", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
			{"op":"replace","path":"active","value":true}]}`,
			func(t *testing.T, p portalsim.User) {
				if !p.Enabled {
					t.Fatal("portal user still disabled")
				}
			}},
	}
	for _, tc := range patches {
		t.Run("patch "+tc.name, func(t *testing.T) {
			e.scim(http.MethodPatch, "/Users/"+id, tc.body).want(t, http.StatusNoContent)
			tc.check(t, e.portalUser("contoso.com", "alice"))
		})
	}

	t.Run("a patch that changes nothing writes nothing", func(t *testing.T) {
		before := e.portalWrites()
		e.scim(http.MethodPatch, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
			"Operations":[{"op":"Replace","path":"active","value":"True"},{"op":"Replace","path":"name.givenName","value":"Alicia"}]}`).
			want(t, http.StatusNoContent)
		if after := e.portalWrites(); after != before {
			t.Fatalf("portal writes went from %d to %d", before, after)
		}
	})

	t.Run("delete disables and hides", func(t *testing.T) {
		e.scim(http.MethodDelete, "/Users/"+id, nil).want(t, http.StatusNoContent)
		p := e.portalUser("contoso.com", "alice")
		if p.Enabled || p.Properties["scimDeleted"] != true {
			t.Fatalf("portal user after DELETE: enabled %v, properties %v", p.Enabled, p.Properties)
		}
		e.scim(http.MethodGet, "/Users/"+id, nil).wantError(t, http.StatusNotFound, "")
		a := e.scim(http.MethodGet, filterPath(`userName eq "alice@contoso.com"`), nil).want(t, http.StatusOK)
		if a.body["totalResults"] != 0.0 {
			t.Fatalf("deleted user still matches a filter: %s", a.raw)
		}
		e.scim(http.MethodDelete, "/Users/"+id, nil).wantError(t, http.StatusNotFound, "")
	})

	t.Run("a later create restores it with the same id", func(t *testing.T) {
		a := e.scim(http.MethodPost, "/Users", entraCreate("alice@contoso.com", "alice-ext")).want(t, http.StatusCreated)
		if a.str("id") != id {
			t.Fatalf("restored id = %q, want %q", a.str("id"), id)
		}
		p := e.portalUser("contoso.com", "alice")
		if !p.Enabled || p.Properties["scimDeleted"] != nil || strp(p.LastName) != "Smith" {
			t.Fatalf("portal user after restore: %+v", p)
		}
		if n := len(e.portalUsers()); n != 1 {
			t.Fatalf("portal holds %d users, want 1", n)
		}
	})

	t.Run("a re-POST is 409 uniqueness", func(t *testing.T) {
		e.scim(http.MethodPost, "/Users", entraCreate("Alice@Contoso.com", "alice-ext")).wantError(t, http.StatusConflict, "uniqueness")
		if n := len(e.portalUsers()); n != 1 {
			t.Fatalf("portal holds %d users, want 1", n)
		}
	})

	t.Run("PUT replaces and clears what it leaves out", func(t *testing.T) {
		a := e.scim(http.MethodPut, "/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],
			"userName":"alice@contoso.com","active":true,"name":{"givenName":"Alice"}}`).want(t, http.StatusOK)
		if a.str("id") != id {
			t.Fatalf("PUT answer: %s", a.raw)
		}
		p := e.portalUser("contoso.com", "alice")
		if strp(p.FirstName) != "Alice" || p.LastName != nil || p.ContactEmail != nil || p.ExternalKey != nil || p.Properties["department"] != nil {
			t.Fatalf("portal user after PUT: %+v", p)
		}
	})

	t.Run("hard delete in delete mode", func(t *testing.T) {
		// The default portal refuses deletes: the gateway says so with 502, never 2xx.
		e2 := newEnv(t, func(c *config.Config) { c.Deprovision.OnDelete = "delete" })
		a := e2.scim(http.MethodPost, "/Users", entraCreate("bob@contoso.com", "bob")).want(t, http.StatusCreated)
		e2.scim(http.MethodDelete, "/Users/"+a.str("id"), nil).wantError(t, http.StatusBadGateway, "")
		if n := len(e2.portalUsers()); n != 1 {
			t.Fatalf("portal holds %d users, want 1", n)
		}
	})
}

func TestCreateAnswersOnUnknownOutcome(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Upstream.Timeout = time.Second })
	// The portal stores the user, then answers after the client gave up: the gateway reads it back
	// and answers 201 with its id rather than an error Entra would retry into a 409.
	e.setFaults(func(f *portalsim.Faults) { f.SlowCommitRate, f.SlowCommitMs = 1, 3000 })
	a := e.scim(http.MethodPost, "/Users", entraCreate("carol@contoso.com", "carol")).want(t, http.StatusCreated)
	e.setFaults(func(f *portalsim.Faults) { f.SlowCommitRate, f.SlowCommitMs = 0, 0 })
	p := e.portalUser("contoso.com", "carol")
	if a.str("id") != p.GUIDUser {
		t.Fatalf("id %q, portal guid %q", a.str("id"), p.GUIDUser)
	}
	// The 201 was delivered: a re-POST is a plain 409.
	e.scim(http.MethodPost, "/Users", entraCreate("carol@contoso.com", "carol")).wantError(t, http.StatusConflict, "uniqueness")
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestListWithoutFilterLeavesDeletedUsersOut lists users without a filter after deletes in disable
// mode (the users stay in the portal, disabled and marked): totalResults, itemsPerPage and the pages
// count only the users SCIM still has, a disabled user that was not deleted included. With nothing
// deleted the portal's own page is answered after one scan of the disabled users.
func TestListWithoutFilterLeavesDeletedUsersOut(t *testing.T) {
	e := newEnv(t, nil)
	ids := map[string]string{}
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
		ids[u] = e.scim(http.MethodPost, "/Users", fmt.Sprintf(`{"userName":%q,"active":true}`, u+"@contoso.com")).
			want(t, http.StatusCreated).str("id")
	}
	e.scim(http.MethodPatch, "/Users/"+ids["u5"], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"Replace","path":"active","value":"False"}]}`).want(t, http.StatusNoContent)

	before := e.portalCalls()
	a := e.scim(http.MethodGet, "/Users?startIndex=1&count=2", nil).want(t, http.StatusOK)
	if a.body["totalResults"] != 5.0 || a.body["itemsPerPage"] != 2.0 {
		t.Fatalf("nothing deleted: %s", a.raw)
	}
	if got := e.callsSince(before); len(got) != 1 || got["GET /api/usersync/v1/users"] != 2 {
		t.Fatalf("portal calls = %v, want two listUsers (the disabled users, then the page)", got)
	}

	for _, u := range []string{"u1", "u3"} {
		e.scim(http.MethodDelete, "/Users/"+ids[u], nil).want(t, http.StatusNoContent)
	}
	if n := len(e.portalUsers()); n != 5 {
		t.Fatalf("the portal holds %d users, want 5 (disable mode keeps them)", n)
	}
	userNames := func(a answer) []string {
		var out []string
		for _, r := range a.body["Resources"].([]any) {
			out = append(out, r.(map[string]any)["userName"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		query string
		want  []string
	}{
		{"", []string{"u2@contoso.com", "u4@contoso.com", "u5@contoso.com"}},
		{"?startIndex=1&count=2", []string{"u2@contoso.com", "u4@contoso.com"}},
		{"?startIndex=3&count=2", []string{"u5@contoso.com"}},
		{"?startIndex=4&count=2", nil},
		{"?count=0", nil},
	} {
		a := e.scim(http.MethodGet, "/Users"+tc.query, nil).want(t, http.StatusOK)
		got := userNames(a)
		if a.body["totalResults"] != 3.0 || a.body["itemsPerPage"] != float64(len(tc.want)) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %v in %s, want %v of 3", tc.query, got, a.raw, tc.want)
		}
	}
}

// TestListWithoutFilterBeyondMaxScan: with more users than limits.maxScan a list without a filter is
// still answered (200, never tooMany): the portal's page with its deleted users dropped.
func TestListWithoutFilterBeyondMaxScan(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Limits.MaxScan = 4 })
	var first string
	for i, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
		id := e.scim(http.MethodPost, "/Users", fmt.Sprintf(`{"userName":%q}`, u+"@contoso.com")).want(t, http.StatusCreated).str("id")
		if i == 0 {
			first = id
		}
	}
	e.scim(http.MethodDelete, "/Users/"+first, nil).want(t, http.StatusNoContent)
	a := e.scim(http.MethodGet, "/Users?count=3", nil).want(t, http.StatusOK)
	if a.body["totalResults"] != 5.0 || a.body["itemsPerPage"] != 2.0 || strings.Contains(a.raw, "u1@contoso.com") {
		t.Fatalf("beyond maxScan: %s, want the portal's first 3 less the deleted one, totalResults 5", a.raw)
	}
}
