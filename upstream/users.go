package upstream

import (
	"context"

	"github.com/scim-gateway/scim-gateway/translator"
)

// Every method returns its errors as *translator.Error. Beside the errors each method names, any call
// may fail with EUnavailable (endpoint disabled in config, queue full, breaker open, portal 5xx,
// timeout or connection failure of a call that changes nothing), ERateLimited (429, with RetryAfter),
// EUnauthorized (the portal refuses the gateway's credentials or scope) and EInternal (an answer the
// client cannot read, or a portal route that does not exist).

// CreateUser creates a user (POST /users) and returns it as the portal stored it. It is never retried.
// Errors: EConflict with ExistingID (the login is taken), EInvalid/invalidValue with Target and
// PortalCode (a value the portal rejects), EOutcomeUnknown (sent, no answer: the user may exist).
func (c *Client) CreateUser(ctx context.Context, u translator.NewPortalUser) (translator.PortalUser, error) {
	status, body, err := c.do(ctx, request{op: OpCreateUser, body: u})
	if err != nil {
		return translator.PortalUser{}, err
	}
	user, err := decodeOne(OpCreateUser, status, body, userOK)
	return user, asError(err)
}

// GetUser reads one user by its portal key. Errors: ENotFound (USER_NOT_FOUND).
func (c *Client) GetUser(ctx context.Context, idUser int64) (translator.PortalUser, error) {
	status, body, err := c.do(ctx, request{op: OpGetUser, idUser: idUser})
	if err != nil {
		return translator.PortalUser{}, err
	}
	user, err := decodeOne(OpGetUser, status, body, userOK)
	return user, asError(err)
}

// ListUsers reads one page of the users matching every filter (none: all users), ordered by idUser.
// Errors: EInvalid/invalidFilter (a filter the portal does not support), EInvalid/invalidValue (a
// page the portal refuses).
func (c *Client) ListUsers(ctx context.Context, filters []translator.PortalFilter, page translator.Page) (translator.UserList, error) {
	query, qerr := listQuery(filters, page)
	if qerr != nil {
		return translator.UserList{}, qerr
	}
	status, body, err := c.do(ctx, request{op: OpListUsers, query: query})
	if err != nil {
		return translator.UserList{}, err
	}
	count, users, err := decodeList[translator.PortalUser](OpListUsers, status, body)
	if err != nil {
		return translator.UserList{}, err
	}
	return translator.UserList{Count: count, Users: users}, nil
}

// UpdateUser applies patch to a user (PATCH /users({idUser})) and returns the user after the change.
// It is never retried. Errors: ENotFound, EConflict with ExistingID (a rename onto a taken login),
// EInvalid/invalidValue with Target, EOutcomeUnknown (sent, no answer).
func (c *Client) UpdateUser(ctx context.Context, idUser int64, patch translator.Patch) (translator.PortalUser, error) {
	status, body, err := c.do(ctx, request{op: OpUpdateUser, idUser: idUser, body: patch})
	if err != nil {
		return translator.PortalUser{}, err
	}
	user, err := decodeOne(OpUpdateUser, status, body, userOK)
	return user, asError(err)
}

// DisableUser disables a user; disabling a disabled user succeeds. Errors: ENotFound,
// EOutcomeUnknown (sent, no answer, after the retries).
func (c *Client) DisableUser(ctx context.Context, idUser int64) error {
	_, _, err := c.do(ctx, request{op: OpDisableUser, idUser: idUser})
	return asError(err)
}

// EnableUser enables a user; enabling an enabled user succeeds. Errors: ENotFound, EOutcomeUnknown.
func (c *Client) EnableUser(ctx context.Context, idUser int64) error {
	_, _, err := c.do(ctx, request{op: OpEnableUser, idUser: idUser})
	return asError(err)
}

// DeleteUser deletes a user, where the portal allows it. Errors: EUnauthorized with PortalCode
// USER_DELETE_NOT_SUPPORTED (the portal never deletes users), ENotFound, EOutcomeUnknown.
func (c *Client) DeleteUser(ctx context.Context, idUser int64) error {
	_, _, err := c.do(ctx, request{op: OpDeleteUser, idUser: idUser})
	return asError(err)
}

// ListUserGroups reads one page of the groups a user belongs to. Errors: ENotFound (USER_NOT_FOUND).
func (c *Client) ListUserGroups(ctx context.Context, idUser int64, page translator.Page) (translator.GroupList, error) {
	query, qerr := pageQuery(page)
	if qerr != nil {
		return translator.GroupList{}, qerr
	}
	status, body, err := c.do(ctx, request{op: OpListUserGroups, idUser: idUser, query: query})
	if err != nil {
		return translator.GroupList{}, err
	}
	count, groups, err := decodeList[translator.PortalGroup](OpListUserGroups, status, body)
	if err != nil {
		return translator.GroupList{}, err
	}
	return translator.GroupList{Count: count, Groups: groups}, nil
}
