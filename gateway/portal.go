package gateway

import (
	"context"

	"github.com/scim-gateway/scim-gateway/translator"
)

// Portal is what the gateway asks of the legacy portal (implemented by *upstream.Client). Every method
// returns *translator.Error values from the domain's vocabulary.
type Portal interface {
	CreateUser(ctx context.Context, u translator.NewPortalUser) (translator.PortalUser, error)
	GetUser(ctx context.Context, idUser int64) (translator.PortalUser, error)
	ListUsers(ctx context.Context, filter []translator.PortalFilter, page translator.Page) (translator.UserList, error)
	UpdateUser(ctx context.Context, idUser int64, p translator.Patch) (translator.PortalUser, error)
	DisableUser(ctx context.Context, idUser int64) error
	EnableUser(ctx context.Context, idUser int64) error
	DeleteUser(ctx context.Context, idUser int64) error
	ListUserGroups(ctx context.Context, idUser int64, page translator.Page) (translator.GroupList, error)

	CreateGroup(ctx context.Context, g translator.NewPortalGroup) (translator.PortalGroup, error)
	GetGroup(ctx context.Context, idGroup int64) (translator.PortalGroup, error)
	ListGroups(ctx context.Context, filter []translator.PortalFilter, page translator.Page) (translator.GroupList, error)
	UpdateGroup(ctx context.Context, idGroup int64, p translator.Patch) (translator.PortalGroup, error)
	DeleteGroup(ctx context.Context, idGroup int64) error
	ListMembers(ctx context.Context, idGroup int64, page translator.Page) (translator.MemberList, error)
	AddMember(ctx context.Context, idGroup, idUser int64) error
	RemoveMember(ctx context.Context, idGroup, idUser int64) error

	// Endpoint reports whether a portal operation (config.OpCreateUser...) is switched on in config.
	Endpoint(op string) (enabled bool)
}
