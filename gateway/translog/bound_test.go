package translog_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/scim-gateway/scim-gateway/gateway/translog"
	"github.com/scim-gateway/scim-gateway/translator"
)

func TestCut(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"short", "abc", 10, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"cut", "abcdefghij", 4, "abcd…[cut 6 bytes]"},
		{"no limit", "abcdefghij", 0, "abcdefghij"},
		{"at a character boundary", "aéé", 2, "a…[cut 4 bytes]"}, // é is two bytes: not split
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := translog.Cut(tt.in, tt.limit); got != tt.want {
				t.Fatalf("Cut(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
			}
		})
	}
}

// TestValuesCutInRecordAndLog checks that every text a record keeps (kept values, a kept list, the
// request id, the SCIM id, error texts) is cut to maxValueBytes with the marker, in the kept record
// and in the zap line alike.
func TestValuesCutInRecordAndLog(t *testing.T) {
	var buf bytes.Buffer
	l := newLogger(t, translog.Config{MaxValueBytes: 100}, jsonLogger(&buf), nil)
	big := strings.Repeat("x", 1_000_000)
	list := make([]any, 50_000)
	for i := range list {
		list[i] = "item"
	}
	rec := l.Start(big, "tok")
	rec.SetOperation(translog.OpPatch, translog.ResourceUser)
	rec.SetSCIMID(big)
	rec.AddChanges(
		translator.FieldChange{SCIM: "title", Portal: "properties.title", Old: big, New: big + "y"},
		translator.FieldChange{SCIM: "urn:example:tags", Portal: "properties.tags", New: list},
		translator.FieldChange{SCIM: "name.givenName", Portal: "firstName", New: strings.Repeat("n", 500_000)}, // masked: short anyway
	)
	rec.AddCall(translog.Call{Op: "updateUser", Error: "portal says: " + big})
	rec.SetError(errors.New("refused: " + big))
	got, _ := rec.Finish(400)

	marker := "…[cut 999900 bytes]"
	checks := map[string]string{
		"request id": got.RequestID, "scim id": got.SCIMID,
		"old title": got.Changes[0].Old.(string),
		"error":     got.Error, "call error": got.Calls[0].Error,
	}
	for name, v := range checks {
		if len(v) > 100+len("…[cut 1000000 bytes]") || !strings.Contains(v, "…[cut ") {
			t.Errorf("%s not cut: %d bytes, %.40q...", name, len(v), v)
		}
	}
	if v := got.Changes[0].Old.(string); !strings.HasSuffix(v, marker) {
		t.Errorf("old title ends %q, want the marker %q", v[len(v)-30:], marker)
	}
	if v := got.Changes[0].New.(string); !strings.HasSuffix(v, "…[cut 999901 bytes]") {
		t.Errorf("new title ends %q", v[len(v)-30:])
	}
	if v, ok := got.Changes[1].New.(string); !ok || !strings.HasPrefix(v, `["item","item"`) || !strings.Contains(v, "…[cut ") {
		t.Errorf("a kept list is not cut as its JSON: %#v", got.Changes[1].New)
	}
	if got.Changes[2].New != "n***n" {
		t.Errorf("masked name = %v", got.Changes[2].New)
	}
	line := buf.String()
	if len(line) > 4096 {
		t.Fatalf("the log line has %d bytes, want it bounded", len(line))
	}
	if strings.Count(line, "…[cut ") != 7 {
		t.Fatalf("the log line lacks the cut markers:\n%s", line)
	}
	if _, bytes := l.Kept(); bytes > 8192 {
		t.Fatalf("the kept record is accounted %d bytes, want it small once cut", bytes)
	}
}

// TestRingByteBound checks that the ring never holds more than bufferBytes of records, drops the
// oldest first, and shrinks to a lower bound on reload.
func TestRingByteBound(t *testing.T) {
	l := newLogger(t, translog.Config{Buffer: 1000, BufferBytes: translog.MinBufferBytes, MaxValueBytes: translog.MaxMaxValueBytes}, nil, nil)
	big := strings.Repeat("v", 200_000)
	for i := range 100 {
		rec := l.Start("req", "tok")
		rec.SetOperation(translog.OpPatch, translog.ResourceUser)
		rec.SetSCIMID(string(rune('a'+i%26)) + strings.Repeat("-", i))
		rec.AddChanges(translator.FieldChange{SCIM: "title", Portal: "properties.title", Old: big, New: big})
		rec.Finish(204)
		n, b := l.Kept()
		if b > translog.MinBufferBytes {
			t.Fatalf("after %d records the ring holds %d records, %d bytes, over its bound %d", i+1, n, b, translog.MinBufferBytes)
		}
	}
	n, b := l.Kept()
	if n < 5 || n > 8 {
		t.Fatalf("the ring holds %d records (%d bytes), want the 5 to 8 newest of about 131 KB each", n, b)
	}
	recs := l.Find(translog.Query{Limit: translog.MaxLimit})
	if want := "v" + strings.Repeat("-", 99); recs[0].SCIMID != want {
		t.Fatalf("newest kept record is %q, want the last one", recs[0].SCIMID)
	}
	if err := l.SetConfig(translog.Config{BufferBytes: translog.MinBufferBytes / 4}); err == nil {
		t.Fatalf("SetConfig accepted bufferBytes below the minimum")
	}
	// The refused reload kept the bound in force: add one more and check.
	if n2, b2 := l.Kept(); n2 != n || b2 != b {
		t.Fatalf("a refused reload changed the ring: %d records %d bytes, was %d %d", n2, b2, n, b)
	}
	mustSetConfig(t, l, translog.Config{Buffer: 2, BufferBytes: translog.MinBufferBytes})
	if n2, b2 := l.Kept(); n2 != 2 || b2 >= b {
		t.Fatalf("after shrinking to 2 records the ring holds %d records, %d bytes (was %d)", n2, b2, b)
	}
}

// TestDropModeAndMemberFields checks a dropped value, member changes, the portal id and a call's
// resolved path in the JSON of a record.
func TestDropModeAndMemberFields(t *testing.T) {
	cfg := translog.Config{Redaction: translog.Policy{Attributes: map[string]string{"title": translog.ModeDrop}}}
	l := newLogger(t, cfg, nil, nil)
	rec := l.Start("req", "tok")
	rec.SetOperation(translog.OpPatch, translog.ResourceGroup)
	rec.SetSCIMID("g-1")
	rec.SetPortalID(12)
	rec.AddChanges(
		translator.FieldChange{SCIM: "displayName", Portal: "name", Old: "Audit", New: "Finance"},
		translator.FieldChange{SCIM: "title", Portal: "description", Old: "secret old", New: "secret new"},
	)
	rec.AddMembers(translog.MemberAdd, translog.Member{SCIMID: "u-34", IDUser: 34})
	rec.AddMembers(translog.MemberRemove, translog.Member{SCIMID: "u-35", IDUser: 35})
	rec.AddCall(translog.Call{Op: "addMember", Method: "PUT", PathTemplate: "/groups({idGroup})/members({idUser})",
		Path: "/groups(12)/members(34)", IDGroup: 12, IDUser: 34, Status: 204, Attempt: 1})
	rec.SetError(errors.New("the portal said secret new is wrong"))
	got, _ := rec.Finish(204)
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, want := range []string{
		`"portalId":12`,
		`{"scim":"displayName","portal":"name","old":"Audit","new":"Finance","redact":"keep"}`,
		`{"scim":"title","portal":"description","old":null,"new":null,"redact":"drop"}`,
		`"members":[{"op":"add","scimId":"u-34","idUser":34},{"op":"remove","scimId":"u-35","idUser":35}]`,
		`"path":"/groups({idGroup})/members({idUser})","resolvedPath":"/groups(12)/members(34)","idUser":34,"idGroup":12`,
		`"error":"the portal said [dropped] is wrong"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("record lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret") {
		t.Errorf("a dropped value shows:\n%s", out)
	}
}
