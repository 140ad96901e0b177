package translator

import (
	"reflect"
	"testing"
)

func TestApplyPatchBadOpsLeaveResourceUnchanged(t *testing.T) {
	valid := PatchOp{Op: "Replace", Path: "title", Value: "Boss"}
	tests := []struct {
		name     string
		bad      PatchOp
		scimType string
	}{
		{"unknown op", PatchOp{Op: "Merge", Path: "title", Value: "x"}, ScimInvalidValue},
		{"empty op", PatchOp{Op: "", Path: "title", Value: "x"}, ScimInvalidValue},
		{"unparsable path", PatchOp{Op: "replace", Path: `emails[type eq "work"`, Value: "x"}, ScimInvalidPath},
		{"bad attribute name", PatchOp{Op: "replace", Path: "1title", Value: "x"}, ScimInvalidPath},
		{"filter on a simple attribute", PatchOp{Op: "replace", Path: `title[value eq "x"]`, Value: "x"}, ScimInvalidPath},
		{"bad key in a path-less value", PatchOp{Op: "replace", Value: map[string]any{"title": "x", "bad key": "y"}}, ScimInvalidPath},
		{"active not a boolean", PatchOp{Op: "replace", Path: "active", Value: "maybe"}, ScimInvalidValue},
		{"string attribute given an object", PatchOp{Op: "replace", Path: "displayName", Value: map[string]any{"a": "b"}}, ScimInvalidValue},
		{"complex attribute given a number", PatchOp{Op: "replace", Path: "name", Value: 3.0}, ScimInvalidValue},
		{"path-less value not an object", PatchOp{Op: "add", Value: []any{"x"}}, ScimInvalidValue},
		{"remove without a path", PatchOp{Op: "remove"}, ScimNoTarget},
		{"filtered path that cannot be created", PatchOp{Op: "replace", Path: `emails[value co "zzz"].type`, Value: "work"}, ScimNoTarget},
		{"extension given a string", PatchOp{Op: "replace", Path: SchemaEnterpriseUser, Value: "x"}, ScimInvalidValue},
		{"add without a value", PatchOp{Op: "Add", Path: "title"}, ScimInvalidValue},
		{"add of a complex attribute without a value", PatchOp{Op: "add", Path: "name"}, ScimInvalidValue},
		{"add to a filtered path without a value", PatchOp{Op: "add", Path: `emails[type eq "work"].value`}, ScimInvalidValue},
		{"add without a path or a value", PatchOp{Op: "add"}, ScimInvalidValue},
		{"path-less add with a null value", PatchOp{Op: "add", Value: map[string]any{"title": nil}}, ScimInvalidValue},
		{"path-less add with a null extension value", PatchOp{Op: "add", Value: map[string]any{SchemaEnterpriseUser: map[string]any{"department": nil}}}, ScimInvalidValue},
		{"path-less replace with an empty object", PatchOp{Op: "replace", Value: map[string]any{}}, ScimInvalidValue},
		{"path-less add with an empty object", PatchOp{Op: "add", Value: map[string]any{}}, ScimInvalidValue},
		{"path-less replace with a null value", PatchOp{Op: "replace"}, ScimInvalidValue},
		{"remove without a path but with a value", PatchOp{Op: "remove", Value: map[string]any{"title": "x"}}, ScimNoTarget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := sampleUser()
			before := res.Clone()
			got, err := ApplyPatch(res, []PatchOp{valid, tc.bad, valid})
			e := AsError(err)
			if e == nil || e.Code != EInvalid || e.ScimType != tc.scimType {
				t.Fatalf("error %v, want invalid/%s", err, tc.scimType)
			}
			if !reflect.DeepEqual(res, before) {
				t.Fatalf("the input was modified")
			}
			if !reflect.DeepEqual(got, before) {
				t.Fatalf("the result is not the unchanged resource: %v", got)
			}
		})
	}
}

func TestApplyPatchKeepsOneEntryPerType(t *testing.T) {
	res := sampleUser()
	got, err := ApplyPatch(res, []PatchOp{
		{Op: "add", Path: "emails", Value: []any{map[string]any{"type": "work", "value": "a@x.com"}}},
		{Op: "add", Value: map[string]any{"emails": []any{map[string]any{"type": "WORK", "value": "b@x.com"}}}},
		{Op: "add", Path: `emails[type eq "other"].value`, Value: "c@x.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []any{
		map[string]any{"type": "WORK", "value": "b@x.com"},
		map[string]any{"type": "home", "value": "john@example.org"},
		map[string]any{"type": "other", "value": "c@x.com"},
	}
	if !reflect.DeepEqual(got["emails"], want) {
		t.Fatalf("emails = %v, want %v", got["emails"], want)
	}
}

func TestApplyGroupPatchMembers(t *testing.T) {
	group := Resource{"schemas": []any{SchemaGroup}, "id": "g-1", "displayName": "Sales"}
	member := func(ids ...string) []any {
		out := []any{}
		for _, id := range ids {
			out = append(out, map[string]any{"value": id})
		}
		return out
	}
	tests := []struct {
		name string
		ops  []PatchOp
		want MemberChanges
	}{
		{"add several", []PatchOp{{Op: "Add", Path: "members", Value: []any{map[string]any{"$ref": nil, "value": "u-1"}, map[string]any{"Value": "u-2"}}}},
			MemberChanges{Add: []string{"u-1", "u-2"}}},
		{"remove listed members only (the wipe bug)", []PatchOp{{Op: "Remove", Path: "members", Value: member("u-1")}},
			MemberChanges{Remove: []string{"u-1"}}},
		{"remove with an empty list removes nothing", []PatchOp{{Op: "Remove", Path: "members", Value: []any{}}},
			MemberChanges{}},
		{"remove by filter", []PatchOp{{Op: "remove", Path: `members[value eq "u-1"]`}},
			MemberChanges{Remove: []string{"u-1"}}},
		{"remove by or-filter", []PatchOp{{Op: "remove", Path: `members[value eq "u-1" or value eq "u-2"]`}},
			MemberChanges{Remove: []string{"u-1", "u-2"}}},
		{"remove without value removes all", []PatchOp{{Op: "Remove", Path: "members"}},
			MemberChanges{RemoveAll: true}},
		{"replace", []PatchOp{{Op: "Replace", Path: "members", Value: member("u-3")}},
			MemberChanges{RemoveAll: true, Add: []string{"u-3"}}},
		{"path-less add", []PatchOp{{Op: "add", Value: map[string]any{"members": member("u-4")}}},
			MemberChanges{Add: []string{"u-4"}}},
		{"last op on a member wins", []PatchOp{
			{Op: "add", Path: "members", Value: member("u-1", "u-2")},
			{Op: "remove", Path: "members", Value: member("u-1")},
			{Op: "add", Path: "members", Value: member("u-1")},
			{Op: "remove", Path: `members[value eq "u-2"]`},
		}, MemberChanges{Add: []string{"u-1"}, Remove: []string{"u-2"}}},
		{"remove all then add", []PatchOp{
			{Op: "add", Path: "members", Value: member("u-1")},
			{Op: "remove", Path: "members"},
			{Op: "add", Path: "members", Value: member("u-2")},
		}, MemberChanges{RemoveAll: true, Add: []string{"u-2"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gp, err := ApplyGroupPatch(group, tc.ops)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gp.Members, tc.want) {
				t.Fatalf("members = %+v, want %+v", gp.Members, tc.want)
			}
			if !reflect.DeepEqual(gp.Resource, group) {
				t.Fatalf("member ops changed the resource: %v", gp.Resource)
			}
		})
	}
}

func TestApplyGroupPatchErrors(t *testing.T) {
	group := Resource{"schemas": []any{SchemaGroup}, "id": "g-1", "displayName": "Sales"}
	tests := []struct {
		name     string
		op       PatchOp
		scimType string
	}{
		{"filter on another sub-attribute", PatchOp{Op: "remove", Path: `members[display eq "Bob"]`}, ScimInvalidPath},
		{"filtered add", PatchOp{Op: "add", Path: `members[value eq "u"]`, Value: []any{}}, ScimInvalidPath},
		{"members sub-attribute path", PatchOp{Op: "remove", Path: "members.value"}, ScimInvalidPath},
		{"member without value", PatchOp{Op: "add", Path: "members", Value: []any{map[string]any{"display": "Bob"}}}, ScimInvalidValue},
		{"member value not a string", PatchOp{Op: "add", Path: "members", Value: []any{map[string]any{"value": 7.0}}}, ScimInvalidValue},
		{"add of members without a value", PatchOp{Op: "add", Path: "members"}, ScimInvalidValue},
		{"add of displayName without a value", PatchOp{Op: "add", Path: "displayName"}, ScimInvalidValue},
		{"path-less replace with an empty object", PatchOp{Op: "replace", Value: map[string]any{}}, ScimInvalidValue},
		{"remove without a path", PatchOp{Op: "remove"}, ScimNoTarget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok := PatchOp{Op: "replace", Path: "displayName", Value: "Renamed"}
			gp, err := ApplyGroupPatch(group, []PatchOp{ok, tc.op})
			if e := AsError(err); e == nil || e.ScimType != tc.scimType {
				t.Fatalf("error %v, want %s", err, tc.scimType)
			}
			if !gp.Members.Empty() || !reflect.DeepEqual(gp.Resource, group) {
				t.Fatalf("a failed patch has effects: %+v", gp)
			}
		})
	}
}

func TestDiffGroup(t *testing.T) {
	m := goldenMapping(t)
	cur := PortalGroup{IDGroup: 7, GUIDGroup: "g-7", Name: "Sales", ExternalKey: "ext-7"}
	tests := []struct {
		name    string
		desired Resource
		fields  map[string]*string
		members *MemberChanges
	}{
		{"unchanged", Resource{"displayName": "Sales", "externalId": "ext-7"}, nil, nil},
		{"renamed", Resource{"displayName": "Sales EMEA", "externalId": "ext-7"}, map[string]*string{"name": ptr("Sales EMEA")}, nil},
		{"externalId cleared", Resource{"displayName": "Sales"}, map[string]*string{"externalKey": nil}, nil},
		{"members named", Resource{"displayName": "Sales", "externalId": "ext-7", "members": []any{map[string]any{"value": "u-1"}}}, nil,
			&MemberChanges{RemoveAll: true, Add: []string{"u-1"}}},
		{"members emptied", Resource{"displayName": "Sales", "externalId": "ext-7", "members": []any{}}, nil,
			&MemberChanges{RemoveAll: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := m.DiffGroup(cur, tc.desired)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(d.Patch.Fields, tc.fields) || !reflect.DeepEqual(d.Members, tc.members) {
				t.Fatalf("DiffGroup = %+v / %+v, want %+v / %+v", d.Patch.Fields, d.Members, tc.fields, tc.members)
			}
			if d.Empty() != (tc.fields == nil && tc.members == nil) {
				t.Fatalf("Empty() = %v", d.Empty())
			}
		})
	}
	if _, err := m.DiffGroup(cur, Resource{"externalId": "x"}); AsError(err) == nil || AsError(err).Target != "displayName" {
		t.Fatalf("DiffGroup without displayName: %v, want invalidValue on displayName", err)
	}
}

func ptr(s string) *string { return &s }

func TestFromPortalGroup(t *testing.T) {
	m := goldenMapping(t)
	g := PortalGroup{IDGroup: 7, GUIDGroup: "g-7", Name: "Sales", ExternalKey: "ext-7"}
	got := m.FromPortalGroup(g, []PortalMember{{IDUser: 1, GUIDUser: "u-1"}, {IDUser: 2, GUIDUser: "u-2"}}, Meta{Location: "https://gw/scim/v2/Groups/g-7"})
	want := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g-7","displayName":"Sales","externalId":"ext-7",
		"members":[{"value":"u-1"},{"value":"u-2"}],"meta":{"resourceType":"Group","location":"https://gw/scim/v2/Groups/g-7"}}`
	jsonEqual(t, "group", got, []byte(want))
	if _, ok := m.FromPortalGroup(g, nil, Meta{})["members"]; ok {
		t.Fatalf("nil members rendered")
	}
}

func TestParsePatchRequestErrors(t *testing.T) {
	tests := []struct {
		name, body, scimType string
	}{
		{"not JSON", `{"Operations":`, ScimInvalidSyntax},
		{"not an object", `[]`, ScimInvalidSyntax},
		{"no operations", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, ScimInvalidSyntax},
		{"empty operations", `{"Operations":[]}`, ScimInvalidSyntax},
		{"operation not an object", `{"Operations":["add"]}`, ScimInvalidSyntax},
		{"op missing", `{"Operations":[{"path":"title"}]}`, ScimInvalidSyntax},
		{"path not a string", `{"Operations":[{"op":"add","path":7}]}`, ScimInvalidPath},
		{"trailing data", `{"Operations":[{"op":"add","value":{}}]} {}`, ScimInvalidSyntax},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePatchRequest([]byte(tc.body))
			if e := AsError(err); e == nil || e.ScimType != tc.scimType {
				t.Fatalf("error %v, want %s", err, tc.scimType)
			}
		})
	}
}
