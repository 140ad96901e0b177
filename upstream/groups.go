package upstream

import (
	"context"

	"github.com/scim-gateway/scim-gateway/translator"
)

// CreateGroup creates a group (POST /groups) and returns it as the portal stored it. It is never
// retried. Errors: EConflict with ExistingID (the name is taken), EInvalid/invalidValue with Target,
// EOutcomeUnknown (sent, no answer: the group may exist).
func (c *Client) CreateGroup(ctx context.Context, g translator.NewPortalGroup) (translator.PortalGroup, error) {
	status, body, err := c.do(ctx, request{op: OpCreateGroup, body: g})
	if err != nil {
		return translator.PortalGroup{}, err
	}
	group, err := decodeOne(OpCreateGroup, status, body, groupOK)
	return group, asError(err)
}

// GetGroup reads one group by its portal key. Errors: ENotFound (GROUP_NOT_FOUND).
func (c *Client) GetGroup(ctx context.Context, idGroup int64) (translator.PortalGroup, error) {
	status, body, err := c.do(ctx, request{op: OpGetGroup, idGroup: idGroup})
	if err != nil {
		return translator.PortalGroup{}, err
	}
	group, err := decodeOne(OpGetGroup, status, body, groupOK)
	return group, asError(err)
}

// ListGroups reads one page of the groups matching every filter (none: all groups). Errors:
// EInvalid/invalidFilter, EInvalid/invalidValue.
func (c *Client) ListGroups(ctx context.Context, filters []translator.PortalFilter, page translator.Page) (translator.GroupList, error) {
	query, qerr := listQuery(filters, page)
	if qerr != nil {
		return translator.GroupList{}, qerr
	}
	status, body, err := c.do(ctx, request{op: OpListGroups, query: query})
	if err != nil {
		return translator.GroupList{}, err
	}
	count, groups, err := decodeList[translator.PortalGroup](OpListGroups, status, body)
	if err != nil {
		return translator.GroupList{}, err
	}
	return translator.GroupList{Count: count, Groups: groups}, nil
}

// UpdateGroup applies patch to a group (PATCH /groups({idGroup})) and returns the group after the
// change. It is never retried. Errors: ENotFound, EConflict with ExistingID, EInvalid/invalidValue,
// EOutcomeUnknown.
func (c *Client) UpdateGroup(ctx context.Context, idGroup int64, patch translator.Patch) (translator.PortalGroup, error) {
	status, body, err := c.do(ctx, request{op: OpUpdateGroup, idGroup: idGroup, body: patch})
	if err != nil {
		return translator.PortalGroup{}, err
	}
	group, err := decodeOne(OpUpdateGroup, status, body, groupOK)
	return group, asError(err)
}

// DeleteGroup deletes a group and its memberships. Errors: ENotFound (GROUP_NOT_FOUND),
// EOutcomeUnknown.
func (c *Client) DeleteGroup(ctx context.Context, idGroup int64) error {
	_, _, err := c.do(ctx, request{op: OpDeleteGroup, idGroup: idGroup})
	return asError(err)
}

// ListMembers reads one page of a group's members. Errors: ENotFound (GROUP_NOT_FOUND).
func (c *Client) ListMembers(ctx context.Context, idGroup int64, page translator.Page) (translator.MemberList, error) {
	query, qerr := pageQuery(page)
	if qerr != nil {
		return translator.MemberList{}, qerr
	}
	status, body, err := c.do(ctx, request{op: OpListMembers, idGroup: idGroup, query: query})
	if err != nil {
		return translator.MemberList{}, err
	}
	count, members, err := decodeList[translator.PortalMember](OpListMembers, status, body)
	if err != nil {
		return translator.MemberList{}, err
	}
	return translator.MemberList{Count: count, Members: members}, nil
}

// AddMember makes a user a member of a group; adding a member again succeeds. Errors: ENotFound with
// PortalCode GROUP_NOT_FOUND or USER_NOT_FOUND, EOutcomeUnknown.
func (c *Client) AddMember(ctx context.Context, idGroup, idUser int64) error {
	_, _, err := c.do(ctx, request{op: OpAddMember, idGroup: idGroup, idUser: idUser})
	return asError(err)
}

// RemoveMember removes a user from a group. Errors: ENotFound with PortalCode NOT_A_MEMBER,
// GROUP_NOT_FOUND or USER_NOT_FOUND, EOutcomeUnknown.
func (c *Client) RemoveMember(ctx context.Context, idGroup, idUser int64) error {
	_, _, err := c.do(ctx, request{op: OpRemoveMember, idGroup: idGroup, idUser: idUser})
	return asError(err)
}
