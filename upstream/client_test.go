package upstream

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/scim-gateway/scim-gateway/translator"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

func TestUserCalls(t *testing.T) {
	p := newPortal(t, portalsim.DefaultFaults(), func(o *portalsim.Options) { o.AllowDelete = true })
	c := newClient(t, p, nil, Options{})
	ctx := context.Background()

	created, err := c.CreateUser(ctx, translator.NewPortalUser{
		UserName: "jdoe", Domain: "CORP", FullName: "John Doe", ExternalKey: "ext-1",
		Properties: map[string]any{"costCenter": "42"},
	})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if created.IDUser <= 0 || created.GUIDUser == "" || !created.Enabled || created.Login() != `CORP\jdoe` {
		t.Fatalf("CreateUser = %+v, want an enabled CORP\\jdoe with keys", created)
	}
	if created.Properties["costCenter"] != "42" {
		t.Fatalf("CreateUser properties = %v, want costCenter 42", created.Properties)
	}

	got, err := c.GetUser(ctx, created.IDUser)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if got.GUIDUser != created.GUIDUser || got.FullName != "John Doe" {
		t.Fatalf("GetUser = %+v, want the created user", got)
	}

	updated, err := c.UpdateUser(ctx, created.IDUser, translator.Patch{
		Fields:     map[string]*string{translator.FieldFullName: ptr("Johnny Doe"), translator.FieldExternalKey: nil},
		Properties: map[string]any{"costCenter": nil, "site": "Paris"},
	})
	if err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if updated.FullName != "Johnny Doe" || updated.ExternalKey != "" || updated.Properties["site"] != "Paris" {
		t.Fatalf("UpdateUser = %+v, want fullName changed, externalKey cleared, site set", updated)
	}
	if _, ok := updated.Properties["costCenter"]; ok {
		t.Fatalf("UpdateUser properties = %v, want costCenter removed", updated.Properties)
	}

	if err := c.DisableUser(ctx, created.IDUser); err != nil {
		t.Fatalf("DisableUser: %v", err)
	}
	if got, err := c.GetUser(ctx, created.IDUser); err != nil || got.Enabled {
		t.Fatalf("GetUser after disable = %+v, %v; want disabled", got, err)
	}
	if err := c.EnableUser(ctx, created.IDUser); err != nil {
		t.Fatalf("EnableUser: %v", err)
	}
	if got, err := c.GetUser(ctx, created.IDUser); err != nil || !got.Enabled {
		t.Fatalf("GetUser after enable = %+v, %v; want enabled", got, err)
	}

	mustCreateUser(t, c, "asmith")
	list, err := c.ListUsers(ctx, nil, translator.Page{Top: 1})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if list.Count != 2 || len(list.Users) != 1 || list.Users[0].IDUser != created.IDUser {
		t.Fatalf("ListUsers top 1 = count %d, %d users; want count 2 and the first user", list.Count, len(list.Users))
	}
	list, err = c.ListUsers(ctx, nil, translator.Page{Top: 10, Skip: 1})
	if err != nil {
		t.Fatalf("ListUsers skip 1: %v", err)
	}
	if list.Count != 2 || len(list.Users) != 1 || list.Users[0].UserName != "asmith" {
		t.Fatalf("ListUsers skip 1 = %+v, want asmith alone", list)
	}
	list, err = c.ListUsers(ctx, []translator.PortalFilter{{Field: translator.FieldUserName, Value: "JDOE"}}, translator.Page{})
	if err != nil {
		t.Fatalf("ListUsers count only: %v", err)
	}
	if list.Count != 1 || len(list.Users) != 0 {
		t.Fatalf("ListUsers top 0 = %+v, want count 1 and no users", list)
	}

	if err := c.DeleteUser(ctx, created.IDUser); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	_, err = c.GetUser(ctx, created.IDUser)
	wantCode(t, err, translator.ENotFound)
}

func TestGroupCalls(t *testing.T) {
	p := newPortal(t, portalsim.DefaultFaults())
	c := newClient(t, p, nil, Options{})
	ctx := context.Background()
	user := mustCreateUser(t, c, "member1")

	group, err := c.CreateGroup(ctx, translator.NewPortalGroup{Name: "Sales", Description: "the sales team"})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	if group.IDGroup <= 0 || group.GUIDGroup == "" || group.Name != "Sales" {
		t.Fatalf("CreateGroup = %+v", group)
	}
	got, err := c.GetGroup(ctx, group.IDGroup)
	if err != nil || got.GUIDGroup != group.GUIDGroup {
		t.Fatalf("GetGroup = %+v, %v", got, err)
	}
	updated, err := c.UpdateGroup(ctx, group.IDGroup, translator.Patch{Fields: map[string]*string{translator.FieldDescription: nil}})
	if err != nil || updated.Description != "" {
		t.Fatalf("UpdateGroup = %+v, %v; want the description cleared", updated, err)
	}
	groups, err := c.ListGroups(ctx, []translator.PortalFilter{{Field: translator.FieldName, Value: "sales"}}, translator.Page{Top: 10})
	if err != nil || groups.Count != 1 || len(groups.Groups) != 1 || groups.Groups[0].IDGroup != group.IDGroup {
		t.Fatalf("ListGroups = %+v, %v", groups, err)
	}

	for range 2 { // adding a member twice succeeds
		if err := c.AddMember(ctx, group.IDGroup, user.IDUser); err != nil {
			t.Fatalf("AddMember: %v", err)
		}
	}
	members, err := c.ListMembers(ctx, group.IDGroup, translator.Page{Top: 10})
	if err != nil || members.Count != 1 || len(members.Members) != 1 || members.Members[0].IDUser != user.IDUser || members.Members[0].UserName != "member1" {
		t.Fatalf("ListMembers = %+v, %v", members, err)
	}
	ugroups, err := c.ListUserGroups(ctx, user.IDUser, translator.Page{Top: 10})
	if err != nil || ugroups.Count != 1 || ugroups.Groups[0].Name != "Sales" {
		t.Fatalf("ListUserGroups = %+v, %v", ugroups, err)
	}
	if err := c.RemoveMember(ctx, group.IDGroup, user.IDUser); err != nil {
		t.Fatalf("RemoveMember: %v", err)
	}
	if members, err := c.ListMembers(ctx, group.IDGroup, translator.Page{Top: 10}); err != nil || members.Count != 0 {
		t.Fatalf("ListMembers after remove = %+v, %v", members, err)
	}
	if err := c.DeleteGroup(ctx, group.IDGroup); err != nil {
		t.Fatalf("DeleteGroup: %v", err)
	}
	_, err = c.GetGroup(ctx, group.IDGroup)
	wantCode(t, err, translator.ENotFound)
}

func TestErrorMapping(t *testing.T) {
	p := newPortal(t, portalsim.DefaultFaults())
	c := newClient(t, p, nil, Options{})
	ctx := context.Background()
	user := mustCreateUser(t, c, "taken")
	group, err := c.CreateGroup(ctx, translator.NewPortalGroup{Name: "Taken"})
	if err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}

	tests := []struct {
		name       string
		call       func() error
		code       translator.Code
		scimType   string
		portalCode string
		target     string
		status     int
		existingID int64
	}{
		{
			name: "user not found",
			call: func() error { _, err := c.GetUser(ctx, 9999); return err },
			code: translator.ENotFound, portalCode: "USER_NOT_FOUND", status: http.StatusNotFound, target: "idUser",
		},
		{
			name: "group not found",
			call: func() error { _, err := c.GetGroup(ctx, 9999); return err },
			code: translator.ENotFound, portalCode: "GROUP_NOT_FOUND", status: http.StatusNotFound, target: "idGroup",
		},
		{
			name: "member of an unknown group",
			call: func() error { return c.AddMember(ctx, 9999, user.IDUser) },
			code: translator.ENotFound, portalCode: "GROUP_NOT_FOUND", status: http.StatusNotFound, target: "idGroup",
		},
		{
			name: "unknown member added",
			call: func() error { return c.AddMember(ctx, group.IDGroup, 9999) },
			code: translator.ENotFound, portalCode: "USER_NOT_FOUND", status: http.StatusNotFound, target: "idUser",
		},
		{
			name: "not a member",
			call: func() error { return c.RemoveMember(ctx, group.IDGroup, user.IDUser) },
			code: translator.ENotFound, portalCode: "NOT_A_MEMBER", status: http.StatusNotFound, target: "idUser",
		},
		{
			name: "user conflict",
			call: func() error { _, err := c.CreateUser(ctx, newUser("TAKEN")); return err },
			code: translator.EConflict, scimType: translator.ScimUniqueness, portalCode: "USER_ALREADY_EXISTS", target: "userName",
			status: http.StatusConflict, existingID: user.IDUser,
		},
		{
			name: "group conflict",
			call: func() error { _, err := c.CreateGroup(ctx, translator.NewPortalGroup{Name: "taken"}); return err },
			code: translator.EConflict, scimType: translator.ScimUniqueness, portalCode: "GROUP_ALREADY_EXISTS", target: "name",
			status: http.StatusConflict, existingID: group.IDGroup,
		},
		{
			name: "invalid value on create",
			call: func() error { _, err := c.CreateUser(ctx, newUser("has@at")); return err },
			code: translator.EInvalid, scimType: translator.ScimInvalidValue, portalCode: "VALIDATION_FAILED",
			target: translator.FieldUserName, status: http.StatusBadRequest,
		},
		{
			name: "read-only field in a patch",
			call: func() error {
				_, err := c.UpdateUser(ctx, user.IDUser, translator.Patch{Fields: map[string]*string{translator.FieldEnabled: ptr("false")}})
				return err
			},
			code: translator.EInvalid, scimType: translator.ScimInvalidValue, portalCode: "VALIDATION_FAILED",
			target: translator.FieldEnabled, status: http.StatusBadRequest,
		},
		{
			name: "filter field not supported",
			call: func() error {
				_, err := c.ListUsers(ctx, []translator.PortalFilter{{Field: translator.FieldFullName, Value: "x"}}, translator.Page{Top: 1})
				return err
			},
			code: translator.EInvalid, scimType: translator.ScimInvalidFilter, portalCode: "FILTER_NOT_SUPPORTED", target: "$filter",
			status: http.StatusBadRequest,
		},
		{
			name: "filter value the grammar cannot express",
			call: func() error {
				_, err := c.ListUsers(ctx, []translator.PortalFilter{{Field: translator.FieldIDUser, Value: 3}}, translator.Page{Top: 1})
				return err
			},
			code: translator.EInvalid, scimType: translator.ScimInvalidFilter,
		},
		{
			name: "page too large",
			call: func() error { _, err := c.ListUsers(ctx, nil, translator.Page{Top: 501}); return err },
			code: translator.EInvalid, scimType: translator.ScimInvalidValue, portalCode: "VALIDATION_FAILED", target: "$top",
			status: http.StatusBadRequest,
		},
		{
			name: "negative page",
			call: func() error { _, err := c.ListMembers(ctx, group.IDGroup, translator.Page{Top: -1}); return err },
			code: translator.EInvalid, scimType: translator.ScimInvalidValue,
		},
		{
			name: "delete refused",
			call: func() error { return c.DeleteUser(ctx, user.IDUser) },
			code: translator.EUnauthorized, portalCode: "USER_DELETE_NOT_SUPPORTED", status: http.StatusMethodNotAllowed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := wantCode(t, tt.call(), tt.code)
			if e.ScimType != tt.scimType || e.PortalCode != tt.portalCode || e.Target != tt.target ||
				e.Status != tt.status || e.ExistingID != tt.existingID {
				t.Fatalf("error = %#v, want scimType %q portalCode %q target %q status %d existingID %d",
					e, tt.scimType, tt.portalCode, tt.target, tt.status, tt.existingID)
			}
		})
	}
}

func TestUnreadableAnswers(t *testing.T) {
	p := newPortal(t, portalsim.DefaultFaults())
	setup := newClient(t, p, nil, Options{})
	user := mustCreateUser(t, setup, "reader")
	ctx := context.Background()

	t.Run("garbage 2xx body", func(t *testing.T) {
		p.hook(func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"idUser": "not a number`))
			return false
		})
		defer p.hook(func(http.ResponseWriter, *http.Request) bool { return true })
		_, err := setup.GetUser(ctx, user.IDUser)
		wantCode(t, err, translator.EInternal)
	})
	t.Run("2xx without a user", func(t *testing.T) {
		p.hook(func(w http.ResponseWriter, r *http.Request) bool {
			w.Write([]byte(`{}`))
			return false
		})
		defer p.hook(func(http.ResponseWriter, *http.Request) bool { return true })
		_, err := setup.GetUser(ctx, user.IDUser)
		wantCode(t, err, translator.EInternal)
	})
	t.Run("list without value", func(t *testing.T) {
		p.hook(func(w http.ResponseWriter, r *http.Request) bool {
			w.Write([]byte(`{"@odata.count": 3}`))
			return false
		})
		defer p.hook(func(http.ResponseWriter, *http.Request) bool { return true })
		_, err := setup.ListUsers(ctx, nil, translator.Page{Top: 3})
		wantCode(t, err, translator.EInternal)
	})
	t.Run("answer over maxBodyBytes", func(t *testing.T) {
		// Room for the token answer, not for a user.
		c := newClient(t, p, func(u *Config) { u.MaxBody = 250 }, Options{})
		_, err := c.GetUser(ctx, user.IDUser)
		e := wantCode(t, err, translator.EInternal)
		if e.Status != http.StatusOK || !strings.Contains(e.Message, "portal getUser answered 200") {
			t.Fatalf("error = %#v, want the getUser answer refused", e)
		}
	})
	t.Run("wrong endpoint path is not a missing user", func(t *testing.T) {
		c := newClient(t, p, func(u *Config) {
			u.Endpoints = map[string]Endpoint{OpGetUser: {Method: http.MethodGet, Path: "/api/usersync/v9/users({idUser})"}}
		}, Options{})
		_, err := c.GetUser(ctx, user.IDUser)
		e := wantCode(t, err, translator.EInternal)
		if !strings.Contains(e.Message, "upstream.endpoints.getUser") {
			t.Fatalf("message = %q, want it to name the endpoint", e.Message)
		}
	})
}

func TestFilterQuoting(t *testing.T) {
	p := newPortal(t, portalsim.DefaultFaults())
	c := newClient(t, p, nil, Options{})
	ctx := context.Background()
	want, err := c.CreateUser(ctx, translator.NewPortalUser{
		UserName: "a+b", Domain: "CORP", ContactEmail: "o'brien+tag@example.com", ExternalKey: "it's a key & more",
	})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	mustCreateUser(t, c, "ab") // a '+' read as a space or dropped must not match this one
	mustCreateUser(t, c, "a")

	tests := []struct {
		name    string
		filters []translator.PortalFilter
		count   int
	}{
		{"plus in a value", []translator.PortalFilter{{Field: translator.FieldUserName, Value: "a+b"}}, 1},
		{"quote and plus", []translator.PortalFilter{{Field: translator.FieldContactEmail, Value: "O'Brien+tag@example.com"}}, 1},
		{"quote, ampersand and spaces", []translator.PortalFilter{{Field: translator.FieldExternalKey, Value: "it's a key & more"}}, 1},
		{"several terms and a bool", []translator.PortalFilter{
			{Field: translator.FieldUserName, Value: "a+b"},
			{Field: translator.FieldDomain, Value: "corp"},
			{Field: translator.FieldEnabled, Value: true},
		}, 1},
		{"bool that does not match", []translator.PortalFilter{
			{Field: translator.FieldUserName, Value: "a+b"},
			{Field: translator.FieldEnabled, Value: false},
		}, 0},
		{"quote injection stays a value", []translator.PortalFilter{{Field: translator.FieldUserName, Value: "x' or userName eq 'a+b"}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := c.ListUsers(ctx, tt.filters, translator.Page{Top: 10})
			if err != nil {
				t.Fatalf("ListUsers: %v", err)
			}
			if list.Count != tt.count || len(list.Users) != tt.count {
				t.Fatalf("ListUsers = count %d, %d users; want %d", list.Count, len(list.Users), tt.count)
			}
			if tt.count == 1 && list.Users[0].IDUser != want.IDUser {
				t.Fatalf("ListUsers found %s, want a+b", list.Users[0].Login())
			}
		})
	}
}

func TestListQuery(t *testing.T) {
	tests := []struct {
		name    string
		filters []translator.PortalFilter
		page    translator.Page
		want    string
	}{
		{"no filter", nil, translator.Page{Top: 100}, "$top=100"},
		{"skip", nil, translator.Page{Top: 10, Skip: 20}, "$top=10&$skip=20"},
		{"quote doubled, plus and space encoded",
			[]translator.PortalFilter{{Field: "userName", Value: "o'b+c d"}}, translator.Page{Top: 1},
			"$filter=userName%20eq%20%27o%27%27b%2Bc%20d%27&$top=1"},
		{"bool unquoted, terms joined by and",
			[]translator.PortalFilter{{Field: "domain", Value: "X"}, {Field: "enabled", Value: false}}, translator.Page{},
			"$filter=domain%20eq%20%27X%27%20and%20enabled%20eq%20false&$top=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := listQuery(tt.filters, tt.page)
			if err != nil {
				t.Fatalf("listQuery: %v", err)
			}
			if got != tt.want {
				t.Fatalf("listQuery = %q, want %q", got, tt.want)
			}
		})
	}
	for _, bad := range []translator.PortalFilter{{Field: "userName eq 'x' or", Value: "y"}, {Field: "", Value: "y"}, {Field: "enabled", Value: 1}} {
		if _, err := listQuery([]translator.PortalFilter{bad}, translator.Page{}); err == nil || err.ScimType != translator.ScimInvalidFilter {
			t.Fatalf("listQuery(%+v) = %v, want invalidFilter", bad, err)
		}
	}
}

func TestDisabledEndpoint(t *testing.T) {
	p := newPortal(t, portalsim.DefaultFaults())
	c := newClient(t, p, func(u *Config) {
		u.Endpoints = map[string]Endpoint{OpDeleteUser: {Disabled: true}}
	}, Options{})
	if c.Endpoint(OpDeleteUser) || !c.Endpoint(OpGetUser) || c.Endpoint("nonsense") {
		t.Fatalf("Endpoint: want deleteUser off, getUser on, an unknown op off")
	}
	err := c.DeleteUser(context.Background(), 1)
	e := wantCode(t, err, translator.EUnavailable)
	if want := "portal endpoint upstream.endpoints.deleteUser is disabled in config"; e.Message != want {
		t.Fatalf("message = %q, want %q", e.Message, want)
	}
	if e.RetryAfter <= 0 {
		t.Fatalf("RetryAfter = %s, want a hint", e.RetryAfter)
	}
	if s := p.stats(t); s.Total != 0 {
		t.Fatalf("portal saw %d calls, want none (not even a token call)", s.Total)
	}
}

func TestRequestIDAndCallInfo(t *testing.T) {
	p := newPortal(t, portalsim.DefaultFaults())
	var log callLog
	c := newClient(t, p, nil, Options{OnCall: log.record})
	seen := make(chan string, 1)
	p.hook(func(w http.ResponseWriter, r *http.Request) bool {
		seen <- r.Header.Get("X-Request-Id")
		return true
	})
	ctx := WithRequestID(context.Background(), "req-123")
	if _, err := c.ListUsers(ctx, nil, translator.Page{Top: 1}); err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if got := <-seen; got != "req-123" {
		t.Fatalf("X-Request-Id = %q, want req-123", got)
	}
	calls := log.all()
	if len(calls) != 2 {
		t.Fatalf("OnCall saw %d calls, want a token call and the list: %+v", len(calls), calls)
	}
	tok, list := calls[0], calls[1]
	if tok.Op != OpToken || tok.Status != http.StatusOK || !tok.Sent || tok.Err != nil {
		t.Fatalf("token CallInfo = %+v", tok)
	}
	if list.Op != OpListUsers || list.Method != http.MethodGet || list.PathTemplate != routeUsers ||
		list.Status != http.StatusOK || list.Attempt != 1 || !list.Sent || list.Err != nil || list.Duration <= 0 {
		t.Fatalf("list CallInfo = %+v", list)
	}
}
