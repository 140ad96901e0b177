package config

// The keys of upstream.endpoints: the portal operations, named as the portal client names them (its
// default methods and paths live with the client; cmd/scim-gateway tests that the names agree).
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

// EndpointPlaceholders are the placeholders a path set for an operation must hold, and the only ones
// it may hold: the portal keys the operation fills in.
var EndpointPlaceholders = map[string][]string{
	OpCreateUser: nil, OpGetUser: {"idUser"}, OpListUsers: nil, OpUpdateUser: {"idUser"},
	OpDisableUser: {"idUser"}, OpEnableUser: {"idUser"}, OpDeleteUser: {"idUser"},
	OpCreateGroup: nil, OpGetGroup: {"idGroup"}, OpListGroups: nil, OpUpdateGroup: {"idGroup"},
	OpDeleteGroup: {"idGroup"}, OpListMembers: {"idGroup"}, OpAddMember: {"idGroup", "idUser"},
	OpRemoveMember: {"idGroup", "idUser"}, OpListUserGroups: {"idUser"},
}
