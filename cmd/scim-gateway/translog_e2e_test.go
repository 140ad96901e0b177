package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/scim-gateway/scim-gateway/config"
)

// e2eRecord is a translation record as /admin/translations answers it.
type e2eRecord struct {
	Op           string `json:"op"`
	ResourceType string `json:"resourceType"`
	SCIMID       string `json:"scimId"`
	PortalID     int64  `json:"portalId"`
	UserName     string `json:"userName"`
	Outcome      string `json:"outcome"`
	Error        string `json:"error"`
	Changes      []struct {
		SCIM   string `json:"scim"`
		Portal string `json:"portal"`
		Old    any    `json:"old"`
		New    any    `json:"new"`
		Redact string `json:"redact"`
	} `json:"changes"`
	Members []struct {
		Op     string `json:"op"`
		SCIMID string `json:"scimId"`
		IDUser int64  `json:"idUser"`
	} `json:"members"`
	Calls []struct {
		Op           string `json:"op"`
		Path         string `json:"path"`
		ResolvedPath string `json:"resolvedPath"`
		IDUser       int64  `json:"idUser"`
		IDGroup      int64  `json:"idGroup"`
		Status       int    `json:"status"`
	} `json:"calls"`
}

// records reads /admin/translations with query.
func (e *env) records(t *testing.T, query string) []e2eRecord {
	t.Helper()
	s, body := e.admin("/admin/translations?"+query, e2eAdminToken)
	if s != http.StatusOK {
		t.Fatalf("/admin/translations?%s: %d %s", query, s, body)
	}
	var out struct {
		Records []e2eRecord `json:"records"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("/admin/translations: %v: %s", err, body)
	}
	return out.Records
}

// change returns the change of rec to the portal field portal, failing the test without one.
func (r e2eRecord) change(t *testing.T, portal string) (old, new any, redact string) {
	t.Helper()
	for _, c := range r.Changes {
		if c.Portal == portal {
			return c.Old, c.New, c.Redact
		}
	}
	t.Fatalf("record %s %s has no change to %s: %+v", r.Op, r.SCIMID, portal, r.Changes)
	return nil, nil, ""
}

// shown is how a record should show the new value of a portal field.
type shown struct{ portal, value, redact string }

// wantShown checks the new values of r against want.
func (r e2eRecord) wantShown(t *testing.T, want []shown) {
	t.Helper()
	for _, w := range want {
		if _, got, redact := r.change(t, w.portal); got != w.value || redact != w.redact {
			t.Errorf("%s = %v (%s), want %q (%s)", w.portal, got, redact, w.value, w.redact)
		}
	}
}

// translationLines returns the translation log lines written so far.
func (e *env) translationLines() []string {
	var out []string
	for _, line := range strings.Split(e.logs.String(), "\n") {
		if strings.Contains(line, `"log":"translation"`) {
			out = append(out, line)
		}
	}
	return out
}

// titlePatch replaces a user's title with a value of n bytes of c.
func titlePatch(c byte, n int) string {
	return patchBody(`{"op":"replace","path":"title","value":"` + strings.Repeat(string(c), n) + `"}`)
}

// TestTranslationRecordsAreBounded sends PATCHes with values near the body limit (issue #13: 300 of
// them took the gateway from 51 MB to 1.19 GB) and checks that the records and the log lines keep
// each value cut with the marker, and that the kept records stay within bufferBytes.
func TestTranslationRecordsAreBounded(t *testing.T) {
	const size = 1_000_000
	t.Run("values cut in records and log lines", func(t *testing.T) {
		e := newEnv(t, nil) // defaults: maxValueBytes 1024
		id := e.createSCIMUser(t, "big@contoso.com")
		for i := range 6 {
			e.scim(http.MethodPatch, "/Users/"+id, titlePatch("ab"[i%2], size)).want(t, http.StatusNoContent)
		}
		recs := e.records(t, "op=patch&scimId="+id)
		if len(recs) != 6 {
			t.Fatalf("%d patch records, want 6", len(recs))
		}
		for i, r := range recs {
			old, new, redact := r.change(t, "properties.title")
			values := []any{old, new}
			if i == len(recs)-1 {
				values = values[1:] // the first PATCH set the title: no old value
			}
			for _, v := range values {
				s, _ := v.(string)
				want := fmt.Sprintf("…[cut %d bytes]", size-config.DefaultTranslationMaxValueBytes)
				if !strings.HasSuffix(s, want) || len(s) != config.DefaultTranslationMaxValueBytes+len(want) {
					t.Fatalf("title value of %d bytes ends %q, want %d bytes and the marker %q", len(s), s[max(0, len(s)-30):],
						config.DefaultTranslationMaxValueBytes, want)
				}
			}
			if redact != "keep" {
				t.Fatalf("title redact = %q, want keep", redact)
			}
		}
		lines := e.translationLines()
		if len(lines) != 7 {
			t.Fatalf("%d translation lines, want 7 (a create, 6 patches)", len(lines))
		}
		for i, line := range lines[1:] {
			want := 2
			if i == 0 {
				want = 1 // the first PATCH: no old value
			}
			if len(line) > 8<<10 || strings.Count(line, "…[cut 998976 bytes]") != want {
				t.Fatalf("a translation line has %d bytes and %d cut markers, want under 8 KiB and %d:\n%.600s",
					len(line), strings.Count(line, "…[cut 998976 bytes]"), want, line)
			}
		}
	})
	t.Run("kept records within bufferBytes", func(t *testing.T) {
		e := newEnv(t, func(c *config.Config) {
			c.Logging.Translation.MaxValueBytes = 65536 // the largest: about 131 KB a record
			c.Logging.Translation.BufferBytes = 1 << 20 // the smallest
		})
		id := e.createSCIMUser(t, "big2@contoso.com")
		for i := range 20 {
			e.scim(http.MethodPatch, "/Users/"+id, titlePatch("ab"[i%2], size)).want(t, http.StatusNoContent)
			if n, b := e.app.translog.Kept(); b > 1<<20 {
				t.Fatalf("after %d patches the ring keeps %d records of %d bytes, over bufferBytes", i+1, n, b)
			}
		}
		n, b := e.app.translog.Kept()
		if n >= 20 || n < 4 {
			t.Fatalf("the ring keeps %d records (%d bytes), want fewer than the 21 made and more than a few", n, b)
		}
		recs := e.records(t, "limit=1000")
		if len(recs) != n || recs[0].Op != "patch" {
			t.Fatalf("/admin/translations answers %d records, the ring holds %d", len(recs), n)
		}
		if _, new, _ := recs[0].change(t, "properties.title"); !strings.HasSuffix(new.(string), fmt.Sprintf("…[cut %d bytes]", size-65536)) {
			t.Fatalf("newest record's title is not cut at 65536 bytes")
		}
	})
}

// TestTranslationRedactionDefaults checks the documented default policy (issue #14): userName hashed,
// emails, phones and names masked, employeeNumber hashed, title kept; a group's name readable, also
// in the troubleshooting text of a conflict; and no raw value in a log line.
func TestTranslationRedactionDefaults(t *testing.T) {
	e := newEnv(t, nil)
	id := e.scim(http.MethodPost, "/Users", entraCreate("alice.smith@contoso.com", "alice-ext")).want(t, http.StatusCreated).str("id")
	gid := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Audit Team", "audit")).want(t, http.StatusCreated).str("id")
	e.scim(http.MethodPost, "/Groups", entraGroupCreate("AUDIT TEAM", "audit-2")).wantError(t, http.StatusConflict, "uniqueness")

	user := e.records(t, "op=create&scimId="+id)
	if len(user) != 1 {
		t.Fatalf("%d create records of the user, want 1", len(user))
	}
	u := user[0]
	if !strings.HasPrefix(u.UserName, "h:") {
		t.Errorf("userName = %q, want a hash", u.UserName)
	}
	u.wantShown(t, []shown{
		{"contactEmail", "a***m", "mask"},
		{"contactCellPhone", "+***0", "mask"},
		{"firstName", "A***e", "mask"},
		{"lastName", "S***h", "mask"},
		{"fullName", "A***h", "mask"},
		{"properties.displayName", "A***h", "mask"},
		{"properties.title", "Engineer", "keep"},
		{"properties.department", "Sales", "keep"},
	})
	if _, got, redact := u.change(t, "properties.employeeNumber"); !strings.HasPrefix(fmt.Sprint(got), "h:") || redact != "hash" {
		t.Errorf("employeeNumber = %v (%s), want a hash", got, redact)
	}

	g := e.records(t, "op=create&outcome=created&scimId="+gid)
	if len(g) != 1 {
		t.Fatalf("%d create records of the group, want 1", len(g))
	}
	if _, got, redact := g[0].change(t, "name"); got != "Audit Team" || redact != "keep" {
		t.Errorf("group name = %v (%s), want Audit Team kept", got, redact)
	}
	conflicts := e.records(t, "op=create&outcome=conflict")
	if len(conflicts) != 1 || !strings.Contains(conflicts[0].Error, `a group named "Audit Team" already exists`) {
		t.Fatalf("the conflict record does not name the group readably: %+v", conflicts)
	}

	logs := e.logs.String()
	for _, raw := range []string{"alice.smith@contoso.com", "alice.smith", "+1 (555) 0100", "Alice Smith", "Smith", "701984"} {
		if strings.Contains(logs, raw) {
			t.Errorf("a log line shows %q", raw)
		}
	}
}

// TestTranslationAttributesPolicy checks logging.translation.attributes end to end: each mode applied
// to the value it names, over the mapping rules' redact, for users and groups.
func TestTranslationAttributesPolicy(t *testing.T) {
	e := newEnv(t, func(c *config.Config) {
		c.Logging.Translation.HashKey = "translation-hash-key-0123456789"
		c.Logging.Translation.Attributes = map[string]string{
			"displayName":  "keep", // the example: a user's displayName kept, over its rule's mask
			"emails":       "hash", // over the rule's mask
			"name":         "drop",
			"title":        "mask",
			"phoneNumbers": "keep",
		}
	})
	id := e.scim(http.MethodPost, "/Users", entraCreate("bob.jones@contoso.com", "bob-ext")).want(t, http.StatusCreated).str("id")
	gid := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Payroll", "payroll")).want(t, http.StatusCreated).str("id")

	u := e.records(t, "op=create&scimId="+id)[0]
	u.wantShown(t, []shown{
		{"properties.displayName", "Alice Smith", "keep"},
		{"contactCellPhone", "+1 (555) 0100", "keep"},
		{"properties.title", "E***r", "mask"},
	})
	if _, got, redact := u.change(t, "contactEmail"); !strings.HasPrefix(fmt.Sprint(got), "h:") || redact != "hash" {
		t.Errorf("contactEmail = %v (%s), want a hash", got, redact)
	}
	for _, portal := range []string{"firstName", "lastName", "fullName"} {
		if old, got, redact := u.change(t, portal); old != nil || got != nil || redact != "drop" {
			t.Errorf("%s = %v -> %v (%s), want dropped", portal, old, got, redact)
		}
	}
	if g := e.records(t, "op=create&scimId="+gid)[0]; g.Changes[0].New != "Payroll" {
		t.Errorf("group name = %v, want Payroll kept", g.Changes[0].New)
	}
	for _, line := range e.translationLines() {
		if strings.Contains(line, "Alice") && !strings.Contains(line, `"new":"Alice Smith","redact":"keep"`) {
			t.Errorf("a dropped name shows in a log line: %s", line)
		}
		if strings.Contains(line, "bob.jones@contoso.com") {
			t.Errorf("the hashed email shows in a log line: %s", line)
		}
	}
}

// TestTranslationMemberAndDeleteRecords checks that member changes and DELETEs say which member and
// which user (issue #14: they recorded "changes": [] and path templates only).
func TestTranslationMemberAndDeleteRecords(t *testing.T) {
	e := newEnv(t, nil)
	m1 := e.createSCIMUser(t, "rita@contoso.com")
	m2 := e.createSCIMUser(t, "sam@contoso.com")
	p1, p2 := e.portalUser("contoso.com", "rita").IDUser, e.portalUser("contoso.com", "sam").IDUser
	gid := e.scim(http.MethodPost, "/Groups", entraGroupCreate("Ops", "ops", m1)).want(t, http.StatusCreated).str("id")
	pg := e.portalGroup(t, gid).IDGroup
	e.scim(http.MethodPatch, "/Groups/"+gid, patchBody(`{"op":"Add","path":"members","value":`+memberValues(m2)+`}`)).want(t, http.StatusNoContent)
	e.scim(http.MethodPatch, "/Groups/"+gid, patchBody(`{"op":"Remove","path":"members[value eq \"`+m1+`\"]"}`)).want(t, http.StatusNoContent)
	e.scim(http.MethodDelete, "/Users/"+m2, nil).want(t, http.StatusNoContent)
	e.scim(http.MethodDelete, "/Groups/"+gid, nil).want(t, http.StatusNoContent)

	memberPath := func(idUser int64) string {
		return "/api/usersync/v1/groups(" + strconv.FormatInt(pg, 10) + ")/members(" + strconv.FormatInt(idUser, 10) + ")"
	}
	checkMember := func(t *testing.T, r e2eRecord, op, scimID string, idUser int64, callOp string) {
		t.Helper()
		if r.PortalID != pg {
			t.Errorf("portalId = %d, want the group's %d", r.PortalID, pg)
		}
		if len(r.Members) != 1 || r.Members[0].Op != op || r.Members[0].SCIMID != scimID || r.Members[0].IDUser != idUser {
			t.Errorf("members = %+v, want one %s of %s (%d)", r.Members, op, scimID, idUser)
		}
		for _, c := range r.Calls {
			if c.Op == callOp {
				if c.ResolvedPath != memberPath(idUser) || c.IDUser != idUser || c.IDGroup != pg || !strings.Contains(c.Path, "{idUser}") {
					t.Errorf("%s call = %+v, want path %s with its ids", callOp, c, memberPath(idUser))
				}
				return
			}
		}
		t.Errorf("no %s call in %+v", callOp, r.Calls)
	}
	t.Run("create with a member", func(t *testing.T) {
		checkMember(t, e.records(t, "op=create&scimId="+gid)[0], "add", m1, p1, "addMember")
	})
	t.Run("patch add", func(t *testing.T) {
		recs := e.records(t, "op=patch&scimId="+gid)
		if len(recs) != 2 {
			t.Fatalf("%d patch records, want 2", len(recs))
		}
		checkMember(t, recs[1], "add", m2, p2, "addMember")
		checkMember(t, recs[0], "remove", m1, p1, "removeMember")
	})
	t.Run("user delete", func(t *testing.T) {
		r := e.records(t, "op=delete&scimId="+m2)[0]
		if r.PortalID != p2 || r.Outcome != "disabled" {
			t.Fatalf("record = %+v, want portalId %d, disabled", r, p2)
		}
		if old, new, _ := r.change(t, "enabled"); old != true || new != false {
			t.Errorf("enabled %v -> %v, want true -> false", old, new)
		}
		if _, new, _ := r.change(t, "properties.scimDeleted"); new != true {
			t.Errorf("scimDeleted -> %v, want true", new)
		}
		want := "/api/usersync/v1/users(" + strconv.FormatInt(p2, 10) + ")"
		for _, c := range r.Calls {
			if !strings.HasPrefix(c.ResolvedPath, want) || c.IDUser != p2 {
				t.Errorf("call %+v, want it for user %d", c, p2)
			}
		}
		if len(r.Calls) < 2 {
			t.Errorf("calls = %+v, want disable and update", r.Calls)
		}
	})
	t.Run("group delete", func(t *testing.T) {
		r := e.records(t, "op=delete&scimId="+url.QueryEscape(gid))[0]
		if r.PortalID != pg || len(r.Calls) == 0 || r.Calls[len(r.Calls)-1].IDGroup != pg {
			t.Fatalf("record = %+v, want portalId and calls for group %d", r, pg)
		}
	})
}
