package gateway

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/scim-gateway/scim-gateway/translator"
)

// SCIM schema URNs used by the discovery endpoints.
const (
	SchemaServiceProviderConfig = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	SchemaResourceType          = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaListResponse          = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaUser                  = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup                 = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterpriseUser        = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
)

// discovery serves /ServiceProviderConfig, /ResourceTypes and /Schemas: what the gateway really
// supports, read by Entra when provisioning is saved and by Microsoft's validator.
type discovery struct {
	s *Server
}

func (d *discovery) mount(g *echo.Group, auth echo.MiddlewareFunc) {
	g.GET("/ServiceProviderConfig", d.serviceProviderConfig, auth)
	g.GET("/ResourceTypes", d.resourceTypes, auth)
	g.GET("/ResourceTypes/:name", d.resourceType, auth)
	g.GET("/Schemas", d.schemas, auth)
	g.GET("/Schemas/:id", d.schema, auth)
}

// baseURL is the absolute URL of /scim/v2 for this request: server.publicURL, or from the request.
// A request on the path form of a tenant's URL gets locations in the same form.
func baseURL(c echo.Context) string {
	base := Base
	if t := reqOf(c).pathTenant; t != "" {
		base = TenantsBase + "/" + t + Base
	}
	if l := liveOf(c); l != nil && l.PublicURL != "" {
		return strings.TrimRight(l.PublicURL, "/") + base
	}
	return c.Scheme() + "://" + c.Request().Host + base
}

// serviceProviderConfig serves GET /ServiceProviderConfig.
func (d *discovery) serviceProviderConfig(c echo.Context) error {
	l := liveOf(c)
	return writeSCIM(c, http.StatusOK, map[string]any{
		"schemas":          []string{SchemaServiceProviderConfig},
		"documentationUri": "https://github.com/scim-gateway/scim-gateway#readme",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": l.Limits.MaxPageSize},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": false},
		"authenticationSchemes": []map[string]any{{
			"type":        "oauthbearertoken",
			"name":        "OAuth Bearer Token",
			"description": "Authentication with the Secret Token configured in Entra (server.tokens)",
			"primary":     true,
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": baseURL(c) + "/ServiceProviderConfig"},
	})
}

func (d *discovery) resourceTypeDocs(c echo.Context) []map[string]any {
	base := baseURL(c)
	return []map[string]any{
		{
			"schemas":     []string{SchemaResourceType},
			"id":          "User",
			"name":        "User",
			"endpoint":    "/Users",
			"description": "Portal users",
			"schema":      SchemaUser,
			"schemaExtensions": []map[string]any{
				{"schema": SchemaEnterpriseUser, "required": false},
			},
			"meta": map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/User"},
		},
		{
			"schemas":     []string{SchemaResourceType},
			"id":          "Group",
			"name":        "Group",
			"endpoint":    "/Groups",
			"description": "Portal groups",
			"schema":      SchemaGroup,
			"meta":        map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/Group"},
		},
	}
}

// resourceTypes serves GET /ResourceTypes.
func (d *discovery) resourceTypes(c echo.Context) error {
	docs := d.resourceTypeDocs(c)
	return writeSCIM(c, http.StatusOK, listResponse(docs, 1))
}

// resourceType serves GET /ResourceTypes/{name}.
func (d *discovery) resourceType(c echo.Context) error {
	for _, doc := range d.resourceTypeDocs(c) {
		if strings.EqualFold(doc["id"].(string), c.Param("name")) {
			return writeSCIM(c, http.StatusOK, doc)
		}
	}
	return echo.ErrNotFound
}

// listResponse wraps resources in a SCIM ListResponse holding all of them.
func listResponse[T any](resources []T, startIndex int) map[string]any {
	return map[string]any{
		"schemas":      []string{SchemaListResponse},
		"totalResults": len(resources),
		"itemsPerPage": len(resources),
		"startIndex":   startIndex,
		"Resources":    resources,
	}
}

// schemaDocs returns the mapping's schema documents with their meta.location.
func (d *discovery) schemaDocs(c echo.Context) []map[string]any {
	docs := liveOf(c).Mapping.Schemas()
	base := baseURL(c)
	for _, doc := range docs {
		id, _ := doc["id"].(string)
		doc["meta"] = map[string]any{"resourceType": "Schema", "location": base + "/Schemas/" + id}
	}
	return docs
}

// schemas serves GET /Schemas: only the attributes the mapping supports.
func (d *discovery) schemas(c echo.Context) error {
	return writeSCIM(c, http.StatusOK, listResponse(d.schemaDocs(c), 1))
}

// schema serves GET /Schemas/{id}.
func (d *discovery) schema(c echo.Context) error {
	for _, doc := range d.schemaDocs(c) {
		if id, _ := doc["id"].(string); id == c.Param("id") {
			return writeSCIM(c, http.StatusOK, doc)
		}
	}
	return translator.Errorf(translator.ENotFound, "no schema %q", c.Param("id"))
}
