package translator

import "strings"

// Schema URNs the gateway knows.
const (
	SchemaUser           = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup          = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaListResponse   = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	SchemaPatchOp        = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	SchemaError          = "urn:ietf:params:scim:api:messages:2.0:Error"
	SchemaSchema         = "urn:ietf:params:scim:schemas:core:2.0:Schema"
)

// SCIM attribute types (RFC 7643 section 2.3).
const (
	typeString    = "string"
	typeBoolean   = "boolean"
	typeDecimal   = "decimal"
	typeInteger   = "integer"
	typeDateTime  = "dateTime"
	typeBinary    = "binary"
	typeReference = "reference"
	typeComplex   = "complex"
)

// attrDef describes one SCIM attribute or sub-attribute (RFC 7643 section 7).
type attrDef struct {
	name        string
	typ         string
	multi       bool
	required    bool
	caseExact   bool
	mutability  string // readOnly | readWrite | immutable | writeOnly
	returned    string // always | never | default | request
	uniqueness  string // none | server | global
	description string
	canonical   []string
	refTypes    []string
	sub         []*attrDef
}

// subAttr returns the sub-attribute called name (case-insensitively), or nil.
func (a *attrDef) subAttr(name string) *attrDef {
	for _, s := range a.sub {
		if strings.EqualFold(s.name, name) {
			return s
		}
	}
	return nil
}

// readOnly reports whether a client may never write the attribute.
func (a *attrDef) readOnly() bool { return a.mutability == "readOnly" }

// schemaDef is one schema: the core schema of a resource type or an extension.
type schemaDef struct {
	id          string
	name        string
	description string
	attrs       []*attrDef
}

func (s *schemaDef) attr(name string) *attrDef {
	for _, a := range s.attrs {
		if strings.EqualFold(a.name, name) {
			return a
		}
	}
	return nil
}

// resourceDef is a resource type: its common attributes, core schema and extensions.
type resourceDef struct {
	name       string // User | Group
	core       *schemaDef
	extensions []*schemaDef
	// tolerated lists schema URNs that may appear in "schemas" and as attribute prefixes; their
	// attributes are ignored (Microsoft's extra group schema).
	tolerated []string
}

// extension returns the extension schema with the URN id (case-insensitively), or nil.
func (r *resourceDef) extension(id string) *schemaDef {
	for _, e := range r.extensions {
		if strings.EqualFold(e.id, id) {
			return e
		}
	}
	return nil
}

// lookup resolves a top-level attribute name, optionally qualified by a schema URN ("" for none),
// to its schema ("" for core and common attributes) and definition. An unqualified name that only an
// extension defines resolves to that extension. It returns nil for unknown names.
func (r *resourceDef) lookup(schema, name string) (string, *attrDef) {
	if schema == "" || strings.EqualFold(schema, r.core.id) {
		if a := commonAttr(name); a != nil {
			return "", a
		}
		if a := r.core.attr(name); a != nil {
			return "", a
		}
		if schema != "" {
			return "", nil
		}
		// An unqualified extension attribute: Entra removes a manager with the path
		// `manager[value eq "id"]`. Extension attribute names do not collide with core ones.
		for _, ext := range r.extensions {
			if a := ext.attr(name); a != nil {
				return ext.id, a
			}
		}
		return "", nil
	}
	if ext := r.extension(schema); ext != nil {
		if a := ext.attr(name); a != nil {
			return ext.id, a
		}
	}
	return "", nil
}

// isTolerated reports whether urn (or its prefix) is a schema whose attributes are silently ignored.
func (r *resourceDef) isTolerated(urn string) bool {
	for _, t := range r.tolerated {
		if strings.EqualFold(urn, t) {
			return true
		}
	}
	return false
}

func str(name, desc string) *attrDef {
	return &attrDef{name: name, typ: typeString, mutability: "readWrite", returned: "default", uniqueness: "none", description: desc}
}

func boolean(name, desc string) *attrDef {
	a := str(name, desc)
	a.typ = typeBoolean
	return a
}

func complexAttr(name, desc string, multi bool, sub ...*attrDef) *attrDef {
	a := str(name, desc)
	a.typ = typeComplex
	a.multi = multi
	a.sub = sub
	return a
}

func withCanonical(a *attrDef, values ...string) *attrDef {
	a.canonical = values
	return a
}

// multiValued returns the sub-attributes RFC 7643 gives most multi-valued attributes.
func multiValued(name, desc string, types ...string) *attrDef {
	return complexAttr(name, desc, true,
		str("value", "The attribute's value."),
		str("display", "A human-readable name, primarily used for display purposes."),
		withCanonical(str("type", "A label indicating the attribute's function."), types...),
		boolean("primary", "Indicates the 'primary' or preferred attribute value."),
	)
}

func readOnlyAttr(a *attrDef) *attrDef {
	a.mutability = "readOnly"
	for _, s := range a.sub {
		s.mutability = "readOnly"
	}
	return a
}

var (
	attrID = &attrDef{name: "id", typ: typeString, caseExact: true, mutability: "readOnly", returned: "always",
		uniqueness: "server", description: "Unique identifier for the SCIM resource as defined by the service provider."}
	attrExternalID = &attrDef{name: "externalId", typ: typeString, caseExact: true, mutability: "readWrite",
		returned: "default", uniqueness: "none", description: "Identifier of the resource as defined by the provisioning client."}
	attrSchemas = &attrDef{name: "schemas", typ: typeReference, multi: true, caseExact: true, mutability: "readOnly",
		returned: "always", uniqueness: "none", description: "The schemas of the resource."}
	attrMeta = func() *attrDef {
		a := readOnlyAttr(complexAttr("meta", "Resource metadata.", false,
			&attrDef{name: "resourceType", typ: typeString, caseExact: true, returned: "default", uniqueness: "none"},
			&attrDef{name: "created", typ: typeDateTime, returned: "default", uniqueness: "none"},
			&attrDef{name: "lastModified", typ: typeDateTime, returned: "default", uniqueness: "none"},
			&attrDef{name: "location", typ: typeReference, caseExact: true, returned: "default", uniqueness: "none"},
			&attrDef{name: "version", typ: typeString, caseExact: true, returned: "default", uniqueness: "none"},
		))
		a.returned = "always"
		return a
	}()
)

// commonAttr returns the definition of a common attribute (RFC 7643 section 3.1), or nil.
func commonAttr(name string) *attrDef {
	for _, a := range []*attrDef{attrID, attrExternalID, attrSchemas, attrMeta} {
		if strings.EqualFold(a.name, name) {
			return a
		}
	}
	return nil
}

// userDef is the User resource type: RFC 7643 section 4.1 plus the enterprise extension (4.3).
// Deviation: "groups" is returned only when asked for (it costs a portal call).
var userDef = func() *resourceDef {
	userName := str("userName", "Unique identifier for the User, typically used by the user to directly authenticate to the service provider.")
	userName.required = true
	userName.uniqueness = "server"
	password := str("password", "The User's cleartext password.")
	password.mutability = "writeOnly"
	password.returned = "never"
	groups := readOnlyAttr(complexAttr("groups", "A list of groups to which the user belongs.", true,
		str("value", "The identifier of the User's group."),
		&attrDef{name: "$ref", typ: typeReference, refTypes: []string{"User", "Group"}, returned: "default", uniqueness: "none", description: "The URI of the corresponding 'Group' resource."},
		str("display", "A human-readable name, primarily used for display purposes."),
		withCanonical(str("type", "A label indicating the attribute's function."), "direct", "indirect"),
	))
	groups.returned = "request"
	profileURL := str("profileUrl", "A fully qualified URL pointing to a page representing the User's online profile.")
	profileURL.typ = typeReference
	profileURL.refTypes = []string{"external"}
	core := &schemaDef{id: SchemaUser, name: "User", description: "User Account", attrs: []*attrDef{
		userName,
		complexAttr("name", "The components of the user's real name.", false,
			str("formatted", "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
			str("familyName", "The family name of the User, or last name."),
			str("givenName", "The given name of the User, or first name."),
			str("middleName", "The middle name(s) of the User."),
			str("honorificPrefix", "The honorific prefix(es) of the User."),
			str("honorificSuffix", "The honorific suffix(es) of the User."),
		),
		str("displayName", "The name of the User, suitable for display to end-users."),
		str("nickName", "The casual way to address the user in real life."),
		profileURL,
		str("title", "The user's title, such as \"Vice President\"."),
		str("userType", "Used to identify the relationship between the organization and the user."),
		str("preferredLanguage", "Indicates the User's preferred written or spoken language."),
		str("locale", "Used to indicate the User's default location for purposes of localizing items."),
		str("timezone", "The User's time zone in the 'Olson' time zone database format."),
		boolean("active", "A Boolean value indicating the User's administrative status."),
		password,
		multiValued("emails", "Email addresses for the user.", "work", "home", "other"),
		multiValued("phoneNumbers", "Phone numbers for the User.", "work", "home", "mobile", "fax", "pager", "other"),
		multiValued("ims", "Instant messaging addresses for the User."),
		multiValued("photos", "URLs of photos of the User.", "photo", "thumbnail"),
		complexAttr("addresses", "A physical mailing address for this User.", true,
			str("formatted", "The full mailing address, formatted for display."),
			str("streetAddress", "The full street address component."),
			str("locality", "The city or locality component."),
			str("region", "The state or region component."),
			str("postalCode", "The zip code or postal code component."),
			str("country", "The country name component."),
			withCanonical(str("type", "A label indicating the attribute's function."), "work", "home", "other"),
			boolean("primary", "Indicates the 'primary' or preferred address."),
		),
		groups,
		multiValued("entitlements", "A list of entitlements for the User."),
		multiValued("roles", "A list of roles for the User."),
		multiValued("x509Certificates", "A list of certificates issued to the User."),
	}}
	manager := complexAttr("manager", "The User's manager.", false,
		str("value", "The id of the SCIM resource representing the User's manager."),
		&attrDef{name: "$ref", typ: typeReference, refTypes: []string{"User"}, mutability: "readWrite", returned: "default", uniqueness: "none", description: "The URI of the SCIM resource representing the User's manager."},
		readOnlyAttr(str("displayName", "The displayName of the User's manager.")),
	)
	enterprise := &schemaDef{id: SchemaEnterpriseUser, name: "EnterpriseUser", description: "Enterprise User", attrs: []*attrDef{
		str("employeeNumber", "Numeric or alphanumeric identifier assigned to a person."),
		str("costCenter", "Identifies the name of a cost center."),
		str("organization", "Identifies the name of an organization."),
		str("division", "Identifies the name of a division."),
		str("department", "Identifies the name of a department."),
		manager,
	}}
	return &resourceDef{name: "User", core: core, extensions: []*schemaDef{enterprise}}
}()

// groupDef is the Group resource type (RFC 7643 section 4.2). Microsoft's extra group schema is
// tolerated: it may appear in "schemas", and attributes qualified with it are ignored.
var groupDef = func() *resourceDef {
	displayName := str("displayName", "A human-readable name for the Group.")
	displayName.required = true
	value := str("value", "Identifier of the member of this Group.")
	value.mutability = "immutable"
	ref := &attrDef{name: "$ref", typ: typeReference, refTypes: []string{"User", "Group"}, mutability: "immutable", returned: "default", uniqueness: "none", description: "The URI corresponding to a SCIM resource that is a member of this Group."}
	typ := withCanonical(str("type", "A label indicating the type of resource."), "User", "Group")
	typ.mutability = "immutable"
	display := readOnlyAttr(str("display", "A human-readable name of the member."))
	core := &schemaDef{id: SchemaGroup, name: "Group", description: "Group", attrs: []*attrDef{
		displayName,
		complexAttr("members", "A list of members of the Group.", true, value, ref, typ, display),
	}}
	return &resourceDef{name: "Group", core: core,
		tolerated: []string{"http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"}}
}()

// splitURN splits an attribute path qualified by a schema URN ("urn:...:User:manager.value") into
// the URN and the rest ("manager.value"), at the last ':'. A path without a URN comes back unchanged.
func splitURN(path string) (urn, rest string) {
	if !hasURNPrefix(path) {
		return "", path
	}
	i := strings.LastIndexByte(path, ':')
	return path[:i], path[i+1:]
}

// hasURNPrefix reports whether s starts with "urn:" (any case).
func hasURNPrefix(s string) bool {
	return len(s) > 4 && strings.EqualFold(s[:4], "urn:")
}
