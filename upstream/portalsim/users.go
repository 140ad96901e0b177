package portalsim

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// User limits of docs/portal-api.md section 2.
const (
	maxProperties      = 50
	maxPropertyKeyLen  = 64
	userNameSpecials   = "!$*+.=_~-#"
	fieldProperties    = "properties"
	fieldEnabled       = "enabled"
	userNotFoundTarget = "idUser"
)

// User is a user as the portal returns it. Optional fields that are not set are null; Properties is
// never null ({} when empty). Timestamps are RFC 3339 UTC with milliseconds.
type User struct {
	IDUser           int64          `json:"idUser"`
	GUIDUser         string         `json:"guidUser"`
	UserName         string         `json:"userName"`
	Domain           string         `json:"domain"`
	FullName         *string        `json:"fullName"`
	FirstName        *string        `json:"firstName"`
	LastName         *string        `json:"lastName"`
	ContactEmail     *string        `json:"contactEmail"`
	ContactCellPhone *string        `json:"contactCellPhone"`
	ExternalKey      *string        `json:"externalKey"`
	Enabled          bool           `json:"enabled"`
	Properties       map[string]any `json:"properties"`
	CreatedOn        string         `json:"createdOn"`
	ModifiedOn       string         `json:"modifiedOn"`
}

// Member is one entry of a group's member list.
type Member struct {
	IDUser   int64  `json:"idUser"`
	GUIDUser string `json:"guidUser"`
	UserName string `json:"userName"`
	Domain   string `json:"domain"`
}

// user is the stored record of a user. It is immutable once stored; body (in its stamp) and
// memberBody are its encodings, built once.
type user struct {
	stamp
	userName, domain               string
	fullName, firstName, lastName  *string
	contactEmail, contactCellPhone *string
	externalKey                    *string
	enabled                        bool
	properties                     map[string]any // values: string, json.Number or bool
	memberBody                     []byte
}

func (u *user) key() loginKey { return loginKey{domain: fold(u.domain), userName: fold(u.userName)} }

// field returns a filterable field's value and whether it is set.
func (u *user) field(name string) (string, bool) {
	switch name {
	case "userName":
		return u.userName, true
	case "domain":
		return u.domain, true
	case "guidUser":
		return u.guid, true
	case "enabled":
		return strconv.FormatBool(u.enabled), true
	case "externalKey":
		return deref(u.externalKey)
	case "contactEmail":
		return deref(u.contactEmail)
	}
	return "", false
}

func deref(p *string) (string, bool) {
	if p == nil {
		return "", false
	}
	return *p, true
}

// sameAs reports whether two records hold the same writable state.
func (u *user) sameAs(o *user) bool {
	return u.userName == o.userName && u.domain == o.domain &&
		equalOptional(u.fullName, o.fullName) && equalOptional(u.firstName, o.firstName) &&
		equalOptional(u.lastName, o.lastName) && equalOptional(u.contactEmail, o.contactEmail) &&
		equalOptional(u.contactCellPhone, o.contactCellPhone) && equalOptional(u.externalKey, o.externalKey) &&
		u.enabled == o.enabled && maps.Equal(u.properties, o.properties)
}

// wire returns the record as the portal returns it.
func (u *user) wire() User {
	props := u.properties
	if props == nil {
		props = map[string]any{}
	}
	return User{
		IDUser: u.id, GUIDUser: u.guid, UserName: u.userName, Domain: u.domain,
		FullName: u.fullName, FirstName: u.firstName, LastName: u.lastName,
		ContactEmail: u.contactEmail, ContactCellPhone: u.contactCellPhone, ExternalKey: u.externalKey,
		Enabled: u.enabled, Properties: props,
		CreatedOn: formatTime(u.createdOn), ModifiedOn: formatTime(u.modifiedOn),
	}
}

// encode builds the record's encodings.
func (u *user) encode() {
	u.body = mustJSON(u.wire())
	u.memberBody = mustJSON(Member{IDUser: u.id, GUIDUser: u.guid, UserName: u.userName, Domain: u.domain})
}

// mustJSON encodes v without HTML escaping (an & stays an &). The types encoded hold only strings,
// numbers, booleans and maps of them, which always encode.
func mustJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// userStrings are the string fields of a user, in the order they are checked.
var userStrings = []stringField[user]{
	{name: "userName", max: 100, check: checkUserName, required: func(u *user) *string { return &u.userName }},
	{name: "domain", max: 100, required: func(u *user) *string { return &u.domain }},
	{name: "fullName", max: 200, optional: func(u *user) **string { return &u.fullName }},
	{name: "firstName", max: 100, optional: func(u *user) **string { return &u.firstName }},
	{name: "lastName", max: 100, optional: func(u *user) **string { return &u.lastName }},
	{name: "contactEmail", max: 254, check: checkEmail, optional: func(u *user) **string { return &u.contactEmail }},
	{name: "contactCellPhone", max: 20, optional: func(u *user) **string { return &u.contactCellPhone }},
	{name: "externalKey", max: 256, optional: func(u *user) **string { return &u.externalKey }},
}

var (
	userCreateFields = fieldSet(userStrings, fieldEnabled, fieldProperties)
	userPatchFields  = fieldSet(userStrings, fieldProperties)
	userReadOnly     = map[string]bool{"idUser": true, "guidUser": true, "createdOn": true, "modifiedOn": true}
	userPatchRO      = map[string]bool{"idUser": true, "guidUser": true, "createdOn": true, "modifiedOn": true, fieldEnabled: true}
)

func fieldSet[T any](strs []stringField[T], more ...string) map[string]bool {
	m := make(map[string]bool, len(strs)+len(more))
	for _, f := range strs {
		m[f.name] = true
	}
	for _, k := range more {
		m[k] = true
	}
	return m
}

// checkUserName allows A-Za-z0-9 and ! $ * + . = _ ~ - #.
func checkUserName(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		for j := 0; !ok && j < len(userNameSpecials); j++ {
			ok = c == userNameSpecials[j]
		}
		if !ok {
			return "may hold only A-Z, a-z, 0-9 and " + userNameSpecials
		}
	}
	return ""
}

// checkEmail wants exactly one @, neither first nor last.
func checkEmail(s string) string {
	at, n := -1, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '@' {
			at, n = i, n+1
		}
	}
	if n != 1 || at == 0 || at == len(s)-1 {
		return "must hold exactly one @, neither first nor last"
	}
	return ""
}

// applyProperties merges a properties value of a body onto current (nil for a create): null clears
// them all, an object is merged key by key with a null value removing the key.
func applyProperties(current map[string]any, v any) (map[string]any, *apiError) {
	if v == nil {
		return nil, nil
	}
	in, ok := v.(map[string]any)
	if !ok {
		return nil, validationError(fieldProperties, "properties must be an object")
	}
	out := maps.Clone(current)
	if out == nil {
		out = make(map[string]any, len(in))
	}
	for k, val := range in {
		if n := utf8.RuneCountInString(k); n > maxPropertyKeyLen {
			return nil, validationError(fieldProperties, "property key %q is longer than %d characters", k, maxPropertyKeyLen)
		}
		switch val.(type) {
		case nil:
			delete(out, k)
		case string, json.Number, bool:
			out[k] = val
		default:
			return nil, validationError(fieldProperties, "property %q must be a string, a number or a boolean", k)
		}
	}
	if len(out) > maxProperties {
		return nil, validationError(fieldProperties, "at most %d properties, got %d", maxProperties, len(out))
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// newUserFromBody validates a create body.
func newUserFromBody(body map[string]any) (*user, *apiError) {
	if err := checkKeys(body, userCreateFields, userReadOnly); err != nil {
		return nil, err
	}
	u := &user{enabled: true}
	if err := applyStrings(u, body, userStrings, true); err != nil {
		return nil, err
	}
	if v, ok := body[fieldEnabled]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return nil, validationError(fieldEnabled, "enabled must be a boolean")
		}
		u.enabled = b
	}
	if v, ok := body[fieldProperties]; ok {
		props, err := applyProperties(nil, v)
		if err != nil {
			return nil, err
		}
		u.properties = props
	}
	return u, nil
}

// patchUser validates a PATCH body against old and returns the changed record.
func patchUser(old *user, body map[string]any) (*user, *apiError) {
	if err := checkKeys(body, userPatchFields, userPatchRO); err != nil {
		return nil, err
	}
	next := *old
	next.body, next.memberBody = nil, nil
	if err := applyStrings(&next, body, userStrings, false); err != nil {
		return nil, err
	}
	if v, ok := body[fieldProperties]; ok {
		props, err := applyProperties(old.properties, v)
		if err != nil {
			return nil, err
		}
		next.properties = props
	}
	return &next, nil
}

// userErrors are the errors of users: USER_NOT_FOUND, and USER_ALREADY_EXISTS with existingIdUser.
var userErrors = resourceErrors[*user]{notFound: userNotFound, keyNotFound: userKeyNotFound, exists: userExists}

func userNotFound(id int64) *apiError {
	return newError(http.StatusNotFound, CodeUserNotFound, userNotFoundTarget, "no user with idUser %d", id)
}

func userKeyNotFound(key string) *apiError {
	return newError(http.StatusNotFound, CodeUserNotFound, userNotFoundTarget, "no user with idUser %s", key)
}

func userExists(u *user, existing int64) *apiError {
	e := newError(http.StatusConflict, CodeUserAlreadyExists, "userName",
		`a user with login %s\%s exists: idUser %d`, u.domain, u.userName, existing)
	e.existingIDUser = existing
	return e
}

// --- handlers ---

// listUsers serves GET /users.
func (s *Sim) listUsers(r *http.Request) reply {
	return listRecords(s, r, userFilterFields, s.store.listUsers)
}

// createUser serves POST /users.
func (s *Sim) createUser(w http.ResponseWriter, r *http.Request) reply {
	return createRecord(s, w, r, userErrors, "/users", newUserFromBody, s.store.createUser)
}

// getUser serves GET /users({idUser}).
func (s *Sim) getUser(rt route) reply {
	return getRecord(userErrors, rt.key, s.store.user)
}

// updateUser serves PATCH /users({idUser}).
func (s *Sim) updateUser(w http.ResponseWriter, r *http.Request, rt route) reply {
	return patchRecord(w, r, userErrors, rt.key, s.store.updateUser, patchUser)
}

// setEnabled serves POST /users({idUser})/disable and /enable.
func (s *Sim) setEnabled(rt route, enabled bool) reply {
	id, err := userErrors.recordID(rt.key)
	if err != nil {
		return errorReply(err)
	}
	_, err = s.store.updateUser(id, func(old *user) (*user, *apiError) {
		next := *old
		next.enabled = enabled
		return &next, nil
	})
	if err != nil {
		return errorReply(err)
	}
	return reply{status: http.StatusNoContent}
}

// deleteUser serves DELETE /users({idUser}): 405 USER_DELETE_NOT_SUPPORTED unless deletes are allowed.
func (s *Sim) deleteUser(rt route) reply {
	if !s.allowDelete {
		allow, _ := rt.allowed(http.MethodDelete, false)
		e := newError(http.StatusMethodNotAllowed, CodeUserDeleteNotSupported, "",
			"this portal never deletes users: disable them")
		e.allow = allow
		return errorReply(e)
	}
	return deleteRecord(userErrors, rt.key, s.store.deleteUser)
}

// listUserGroups serves GET /users({idUser})/groups.
func (s *Sim) listUserGroups(r *http.Request, rt route) reply {
	return listLinked(s, r, userErrors, rt.key, s.store.user, s.store.groupsOfUser,
		func(g *group) []byte { return g.body })
}
