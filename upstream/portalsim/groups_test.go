package portalsim

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestGroupCRUD(t *testing.T) {
	p := newPortal(t)
	res := p.call(http.MethodPost, groupsPath, `{"name":"Staff","externalKey":"g1","description":"Everyone"}`)
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	var g Group
	decode(t, res.body, &g)
	if res.header.Get("Location") != p.apiURL(groupPath(g.IDGroup, "")) {
		t.Fatalf("Location = %q", res.header.Get("Location"))
	}
	if g.IDGroup != 1 || !guidRE.MatchString(g.GUIDGroup) || g.Name != "Staff" || str(g.ExternalKey) != "g1" ||
		str(g.Description) != "Everyone" || !timestampRE.MatchString(g.CreatedOn) || g.CreatedOn != g.ModifiedOn {
		t.Fatalf("group = %s", res.body)
	}
	if bare := p.call(http.MethodPost, groupsPath, `{"name":"bare"}`); !strings.Contains(string(bare.body), `"externalKey":null,"description":null`) {
		t.Fatalf("unset optional fields not null: %s", bare.body)
	}
	if got := p.call(http.MethodGet, groupPath(g.IDGroup, ""), ""); got.status != 200 || string(got.body) != string(res.body) {
		t.Fatalf("get = %d %s", got.status, got.body)
	}
	patched := p.call(http.MethodPatch, groupPath(g.IDGroup, ""), `{"description":null,"name":"staff"}`)
	var pg Group
	decode(t, patched.body, &pg)
	if patched.status != 200 || pg.Description != nil || pg.Name != "staff" || str(pg.ExternalKey) != "g1" ||
		pg.ModifiedOn <= g.ModifiedOn || pg.CreatedOn != g.CreatedOn {
		t.Fatalf("patch = %d %s", patched.status, patched.body)
	}
	if del := p.call(http.MethodDelete, groupPath(g.IDGroup, ""), ""); del.status != http.StatusNoContent {
		t.Fatalf("delete = %d %s", del.status, del.body)
	}
	wantError(t, p.call(http.MethodGet, groupPath(g.IDGroup, ""), ""), 404, CodeGroupNotFound, "idGroup")
	wantError(t, p.call(http.MethodDelete, groupPath(g.IDGroup, ""), ""), 404, CodeGroupNotFound, "idGroup")
	wantError(t, p.call(http.MethodPatch, groupPath(g.IDGroup, ""), `{"name":"x"}`), 404, CodeGroupNotFound, "idGroup")
	p.createGroup(`{"name":"STAFF"}`) // the name is free again
}

func TestGroupFieldRules(t *testing.T) {
	p := newPortal(t)
	existing := p.createGroup(`{"name":"Taken"}`)
	tests := []struct {
		name, body string
		wantStatus int
		wantCode   string
		wantTarget string
	}{
		{"name of 200", `{"name":"` + strings.Repeat("é", 200) + `"}`, 201, "", ""},
		{"name of 201", `{"name":"` + strings.Repeat("é", 201) + `"}`, 400, CodeValidationFailed, "name"},
		{"name missing", `{"description":"d"}`, 400, CodeValidationFailed, "name"},
		{"name empty", `{"name":""}`, 400, CodeValidationFailed, "name"},
		{"name null", `{"name":null}`, 400, CodeValidationFailed, "name"},
		{"name number", `{"name":1}`, 400, CodeValidationFailed, "name"},
		{"externalKey of 256", `{"name":"k256","externalKey":"` + strings.Repeat("k", 256) + `"}`, 201, "", ""},
		{"externalKey of 257", `{"name":"k257","externalKey":"` + strings.Repeat("k", 257) + `"}`, 400, CodeValidationFailed, "externalKey"},
		{"description of 1000", `{"name":"d1000","description":"` + strings.Repeat("d", 1000) + `"}`, 201, "", ""},
		{"description of 1001", `{"name":"d1001","description":"` + strings.Repeat("d", 1001) + `"}`, 400, CodeValidationFailed, "description"},
		{"unknown field", `{"name":"u","members":[]}`, 400, CodeValidationFailed, "members"},
		{"properties are not a group field", `{"name":"u","properties":{}}`, 400, CodeValidationFailed, "properties"},
		{"idGroup", `{"name":"u","idGroup":3}`, 400, CodeValidationFailed, "idGroup"},
		{"guidGroup", `{"name":"u","guidGroup":"x"}`, 400, CodeValidationFailed, "guidGroup"},
		{"createdOn", `{"name":"u","createdOn":"x"}`, 400, CodeValidationFailed, "createdOn"},
		{"modifiedOn", `{"name":"u","modifiedOn":"x"}`, 400, CodeValidationFailed, "modifiedOn"},
		{"not JSON", `{"name"`, 400, CodeValidationFailed, ""},
		{"duplicate name in other case", `{"name":"TAKEN"}`, 409, CodeGroupAlreadyExists, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := p.call(http.MethodPost, groupsPath, tt.body)
			if tt.wantStatus == 201 {
				if res.status != 201 {
					t.Fatalf("status %d: %s", res.status, res.body)
				}
				return
			}
			eb := wantError(t, res, tt.wantStatus, tt.wantCode, tt.wantTarget)
			if tt.wantStatus == 409 && (eb.Error.ExistingIDGroup == nil || *eb.Error.ExistingIDGroup != existing.IDGroup) {
				t.Fatalf("existingIdGroup: %s", res.body)
			}
		})
	}
	other := p.createGroup(`{"name":"Other"}`)
	patches := []struct {
		name, body string
		wantStatus int
		wantCode   string
		wantTarget string
	}{
		{"rename onto a taken name", `{"name":"taken"}`, 409, CodeGroupAlreadyExists, "name"},
		{"name null", `{"name":null}`, 400, CodeValidationFailed, "name"},
		{"idGroup", `{"idGroup":1}`, 400, CodeValidationFailed, "idGroup"},
		{"guidGroup", `{"guidGroup":"x"}`, 400, CodeValidationFailed, "guidGroup"},
		{"createdOn", `{"createdOn":"x"}`, 400, CodeValidationFailed, "createdOn"},
		{"modifiedOn", `{"modifiedOn":"x"}`, 400, CodeValidationFailed, "modifiedOn"},
		{"unknown", `{"x":1}`, 400, CodeValidationFailed, "x"},
		{"description too long", `{"description":"` + strings.Repeat("d", 1001) + `"}`, 400, CodeValidationFailed, "description"},
	}
	for _, tt := range patches {
		t.Run("patch "+tt.name, func(t *testing.T) {
			eb := wantError(t, p.call(http.MethodPatch, groupPath(other.IDGroup, ""), tt.body), tt.wantStatus, tt.wantCode, tt.wantTarget)
			if tt.wantStatus == 409 && (eb.Error.ExistingIDGroup == nil || *eb.Error.ExistingIDGroup != existing.IDGroup) {
				t.Fatalf("existingIdGroup: %+v", eb.Error)
			}
		})
	}
}

func TestMembers(t *testing.T) {
	p := newPortal(t)
	users := make([]User, 5)
	for i := range users {
		users[i] = p.createUser(fmt.Sprintf(`{"userName":"m%d","domain":"corp","fullName":"M %d"}`, i, i))
	}
	g := p.createGroup(`{"name":"staff"}`)
	h := p.createGroup(`{"name":"admins"}`)
	member := func(gid, uid int64) string { return groupPath(gid, fmt.Sprintf("/members(%d)", uid)) }

	for _, i := range []int{3, 0, 4, 1, 3} { // out of order, and one twice
		if res := p.call(http.MethodPut, member(g.IDGroup, users[i].IDUser), ""); res.status != http.StatusNoContent || len(res.body) != 0 {
			t.Fatalf("add member %d: %d %s", i, res.status, res.body)
		}
	}
	p.call(http.MethodPut, member(h.IDGroup, users[0].IDUser), "")

	t.Run("members ordered by idUser", func(t *testing.T) {
		res := p.call(http.MethodGet, groupPath(g.IDGroup, "/members"), "")
		var l struct {
			Count int      `json:"@odata.count"`
			Value []Member `json:"value"`
		}
		decode(t, res.body, &l)
		var ids []int64
		for _, m := range l.Value {
			ids = append(ids, m.IDUser)
		}
		if res.status != 200 || l.Count != 4 || !slices.Equal(ids, []int64{1, 2, 4, 5}) {
			t.Fatalf("members = %s", res.body)
		}
		want := fmt.Sprintf(`{"idUser":1,"guidUser":%q,"userName":"m0","domain":"corp"}`, users[0].GUIDUser)
		if !strings.Contains(string(res.body), `"value":[`+want+`,`) {
			t.Fatalf("member entry is not %s: %s", want, res.body)
		}
	})
	t.Run("members paging", func(t *testing.T) {
		res := p.call(http.MethodGet, groupPath(g.IDGroup, "/members")+"?$top=3", "")
		var pg page
		decode(t, res.body, &pg)
		if pg.Count != 4 || len(pg.Value) != 3 || pg.NextLink != p.apiURL(groupPath(g.IDGroup, "/members"))+"?$top=3&$skip=3" {
			t.Fatalf("page = %s", res.body)
		}
		wantError(t, p.call(http.MethodGet, groupPath(g.IDGroup, "/members")+"?$top=501", ""), 400, CodeValidationFailed, "$top")
		wantError(t, p.call(http.MethodGet, groupPath(g.IDGroup, "/members")+"?$filter=userName%20eq%20'm0'", ""), 400, CodeFilterNotSupported, "$filter")
		if res := p.call(http.MethodGet, groupPath(g.IDGroup, "/members")+"?$filter=", ""); res.status != 200 {
			t.Fatalf("empty filter on members: %d", res.status)
		}
	})
	t.Run("user's groups", func(t *testing.T) {
		res := p.call(http.MethodGet, userPath(users[0].IDUser, "/groups"), "")
		var l struct {
			Count int     `json:"@odata.count"`
			Value []Group `json:"value"`
		}
		decode(t, res.body, &l)
		if res.status != 200 || l.Count != 2 || l.Value[0].IDGroup != g.IDGroup || l.Value[1].Name != "admins" {
			t.Fatalf("groups = %s", res.body)
		}
		res = p.call(http.MethodGet, userPath(users[0].IDUser, "/groups")+"?$top=1", "")
		var pg page
		decode(t, res.body, &pg)
		if pg.Count != 2 || pg.NextLink != p.apiURL(userPath(users[0].IDUser, "/groups"))+"?$top=1&$skip=1" {
			t.Fatalf("page = %s", res.body)
		}
		if res := p.call(http.MethodGet, userPath(users[2].IDUser, "/groups"), ""); string(res.body) != `{"@odata.count":0,"value":[]}` {
			t.Fatalf("user without groups: %s", res.body)
		}
		wantError(t, p.call(http.MethodGet, userPath(99, "/groups"), ""), 404, CodeUserNotFound, "idUser")
	})
	t.Run("remove", func(t *testing.T) {
		if res := p.call(http.MethodDelete, member(g.IDGroup, users[3].IDUser), ""); res.status != http.StatusNoContent {
			t.Fatalf("remove: %d %s", res.status, res.body)
		}
		wantError(t, p.call(http.MethodDelete, member(g.IDGroup, users[3].IDUser), ""), 404, CodeNotAMember, "idUser")
		wantError(t, p.call(http.MethodDelete, member(g.IDGroup, users[2].IDUser), ""), 404, CodeNotAMember, "idUser")
	})
	errs := []struct {
		name, method, path, code, target string
	}{
		{"add: unknown group", http.MethodPut, member(99, users[0].IDUser), CodeGroupNotFound, "idGroup"},
		{"add: unknown user", http.MethodPut, member(g.IDGroup, 99), CodeUserNotFound, "idUser"},
		{"add: both unknown", http.MethodPut, member(98, 99), CodeGroupNotFound, "idGroup"},
		{"add: both unknown, user not a number", http.MethodPut, groupPath(98, "/members(x)"), CodeGroupNotFound, "idGroup"},
		{"add: user not a number", http.MethodPut, groupPath(g.IDGroup, "/members(x)"), CodeUserNotFound, "idUser"},
		{"remove: unknown group", http.MethodDelete, member(99, users[0].IDUser), CodeGroupNotFound, "idGroup"},
		{"remove: unknown user", http.MethodDelete, member(g.IDGroup, 99), CodeUserNotFound, "idUser"},
		{"remove: both unknown", http.MethodDelete, member(98, 99), CodeGroupNotFound, "idGroup"},
		{"list: unknown group", http.MethodGet, groupPath(99, "/members"), CodeGroupNotFound, "idGroup"},
		{"list: group not a number", http.MethodGet, groupsPath + "(x)/members", CodeGroupNotFound, "idGroup"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, p.call(tt.method, tt.path, ""), 404, tt.code, tt.target)
		})
	}
	t.Run("deleting the group ends its memberships", func(t *testing.T) {
		if res := p.call(http.MethodDelete, groupPath(g.IDGroup, ""), ""); res.status != http.StatusNoContent {
			t.Fatalf("delete group: %d", res.status)
		}
		var l struct {
			Count int     `json:"@odata.count"`
			Value []Group `json:"value"`
		}
		decode(t, p.call(http.MethodGet, userPath(users[0].IDUser, "/groups"), "").body, &l)
		if l.Count != 1 || l.Value[0].IDGroup != h.IDGroup {
			t.Fatalf("groups of user after delete: %+v", l)
		}
	})
}
