package portalsim

import (
	"net/http"
	"strconv"
	"time"
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
	id                    int64
	guid                  string
	name                  string
	externalKey           *string
	description           *string
	createdOn, modifiedOn time.Time
	body                  []byte
}

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

// --- handlers ---

// listGroups serves GET /groups.
func (s *Sim) listGroups(r *http.Request) reply {
	q, err := parseListQuery(r, groupFilterFields)
	if err != nil {
		return errorReply(err)
	}
	count, page := s.store.listGroups(q.filter, q.skip, q.top)
	items := make([][]byte, len(page))
	for i, g := range page {
		items[i] = g.body
	}
	return s.listReply(r, q, count, items)
}

// createGroup serves POST /groups.
func (s *Sim) createGroup(w http.ResponseWriter, r *http.Request) reply {
	body, err := readJSONObject(w, r)
	if err != nil {
		return errorReply(err)
	}
	if err := checkKeys(body, groupFields, groupReadOnly); err != nil {
		return errorReply(err)
	}
	in := &group{}
	if err := applyStrings(in, body, groupStrings, true); err != nil {
		return errorReply(err)
	}
	g, existing := s.store.createGroup(in)
	if g == nil {
		return errorReply(groupExists(in, existing))
	}
	return reply{status: http.StatusCreated, body: g.body,
		location: s.absoluteURL(r, s.basePath+apiPrefix+"/groups("+strconv.FormatInt(g.id, 10)+")")}
}

// getGroup serves GET /groups({idGroup}).
func (s *Sim) getGroup(rt route) reply {
	id, ok := parseKey(rt.key)
	if !ok {
		return errorReply(groupKeyNotFound(rt.key))
	}
	g := s.store.group(id)
	if g == nil {
		return errorReply(groupNotFound(id))
	}
	return reply{status: http.StatusOK, body: g.body}
}

// updateGroup serves PATCH /groups({idGroup}).
func (s *Sim) updateGroup(w http.ResponseWriter, r *http.Request, rt route) reply {
	id, ok := parseKey(rt.key)
	if !ok {
		return errorReply(groupKeyNotFound(rt.key))
	}
	body, bodyErr := readJSONObject(w, r)
	g, err := s.store.updateGroup(id, func(old *group) (*group, *apiError) {
		if bodyErr != nil {
			return nil, bodyErr
		}
		if err := checkKeys(body, groupFields, groupReadOnly); err != nil {
			return nil, err
		}
		next := *old
		next.body = nil
		if err := applyStrings(&next, body, groupStrings, false); err != nil {
			return nil, err
		}
		return &next, nil
	})
	if err != nil {
		return errorReply(err)
	}
	return reply{status: http.StatusOK, body: g.body}
}

// deleteGroup serves DELETE /groups({idGroup}); its memberships go with it.
func (s *Sim) deleteGroup(rt route) reply {
	id, ok := parseKey(rt.key)
	if !ok {
		return errorReply(groupKeyNotFound(rt.key))
	}
	if !s.store.deleteGroup(id) {
		return errorReply(groupNotFound(id))
	}
	return reply{status: http.StatusNoContent}
}

// listMembers serves GET /groups({idGroup})/members.
func (s *Sim) listMembers(r *http.Request, rt route) reply {
	id, ok := parseKey(rt.key)
	if !ok {
		return errorReply(groupKeyNotFound(rt.key))
	}
	if s.store.group(id) == nil {
		return errorReply(groupNotFound(id))
	}
	q, err := parseListQuery(r, nil)
	if err != nil {
		return errorReply(err)
	}
	count, page, found := s.store.membersOf(id, q.skip, q.top)
	if !found {
		return errorReply(groupNotFound(id))
	}
	items := make([][]byte, len(page))
	for i, u := range page {
		items[i] = u.memberBody
	}
	return s.listReply(r, q, count, items)
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
