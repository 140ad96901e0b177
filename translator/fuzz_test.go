package translator

import "testing"

// Seeds: every filter and path shape of AZURE_AD.md, plus RFC 7644's examples and some broken ones.
var filterSeeds = []string{
	`userName eq "3f9a1c0e-6d9b-4c39-9d0f-5a1e2b3c4d5e"`,
	`userName eq "alice@contoso.com"`,
	`externalId eq jdoe`,
	`emails[type eq "work"].value eq "a@b.com"`,
	`emails[type eq "work" and value eq "a@b.com"]`,
	`displayName eq "Sales"`,
	`title pr and userType eq "Employee"`,
	`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
	`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
	`meta.lastModified gt "2011-05-13T04:42:34Z"`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"`,
	`active eq True`,
	`members[value eq "u-1"]`,
	`emails[type eq "work"`,
	`((((userName eq "x"))))`,
	`a eq "\u00e9\"\\"`,
}

var pathSeeds = []string{
	`emails[type eq "work"].value`,
	`phoneNumbers[type eq "mobile"].value`,
	`addresses[type eq "work"].postalCode`,
	`active`,
	`name.familyName`,
	`nickName`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`,
	`manager[value eq "26118915-6090-4610-87e4-49d8ca9f808d"]`,
	`members`,
	`members[value eq "u-1"]`,
	`displayName`,
	`emails[type eq "work"`,
	`]`,
}

// FuzzParseFilter checks that the parser never panics, that what it accepts renders to a filter that
// parses back to the same rendering, and that evaluating and planning it never panic.
func FuzzParseFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	m, err := NewMapping(DefaultMappingConfig())
	if err != nil {
		f.Fatal(err)
	}
	res := sampleUser()
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			if e := AsError(err); e == nil || e.ScimType != ScimInvalidFilter {
				t.Fatalf("ParseFilter(%q) error %v is not invalidFilter", s, err)
			}
			return
		}
		again, err := ParseFilter(flt.String())
		if err != nil {
			t.Fatalf("rendering %q of %q does not parse: %v", flt.String(), s, err)
		}
		if again.String() != flt.String() {
			t.Fatalf("rendering not stable: %q then %q", flt.String(), again.String())
		}
		flt.Matches(res)
		_, residual := m.Plan(flt)
		residual.Matches(res)
	})
}

// FuzzParsePath checks that the path parser never panics, that what it accepts renders to a path that
// parses back the same, and that applying an operation at it never panics.
func FuzzParsePath(f *testing.F) {
	for _, s := range pathSeeds {
		f.Add(s)
	}
	res := sampleUser()
	group := Resource{"schemas": []any{SchemaGroup}, "displayName": "g"}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			if e := AsError(err); e == nil || e.ScimType != ScimInvalidPath {
				t.Fatalf("ParsePath(%q) error %v is not invalidPath", s, err)
			}
			return
		}
		again, err := ParsePath(p.String())
		if err != nil || again.String() != p.String() {
			t.Fatalf("rendering %q of %q: %q, %v", p.String(), s, again.String(), err)
		}
		for _, op := range []string{"add", "replace", "remove"} {
			ops := []PatchOp{{Op: op, Path: s, Value: "x"}}
			if _, err := ApplyPatch(res, ops); err != nil && AsError(err) == nil {
				t.Fatalf("ApplyPatch error %v is not an *Error", err)
			}
			ApplyGroupPatch(group, ops)
		}
		if _, err := ParseProjection(s, s); err != nil && AsError(err) == nil {
			t.Fatalf("ParseProjection error %v is not an *Error", err)
		}
	})
}
