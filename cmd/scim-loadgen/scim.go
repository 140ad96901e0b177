package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// SCIM schema URNs sent.
const (
	schemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	schemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	schemaPatchOp    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// scimTarget speaks SCIM the way Entra's provisioning service does (AZURE_AD.md).
type scimTarget struct {
	c       *caller
	baseURL string // without a trailing slash
	dialect string
}

// The SCIM bodies sent, in Entra's shapes.
type (
	scimUser struct {
		Schemas      []string       `json:"schemas"`
		ExternalID   string         `json:"externalId"`
		UserName     string         `json:"userName"`
		Active       bool           `json:"active"`
		DisplayName  string         `json:"displayName"`
		Title        string         `json:"title"`
		Emails       []scimMulti    `json:"emails"`
		Meta         scimMeta       `json:"meta"`
		Name         scimName       `json:"name"`
		PhoneNumbers []scimMulti    `json:"phoneNumbers"`
		Roles        []any          `json:"roles"`
		Enterprise   scimEnterprise `json:"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
	}
	scimMulti struct {
		Primary bool   `json:"primary"`
		Type    string `json:"type"`
		Value   string `json:"value"`
	}
	scimMeta struct {
		ResourceType string `json:"resourceType"`
	}
	scimName struct {
		Formatted  string `json:"formatted"`
		FamilyName string `json:"familyName"`
		GivenName  string `json:"givenName"`
	}
	scimEnterprise struct {
		EmployeeNumber string `json:"employeeNumber"`
		Department     string `json:"department"`
	}
	scimGroup struct {
		Schemas     []string `json:"schemas"`
		ExternalID  string   `json:"externalId"`
		DisplayName string   `json:"displayName"`
		Meta        scimMeta `json:"meta"`
		Members     []any    `json:"members"`
	}
	scimPatch struct {
		Schemas    []string      `json:"schemas"`
		Operations []scimPatchOp `json:"Operations"`
	}
	scimPatchOp struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	scimMember struct {
		Ref   *string `json:"$ref"`
		Value string  `json:"value"`
	}
	// scimResource is the part of an answer read back: the id.
	scimResource struct {
		ID string `json:"id"`
	}
	scimList struct {
		TotalResults int            `json:"totalResults"`
		Resources    []scimResource `json:"Resources"`
	}
)

// filterQuery returns the query string of a SCIM filter, spaces as %20 like Entra.
func filterQuery(filter string, extra ...string) string {
	q := "filter=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20")
	for _, e := range extra {
		q = e + "&" + q
	}
	return q
}

// quoteSCIM quotes a SCIM filter string value.
func quoteSCIM(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// findOne reads the id of the single resource of a list answer ("" for none).
func findOne(r reply) (string, outcome) {
	o := outcomeOf(r)
	if !o.ok {
		return "", o
	}
	var l scimList
	if err := json.Unmarshal(r.body, &l); err != nil {
		o.ok, o.err = false, fmt.Errorf("decode list: %w", err)
		return "", o
	}
	if len(l.Resources) == 0 {
		return "", o
	}
	return l.Resources[0].ID, o
}

// createdID reads the id of a 201 answer.
func createdID(r reply) (string, outcome) {
	o := outcomeOf(r)
	if !o.ok {
		return "", o
	}
	var res scimResource
	if err := json.Unmarshal(r.body, &res); err != nil || res.ID == "" {
		o.ok, o.err = false, fmt.Errorf("created resource without an id: %s", truncate(r.body))
		return "", o
	}
	return res.ID, o
}

func (t *scimTarget) findUser(ctx context.Context, u *genUser) (string, outcome) {
	q := filterQuery("userName eq " + quoteSCIM(u.userName))
	return findOne(t.c.call(ctx, http.MethodGet, t.baseURL+"/Users?"+q, nil, false))
}

func (t *scimTarget) createUser(ctx context.Context, u *genUser) (string, outcome) {
	body := scimUser{
		Schemas:      []string{schemaUser, schemaEnterprise},
		ExternalID:   u.externalID,
		UserName:     u.userName,
		Active:       true,
		DisplayName:  u.displayName,
		Title:        u.title,
		Emails:       []scimMulti{{Primary: true, Type: "work", Value: u.email}},
		Meta:         scimMeta{ResourceType: "User"},
		Name:         scimName{Formatted: u.displayName, FamilyName: u.familyName, GivenName: u.givenName},
		PhoneNumbers: []scimMulti{{Type: "mobile", Value: u.mobile}},
		Roles:        []any{},
		Enterprise:   scimEnterprise{EmployeeNumber: u.employeeNumber, Department: u.department},
	}
	return createdID(t.c.call(ctx, http.MethodPost, t.baseURL+"/Users", body, true))
}

func (t *scimTarget) getUser(ctx context.Context, id string) outcome {
	return outcomeOf(t.c.call(ctx, http.MethodGet, t.baseURL+"/Users/"+url.PathEscape(id), nil, false))
}

func (t *scimTarget) patchUser(ctx context.Context, id string, c userChange) outcome {
	body := scimPatch{Schemas: []string{schemaPatchOp}, Operations: []scimPatchOp{
		{Op: "Replace", Path: "title", Value: c.title},
		{Op: "Replace", Path: schemaEnterprise + ":department", Value: c.department},
	}}
	return outcomeOf(t.c.call(ctx, http.MethodPatch, t.baseURL+"/Users/"+url.PathEscape(id), body, false))
}

func (t *scimTarget) disableUser(ctx context.Context, id string) outcome {
	var active any = "False"
	if t.dialect == dialectOpt2020 {
		active = false
	}
	body := scimPatch{Schemas: []string{schemaPatchOp}, Operations: []scimPatchOp{{Op: "Replace", Path: "active", Value: active}}}
	return outcomeOf(t.c.call(ctx, http.MethodPatch, t.baseURL+"/Users/"+url.PathEscape(id), body, false))
}

func (t *scimTarget) findGroup(ctx context.Context, g *genGroup) (string, outcome) {
	q := filterQuery("displayName eq "+quoteSCIM(g.displayName), "excludedAttributes=members")
	return findOne(t.c.call(ctx, http.MethodGet, t.baseURL+"/Groups?"+q, nil, false))
}

func (t *scimTarget) createGroup(ctx context.Context, g *genGroup) (string, outcome) {
	body := scimGroup{
		Schemas:     []string{schemaGroup},
		ExternalID:  g.externalID,
		DisplayName: g.displayName,
		Meta:        scimMeta{ResourceType: "Group"},
		Members:     []any{},
	}
	return createdID(t.c.call(ctx, http.MethodPost, t.baseURL+"/Groups", body, true))
}

func (t *scimTarget) addMembers(ctx context.Context, p *memberPatch) outcome {
	members := make([]scimMember, len(p.memberIDs))
	for i, id := range p.memberIDs {
		members[i] = scimMember{Value: id}
	}
	body := scimPatch{Schemas: []string{schemaPatchOp}, Operations: []scimPatchOp{{Op: "Add", Path: "members", Value: members}}}
	return outcomeOf(t.c.call(ctx, http.MethodPatch, t.baseURL+"/Groups/"+url.PathEscape(p.group.id), body, false))
}

// truncate shortens a body for an error message.
func truncate(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
