package gateway

import (
	"context"

	"github.com/scim-gateway/scim-gateway/translator"
)

// The portal, split by what each part of the gateway asks of it (implemented by *upstream.Client).
// Every method returns *translator.Error values from the domain's vocabulary.

// UserPortal is what the /Users handlers (and the member lookups of /Groups) ask of the portal.
type UserPortal interface {
	CreateUser(ctx context.Context, u translator.NewPortalUser) (translator.PortalUser, error)
	GetUser(ctx context.Context, idUser int64) (translator.PortalUser, error)
	ListUsers(ctx context.Context, filter []translator.PortalFilter, page translator.Page) (translator.UserList, error)
	UpdateUser(ctx context.Context, idUser int64, p translator.Patch) (translator.PortalUser, error)
	DisableUser(ctx context.Context, idUser int64) error
	EnableUser(ctx context.Context, idUser int64) error
	DeleteUser(ctx context.Context, idUser int64) error
	ListUserGroups(ctx context.Context, idUser int64, page translator.Page) (translator.GroupList, error)
}

// GroupPortal is what the /Groups handlers ask of the portal.
type GroupPortal interface {
	CreateGroup(ctx context.Context, g translator.NewPortalGroup) (translator.PortalGroup, error)
	GetGroup(ctx context.Context, idGroup int64) (translator.PortalGroup, error)
	ListGroups(ctx context.Context, filter []translator.PortalFilter, page translator.Page) (translator.GroupList, error)
	UpdateGroup(ctx context.Context, idGroup int64, p translator.Patch) (translator.PortalGroup, error)
	DeleteGroup(ctx context.Context, idGroup int64) error
	ListMembers(ctx context.Context, idGroup int64, page translator.Page) (translator.MemberList, error)
	AddMember(ctx context.Context, idGroup, idUser int64) error
	RemoveMember(ctx context.Context, idGroup, idUser int64) error
}

// Switches reports which portal operations are switched on in config: a write whose operation is off
// is refused before any portal call.
type Switches interface {
	// Endpoint reports whether a portal operation (OpCreateUser...) is switched on.
	Endpoint(op string) (enabled bool)
}

// The portal operations whose switches the gateway asks about (Switches.Endpoint): the keys of
// upstream.endpoints. cmd/scim-gateway checks that they are the portal client's operation names.
const (
	OpCreateUser     = "createUser"
	OpGetUser        = "getUser"
	OpListUsers      = "listUsers"
	OpUpdateUser     = "updateUser"
	OpDisableUser    = "disableUser"
	OpEnableUser     = "enableUser"
	OpDeleteUser     = "deleteUser"
	OpListUserGroups = "listUserGroups"
	OpCreateGroup    = "createGroup"
	OpGetGroup       = "getGroup"
	OpListGroups     = "listGroups"
	OpUpdateGroup    = "updateGroup"
	OpDeleteGroup    = "deleteGroup"
	OpListMembers    = "listMembers"
	OpAddMember      = "addMember"
	OpRemoveMember   = "removeMember"
)

// Operations lists every portal operation the gateway knows, in a stable order.
var Operations = []string{
	OpCreateUser, OpGetUser, OpListUsers, OpUpdateUser, OpDisableUser, OpEnableUser, OpDeleteUser,
	OpCreateGroup, OpGetGroup, OpListGroups, OpUpdateGroup, OpDeleteGroup,
	OpListMembers, OpAddMember, OpRemoveMember, OpListUserGroups,
}
