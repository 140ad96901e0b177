package config

import "net/http"

// Portal operation names: the keys of upstream.endpoints (DESIGN.md).
const (
	OpCreateUser     = "createUser"
	OpGetUser        = "getUser"
	OpListUsers      = "listUsers"
	OpUpdateUser     = "updateUser"
	OpDisableUser    = "disableUser"
	OpEnableUser     = "enableUser"
	OpDeleteUser     = "deleteUser"
	OpCreateGroup    = "createGroup"
	OpGetGroup       = "getGroup"
	OpListGroups     = "listGroups"
	OpUpdateGroup    = "updateGroup"
	OpDeleteGroup    = "deleteGroup"
	OpListMembers    = "listMembers"
	OpAddMember      = "addMember"
	OpRemoveMember   = "removeMember"
	OpListUserGroups = "listUserGroups"
)

// Operations lists every portal operation name in a stable order: the only keys upstream.endpoints
// accepts (in YAML and in SCIMGW_UPSTREAM_ENDPOINTS_<NAME>_... variables, where case does not matter).
var Operations = []string{
	OpCreateUser, OpGetUser, OpListUsers, OpUpdateUser, OpDisableUser, OpEnableUser, OpDeleteUser,
	OpCreateGroup, OpGetGroup, OpListGroups, OpUpdateGroup, OpDeleteGroup,
	OpListMembers, OpAddMember, OpRemoveMember, OpListUserGroups,
}

// DefaultEndpoints are the portal operations as docs/portal-api.md defines them, paths relative to baseURL.
var DefaultEndpoints = map[string]Endpoint{
	OpCreateUser:     {Method: http.MethodPost, Path: "/api/usersync/v1/users"},
	OpGetUser:        {Method: http.MethodGet, Path: "/api/usersync/v1/users({idUser})"},
	OpListUsers:      {Method: http.MethodGet, Path: "/api/usersync/v1/users"},
	OpUpdateUser:     {Method: http.MethodPatch, Path: "/api/usersync/v1/users({idUser})"},
	OpDisableUser:    {Method: http.MethodPost, Path: "/api/usersync/v1/users({idUser})/disable"},
	OpEnableUser:     {Method: http.MethodPost, Path: "/api/usersync/v1/users({idUser})/enable"},
	OpDeleteUser:     {Method: http.MethodDelete, Path: "/api/usersync/v1/users({idUser})"},
	OpCreateGroup:    {Method: http.MethodPost, Path: "/api/usersync/v1/groups"},
	OpGetGroup:       {Method: http.MethodGet, Path: "/api/usersync/v1/groups({idGroup})"},
	OpListGroups:     {Method: http.MethodGet, Path: "/api/usersync/v1/groups"},
	OpUpdateGroup:    {Method: http.MethodPatch, Path: "/api/usersync/v1/groups({idGroup})"},
	OpDeleteGroup:    {Method: http.MethodDelete, Path: "/api/usersync/v1/groups({idGroup})"},
	OpListMembers:    {Method: http.MethodGet, Path: "/api/usersync/v1/groups({idGroup})/members"},
	OpAddMember:      {Method: http.MethodPut, Path: "/api/usersync/v1/groups({idGroup})/members({idUser})"},
	OpRemoveMember:   {Method: http.MethodDelete, Path: "/api/usersync/v1/groups({idGroup})/members({idUser})"},
	OpListUserGroups: {Method: http.MethodGet, Path: "/api/usersync/v1/users({idUser})/groups"},
}
