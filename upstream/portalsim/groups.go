package portalsim

import (
	"net/http"
)

// Group is a group as the portal returns it. Optional fields that are not set are null.
type Group struct {
	IDGroup     int64   `json:"idGroup"`
	GUIDGroup   string  `json:"guidGroup"`
	Name        string  `json:"name"`
	ExternalKey *string `json:"externalKey"`
	Description *string `json:"description"`
	CreatedOn   string  `json:"createdOn"`
	ModifiedOn  string  `json:"modifiedOn"`
}

// group is the stored record of a group, immutable once stored.
type group struct {
	stamp
	name        string
	externalKey *string
	description *string
}

// key is the unique key of a group: its folded name.
func (g *group) key() string { return fold(g.name) }

func (g *group) field(name string) (string, bool) {
	switch name {
	case "name":
		return g.name, true
	case "guidGroup":
		return g.guid, true
	case "externalKey":
		return deref(g.externalKey)
	}
	return "", false
}

func (g *group) sameAs(o *group) bool {
	return g.name == o.name && equalOptional(g.externalKey, o.externalKey) &&
		equalOptional(g.description, o.description)
}

func (g *group) wire() Group {
	return Group{IDGroup: g.id, GUIDGroup: g.guid, Name: g.name, ExternalKey: g.externalKey,
		Description: g.description, CreatedOn: formatTime(g.createdOn), ModifiedOn: formatTime(g.modifiedOn)}
}

func (g *group) encode() { g.body = mustJSON(g.wire()) }

// groupStrings are the string fields of a group, in the order they are checked.
var groupStrings = []stringField[group]{
	{name: "name", max: 200, required: func(g *group) *string { return &g.name }},
	{name: "externalKey", max: 256, optional: func(g *group) **string { return &g.externalKey }},
	{name: "description", max: 1000, optional: func(g *group) **string { return &g.description }},
}

var (
	groupFields   = fieldSet(groupStrings)
	groupReadOnly = map[string]bool{"idGroup": true, "guidGroup": true, "createdOn": true, "modifiedOn": true}
)

// groupErrors are the errors of groups: GROUP_NOT_FOUND, and GROUP_ALREADY_EXISTS with existingIdGroup.
var groupErrors = resourceErrors[*group]{notFound: groupNotFound, keyNotFound: groupKeyNotFound, exists: groupExists}

func groupNotFound(id int64) *apiError {
	return newError(http.StatusNotFound, CodeGroupNotFound, "idGroup", "no group with idGroup %d", id)
}

func groupKeyNotFound(key string) *apiError {
	return newError(http.StatusNotFound, CodeGroupNotFound, "idGroup", "no group with idGroup %s", key)
}

func groupExists(g *group, existing int64) *apiError {
	e := newError(http.StatusConflict, CodeGroupAlreadyExists, "name",
		"a group named %q exists: idGroup %d", g.name, existing)
	e.existingIDGroup = existing
	return e
}

// newGroupFromBody validates a create body.
func newGroupFromBody(body map[string]any) (*group, *apiError) {
	if err := checkKeys(body, groupFields, groupReadOnly); err != nil {
		return nil, err
	}
	g := &group{}
	if err := applyStrings(g, body, groupStrings, true); err != nil {
		return nil, err
	}
	return g, nil
}

// patchGroup validates a PATCH body against old and returns the changed record.
func patchGroup(old *group, body map[string]any) (*group, *apiError) {
	if err := checkKeys(body, groupFields, groupReadOnly); err != nil {
		return nil, err
	}
	next := *old
	next.body = nil
	if err := applyStrings(&next, body, groupStrings, false); err != nil {
		return nil, err
	}
	return &next, nil
}

// --- handlers ---

// listGroups serves GET /groups.
func (s *Sim) listGroups(r *http.Request) reply {
	return listRecords(s, r, groupFilterFields, s.store.listGroups)
}

// createGroup serves POST /groups.
func (s *Sim) createGroup(w http.ResponseWriter, r *http.Request) reply {
	return createRecord(s, w, r, groupErrors, "/groups", newGroupFromBody, s.store.createGroup)
}

// getGroup serves GET /groups({idGroup}).
func (s *Sim) getGroup(rt route) reply {
	return getRecord(groupErrors, rt.key, s.store.group)
}

// updateGroup serves PATCH /groups({idGroup}).
func (s *Sim) updateGroup(w http.ResponseWriter, r *http.Request, rt route) reply {
	return patchRecord(w, r, groupErrors, rt.key, s.store.updateGroup, patchGroup)
}

// deleteGroup serves DELETE /groups({idGroup}); its memberships go with it.
func (s *Sim) deleteGroup(rt route) reply {
	return deleteRecord(groupErrors, rt.key, s.store.deleteGroup)
}

// listMembers serves GET /groups({idGroup})/members.
func (s *Sim) listMembers(r *http.Request, rt route) reply {
	return listLinked(s, r, groupErrors, rt.key, s.store.group, s.store.membersOf,
		func(u *user) []byte { return u.memberBody })
}

// changeMember serves PUT and DELETE /groups({idGroup})/members({idUser}). The group is checked
// first, so a call naming an unknown group and an unknown user is GROUP_NOT_FOUND.
func (s *Sim) changeMember(r *http.Request, rt route) reply {
	groupID, ok := parseKey(rt.key)
	if !ok {
		return errorReply(groupKeyNotFound(rt.key))
	}
	userID, ok := parseKey(rt.memberKey)
	if !ok {
		if s.store.group(groupID) == nil {
			return errorReply(groupNotFound(groupID))
		}
		return errorReply(userKeyNotFound(rt.memberKey))
	}
	var err *apiError
	if r.Method == http.MethodPut {
		err = s.store.addMember(groupID, userID)
	} else {
		err = s.store.removeMember(groupID, userID)
	}
	if err != nil {
		return errorReply(err)
	}
	return reply{status: http.StatusNoContent}
}
