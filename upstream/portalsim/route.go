package portalsim

import (
	"net/http"
	"strings"
)

// routeID names one route template of docs/portal-api.md.
type routeID uint8

const (
	routeUnmatched routeID = iota
	routeToken
	routeUsers
	routeUser
	routeUserDisable
	routeUserEnable
	routeUserGroups
	routeGroups
	routeGroup
	routeGroupMembers
	routeGroupMember
)

// apiPrefix is the prefix of every user-sync path, relative to the base path.
const apiPrefix = "/api/usersync/v1"

// routeTemplates are the route names of /_sim/stats: the templates of docs/portal-api.md.
var routeTemplates = [...]string{
	routeUnmatched:    "unmatched",
	routeToken:        "/oauth2/server/token",
	routeUsers:        apiPrefix + "/users",
	routeUser:         apiPrefix + "/users({idUser})",
	routeUserDisable:  apiPrefix + "/users({idUser})/disable",
	routeUserEnable:   apiPrefix + "/users({idUser})/enable",
	routeUserGroups:   apiPrefix + "/users({idUser})/groups",
	routeGroups:       apiPrefix + "/groups",
	routeGroup:        apiPrefix + "/groups({idGroup})",
	routeGroupMembers: apiPrefix + "/groups({idGroup})/members",
	routeGroupMember:  apiPrefix + "/groups({idGroup})/members({idUser})",
}

// route is a request path matched against the templates: which route, and the raw text of its keys.
type route struct {
	id routeID
	// key is the first key of the path: idUser for user routes, idGroup for group routes.
	key string
	// memberKey is the idUser of a membership path.
	memberKey string
}

func (r route) template() string { return routeTemplates[r.id] }

// matchRoute matches a request path (decoded) under basePath ("" for the root).
func matchRoute(path, basePath string) route {
	rest, ok := strings.CutPrefix(path, basePath)
	if !ok {
		return route{}
	}
	if rest == "/oauth2/server/token" {
		return route{id: routeToken}
	}
	rest, ok = strings.CutPrefix(rest, apiPrefix+"/")
	if !ok {
		return route{}
	}
	switch rest {
	case "users":
		return route{id: routeUsers}
	case "groups":
		return route{id: routeGroups}
	}
	if s, ok := strings.CutPrefix(rest, "users("); ok {
		key, tail, ok := cutKey(s)
		if !ok {
			return route{}
		}
		switch tail {
		case "":
			return route{id: routeUser, key: key}
		case "/disable":
			return route{id: routeUserDisable, key: key}
		case "/enable":
			return route{id: routeUserEnable, key: key}
		case "/groups":
			return route{id: routeUserGroups, key: key}
		}
		return route{}
	}
	if s, ok := strings.CutPrefix(rest, "groups("); ok {
		key, tail, ok := cutKey(s)
		if !ok {
			return route{}
		}
		switch tail {
		case "":
			return route{id: routeGroup, key: key}
		case "/members":
			return route{id: routeGroupMembers, key: key}
		}
		if s, ok := strings.CutPrefix(tail, "/members("); ok {
			member, tail, ok := cutKey(s)
			if ok && tail == "" {
				return route{id: routeGroupMember, key: key, memberKey: member}
			}
		}
	}
	return route{}
}

// cutKey splits "KEY)rest" into KEY and rest; KEY must not be empty.
func cutKey(s string) (key, rest string, ok bool) {
	i := strings.IndexByte(s, ')')
	if i <= 0 {
		return "", "", false
	}
	return s[:i], s[i+1:], true
}

// allowed returns the methods a route answers, as an Allow header value, and whether method is one.
// DELETE of a user is always routed, so that without --allow-delete it is answered
// USER_DELETE_NOT_SUPPORTED rather than METHOD_NOT_ALLOWED; the Allow header lists it only when
// deletes are allowed.
func (r route) allowed(method string, allowDelete bool) (allow string, ok bool) {
	switch r.id {
	case routeToken, routeUserDisable, routeUserEnable:
		return "POST", method == http.MethodPost
	case routeUsers, routeGroups:
		return "GET, POST", method == http.MethodGet || method == http.MethodPost
	case routeUser:
		allow = "GET, PATCH"
		if allowDelete {
			allow = "GET, PATCH, DELETE"
		}
		return allow, method == http.MethodGet || method == http.MethodPatch || method == http.MethodDelete
	case routeGroup:
		return "GET, PATCH, DELETE", method == http.MethodGet || method == http.MethodPatch || method == http.MethodDelete
	case routeUserGroups, routeGroupMembers:
		return "GET", method == http.MethodGet
	case routeGroupMember:
		return "PUT, DELETE", method == http.MethodPut || method == http.MethodDelete
	}
	return "", false
}

// parseKey parses the integer key of a path; anything but decimal digits names no resource.
func parseKey(s string) (int64, bool) {
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
