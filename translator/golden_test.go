package translator

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Golden files: one case per file under testdata/<kind>/, sections separated by a line "----".
//
//	create/        SCIM User POST body | expected portal create body, or an expected error
//	patch/         current portal user | SCIM PATCH body | expected SCIM resource after the patch, or an
//	               expected error | expected diff {"patch": portal PATCH body or null, "active": bool or null}
//	replace/       current portal user | SCIM PUT body | expected diff, or an expected error
//	group_create/  SCIM Group POST body | expected {"group": portal body, "members": [ids]}, or an error
//	group_patch/   current portal group | SCIM PATCH body | expected {"resource": ..., "patch": ...,
//	               "members": MemberChanges}, or an expected error
//
// An expected error is {"error": {"scimType": "...", "target": "...", "contains": "..."}}; target and
// contains are checked when given. JSON is compared parsed, not byte for byte.

const separator = "----"

// goldenMapping is the mapping the golden files are written against: the default one.
func goldenMapping(t *testing.T) *Mapping {
	t.Helper()
	m, err := NewMapping(DefaultMappingConfig())
	if err != nil {
		t.Fatalf("NewMapping(default): %v", err)
	}
	return m
}

func readCase(t *testing.T, path string, sections int) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var parts [][]byte
	var cur bytes.Buffer
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if strings.TrimSpace(line) == separator {
			parts = append(parts, bytes.Clone(bytes.TrimSpace(cur.Bytes())))
			cur.Reset()
			continue
		}
		cur.WriteString(line)
	}
	parts = append(parts, bytes.TrimSpace(cur.Bytes()))
	if len(parts) != sections {
		t.Fatalf("%s: %d sections, want %d", path, len(parts), sections)
	}
	return parts
}

func goldenFiles(t *testing.T, kind string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", kind, "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no golden files in testdata/%s", kind)
	}
	return files
}

// canon parses JSON (or re-encodes a Go value) into a comparable form.
func canon(t *testing.T, v any) any {
	t.Helper()
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatalf("marshal: %v", err)
		}
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("bad JSON %s: %v", b, err)
	}
	return out
}

func jsonEqual(t *testing.T, what string, got any, want []byte) {
	t.Helper()
	g, w := canon(t, got), canon(t, want)
	if !reflect.DeepEqual(g, w) {
		gb, _ := json.MarshalIndent(g, "", "  ")
		wb, _ := json.MarshalIndent(w, "", "  ")
		t.Fatalf("%s:\ngot  %s\nwant %s", what, gb, wb)
	}
}

// wantError reports whether the expected section is an error, and checks err against it.
func wantError(t *testing.T, expected []byte, err error) bool {
	t.Helper()
	var exp struct {
		Error *struct {
			ScimType string `json:"scimType"`
			Target   string `json:"target"`
			Contains string `json:"contains"`
		} `json:"error"`
	}
	_ = json.Unmarshal(expected, &exp)
	if exp.Error == nil {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return false
	}
	e := AsError(err)
	if e == nil {
		t.Fatalf("got no *Error (%v), want scimType %s", err, exp.Error.ScimType)
	}
	if e.Code != EInvalid || e.ScimType != exp.Error.ScimType {
		t.Fatalf("got %s/%s (%v), want invalid/%s", e.Code, e.ScimType, err, exp.Error.ScimType)
	}
	if exp.Error.Target != "" && e.Target != exp.Error.Target {
		t.Fatalf("target %q, want %q", e.Target, exp.Error.Target)
	}
	if exp.Error.Contains != "" && !strings.Contains(e.Message, exp.Error.Contains) {
		t.Fatalf("message %q does not contain %q", e.Message, exp.Error.Contains)
	}
	return true
}

func decodePortalUser(t *testing.T, b []byte) PortalUser {
	t.Helper()
	var u PortalUser
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatalf("portal user: %v", err)
	}
	return u
}

// diffJSON renders a UserDiff as the golden files spell it.
func diffJSON(d UserDiff) map[string]any {
	out := map[string]any{"patch": nil, "active": nil}
	if !d.Patch.Empty() {
		out["patch"] = d.Patch
	}
	if d.Active != nil {
		out["active"] = *d.Active
	}
	return out
}

func testMeta(id string) Meta { return Meta{Location: "https://scim.example.com/scim/v2/Users/" + id} }

func TestGoldenCreate(t *testing.T) {
	m := goldenMapping(t)
	for _, f := range goldenFiles(t, "create") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			parts := readCase(t, f, 2)
			res, err := ParseUser(parts[0])
			var u NewPortalUser
			if err == nil {
				u, _, err = m.ToPortalUser(res)
			}
			if wantError(t, parts[1], err) {
				return
			}
			jsonEqual(t, "portal create body", u, parts[1])
		})
	}
}

func TestGoldenPatch(t *testing.T) {
	m := goldenMapping(t)
	for _, f := range goldenFiles(t, "patch") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			parts := readCase(t, f, 4)
			cur := decodePortalUser(t, parts[0])
			before := m.FromPortalUser(cur, testMeta(cur.GUIDUser))
			snapshot := before.Clone()
			ops, err := ParsePatchRequest(parts[1])
			var after Resource
			if err == nil {
				after, err = ApplyPatch(before, ops)
			}
			if !reflect.DeepEqual(before, snapshot) {
				t.Fatalf("ApplyPatch modified its input")
			}
			if wantError(t, parts[2], err) {
				if after != nil && !reflect.DeepEqual(after, snapshot) {
					t.Fatalf("a failed patch changed the resource: %v", after)
				}
				return
			}
			jsonEqual(t, "resource after patch", after, parts[2])
			d, err := m.Diff(cur, after)
			if err != nil {
				t.Fatalf("Diff: %v", err)
			}
			jsonEqual(t, "diff", diffJSON(d), parts[3])
			// Applying the diff to the portal user and reading it back gives every mapped attribute of
			// the patched resource, exactly.
			applied := applyPortalPatch(t, cur, d)
			assertMappedEqual(t, m, m.FromPortalUser(applied, testMeta(cur.GUIDUser)), after)
		})
	}
}

func TestGoldenReplace(t *testing.T) {
	m := goldenMapping(t)
	for _, f := range goldenFiles(t, "replace") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			parts := readCase(t, f, 3)
			cur := decodePortalUser(t, parts[0])
			res, err := ParseUser(parts[1])
			var d UserDiff
			if err == nil {
				d, err = m.Diff(cur, res)
			}
			if wantError(t, parts[2], err) {
				return
			}
			jsonEqual(t, "diff", diffJSON(d), parts[2])
		})
	}
}

func TestGoldenGroupCreate(t *testing.T) {
	m := goldenMapping(t)
	for _, f := range goldenFiles(t, "group_create") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			parts := readCase(t, f, 2)
			res, err := ParseGroup(parts[0])
			var g NewPortalGroup
			var ids []string
			if err == nil {
				g, _, err = m.ToPortalGroup(res)
			}
			if err == nil {
				ids, err = MemberIDs(res)
			}
			if wantError(t, parts[1], err) {
				return
			}
			if ids == nil {
				ids = []string{}
			}
			jsonEqual(t, "group", map[string]any{"group": g, "members": ids}, parts[1])
		})
	}
}

func TestGoldenGroupPatch(t *testing.T) {
	m := goldenMapping(t)
	for _, f := range goldenFiles(t, "group_patch") {
		t.Run(filepath.Base(f), func(t *testing.T) {
			parts := readCase(t, f, 3)
			var cur PortalGroup
			if err := json.Unmarshal(parts[0], &cur); err != nil {
				t.Fatal(err)
			}
			before := m.FromPortalGroup(cur, nil, Meta{})
			ops, err := ParsePatchRequest(parts[1])
			var gp GroupPatch
			if err == nil {
				gp, err = ApplyGroupPatch(before, ops)
			}
			if wantError(t, parts[2], err) {
				return
			}
			d, err := m.DiffGroup(cur, gp.Resource)
			if err != nil {
				t.Fatalf("DiffGroup: %v", err)
			}
			var patch any
			if !d.Patch.Empty() {
				patch = d.Patch
			}
			members := map[string]any{"removeAll": gp.Members.RemoveAll, "add": orEmpty(gp.Members.Add), "remove": orEmpty(gp.Members.Remove)}
			jsonEqual(t, "group patch", map[string]any{"patch": patch, "members": members}, parts[2])
		})
	}
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// applyPortalPatch does to a portal user what the portal does with a PATCH body and an
// enable/disable call (docs/portal-api.md section 2), so golden cases can check the read-back.
func applyPortalPatch(t *testing.T, u PortalUser, d UserDiff) PortalUser {
	t.Helper()
	out := u
	out.Properties = map[string]any{}
	for k, v := range u.Properties {
		out.Properties[k] = v
	}
	for f, v := range d.Patch.Fields {
		s := ""
		if v != nil {
			s = *v
		}
		switch f {
		case FieldUserName:
			out.UserName = s
		case FieldDomain:
			out.Domain = s
		case FieldFullName:
			out.FullName = s
		case FieldFirstName:
			out.FirstName = s
		case FieldLastName:
			out.LastName = s
		case FieldContactEmail:
			out.ContactEmail = s
		case FieldContactCellPhone:
			out.ContactCellPhone = s
		case FieldExternalKey:
			out.ExternalKey = s
		default:
			t.Fatalf("the patch names field %q, which the portal refuses", f)
		}
	}
	for k, v := range d.Patch.Properties {
		if v == nil {
			delete(out.Properties, k)
		} else {
			out.Properties[k] = v
		}
	}
	if d.Active != nil {
		out.Enabled = *d.Active
	}
	return out
}

// assertMappedEqual checks that got and want hold the same value for every mapped user attribute.
func assertMappedEqual(t *testing.T, m *Mapping, got, want Resource) {
	t.Helper()
	for _, r := range m.users {
		g, gok := r.get(got)
		w, wok := r.get(want)
		if gok != wok || !reflect.DeepEqual(canon(t, g), canon(t, w)) {
			t.Errorf("%s: read back %v (present %v), want %v (present %v)", r.scim, g, gok, w, wok)
		}
	}
}
