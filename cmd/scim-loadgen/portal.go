package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Portal API paths (docs/portal-api.md), relative to the portal's base URL.
const (
	portalUsersPath  = "/api/usersync/v1/users"
	portalGroupsPath = "/api/usersync/v1/groups"
)

// loginFormProperty is the property the gateway's default mapping records the userName form in; the
// direct mode sets it too, so its users look like the gateway's.
const loginFormProperty = "scimLoginForm"

// portalTarget sends the portal calls the gateway would make for each SCIM operation, straight to the
// portal: the baseline the gateway is measured against.
type portalTarget struct {
	c       *caller
	baseURL string // without a trailing slash
}

// The portal bodies sent and read (docs/portal-api.md sections 2, 3 and 5).
type (
	portalUser struct {
		UserName         string         `json:"userName"`
		Domain           string         `json:"domain"`
		FullName         string         `json:"fullName"`
		FirstName        string         `json:"firstName"`
		LastName         string         `json:"lastName"`
		ContactEmail     string         `json:"contactEmail"`
		ContactCellPhone string         `json:"contactCellPhone"`
		ExternalKey      string         `json:"externalKey"`
		Enabled          bool           `json:"enabled"`
		Properties       map[string]any `json:"properties"`
	}
	portalUserPatch struct {
		Properties map[string]any `json:"properties"`
	}
	portalGroup struct {
		Name        string `json:"name"`
		ExternalKey string `json:"externalKey"`
	}
	// portalKeys is the part of a user, a group or a 409 read back: the keys.
	portalKeys struct {
		IDUser  int64 `json:"idUser"`
		IDGroup int64 `json:"idGroup"`
	}
	portalList struct {
		Value []portalKeys `json:"value"`
	}
	portalError struct {
		Error struct {
			Code            string `json:"code"`
			ExistingIDUser  int64  `json:"existingIdUser"`
			ExistingIDGroup int64  `json:"existingIdGroup"`
		} `json:"error"`
	}
)

// quotePortal quotes a portal $filter string value.
func quotePortal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// portalQuery returns a list query with $filter and $top.
func portalQuery(filter string) string {
	return "$filter=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20") + "&$top=1"
}

func (t *portalTarget) userURL(id string) string {
	return t.baseURL + portalUsersPath + "(" + id + ")"
}

// portalFind reads the key of the first item of a list answer.
func portalFind(r reply, key func(portalKeys) int64) (string, outcome) {
	o := outcomeOf(r)
	if !o.ok {
		return "", o
	}
	var l portalList
	if err := json.Unmarshal(r.body, &l); err != nil {
		o.ok, o.err = false, fmt.Errorf("decode list: %w", err)
		return "", o
	}
	if len(l.Value) == 0 {
		return "", o
	}
	return strconv.FormatInt(key(l.Value[0]), 10), o
}

// portalCreated reads the key of a 201 answer, or the existing key of a 409.
func portalCreated(r reply, key func(portalKeys) int64, existing func(portalError) int64) (string, outcome) {
	o := outcomeOf(r)
	switch {
	case r.err == nil && r.status == http.StatusConflict:
		var e portalError
		if json.Unmarshal(r.body, &e) == nil && existing(e) > 0 {
			return strconv.FormatInt(existing(e), 10), o
		}
		return "", o
	case !o.ok:
		return "", o
	}
	var k portalKeys
	if err := json.Unmarshal(r.body, &k); err != nil || key(k) == 0 {
		o.ok, o.err = false, fmt.Errorf("created object without a key: %s", truncate(r.body))
		return "", o
	}
	return strconv.FormatInt(key(k), 10), o
}

func userKey(k portalKeys) int64        { return k.IDUser }
func groupKey(k portalKeys) int64       { return k.IDGroup }
func existingUser(e portalError) int64  { return e.Error.ExistingIDUser }
func existingGroup(e portalError) int64 { return e.Error.ExistingIDGroup }

func (t *portalTarget) findUser(ctx context.Context, u *genUser) (string, outcome) {
	q := portalQuery("userName eq " + quotePortal(u.login) + " and domain eq " + quotePortal(u.domain))
	return portalFind(t.c.call(ctx, http.MethodGet, t.baseURL+portalUsersPath+"?"+q, nil, false), userKey)
}

func (t *portalTarget) createUser(ctx context.Context, u *genUser) (string, outcome) {
	return portalCreated(t.c.call(ctx, http.MethodPost, t.baseURL+portalUsersPath, portalUserOf(u), true), userKey, existingUser)
}

// portalUserOf is the portal user the gateway's default mapping makes of u's SCIM create: what the
// direct mode creates, and what --verify expects to find.
func portalUserOf(u *genUser) portalUser {
	return portalUser{
		UserName:         u.login,
		Domain:           u.domain,
		FullName:         u.displayName,
		FirstName:        u.givenName,
		LastName:         u.familyName,
		ContactEmail:     u.email,
		ContactCellPhone: u.mobile,
		ExternalKey:      u.externalID,
		Enabled:          true,
		Properties: map[string]any{
			loginFormProperty: "upn",
			"displayName":     u.displayName,
			"title":           u.title,
			"employeeNumber":  u.employeeNumber,
			"department":      u.department,
			// The work email is sent with primary true (kept by the emailPrimary rule), and the mobile
			// phone with primary false, which the contactCellPhone rule cannot hold: the gateway keeps
			// the whole phoneNumbers attribute as sent, as JSON.
			"emailPrimary":     true,
			"scimPhoneNumbers": wholeAttribute(scimMulti{Type: "mobile", Value: u.mobile}),
		},
	}
}

// wholeAttribute is a multi-valued attribute as the gateway keeps it in a portal property: its JSON.
func wholeAttribute(values ...scimMulti) string {
	b, err := json.Marshal(values)
	if err != nil {
		panic(err) // a slice of plain structs always marshals
	}
	return string(b)
}

func (t *portalTarget) getUser(ctx context.Context, id string) outcome {
	return outcomeOf(t.c.call(ctx, http.MethodGet, t.userURL(id), nil, false))
}

func (t *portalTarget) patchUser(ctx context.Context, id string, c userChange) outcome {
	body := portalUserPatch{Properties: map[string]any{"title": c.title, "department": c.department}}
	return outcomeOf(t.c.call(ctx, http.MethodPatch, t.userURL(id), body, false))
}

func (t *portalTarget) disableUser(ctx context.Context, id string) outcome {
	return outcomeOf(t.c.call(ctx, http.MethodPost, t.userURL(id)+"/disable", nil, false))
}

func (t *portalTarget) findGroup(ctx context.Context, g *genGroup) (string, outcome) {
	q := portalQuery("name eq " + quotePortal(g.displayName))
	return portalFind(t.c.call(ctx, http.MethodGet, t.baseURL+portalGroupsPath+"?"+q, nil, false), groupKey)
}

func (t *portalTarget) createGroup(ctx context.Context, g *genGroup) (string, outcome) {
	body := portalGroup{Name: g.displayName, ExternalKey: g.externalID}
	return portalCreated(t.c.call(ctx, http.MethodPost, t.baseURL+portalGroupsPath, body, true), groupKey, existingGroup)
}

// addMembers puts the members one call each, as the portal has no batch call. It stops at the first
// failure and records its progress in p, so that a retry puts only the members not yet added: the
// baseline is what a client that knows the portal could do at best.
func (t *portalTarget) addMembers(ctx context.Context, p *memberPatch) outcome {
	o := outcome{status: http.StatusNoContent, ok: true}
	for ; p.added < len(p.memberIDs); p.added++ {
		u := t.baseURL + portalGroupsPath + "(" + p.group.id + ")/members(" + p.memberIDs[p.added] + ")"
		if o = outcomeOf(t.c.call(ctx, http.MethodPut, u, nil, false)); !o.ok {
			return o
		}
	}
	return o
}
