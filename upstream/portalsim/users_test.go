package portalsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	timestampRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	guidRE      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

func TestCreateUser(t *testing.T) {
	p := newPortal(t)
	t.Run("every field", func(t *testing.T) {
		res := p.call(http.MethodPost, usersPath, `{"userName":"Ann.Lee","domain":"CORP","fullName":"Ann Lee",
			"firstName":"Ann","lastName":"Lee","contactEmail":"ann@example.com","contactCellPhone":"+15550100",
			"externalKey":"ext-1","enabled":false,"properties":{"dept":"R&D","level":3,"remote":true,"ratio":0.25}}`)
		if res.status != http.StatusCreated {
			t.Fatalf("status = %d: %s", res.status, res.body)
		}
		var u User
		decode(t, res.body, &u)
		if want := p.apiURL(userPath(u.IDUser, "")); res.header.Get("Location") != want {
			t.Fatalf("Location = %q, want %q", res.header.Get("Location"), want)
		}
		if u.IDUser != 1 || !guidRE.MatchString(u.GUIDUser) || u.UserName != "Ann.Lee" || u.Domain != "CORP" ||
			str(u.FullName) != "Ann Lee" || str(u.FirstName) != "Ann" || str(u.LastName) != "Lee" ||
			str(u.ContactEmail) != "ann@example.com" || str(u.ContactCellPhone) != "+15550100" ||
			str(u.ExternalKey) != "ext-1" || u.Enabled {
			t.Fatalf("user = %s", res.body)
		}
		if !strings.Contains(string(res.body), `"properties":{"dept":"R&D","level":3,"ratio":0.25,"remote":true}`) {
			t.Fatalf("properties not kept exactly: %s", res.body)
		}
		if !timestampRE.MatchString(u.CreatedOn) || u.CreatedOn != u.ModifiedOn {
			t.Fatalf("createdOn %q, modifiedOn %q", u.CreatedOn, u.ModifiedOn)
		}
		if ct := res.header.Get("Content-Type"); ct != jsonContentType {
			t.Fatalf("Content-Type = %q", ct)
		}
	})
	t.Run("defaults", func(t *testing.T) {
		res := p.call(http.MethodPost, usersPath, `{"userName":"bob","domain":"corp"}`)
		if res.status != http.StatusCreated {
			t.Fatalf("status = %d: %s", res.status, res.body)
		}
		for _, want := range []string{`"fullName":null`, `"firstName":null`, `"lastName":null`, `"contactEmail":null`,
			`"contactCellPhone":null`, `"externalKey":null`, `"enabled":true`, `"properties":{}`, `"idUser":2`} {
			if !strings.Contains(string(res.body), want) {
				t.Fatalf("body %s lacks %s", res.body, want)
			}
		}
	})
	t.Run("null optional fields and property values", func(t *testing.T) {
		u := p.createUser(`{"userName":"carl","domain":"corp","fullName":null,"properties":{"a":null,"b":"x"}}`)
		if u.FullName != nil || len(u.Properties) != 1 || u.Properties["b"] != "x" {
			t.Fatalf("user = %+v", u)
		}
	})
	t.Run("properties null", func(t *testing.T) {
		res := p.call(http.MethodPost, usersPath, `{"userName":"dora","domain":"corp","properties":null}`)
		if res.status != http.StatusCreated || !strings.Contains(string(res.body), `"properties":{}`) {
			t.Fatalf("got %d %s", res.status, res.body)
		}
	})
	t.Run("get returns what create returned", func(t *testing.T) {
		created := p.call(http.MethodPost, usersPath, `{"userName":"eve","domain":"corp","properties":{"k":1}}`)
		var u User
		decode(t, created.body, &u)
		got := p.call(http.MethodGet, userPath(u.IDUser, ""), "")
		if got.status != 200 || string(got.body) != string(created.body) {
			t.Fatalf("get = %d %s, want %s", got.status, got.body, created.body)
		}
	})
}

func TestUserFieldRules(t *testing.T) {
	long := func(n int, r string) string { return strings.Repeat(r, n) }
	props := func(n int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":%d`, i, i)
		}
		return "{" + b.String() + "}"
	}
	tests := []struct {
		name       string
		body       string
		wantTarget string // "" means 201
	}{
		{"all allowed userName characters", `{"userName":"Az09!$*+.=_~-#","domain":"d"}`, ""},
		{"userName of 100", `{"userName":"` + long(100, "a") + `","domain":"d"}`, ""},
		{"userName of 101", `{"userName":"` + long(101, "a") + `","domain":"d"}`, "userName"},
		{"userName empty", `{"userName":"","domain":"d"}`, "userName"},
		{"userName missing", `{"domain":"d"}`, "userName"},
		{"userName null", `{"userName":null,"domain":"d"}`, "userName"},
		{"userName number", `{"userName":7,"domain":"d"}`, "userName"},
		{"userName with @", `{"userName":"a@b","domain":"d"}`, "userName"},
		{"userName with backslash", `{"userName":"a\\b","domain":"d"}`, "userName"},
		{"userName with space", `{"userName":"a b","domain":"d"}`, "userName"},
		{"userName with non-ASCII letter", `{"userName":"josé","domain":"d"}`, "userName"},
		{"userName with comma", `{"userName":"a,b","domain":"d"}`, "userName"},
		{"domain of 100 code points", `{"userName":"u1","domain":"` + long(100, "é") + `"}`, ""},
		{"domain of 101 code points", `{"userName":"u2","domain":"` + long(101, "é") + `"}`, "domain"},
		{"domain missing", `{"userName":"u"}`, "domain"},
		{"domain empty", `{"userName":"u","domain":""}`, "domain"},
		{"domain boolean", `{"userName":"u","domain":true}`, "domain"},
		{"fullName of 200", `{"userName":"u3","domain":"d","fullName":"` + long(200, "ü") + `"}`, ""},
		{"fullName of 201", `{"userName":"u","domain":"d","fullName":"` + long(201, "x") + `"}`, "fullName"},
		{"fullName number", `{"userName":"u","domain":"d","fullName":1}`, "fullName"},
		{"firstName of 100", `{"userName":"u4","domain":"d","firstName":"` + long(100, "x") + `"}`, ""},
		{"firstName of 101", `{"userName":"u","domain":"d","firstName":"` + long(101, "x") + `"}`, "firstName"},
		{"lastName of 100", `{"userName":"u5","domain":"d","lastName":"` + long(100, "x") + `"}`, ""},
		{"lastName of 101", `{"userName":"u","domain":"d","lastName":"` + long(101, "x") + `"}`, "lastName"},
		{"email of 254", `{"userName":"u6","domain":"d","contactEmail":"` + long(252, "a") + `@b"}`, ""},
		{"email of 255", `{"userName":"u","domain":"d","contactEmail":"` + long(253, "a") + `@b"}`, "contactEmail"},
		{"email without @", `{"userName":"u","domain":"d","contactEmail":"ab"}`, "contactEmail"},
		{"email with two @", `{"userName":"u","domain":"d","contactEmail":"a@b@c"}`, "contactEmail"},
		{"email with @ first", `{"userName":"u","domain":"d","contactEmail":"@b"}`, "contactEmail"},
		{"email with @ last", `{"userName":"u","domain":"d","contactEmail":"a@"}`, "contactEmail"},
		{"email empty", `{"userName":"u","domain":"d","contactEmail":""}`, "contactEmail"},
		{"cell phone of 20", `{"userName":"u7","domain":"d","contactCellPhone":"` + long(20, "1") + `"}`, ""},
		{"cell phone of 21", `{"userName":"u","domain":"d","contactCellPhone":"` + long(21, "1") + `"}`, "contactCellPhone"},
		{"externalKey of 256", `{"userName":"u8","domain":"d","externalKey":"` + long(256, "k") + `"}`, ""},
		{"externalKey of 257", `{"userName":"u","domain":"d","externalKey":"` + long(257, "k") + `"}`, "externalKey"},
		{"enabled string", `{"userName":"u","domain":"d","enabled":"false"}`, "enabled"},
		{"enabled null", `{"userName":"u","domain":"d","enabled":null}`, "enabled"},
		{"50 properties", `{"userName":"u9","domain":"d","properties":` + props(50) + `}`, ""},
		{"51 properties", `{"userName":"u","domain":"d","properties":` + props(51) + `}`, "properties"},
		{"property key of 64", `{"userName":"u10","domain":"d","properties":{"` + long(64, "ß") + `":1}}`, ""},
		{"property key of 65", `{"userName":"u","domain":"d","properties":{"` + long(65, "k") + `":1}}`, "properties"},
		{"property value object", `{"userName":"u","domain":"d","properties":{"k":{"a":1}}}`, "properties"},
		{"property value array", `{"userName":"u","domain":"d","properties":{"k":[1]}}`, "properties"},
		{"properties not an object", `{"userName":"u","domain":"d","properties":[1]}`, "properties"},
		{"properties a string", `{"userName":"u","domain":"d","properties":"k=v"}`, "properties"},
		{"unknown field", `{"userName":"u","domain":"d","nickName":"x"}`, "nickName"},
		{"idUser", `{"userName":"u","domain":"d","idUser":5}`, "idUser"},
		{"guidUser", `{"userName":"u","domain":"d","guidUser":"x"}`, "guidUser"},
		{"createdOn", `{"userName":"u","domain":"d","createdOn":"2026-01-01T00:00:00.000Z"}`, "createdOn"},
		{"modifiedOn", `{"userName":"u","domain":"d","modifiedOn":"2026-01-01T00:00:00.000Z"}`, "modifiedOn"},
	}
	p := newPortal(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := p.call(http.MethodPost, usersPath, tt.body)
			if tt.wantTarget == "" {
				if res.status != http.StatusCreated {
					t.Fatalf("status = %d, want 201: %s", res.status, res.body)
				}
				return
			}
			wantError(t, res, http.StatusBadRequest, CodeValidationFailed, tt.wantTarget)
		})
	}
	bodies := []struct{ name, body string }{
		{"not JSON", `{"userName":`},
		{"an array", `[{"userName":"u","domain":"d"}]`},
		{"null", `null`},
		{"empty", ``},
		{"two objects", `{"userName":"u","domain":"d"} {}`},
	}
	for _, b := range bodies {
		t.Run("body "+b.name, func(t *testing.T) {
			wantError(t, p.call(http.MethodPost, usersPath, b.body), http.StatusBadRequest, CodeValidationFailed, "")
		})
	}
	t.Run("nothing refused was stored", func(t *testing.T) {
		res := p.call(http.MethodGet, usersPath+"?$filter=userName%20eq%20'u'", "")
		if !strings.HasPrefix(string(res.body), `{"@odata.count":0,`) {
			t.Fatalf("refused users stored: %s", res.body)
		}
	})
}

func TestUserUniqueness(t *testing.T) {
	p := newPortal(t)
	first := p.createUser(`{"userName":"Ann","domain":"Corp"}`)
	tests := []struct {
		name     string
		body     string
		conflict bool
	}{
		{"same login", `{"userName":"Ann","domain":"Corp"}`, true},
		{"login in other case", `{"userName":"aNN","domain":"CORP"}`, true},
		{"same userName, other domain", `{"userName":"ann","domain":"Lab"}`, false},
		{"same domain, other userName", `{"userName":"anna","domain":"corp"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := p.call(http.MethodPost, usersPath, tt.body)
			if !tt.conflict {
				if res.status != http.StatusCreated {
					t.Fatalf("status = %d: %s", res.status, res.body)
				}
				return
			}
			eb := wantError(t, res, http.StatusConflict, CodeUserAlreadyExists, "userName")
			if eb.Error.ExistingIDUser == nil || *eb.Error.ExistingIDUser != first.IDUser {
				t.Fatalf("existingIdUser missing or wrong: %s", res.body)
			}
		})
	}
}

func TestGetUser(t *testing.T) {
	p := newPortal(t)
	u := p.createUser(`{"userName":"ann","domain":"corp"}`)
	tests := []struct {
		name       string
		path       string
		wantStatus int
	}{
		{"existing", userPath(u.IDUser, ""), 200},
		{"unknown id", userPath(42, ""), 404},
		{"id zero", userPath(0, ""), 404},
		{"not a number", usersPath + "(abc)", 404},
		{"negative", usersPath + "(-1)", 404},
		{"a GUID", usersPath + "(" + u.GUIDUser + ")", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := p.call(http.MethodGet, tt.path, "")
			if tt.wantStatus == 200 {
				var got User
				decode(t, res.body, &got)
				if res.status != 200 || got.GUIDUser != u.GUIDUser {
					t.Fatalf("got %d %s", res.status, res.body)
				}
				return
			}
			wantError(t, res, tt.wantStatus, CodeUserNotFound, "idUser")
		})
	}
	t.Run("message names the id", func(t *testing.T) {
		eb := wantError(t, p.call(http.MethodGet, userPath(42, ""), ""), 404, CodeUserNotFound, "idUser")
		if eb.Error.Message != "no user with idUser 42" {
			t.Fatalf("message = %q", eb.Error.Message)
		}
	})
}

func TestPatchUser(t *testing.T) {
	p := newPortal(t)
	base := p.createUser(`{"userName":"ann","domain":"corp","fullName":"Ann Lee","firstName":"Ann",
		"contactEmail":"ann@example.com","externalKey":"e1","properties":{"a":"1","b":2,"c":true}}`)
	other := p.createUser(`{"userName":"bob","domain":"corp"}`)
	path := userPath(base.IDUser, "")

	t.Run("fields present replaced, null clears, absent stay", func(t *testing.T) {
		res := p.call(http.MethodPatch, path, `{"fullName":"Ann B. Lee","firstName":null}`)
		if res.status != 200 {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		var u User
		decode(t, res.body, &u)
		if str(u.FullName) != "Ann B. Lee" || u.FirstName != nil || str(u.ContactEmail) != "ann@example.com" ||
			str(u.ExternalKey) != "e1" || u.UserName != "ann" {
			t.Fatalf("user = %s", res.body)
		}
		if u.ModifiedOn < u.CreatedOn || u.ModifiedOn == base.ModifiedOn {
			t.Fatalf("modifiedOn %q did not advance from %q", u.ModifiedOn, base.ModifiedOn)
		}
		if u.CreatedOn != base.CreatedOn || u.GUIDUser != base.GUIDUser || u.IDUser != base.IDUser {
			t.Fatalf("immutable fields changed: %s", res.body)
		}
	})
	t.Run("properties merged key by key", func(t *testing.T) {
		res := p.call(http.MethodPatch, path, `{"properties":{"a":null,"b":3,"d":"new"}}`)
		if res.status != 200 || !strings.Contains(string(res.body), `"properties":{"b":3,"c":true,"d":"new"}`) {
			t.Fatalf("got %d %s", res.status, res.body)
		}
	})
	t.Run("properties null clears them", func(t *testing.T) {
		res := p.call(http.MethodPatch, path, `{"properties":null}`)
		if res.status != 200 || !strings.Contains(string(res.body), `"properties":{}`) {
			t.Fatalf("got %d %s", res.status, res.body)
		}
	})
	t.Run("an unchanged body leaves modifiedOn", func(t *testing.T) {
		before := p.call(http.MethodGet, path, "")
		res := p.call(http.MethodPatch, path, `{"userName":"ann"}`)
		if res.status != 200 || string(res.body) != string(before.body) {
			t.Fatalf("no-op patch changed the user: %s -> %s", before.body, res.body)
		}
		if res := p.call(http.MethodPatch, path, `{}`); string(res.body) != string(before.body) {
			t.Fatalf("empty patch changed the user: %s", res.body)
		}
	})
	t.Run("case-only rename of itself", func(t *testing.T) {
		res := p.call(http.MethodPatch, path, `{"userName":"ANN"}`)
		if res.status != 200 || !strings.Contains(string(res.body), `"userName":"ANN"`) {
			t.Fatalf("got %d %s", res.status, res.body)
		}
	})
	t.Run("rename that collides", func(t *testing.T) {
		eb := wantError(t, p.call(http.MethodPatch, path, `{"userName":"BOB"}`), 409, CodeUserAlreadyExists, "userName")
		if eb.Error.ExistingIDUser == nil || *eb.Error.ExistingIDUser != other.IDUser {
			t.Fatalf("existingIdUser: %+v", eb.Error)
		}
		if got := p.call(http.MethodGet, path, ""); !strings.Contains(string(got.body), `"userName":"ANN"`) {
			t.Fatalf("a refused rename was stored: %s", got.body)
		}
	})
	t.Run("rename into a free login", func(t *testing.T) {
		res := p.call(http.MethodPatch, path, `{"domain":"lab"}`)
		if res.status != 200 {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		p.createUser(`{"userName":"ann","domain":"corp"}`) // the old login is free again
		if got := p.call(http.MethodGet, usersPath+"?$filter=userName%20eq%20'ann'%20and%20domain%20eq%20'lab'", ""); !strings.Contains(string(got.body), `"@odata.count":1`) {
			t.Fatalf("renamed user not found by its new login: %s", got.body)
		}
	})
	refused := []struct {
		name, body, target string
	}{
		{"enabled", `{"enabled":false}`, "enabled"},
		{"idUser", `{"idUser":9}`, "idUser"},
		{"guidUser", `{"guidUser":"x"}`, "guidUser"},
		{"createdOn", `{"createdOn":"2026-01-01T00:00:00.000Z"}`, "createdOn"},
		{"modifiedOn", `{"modifiedOn":"2026-01-01T00:00:00.000Z"}`, "modifiedOn"},
		{"unknown field", `{"title":"x"}`, "title"},
		{"userName null", `{"userName":null}`, "userName"},
		{"domain null", `{"domain":null}`, "domain"},
		{"userName invalid", `{"userName":"a@b"}`, "userName"},
		{"email invalid", `{"contactEmail":"nope"}`, "contactEmail"},
		{"fullName too long", `{"fullName":"` + strings.Repeat("x", 201) + `"}`, "fullName"},
		{"property object", `{"properties":{"k":{}}}`, "properties"},
		{"not JSON", `{`, ""},
	}
	for _, tt := range refused {
		t.Run("refused "+tt.name, func(t *testing.T) {
			before := p.call(http.MethodGet, path, "")
			wantError(t, p.call(http.MethodPatch, path, tt.body), 400, CodeValidationFailed, tt.target)
			if after := p.call(http.MethodGet, path, ""); string(after.body) != string(before.body) {
				t.Fatalf("refused patch changed the user: %s", after.body)
			}
		})
	}
	t.Run("properties limit counts after the merge", func(t *testing.T) {
		u := p.createUser(`{"userName":"props","domain":"corp","properties":{"x":1}}`)
		var b strings.Builder
		for i := range 50 {
			fmt.Fprintf(&b, `"p%d":1,`, i)
		}
		body := `{"properties":{` + strings.TrimSuffix(b.String(), ",") + `}}`
		wantError(t, p.call(http.MethodPatch, userPath(u.IDUser, ""), body), 400, CodeValidationFailed, "properties")
		body = `{"properties":{` + b.String() + `"x":null}}`
		if res := p.call(http.MethodPatch, userPath(u.IDUser, ""), body); res.status != 200 {
			t.Fatalf("50 properties after removing one: %d %s", res.status, res.body)
		}
	})
	t.Run("unknown user comes before validation", func(t *testing.T) {
		wantError(t, p.call(http.MethodPatch, userPath(99, ""), `{"enabled":true}`), 404, CodeUserNotFound, "idUser")
	})
}

func TestEnableDisable(t *testing.T) {
	p := newPortal(t)
	u := p.createUser(`{"userName":"ann","domain":"corp"}`)
	enabled := func() bool {
		var got User
		decode(t, p.call(http.MethodGet, userPath(u.IDUser, ""), "").body, &got)
		return got.Enabled
	}
	steps := []struct {
		action string
		want   bool
	}{
		{"/disable", false}, {"/disable", false}, {"/enable", true}, {"/enable", true}, {"/disable", false},
	}
	for i, st := range steps {
		t.Run(fmt.Sprintf("%d%s", i, st.action), func(t *testing.T) {
			res := p.call(http.MethodPost, userPath(u.IDUser, st.action), "")
			if res.status != http.StatusNoContent || len(res.body) != 0 {
				t.Fatalf("got %d %q, want 204 without body", res.status, res.body)
			}
			if got := enabled(); got != st.want {
				t.Fatalf("enabled = %v, want %v", got, st.want)
			}
		})
	}
	t.Run("created disabled", func(t *testing.T) {
		d := p.createUser(`{"userName":"off","domain":"corp","enabled":false}`)
		if d.Enabled {
			t.Fatal("created enabled")
		}
	})
	for _, action := range []string{"/disable", "/enable"} {
		t.Run("unknown user "+action, func(t *testing.T) {
			wantError(t, p.call(http.MethodPost, userPath(77, action), ""), 404, CodeUserNotFound, "idUser")
		})
	}
}

func TestDeleteUser(t *testing.T) {
	t.Run("not supported", func(t *testing.T) {
		p := newPortal(t)
		u := p.createUser(`{"userName":"ann","domain":"corp"}`)
		for _, id := range []int64{u.IDUser, 404} {
			res := p.call(http.MethodDelete, userPath(id, ""), "")
			wantError(t, res, http.StatusMethodNotAllowed, CodeUserDeleteNotSupported, "")
			if got := res.header.Get("Allow"); got != "GET, PATCH" {
				t.Fatalf("Allow = %q", got)
			}
		}
		if res := p.call(http.MethodGet, userPath(u.IDUser, ""), ""); res.status != 200 {
			t.Fatalf("user gone after a refused delete: %d", res.status)
		}
	})
	t.Run("allowed", func(t *testing.T) {
		p := newPortal(t, func(o *Options) { o.AllowDelete = true })
		u := p.createUser(`{"userName":"ann","domain":"corp","externalKey":"k"}`)
		g := p.createGroup(`{"name":"staff"}`)
		p.call(http.MethodPut, groupPath(g.IDGroup, fmt.Sprintf("/members(%d)", u.IDUser)), "")
		if res := p.call(http.MethodDelete, userPath(u.IDUser, ""), ""); res.status != http.StatusNoContent {
			t.Fatalf("delete: %d %s", res.status, res.body)
		}
		wantError(t, p.call(http.MethodGet, userPath(u.IDUser, ""), ""), 404, CodeUserNotFound, "idUser")
		wantError(t, p.call(http.MethodDelete, userPath(u.IDUser, ""), ""), 404, CodeUserNotFound, "idUser")
		if res := p.call(http.MethodGet, groupPath(g.IDGroup, "/members"), ""); !strings.HasPrefix(string(res.body), `{"@odata.count":0,`) {
			t.Fatalf("membership survived the delete: %s", res.body)
		}
		if res := p.call(http.MethodGet, usersPath+"?$filter=externalKey%20eq%20'k'", ""); !strings.HasPrefix(string(res.body), `{"@odata.count":0,`) {
			t.Fatalf("deleted user still indexed: %s", res.body)
		}
		again := p.createUser(`{"userName":"ann","domain":"corp"}`)
		if again.IDUser == u.IDUser {
			t.Fatalf("id %d reused", again.IDUser)
		}
		res := p.call(http.MethodPut, userPath(again.IDUser, ""), "")
		wantError(t, res, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "")
		if got := res.header.Get("Allow"); got != "GET, PATCH, DELETE" {
			t.Fatalf("Allow = %q", got)
		}
	})
}

func TestMethodNotAllowed(t *testing.T) {
	p := newPortal(t)
	tests := []struct {
		method, path, allow string
	}{
		{http.MethodPut, usersPath, "GET, POST"},
		{http.MethodDelete, usersPath, "GET, POST"},
		{http.MethodPost, userPath(1, ""), "GET, PATCH"},
		{http.MethodPut, userPath(1, ""), "GET, PATCH"},
		{http.MethodGet, userPath(1, "/disable"), "POST"},
		{http.MethodPut, userPath(1, "/enable"), "POST"},
		{http.MethodPost, userPath(1, "/groups"), "GET"},
		{http.MethodPatch, groupsPath, "GET, POST"},
		{http.MethodPost, groupPath(1, ""), "GET, PATCH, DELETE"},
		{http.MethodPost, groupPath(1, "/members"), "GET"},
		{http.MethodGet, groupPath(1, "/members(1)"), "PUT, DELETE"},
		{http.MethodHead, usersPath, "GET, POST"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := p.call(tt.method, tt.path, "")
			if res.status != http.StatusMethodNotAllowed {
				t.Fatalf("status = %d, want 405", res.status)
			}
			if got := res.header.Get("Allow"); got != tt.allow {
				t.Fatalf("Allow = %q, want %q", got, tt.allow)
			}
			if tt.method != http.MethodHead {
				wantError(t, res, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "")
			}
		})
	}
}

func TestUnknownRoutes(t *testing.T) {
	p := newPortal(t)
	p.createUser(`{"userName":"ann","domain":"corp"}`)
	paths := []string{
		"/api/usersync/v1/users/1", "/api/usersync/v1/users(1)/other", "/api/usersync/v1/users()",
		"/api/usersync/v1/usersx", "/api/usersync/v1/users/", "/api/usersync/v2/users", "/api/usersync/v1",
		"/api/usersync/v1/groups(1)/members(", "/api/usersync/v1/groups(1)/members()", "/other", "",
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			wantError(t, p.call(http.MethodGet, path, ""), 404, CodeNotFound, "")
		})
	}
	t.Run("outside the base path", func(t *testing.T) {
		wantError(t, p.send(http.MethodGet, p.srv.URL+usersPath, p.token, ""), 404, CodeNotFound, "")
		wantError(t, p.send(http.MethodGet, p.srv.URL+"/portalx"+usersPath, p.token, ""), 404, CodeNotFound, "")
	})
}

func TestBasePath(t *testing.T) {
	tests := []struct{ base, prefix string }{
		{"/bizagi/", "/bizagi"}, {"/", ""}, {"/a/b", "/a/b"},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			p := newPortal(t, func(o *Options) { o.BasePath = tt.base })
			res := p.send(http.MethodPost, p.srv.URL+tt.prefix+usersPath, p.token, `{"userName":"a","domain":"b"}`)
			if res.status != 201 {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			if want := p.srv.URL + tt.prefix + usersPath + "(1)"; res.header.Get("Location") != want {
				t.Fatalf("Location = %q, want %q", res.header.Get("Location"), want)
			}
		})
	}
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"client", Options{ClientID: "a", ClientSecret: "b"}, false},
		{"static token", Options{StaticToken: "t"}, false},
		{"nothing to authenticate with", Options{}, true},
		{"id without secret", Options{ClientID: "a", StaticToken: "t"}, true},
		{"secret without id", Options{ClientSecret: "b", StaticToken: "t"}, true},
		{"relative base path", Options{BasePath: "portal", StaticToken: "t"}, true},
		{"bad rate", Options{StaticToken: "t", Faults: Faults{ErrorRate: 2}}, true},
		{"negative latency", Options{StaticToken: "t", Faults: Faults{LatencyMs: -1}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
		})
	}
	t.Run("zero faults are the defaults", func(t *testing.T) {
		s, err := New(Options{StaticToken: "t", Faults: Faults{LatencyMs: 5}})
		if err != nil {
			t.Fatal(err)
		}
		want := DefaultFaults()
		want.LatencyMs = 5
		if got := s.Faults(); got != want {
			t.Fatalf("faults = %+v, want %+v", got, want)
		}
		if s.BasePath() != DefaultBasePath || s.Seed() == 0 {
			t.Fatalf("base path %q, seed %d", s.BasePath(), s.Seed())
		}
	})
}

// TestTimestamps checks the clock of the portal: UTC with milliseconds, modifiedOn never before
// createdOn, and a later change strictly later.
func TestTimestamps(t *testing.T) {
	p := newPortal(t)
	u := p.createUser(`{"userName":"ann","domain":"corp"}`)
	created, err := time.Parse(time.RFC3339Nano, u.CreatedOn)
	if err != nil || created.Location() != time.UTC {
		t.Fatalf("createdOn %q: %v", u.CreatedOn, err)
	}
	var last string = u.ModifiedOn
	for i := range 3 {
		res := p.call(http.MethodPatch, userPath(u.IDUser, ""), fmt.Sprintf(`{"fullName":"n%d"}`, i))
		var got User
		if err := json.Unmarshal(res.body, &got); err != nil {
			t.Fatal(err)
		}
		if !timestampRE.MatchString(got.ModifiedOn) || got.ModifiedOn <= last {
			t.Fatalf("modifiedOn %q after %q", got.ModifiedOn, last)
		}
		last = got.ModifiedOn
	}
}
