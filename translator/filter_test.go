package translator

import (
	"reflect"
	"testing"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		in   string
		want string // the canonical rendering; "" with err for a parse error
		err  bool
	}{
		{in: `userName eq "bjensen"`, want: `userName eq "bjensen"`},
		{in: `  UserName   EQ "Alice@Contoso.com" `, want: `UserName eq "Alice@Contoso.com"`},
		{in: `externalId eq jdoe`, want: `externalId eq "jdoe"`},
		{in: `externalId eq 0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef`, want: `externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`},
		{in: `emails[type eq "work"].value eq "a@b.com"`, want: `emails[type eq "work" and value eq "a@b.com"]`},
		{in: `emails[type eq "work" and value eq "a@b.com"]`, want: `emails[type eq "work" and value eq "a@b.com"]`},
		{in: `name.familyName co "O'Malley"`, want: `name.familyName co "O'Malley"`},
		{in: `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, want: `urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`},
		{in: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, want: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`},
		{in: `title pr and userType eq "Employee"`, want: `title pr and userType eq "Employee"`},
		{in: `title pr or userType eq "Intern"`, want: `title pr or userType eq "Intern"`},
		{in: `userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, want: `userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`},
		{in: `userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, want: `userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`},
		{in: `a eq "1" or b eq "2" and c eq "3"`, want: `a eq "1" or b eq "2" and c eq "3"`},
		{in: `(a eq "1" or b eq "2") and c eq "3"`, want: `(a eq "1" or b eq "2") and c eq "3"`},
		{in: `meta.lastModified gt "2011-05-13T04:42:34Z"`, want: `meta.lastModified gt "2011-05-13T04:42:34Z"`},
		{in: `emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, want: `emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`},
		{in: `active eq True`, want: `active eq true`},
		{in: `active eq false`, want: `active eq false`},
		{in: `nickName eq NULL`, want: `nickName eq null`},
		{in: `x eq -1.5e3`, want: `x eq -1.5e3`},
		{in: `displayName eq "a \"quoted\" name\u00e9"`, want: `displayName eq "a \"quoted\" nameé"`},
		{in: `members[value eq "u-1"]`, want: `members[value eq "u-1"]`},
		{in: `emails[type eq "work"].value pr`, want: `emails[type eq "work" and value pr]`},
		{in: "", want: ""},
		{in: "   ", want: ""},
		{in: `userName eq`, err: true},
		{in: `userName "x"`, err: true},
		{in: `userName zz "x"`, err: true},
		{in: `(userName eq "x"`, err: true},
		{in: `userName eq "x")`, err: true},
		{in: `emails[type eq "work"`, err: true},
		{in: `emails[type eq "work"[value eq "x"]]`, err: true},
		{in: `userName eq "unterminated`, err: true},
		{in: `1abc eq "x"`, err: true},
		{in: `userName eq "x" extra`, err: true},
		{in: `not userName eq "x"`, err: true},
		{in: `userName eq "x" and`, err: true},
		{in: `name.given.name eq "x"`, err: true},
		{in: `emails.value[type eq "work"]`, err: true},
		{in: `userName eq ("x")`, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			f, err := ParseFilter(tc.in)
			if tc.err {
				if err == nil {
					t.Fatalf("ParseFilter(%q) = %q, want an error", tc.in, f.String())
				}
				if e := AsError(err); e == nil || e.Code != EInvalid || e.ScimType != ScimInvalidFilter {
					t.Fatalf("error %v, want invalid/invalidFilter", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFilter(%q): %v", tc.in, err)
			}
			if got := f.String(); got != tc.want {
				t.Fatalf("ParseFilter(%q) renders %q, want %q", tc.in, got, tc.want)
			}
			// The rendering parses back to itself.
			again, err := ParseFilter(f.String())
			if err != nil || again.String() != f.String() {
				t.Fatalf("re-parsing %q: %q, %v", f.String(), again.String(), err)
			}
		})
	}
}

// sampleUser is a user as FromPortalUser renders it, plus attributes a filter may name.
func sampleUser() Resource {
	return Resource{
		"schemas":    []any{SchemaUser, SchemaEnterpriseUser},
		"id":         "8f1c2d3e-aaaa-4000-8000-000000000042",
		"userName":   "jdoe@contoso.com",
		"externalId": "jdoe-ext",
		"active":     true,
		"title":      "Engineer",
		"name":       map[string]any{"givenName": "John", "familyName": "Doe"},
		"emails": []any{
			map[string]any{"type": "work", "value": "JDoe@Contoso.com"},
			map[string]any{"type": "home", "value": "john@example.org"},
		},
		SchemaEnterpriseUser: map[string]any{"department": "Sales", "manager": map[string]any{"value": "mgr-1"}},
		"meta": map[string]any{"resourceType": "User", "created": "2026-11-26T08:34:08.123Z",
			"location": "https://scim.example.com/scim/v2/Users/8f1c2d3e-aaaa-4000-8000-000000000042"},
	}
}

func TestFilterMatches(t *testing.T) {
	group := Resource{"schemas": []any{SchemaGroup}, "id": "g-1", "displayName": "Sales",
		"members": []any{map[string]any{"value": "u-1"}}}
	tests := []struct {
		filter string
		res    Resource
		want   bool
	}{
		{`userName eq "JDOE@CONTOSO.COM"`, nil, true},
		{`USERNAME eq "jdoe@contoso.com"`, nil, true},
		{`userName eq "jdoe"`, nil, false},
		{`externalId eq "jdoe-ext"`, nil, true},
		{`externalId eq "JDOE-EXT"`, nil, false},
		{`externalId eq jdoe-ext`, nil, true},
		{`id eq "8F1C2D3E-AAAA-4000-8000-000000000042"`, nil, false},
		{`id eq "8f1c2d3e-aaaa-4000-8000-000000000042"`, nil, true},
		{`emails[type eq "work"].value eq "jdoe@contoso.com"`, nil, true},
		{`emails[type eq "Work" and value eq "JDOE@contoso.com"]`, nil, true},
		{`emails[type eq "home"].value eq "jdoe@contoso.com"`, nil, false},
		{`emails.value eq "john@example.org"`, nil, true},
		{`emails co "example.org"`, nil, true},
		{`emails ew ".COM"`, nil, true},
		{`name.familyName sw "d"`, nil, true},
		{`name.familyName gt "A" and name.familyName lt "E"`, nil, true},
		{`title pr`, nil, true},
		{`nickName pr`, nil, false},
		{`nickName eq null`, nil, true},
		{`title ne null`, nil, true},
		{`active eq true`, nil, true},
		{`active eq "True"`, nil, true},
		{`active eq false`, nil, false},
		{`active ne false`, nil, true},
		{`meta.created gt "2026-01-01T00:00:00Z"`, nil, true},
		{`meta.created lt "2026-11-26T08:34:08Z"`, nil, false},
		{`meta.location eq "HTTPS://scim.example.com/scim/v2/Users/8f1c2d3e-aaaa-4000-8000-000000000042"`, nil, false},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "sales"`, nil, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "mgr-1"`, nil, true},
		{`manager eq "mgr-1"`, nil, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:title eq "engineer"`, nil, true},
		{`not (title eq "Engineer")`, nil, false},
		{`userName eq "x" or title eq "Engineer"`, nil, true},
		{`userName eq "x" and title eq "Engineer"`, nil, false},
		{`userName ne "x"`, nil, true},
		{`title eq 42`, nil, false},
		{`unknownAttr eq "x"`, nil, false},
		{`unknownAttr ne "x"`, nil, true},
		{`displayName eq "sales"`, group, true},
		{`members[value eq "u-1"]`, group, true},
		{`members eq "u-2"`, group, false},
		{"", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			f, err := ParseFilter(tc.filter)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			res := tc.res
			if res == nil {
				res = sampleUser()
			}
			if got := f.Matches(res); got != tc.want {
				t.Fatalf("%q matches = %v, want %v", tc.filter, got, tc.want)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	m := goldenMapping(t)
	tests := []struct {
		filter   string
		group    bool
		push     []PortalFilter
		residual string
	}{
		{filter: `userName eq "alice@contoso.com"`, push: []PortalFilter{{FieldUserName, "alice"}, {FieldDomain, "contoso.com"}}, residual: `userName eq "alice@contoso.com"`},
		{filter: `userName eq "3f9a1c0e-6d9b-4c39-9d0f-5a1e2b3c4d5e"`, push: []PortalFilter{{FieldUserName, "3f9a1c0e-6d9b-4c39-9d0f-5a1e2b3c4d5e"}, {FieldDomain, "local"}}, residual: `userName eq "3f9a1c0e-6d9b-4c39-9d0f-5a1e2b3c4d5e"`},
		{filter: `externalId eq jdoe`, push: []PortalFilter{{FieldExternalKey, "jdoe"}}, residual: `externalId eq "jdoe"`},
		{filter: `emails[type eq "work"].value eq "a@b.com"`, push: []PortalFilter{{FieldContactEmail, "a@b.com"}}},
		{filter: `emails[Type eq "WORK" and Value eq "a@b.com"]`, push: []PortalFilter{{FieldContactEmail, "a@b.com"}}},
		{filter: `emails[type eq "home" and value eq "a@b.com"]`, residual: `emails[type eq "home" and value eq "a@b.com"]`},
		{filter: `emails[type eq "work"].value co "a@b.com"`, residual: `emails[type eq "work" and value co "a@b.com"]`},
		{filter: `active eq false`, push: []PortalFilter{{FieldEnabled, false}}},
		{filter: `id eq "guid-1"`, push: []PortalFilter{{FieldGUIDUser, "guid-1"}}, residual: `id eq "guid-1"`},
		{filter: `userName eq "a@b.com" and title eq "x"`, push: []PortalFilter{{FieldUserName, "a"}, {FieldDomain, "b.com"}}, residual: `userName eq "a@b.com" and title eq "x"`},
		{filter: `active eq true and emails[type eq "work"].value eq "a@b.com"`, push: []PortalFilter{{FieldEnabled, true}, {FieldContactEmail, "a@b.com"}}},
		{filter: `externalId eq "a" or userName eq "b"`, residual: `externalId eq "a" or userName eq "b"`},
		{filter: `not (externalId eq "a")`, residual: `not (externalId eq "a")`},
		{filter: `displayName eq "x"`, residual: `displayName eq "x"`},
		{filter: `name.givenName eq "x"`, residual: `name.givenName eq "x"`},
		{filter: `userName sw "a"`, residual: `userName sw "a"`},
		{filter: `userName eq null`, residual: `userName eq null`},
		{filter: ``},
		{filter: `displayName eq "Sales"`, group: true, push: []PortalFilter{{FieldName, "Sales"}}},
		{filter: `externalId eq "x" and displayName eq "Sales"`, group: true, push: []PortalFilter{{FieldExternalKey, "x"}, {FieldName, "Sales"}}, residual: `externalId eq "x"`},
		{filter: `id eq "g-1"`, group: true, push: []PortalFilter{{FieldGUIDGroup, "g-1"}}, residual: `id eq "g-1"`},
		{filter: `displayName co "Sal"`, group: true, residual: `displayName co "Sal"`},
		// Microsoft's SCIM reference collection: nothing the portal can answer, all in the gateway.
		{filter: `name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`,
			residual: `name.FamilyName eq "Employee" and (emails.Value co "example.com" or emails.Value co "example.org")`},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			f, err := ParseFilter(tc.filter)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			var push []PortalFilter
			var residual Filter
			if tc.group {
				push, residual = m.PlanGroup(f)
			} else {
				push, residual = m.Plan(f)
			}
			if !reflect.DeepEqual(push, tc.push) {
				t.Fatalf("push %v, want %v", push, tc.push)
			}
			if got := residual.String(); got != tc.residual {
				t.Fatalf("residual %q, want %q", got, tc.residual)
			}
		})
	}
}

// TestPlanIsSound checks that pushing and then evaluating the residual selects exactly what the
// whole filter selects, for resources whose portal record satisfies the pushed terms.
func TestPlanIsSound(t *testing.T) {
	m := goldenMapping(t)
	res := sampleUser()
	for _, tc := range []struct {
		filter string
		want   bool
	}{
		{`externalId eq "JDOE-EXT"`, false}, // the portal says yes (case-insensitive), the gateway no
		{`externalId eq "jdoe-ext"`, true},
		{`userName eq "jdoe"`, false}, // a plain login in the default domain is another user
		{`userName eq "JDOE@contoso.com"`, true},
	} {
		t.Run(tc.filter, func(t *testing.T) {
			f, err := ParseFilter(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			push, residual := m.Plan(f)
			if len(push) == 0 {
				t.Fatalf("nothing pushed for %q", tc.filter)
			}
			if got := residual.Matches(res); got != tc.want {
				t.Fatalf("residual %q matches = %v, want %v", residual.String(), got, tc.want)
			}
		})
	}
}

func TestPlanCaseExactRule(t *testing.T) {
	cfg := DefaultMappingConfig()
	for i := range cfg.Users {
		if cfg.Users[i].SCIM == "title" {
			cfg.Users[i].CaseExact = true
		}
	}
	exact, err := NewMapping(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    *Mapping
		want bool
	}{
		{"default mapping compares title case-insensitively", goldenMapping(t), true},
		{"a caseExact rule compares title exactly", exact, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := ParseFilter(`title eq "ENGINEER"`)
			if err != nil {
				t.Fatal(err)
			}
			_, residual := tc.m.Plan(f)
			if got := residual.Matches(sampleUser()); got != tc.want {
				t.Fatalf("matches = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestMicrosoftCollectionFilter evaluates the filter of Microsoft's SCIM reference collection (unquoted
// values, sub-attribute names in another case, co on the multi-valued emails) on users as the portal
// gives them back: created through the mapping, stored, rendered.
func TestMicrosoftCollectionFilter(t *testing.T) {
	m := goldenMapping(t)
	f, err := ParseFilter(`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`)
	if err != nil {
		t.Fatal(err)
	}
	_, residual := m.Plan(f)
	for _, tc := range []struct {
		body string
		want bool
	}{
		{`{"userName":"emp1","name":{"familyName":"Employee"},"emails":[{"type":"work","primary":true,"value":"anna33@example.com"}]}`, true},
		{`{"userName":"emp2","name":{"familyName":"employee"},"emails":[{"Type":"work","Value":"b@EXAMPLE.ORG"}]}`, true},
		{`{"userName":"emp3","name":{"familyName":"Employee"},"emails":[{"type":"work","value":"c@gmail.com"}]}`, false},
		{`{"userName":"omalley","name":{"familyName":"OMalley"},"emails":[{"type":"work","value":"d@example.com"}]}`, false},
		// The collection's users: the matching address is a second work email. The portal's contact
		// email holds the first; the whole emails attribute (property scimEmails) holds the second.
		{`{"userName":"emp4","name":{"familyName":"Employee"},"emails":[{"type":"work","primary":true,"value":"e@gmail.com"},{"type":"work","value":"e@example.com"}]}`, true},
		{`{"userName":"emp5","name":{"familyName":"Employee"},"emails":[{"type":"work","value":"f@gmail.com"},{"type":"home","value":"f@example.org"}]}`, true},
		{`{"userName":"emp6","name":{"familyName":"Employee"},"emails":[{"type":"work","value":"g@gmail.com"},{"type":"home","value":"g@gmail.org"}]}`, false},
	} {
		in, err := ParseUser([]byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		created, _, err := m.ToPortalUser(in)
		if err != nil {
			t.Fatal(err)
		}
		res := m.FromPortalUser(storeInPortal(t, created), Meta{})
		if got := residual.Matches(res); got != tc.want {
			t.Errorf("%s: matches = %v, want %v", tc.body, got, tc.want)
		}
	}
}
