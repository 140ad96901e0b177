package translator

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestProjection(t *testing.T) {
	full := sampleUser()
	full["groups"] = []any{map[string]any{"value": "g-1", "display": "Sales"}}
	full["password"] = "never shown"
	always := func(extra map[string]any) map[string]any {
		out := map[string]any{"id": full["id"], "schemas": full["schemas"], "meta": full["meta"]}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	withoutKeys := func(keys ...string) map[string]any {
		out := map[string]any{}
		for k, v := range full {
			out[k] = v
		}
		for _, k := range keys {
			delete(out, k)
		}
		return out
	}
	ent := SchemaEnterpriseUser
	tests := []struct {
		name      string
		res       Resource
		attrs     string
		excluded  string
		want      map[string]any
		requested string // an attribute Requested must report
		excl      string // an attribute Excluded must report
	}{
		{name: "default leaves out groups and password", want: withoutKeys("groups", "password")},
		{name: "one attribute", attrs: "userName", want: always(map[string]any{"userName": "jdoe@contoso.com"})},
		{name: "names in any case, blanks around", attrs: " USERNAME , Name.GivenName ", want: always(map[string]any{
			"userName": "jdoe@contoso.com", "name": map[string]any{"givenName": "John"}})},
		{name: "sub-attribute", attrs: "name.givenName", want: always(map[string]any{"name": map[string]any{"givenName": "John"}})},
		{name: "filtered values", attrs: `emails[type eq "work"]`, want: always(map[string]any{
			"emails": []any{map[string]any{"type": "work", "value": "JDoe@Contoso.com"}}})},
		{name: "filtered values, one sub-attribute", attrs: `emails[type eq "work"].value`, want: always(map[string]any{
			"emails": []any{map[string]any{"value": "JDoe@Contoso.com"}}})},
		{name: "extension attribute", attrs: ent + ":department", want: always(map[string]any{ent: map[string]any{"department": "Sales"}})},
		{name: "unqualified extension attribute", attrs: "manager", want: always(map[string]any{ent: map[string]any{"manager": map[string]any{"value": "mgr-1"}}})},
		{name: "whole extension", attrs: ent, want: always(map[string]any{ent: full[ent]})},
		{name: "groups only when asked", attrs: "groups", requested: "groups", want: always(map[string]any{"groups": full["groups"]})},
		{name: "password never", attrs: "password,title", want: always(map[string]any{"title": "Engineer"})},
		{name: "unknown names ignored", attrs: "nope,title", want: always(map[string]any{"title": "Engineer"})},
		{name: "excluded attribute and sub-attribute", excluded: "emails,name.givenName", excl: "emails",
			want: func() map[string]any {
				out := withoutKeys("groups", "password", "emails")
				out["name"] = map[string]any{"familyName": "Doe"}
				return out
			}()},
		{name: "excluded filtered values", excluded: `emails[type eq "home"]`, want: func() map[string]any {
			out := withoutKeys("groups", "password")
			out["emails"] = []any{map[string]any{"type": "work", "value": "JDoe@Contoso.com"}}
			return out
		}()},
		{name: "excluded extension attribute", excluded: ent + ":manager", want: func() map[string]any {
			out := withoutKeys("groups", "password")
			out[ent] = map[string]any{"department": "Sales"}
			return out
		}()},
		{name: "id, schemas and meta cannot be excluded", excluded: "id,schemas,meta,title", want: withoutKeys("groups", "password", "title")},
		{name: "group members excluded", excl: "members",
			res:      Resource{"schemas": []any{SchemaGroup}, "id": "g", "displayName": "Sales", "members": []any{map[string]any{"value": "u"}}},
			excluded: "members",
			want:     map[string]any{"schemas": []any{SchemaGroup}, "id": "g", "displayName": "Sales"}},
		{name: "group attributes list leaves members out", excl: "members",
			res:   Resource{"schemas": []any{SchemaGroup}, "id": "g", "displayName": "Sales", "members": []any{map[string]any{"value": "u"}}},
			attrs: "displayName",
			want:  map[string]any{"schemas": []any{SchemaGroup}, "id": "g", "displayName": "Sales"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseProjection(tc.attrs, tc.excluded)
			if err != nil {
				t.Fatalf("ParseProjection: %v", err)
			}
			res := tc.res
			if res == nil {
				res = full
			}
			before := res.Clone()
			got := p.Apply(res)
			if !reflect.DeepEqual(res, before) {
				t.Fatalf("Apply modified its input")
			}
			if !reflect.DeepEqual(map[string]any(got), tc.want) {
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(tc.want)
				t.Fatalf("got  %s\nwant %s", gb, wb)
			}
			if tc.requested != "" && !p.Requested(tc.requested) {
				t.Fatalf("Requested(%q) = false", tc.requested)
			}
			if tc.requested == "" && p.Requested("groups") {
				t.Fatalf("Requested(groups) = true without asking")
			}
			if tc.excl != "" && !p.Excluded(tc.excl) {
				t.Fatalf("Excluded(%q) = false", tc.excl)
			}
		})
	}
}

func TestParseProjectionErrors(t *testing.T) {
	for _, tc := range []struct{ attrs, excluded string }{
		{`emails[type eq "work"`, ""},
		{"", "name..givenName"},
		{"1title", ""},
	} {
		t.Run(tc.attrs+"|"+tc.excluded, func(t *testing.T) {
			_, err := ParseProjection(tc.attrs, tc.excluded)
			if e := AsError(err); e == nil || e.ScimType != ScimInvalidValue {
				t.Fatalf("error %v, want invalidValue", err)
			}
		})
	}
}

func TestSplitList(t *testing.T) {
	got := splitList(` a, emails[type eq "x,y"].value ,, b `)
	want := []string{"a", `emails[type eq "x,y"].value`, "b"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("splitList = %q, want %q", got, want)
	}
}

func TestProjectionIsZero(t *testing.T) {
	for _, tc := range []struct {
		attrs, excluded string
		want            bool
	}{
		{"", "", true},
		{"userName", "", false},
		{"", "emails", false},
		{"", "members", false},
	} {
		p, err := ParseProjection(tc.attrs, tc.excluded)
		if err != nil {
			t.Fatal(err)
		}
		if p.IsZero() != tc.want {
			t.Errorf("ParseProjection(%q, %q).IsZero() = %v, want %v", tc.attrs, tc.excluded, p.IsZero(), tc.want)
		}
	}
}
