package translator

import (
	"encoding/json"
	"time"
)

// The portal payload types: the legacy portal's user-sync API (docs/portal-api.md) as the gateway sees it.
// Optional string fields hold "" when the portal has them unset (it sends null); the gateway never
// distinguishes an empty optional field from an unset one, because SCIM's "" and null both clear.

// Portal user field names, as the portal spells them in JSON and in error targets.
const (
	FieldIDUser           = "idUser"
	FieldGUIDUser         = "guidUser"
	FieldUserName         = "userName"
	FieldDomain           = "domain"
	FieldFullName         = "fullName"
	FieldFirstName        = "firstName"
	FieldLastName         = "lastName"
	FieldContactEmail     = "contactEmail"
	FieldContactCellPhone = "contactCellPhone"
	FieldExternalKey      = "externalKey"
	FieldEnabled          = "enabled"
	FieldProperties       = "properties"
	FieldCreatedOn        = "createdOn"
	FieldModifiedOn       = "modifiedOn"
)

// Portal group field names.
const (
	FieldIDGroup     = "idGroup"
	FieldGUIDGroup   = "guidGroup"
	FieldName        = "name"
	FieldDescription = "description"
)

// PortalUser is a user as the portal returns it.
type PortalUser struct {
	IDUser           int64          `json:"idUser"`
	GUIDUser         string         `json:"guidUser"`
	UserName         string         `json:"userName"`
	Domain           string         `json:"domain"`
	FullName         string         `json:"fullName"`
	FirstName        string         `json:"firstName"`
	LastName         string         `json:"lastName"`
	ContactEmail     string         `json:"contactEmail"`
	ContactCellPhone string         `json:"contactCellPhone"`
	ExternalKey      string         `json:"externalKey"`
	Enabled          bool           `json:"enabled"`
	Properties       map[string]any `json:"properties"`
	CreatedOn        time.Time      `json:"createdOn"`
	ModifiedOn       time.Time      `json:"modifiedOn"`
}

// Login returns the portal login shown to people, domain\userName.
func (u *PortalUser) Login() string { return u.Domain + `\` + u.UserName }

// NewPortalUser is the body of a portal create (POST /users). Empty optional fields are left out.
type NewPortalUser struct {
	UserName         string         `json:"userName"`
	Domain           string         `json:"domain"`
	FullName         string         `json:"fullName,omitempty"`
	FirstName        string         `json:"firstName,omitempty"`
	LastName         string         `json:"lastName,omitempty"`
	ContactEmail     string         `json:"contactEmail,omitempty"`
	ContactCellPhone string         `json:"contactCellPhone,omitempty"`
	ExternalKey      string         `json:"externalKey,omitempty"`
	Enabled          *bool          `json:"enabled,omitempty"`
	Properties       map[string]any `json:"properties,omitempty"`
}

// Patch is the body of a portal PATCH (users or groups): Fields maps a top-level portal field to its
// new value, nil meaning null (clear an optional field); Properties is merged key by key by the portal,
// a nil value removing the key. An empty Patch means nothing to send.
type Patch struct {
	Fields     map[string]*string
	Properties map[string]any
}

// Empty reports whether the patch changes nothing.
func (p Patch) Empty() bool { return len(p.Fields) == 0 && len(p.Properties) == 0 }

// MarshalJSON renders the patch as the portal's flat PATCH body.
func (p Patch) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(p.Fields)+1)
	for k, v := range p.Fields {
		if v == nil {
			m[k] = nil
		} else {
			m[k] = *v
		}
	}
	if len(p.Properties) > 0 {
		m[FieldProperties] = p.Properties
	}
	return json.Marshal(m)
}

// PortalGroup is a group as the portal returns it.
type PortalGroup struct {
	IDGroup     int64     `json:"idGroup"`
	GUIDGroup   string    `json:"guidGroup"`
	Name        string    `json:"name"`
	ExternalKey string    `json:"externalKey"`
	Description string    `json:"description"`
	CreatedOn   time.Time `json:"createdOn"`
	ModifiedOn  time.Time `json:"modifiedOn"`
}

// NewPortalGroup is the body of a portal group create (POST /groups).
type NewPortalGroup struct {
	Name        string `json:"name"`
	ExternalKey string `json:"externalKey,omitempty"`
	Description string `json:"description,omitempty"`
}

// PortalMember is one entry of a group's member list.
type PortalMember struct {
	IDUser   int64  `json:"idUser"`
	GUIDUser string `json:"guidUser"`
	UserName string `json:"userName"`
	Domain   string `json:"domain"`
}

// PortalFilter is one `FIELD eq VALUE` term of a portal $filter; a list of them is joined by `and`.
// Value is a string, or a bool for `enabled`.
type PortalFilter struct {
	Field string
	Value any
}

// Page asks the portal for a slice of a list: Top items after Skip. Top 0 asks only for the count.
type Page struct {
	Top  int
	Skip int
}

// UserList is one page of a portal user list.
type UserList struct {
	Count int          // @odata.count: all matches, not only this page
	Users []PortalUser // this page, ordered by idUser
}

// GroupList is one page of a portal group list.
type GroupList struct {
	Count  int
	Groups []PortalGroup
}

// MemberList is one page of a group's members.
type MemberList struct {
	Count   int
	Members []PortalMember
}
