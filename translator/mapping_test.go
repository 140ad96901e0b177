package translator

import (
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestNewMappingErrors(t *testing.T) {
	withUsers := func(extra ...AttributeRule) MappingConfig {
		c := DefaultMappingConfig()
		c.Users = append(append([]AttributeRule(nil), c.Users...), extra...)
		return c
	}
	tests := []struct {
		name string
		cfg  MappingConfig
		want []string // every one must appear in the error
	}{
		{"no default domain", func() MappingConfig { c := DefaultMappingConfig(); c.DefaultDomain = ""; return c }(),
			[]string{"mapping.defaultDomain: required"}},
		{"default domain with @", func() MappingConfig { c := DefaultMappingConfig(); c.DefaultDomain = "a@b"; return c }(),
			[]string{"mapping.defaultDomain"}},
		{"unknown portal field", withUsers(AttributeRule{SCIM: "nickName", Field: "nick"}),
			[]string{`mapping.users[17]: unknown or read-only portal field "nick"`}},
		{"read-only portal field", withUsers(AttributeRule{SCIM: "nickName", Field: FieldGUIDUser}),
			[]string{"mapping.users[17]: unknown or read-only portal field"}},
		{"domain is part of the login", withUsers(AttributeRule{SCIM: "nickName", Field: FieldDomain}),
			[]string{"mapping.users[17]"}},
		{"duplicate target field", withUsers(AttributeRule{SCIM: "nickName", Field: FieldFirstName}),
			[]string{"mapping.users[17]: portal firstName is already the target of mapping.users[3]"}},
		{"duplicate target property", withUsers(AttributeRule{SCIM: "nickName", Property: "Title"}),
			[]string{"mapping.users[17]: portal properties.Title is already the target of mapping.users[9]"}},
		{"duplicate SCIM attribute", withUsers(AttributeRule{SCIM: "Name.GivenName", Property: "given"}),
			[]string{"mapping.users[17]: SCIM attribute name.givenName is already mapped by mapping.users[3]"}},
		{"unparsable SCIM path", withUsers(AttributeRule{SCIM: `emails[type eq "work"`, Property: "x"}),
			[]string{"mapping.users[17]: SCIM attribute"}},
		{"unknown SCIM attribute", withUsers(AttributeRule{SCIM: "favouriteColour", Property: "x"}),
			[]string{`"favouriteColour" is not an attribute of the User schemas`}},
		{"read-only SCIM attribute", withUsers(AttributeRule{SCIM: "meta.created", Property: "x"}),
			[]string{"cannot be mapped"}},
		{"multi-valued without a filter", withUsers(AttributeRule{SCIM: "addresses.postalCode", Property: "x"}),
			[]string{"select one value with a filter"}},
		{"whole multi-valued attribute to a field", withUsers(AttributeRule{SCIM: "ims", Field: FieldFullName}),
			[]string{"or keep the whole attribute (ims) in a property"}},
		{"whole multi-valued attribute caseExact", withUsers(AttributeRule{SCIM: "ims", Property: "ims", CaseExact: true}),
			[]string{"ims is kept whole: it cannot be caseExact"}},
		{"whole attribute twice", withUsers(AttributeRule{SCIM: "Emails", Property: "moreEmails"}),
			[]string{"SCIM attribute emails is already mapped by mapping.users[14]"}},
		{"filter that is not eq terms", withUsers(AttributeRule{SCIM: `addresses[type co "w"].postalCode`, Property: "x"}),
			[]string{"eq terms"}},
		{"boolean to a string field", withUsers(AttributeRule{SCIM: `emails[type eq "work"].primary`, Field: FieldFullName}),
			[]string{"portal fullName takes a string"}},
		{"property and field", withUsers(AttributeRule{SCIM: "nickName", Field: FieldFullName, Property: "x"}),
			[]string{"not both"}},
		{"neither property nor field", withUsers(AttributeRule{SCIM: "nickName"}),
			[]string{"give a portal field or a property"}},
		{"filterable property", withUsers(AttributeRule{SCIM: "nickName", Property: "nick", Filterable: true}),
			[]string{"cannot filter on properties"}},
		{"filterable unfilterable field", func() MappingConfig {
			c := DefaultMappingConfig()
			c.Users = append([]AttributeRule(nil), c.Users...)
			c.Users[3].Filterable = true
			return c
		}(), []string{"cannot filter on firstName"}},
		{"bad redaction", withUsers(AttributeRule{SCIM: "nickName", Property: "nick", Redact: "rot13"}),
			[]string{`redact "rot13"`}},
		{"property is the login-form property", withUsers(AttributeRule{SCIM: "nickName", Property: "scimLoginForm"}),
			[]string{"login-form property"}},
		{"no login rule", func() MappingConfig { c := DefaultMappingConfig(); c.Users = c.Users[1:]; return c }(),
			[]string{"required field userName"}},
		{"group properties", func() MappingConfig {
			c := DefaultMappingConfig()
			c.Groups = append(c.Groups, AttributeRule{SCIM: "displayName", Property: "x"})
			return c
		}(), []string{"mapping.groups[2]: portal groups have no properties"}},
		{"every problem at once", func() MappingConfig {
			c := withUsers(AttributeRule{SCIM: "nope", Property: "a"}, AttributeRule{SCIM: "nickName", Field: "zz"})
			c.DefaultDomain = ""
			return c
		}(), []string{"mapping.defaultDomain", "mapping.users[17]", "mapping.users[18]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewMapping(tc.cfg)
			if err == nil {
				t.Fatalf("NewMapping = %v, want an error", m)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestMappingConfigYAML(t *testing.T) {
	doc := `
defaultDomain: corp.example
users:
  - {scim: userName, field: userName, filterable: true, redact: hash}
  - {scim: active, field: enabled}
  - {scim: 'emails[type eq "work"].value', field: contactEmail, filterable: true, redact: mask}
  - {scim: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter", property: costCenter}
`
	var cfg MappingConfig
	if err := yaml.Unmarshal([]byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	cfg.ApplyDefaults()
	if cfg.LoginFormProperty != DefaultLoginFormProperty || len(cfg.Users) != 4 || len(cfg.Groups) != 2 {
		t.Fatalf("ApplyDefaults: %+v", cfg)
	}
	m, err := NewMapping(cfg)
	if err != nil {
		t.Fatalf("NewMapping: %v", err)
	}
	u, _, err := m.ToPortalUser(Resource{"userName": "jdoe", "title": "not mapped here",
		SchemaEnterpriseUser: map[string]any{"costCenter": "CC-1"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"scimLoginForm": "plain", "costCenter": "CC-1"}
	if u.Domain != "corp.example" || !reflect.DeepEqual(u.Properties, want) {
		t.Fatalf("ToPortalUser = %+v", u)
	}
}

func TestSCIMAttribute(t *testing.T) {
	m := goldenMapping(t)
	tests := []struct {
		field string
		group bool
		want  string
	}{
		{field: "userName", want: "userName"},
		{field: "domain", want: "userName"},
		{field: "properties.scimLoginForm", want: "userName"},
		{field: "contactEmail", want: `emails[type eq "work"].value`},
		{field: "contactCellPhone", want: `phoneNumbers[type eq "mobile"].value`},
		{field: "ContactEmail", want: `emails[type eq "work"].value`},
		{field: "firstName", want: "name.givenName"},
		{field: "externalKey", want: "externalId"},
		{field: "enabled", want: "active"},
		{field: "properties.department", want: SchemaEnterpriseUser + ":department"},
		{field: "properties.manager", want: SchemaEnterpriseUser + ":manager"},
		{field: "properties.title", want: "title"},
		{field: "properties.scimEmails", want: "emails"},
		{field: "properties.scimAddresses", want: "addresses"},
		{field: "guidUser", want: ""},
		{field: "properties.portalOnly", want: ""},
		{field: "name", group: true, want: "displayName"},
		{field: "externalKey", group: true, want: "externalId"},
		{field: "description", group: true, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			got := m.SCIMAttribute(tc.field)
			if tc.group {
				got = m.SCIMGroupAttribute(tc.field)
			}
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	if got := m.Redaction(`emails[type eq "work"].value`); got != RedactMask {
		t.Fatalf("Redaction(email) = %q, want mask", got)
	}
}

// schemaAttr finds an attribute (and, with sub, a sub-attribute) in a schema document.
func schemaAttr(doc map[string]any, name, sub string) map[string]any {
	for _, a := range doc["attributes"].([]any) {
		am := a.(map[string]any)
		if am["name"] != name {
			continue
		}
		if sub == "" {
			return am
		}
		subs, _ := am["subAttributes"].([]any)
		for _, s := range subs {
			if sm := s.(map[string]any); sm["name"] == sub {
				return sm
			}
		}
	}
	return nil
}

func schemaDoc(docs []map[string]any, id string) map[string]any {
	for _, d := range docs {
		if d["id"] == id {
			return d
		}
	}
	return nil
}

func TestSchemas(t *testing.T) {
	docs := goldenMapping(t).Schemas()
	user, ent, group := schemaDoc(docs, SchemaUser), schemaDoc(docs, SchemaEnterpriseUser), schemaDoc(docs, SchemaGroup)
	if user == nil || ent == nil || group == nil || len(docs) != 3 {
		t.Fatalf("Schemas() = %d documents, want User, EnterpriseUser, Group", len(docs))
	}
	tests := []struct {
		doc       map[string]any
		name, sub string
		present   bool
		key       string
		want      any
	}{
		{user, "userName", "", true, "uniqueness", "server"},
		{user, "userName", "", true, "required", true},
		{user, "userName", "", true, "caseExact", false},
		{user, "externalId", "", true, "caseExact", true},
		{user, "active", "", true, "type", "boolean"},
		{user, "emails", "", true, "multiValued", true},
		{user, "emails", "value", true, "type", "string"},
		{user, "emails", "type", true, "type", "string"},
		{user, "emails", "primary", true, "type", "boolean"},
		{user, "name", "givenName", true, "mutability", "readWrite"},
		{user, "name", "middleName", false, "", nil},
		{user, "phoneNumbers", "value", true, "type", "string"},
		{user, "title", "", true, "type", "string"},
		{user, "groups", "", true, "mutability", "readOnly"},
		{user, "groups", "", true, "returned", "request"},
		{user, "addresses", "", true, "multiValued", true},
		{user, "addresses", "locality", true, "type", "string"},
		{user, "emails", "display", true, "type", "string"},
		{user, "phoneNumbers", "display", true, "type", "string"},
		{user, "nickName", "", false, "", nil},
		{user, "password", "", false, "", nil},
		{ent, "department", "", true, "type", "string"},
		{ent, "manager", "value", true, "type", "string"},
		{ent, "manager", "displayName", false, "", nil},
		{ent, "costCenter", "", false, "", nil},
		{group, "displayName", "", true, "required", true},
		{group, "members", "value", true, "mutability", "immutable"},
		{group, "externalId", "", true, "caseExact", true},
	}
	for _, tc := range tests {
		t.Run(tc.name+"."+tc.sub+" "+tc.key, func(t *testing.T) {
			a := schemaAttr(tc.doc, tc.name, tc.sub)
			if (a != nil) != tc.present {
				t.Fatalf("present = %v, want %v", a != nil, tc.present)
			}
			if tc.present && a[tc.key] != tc.want {
				t.Fatalf("%s = %v, want %v", tc.key, a[tc.key], tc.want)
			}
		})
	}
	if meta := user["meta"].(map[string]any); meta["location"] != "/Schemas/"+SchemaUser || meta["resourceType"] != "Schema" {
		t.Fatalf("meta = %v", meta)
	}
}

func TestSchemasFollowTheMapping(t *testing.T) {
	cfg := DefaultMappingConfig()
	var users []AttributeRule
	for _, r := range cfg.Users {
		if !strings.HasPrefix(r.SCIM, "urn:") && r.SCIM != "addresses" {
			users = append(users, r)
		}
	}
	cfg.Users = append(users, AttributeRule{SCIM: `addresses[type eq "work"].postalCode`, Property: "zip", CaseExact: true})
	m, err := NewMapping(cfg)
	if err != nil {
		t.Fatal(err)
	}
	docs := m.Schemas()
	if schemaDoc(docs, SchemaEnterpriseUser) != nil {
		t.Fatalf("the enterprise schema is advertised with no enterprise attribute mapped")
	}
	user := schemaDoc(docs, SchemaUser)
	if a := schemaAttr(user, "addresses", "postalCode"); a == nil || a["caseExact"] != true {
		t.Fatalf("addresses.postalCode = %v, want advertised, caseExact", a)
	}
	if schemaAttr(user, "addresses", "type") == nil || schemaAttr(user, "addresses", "locality") != nil {
		t.Fatalf("addresses sub-attributes: want type and postalCode only")
	}
}

// TestWholeAttributeRedaction: a whole attribute is one value in the translation log, masked by
// default like the fields it shares values with; its change names the attribute and the property.
func TestWholeAttributeRedaction(t *testing.T) {
	m := goldenMapping(t)
	for _, a := range []string{"emails", "Emails", "phoneNumbers", "addresses"} {
		if got := m.Redaction(a); got != RedactMask {
			t.Errorf("Redaction(%s) = %q, want mask", a, got)
		}
	}
	in, err := ParseUser([]byte(`{"userName":"a@b.c","emails":[{"type":"work","value":"a@b.c"},{"type":"work","value":"x@b.c"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, changes, err := m.ToPortalUser(in)
	if err != nil {
		t.Fatal(err)
	}
	want := FieldChange{SCIM: "emails", Portal: "properties.scimEmails",
		New: `[{"type":"work","value":"a@b.c"},{"type":"work","value":"x@b.c"}]`, Redact: RedactMask}
	for _, c := range changes {
		if c.Portal == want.Portal {
			if !reflect.DeepEqual(c, want) {
				t.Fatalf("change = %+v, want %+v", c, want)
			}
			return
		}
	}
	t.Fatalf("no change of %s in %+v", want.Portal, changes)
}
