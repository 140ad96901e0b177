package translator

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// storeInPortal does what the portal does with a create body: keep the fields, default enabled to
// true, and hand back properties as JSON decodes them (numbers as float64).
func storeInPortal(t *testing.T, n NewPortalUser) PortalUser {
	t.Helper()
	u := PortalUser{IDUser: 1, GUIDUser: "guid-1", UserName: n.UserName, Domain: n.Domain, FullName: n.FullName,
		FirstName: n.FirstName, LastName: n.LastName, ContactEmail: n.ContactEmail, ContactCellPhone: n.ContactCellPhone,
		ExternalKey: n.ExternalKey, Enabled: n.Enabled == nil || *n.Enabled,
		CreatedOn: time.Date(2026, 11, 26, 8, 34, 8, 123e6, time.UTC), ModifiedOn: time.Date(2026, 11, 26, 8, 34, 8, 123e6, time.UTC)}
	b, err := json.Marshal(n.Properties)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &u.Properties); err != nil {
		t.Fatal(err)
	}
	return u
}

// roundTrip sends body through ToPortalUser, the portal and FromPortalUser, and checks that every
// mapped attribute comes back exactly as sent.
func roundTrip(t *testing.T, m *Mapping, body string) Resource {
	t.Helper()
	in, err := ParseUser([]byte(body))
	if err != nil {
		t.Fatalf("ParseUser: %v", err)
	}
	created, _, err := m.ToPortalUser(in)
	if err != nil {
		t.Fatalf("ToPortalUser: %v", err)
	}
	stored := storeInPortal(t, created)
	out := m.FromPortalUser(stored, Meta{Location: "https://gw/scim/v2/Users/guid-1"})
	// Through JSON, as the client sees it.
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	seen, err := ParseUser(b)
	if err != nil {
		t.Fatalf("ParseUser(rendered): %v", err)
	}
	for _, r := range m.users {
		want, wok := r.get(in)
		got, gok := r.get(seen)
		if r.field == FieldEnabled && !wok {
			want, wok = true, true // the portal enables a user created without "active"
		}
		if gok != wok || !reflect.DeepEqual(canon(t, got), canon(t, want)) {
			t.Errorf("%s: sent %#v (present %v), got back %#v (present %v)", r.scim, want, wok, got, gok)
		}
	}
	// Nothing to send when the same resource comes again.
	d, err := m.Diff(stored, in)
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	if !d.Empty() {
		t.Errorf("Diff of the same resource = %+v, want empty", diffJSON(d))
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	m := goldenMapping(t)
	tests := []struct {
		name string
		body string
	}{
		{"entra full create", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
			"externalId":"jdoe","userName":"jdoe@contoso.com","active":"True","displayName":"John Doe","title":"Engineer",
			"emails":[{"primary":true,"type":"work","value":"JDoe@Contoso.com"}],
			"name":{"formatted":"John Doe","familyName":"Doe","givenName":"John"},
			"phoneNumbers":[{"type":"mobile","value":"+1 (555) 010-0199"},{"type":"work","value":"555-0100"}],
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"00701984","department":"Sales","manager":{"value":"m-1"}},
			"roles":[],"nickName":null}`},
		{"bare userName in the default domain", `{"userName":"Test_User_ab6490ee","active":true}`},
		{"upn in the default domain keeps its @", `{"userName":"alice@local","active":false}`},
		{"upn case kept", `{"userName":"Alice.Smith@CONTOSO.com","active":true}`},
		{"manager as a bare string", `{"userName":"bob@x.y","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m-2"}}`},
		{"unicode names", `{"userName":"zoe@x.y","name":{"givenName":"Zoë","familyName":"Ångström","formatted":"Zoë Ångström"},"displayName":"ゾーイ"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := roundTrip(t, m, tc.body)
			if _, ok := out["active"].(bool); !ok {
				t.Fatalf("active is %T, want a JSON boolean", out["active"])
			}
			if ext, ok := out[SchemaEnterpriseUser].(map[string]any); ok {
				if mgr, ok := ext["manager"]; ok {
					if _, ok := mgr.(map[string]any); !ok {
						t.Fatalf("manager is %T, want {\"value\": ...}", mgr)
					}
				}
			}
		})
	}
}

// TestRoundTripCustomMapping maps other attributes by configuration only: an address sub-attribute,
// an enterprise attribute, a property, and drops title (the default emails primary rule carries a
// boolean given as a string).
func TestRoundTripCustomMapping(t *testing.T) {
	cfg := DefaultMappingConfig()
	cfg.DefaultDomain = "corp.example"
	var users []AttributeRule
	for _, r := range cfg.Users {
		if r.SCIM != "title" {
			users = append(users, r)
		}
	}
	cfg.Users = append(users,
		AttributeRule{SCIM: `addresses[type eq "work"].postalCode`, Property: "postalCode"},
		AttributeRule{SCIM: SchemaEnterpriseUser + ":costCenter", Property: "costCenter"},
		AttributeRule{SCIM: "nickName", Property: "nick"},
	)
	m, err := NewMapping(cfg)
	if err != nil {
		t.Fatalf("NewMapping: %v", err)
	}
	body := `{"userName":"jdoe","title":"Dropped","nickName":"JD",
		"emails":[{"type":"work","value":"j@x.y","primary":"True"}],
		"addresses":[{"type":"home","postalCode":"00000"},{"type":"work","postalCode":"98052","locality":"Redmond"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"costCenter":"CC-7"}}`
	in, _ := ParseUser([]byte(body))
	created, _, err := m.ToPortalUser(in)
	if err != nil {
		t.Fatal(err)
	}
	// The home address and the work locality are beyond the postalCode rule: the default whole
	// addresses rule keeps them.
	wantProps := map[string]any{"scimLoginForm": "plain", "postalCode": "98052", "costCenter": "CC-7", "emailPrimary": true, "nick": "JD",
		"scimAddresses": `[{"postalCode":"00000","type":"home"},{"locality":"Redmond","postalCode":"98052","type":"work"}]`}
	if !reflect.DeepEqual(created.Properties, wantProps) || created.Domain != "corp.example" {
		t.Fatalf("properties %v domain %q, want %v corp.example", created.Properties, created.Domain, wantProps)
	}
	out := roundTrip(t, m, body)
	if _, ok := out["title"]; ok {
		t.Fatalf("a dropped attribute came back: %v", out["title"])
	}
	if got := m.SCIMAttribute("properties.postalCode"); got != `addresses[type eq "work"].postalCode` {
		t.Fatalf("SCIMAttribute(properties.postalCode) = %q", got)
	}
}

func TestFieldChanges(t *testing.T) {
	m := goldenMapping(t)
	in, _ := ParseUser([]byte(`{"userName":"jdoe@contoso.com","active":true,"emails":[{"type":"work","value":"j@c.com"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}`))
	_, changes, err := m.ToPortalUser(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []FieldChange{
		{SCIM: "userName", Portal: "userName", New: "jdoe", Redact: RedactHash},
		{SCIM: "userName", Portal: "domain", New: "contoso.com", Redact: RedactHash},
		{SCIM: "userName", Portal: "properties.scimLoginForm", New: "upn", Redact: RedactHash},
		{SCIM: "active", Portal: "enabled", New: true},
		{SCIM: `emails[type eq "work"].value`, Portal: "contactEmail", New: "j@c.com", Redact: RedactMask},
		{SCIM: SchemaEnterpriseUser + ":department", Portal: "properties.department", New: "Sales"},
	}
	if !reflect.DeepEqual(changes, want) {
		t.Fatalf("ToPortalUser changes:\n got %+v\nwant %+v", changes, want)
	}

	current := storeInPortal(t, NewPortalUser{UserName: "jdoe", Domain: "contoso.com", ContactEmail: "j@c.com",
		Properties: map[string]any{"scimLoginForm": "upn", "department": "Sales", "foreign": "x"}})
	desired, _ := ParseUser([]byte(`{"userName":"jdoe@contoso.com","active":false,"emails":[{"type":"work","value":"J@C.com"}]}`))
	d, err := m.Diff(current, desired)
	if err != nil {
		t.Fatal(err)
	}
	wantDiff := []FieldChange{
		{SCIM: "active", Portal: "enabled", Old: true, New: false},
		{SCIM: `emails[type eq "work"].value`, Portal: "contactEmail", Old: "j@c.com", New: "J@C.com", Redact: RedactMask},
		{SCIM: SchemaEnterpriseUser + ":department", Portal: "properties.department", Old: "Sales", New: nil},
	}
	if !reflect.DeepEqual(d.Changes, wantDiff) {
		t.Fatalf("Diff changes:\n got %+v\nwant %+v", d.Changes, wantDiff)
	}
	if _, touched := d.Patch.Properties["foreign"]; touched {
		t.Fatalf("Diff touched a property no rule maps")
	}
	if d.Active == nil || *d.Active {
		t.Fatalf("Active = %v, want false", d.Active)
	}
	body, err := json.Marshal(d.Patch)
	if err != nil {
		t.Fatal(err)
	}
	jsonEqual(t, "portal PATCH body", json.RawMessage(body), []byte(`{"contactEmail":"J@C.com","properties":{"department":null}}`))
}
