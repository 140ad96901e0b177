package portalsim

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		expr string
		want filter // nil with wantErr false: no filter
		err  bool
	}{
		{expr: "", want: nil},
		{expr: "   ", want: nil},
		{expr: "userName eq 'Ann'", want: filter{{"userName", "ann"}}},
		{expr: "userName  EQ   'ann'", want: filter{{"userName", "ann"}}},
		{expr: "userName Eq 'a' AND domain eQ 'B'", want: filter{{"userName", "a"}, {"domain", "b"}}},
		{expr: "userName eq 'a' and domain eq 'b' aNd externalKey eq 'c'",
			want: filter{{"userName", "a"}, {"domain", "b"}, {"externalKey", "c"}}},
		{expr: "userName eq 'O''Brien'", want: filter{{"userName", "o'brien"}}},
		{expr: "userName eq ''''", want: filter{{"userName", "'"}}},
		{expr: "userName eq ''", want: filter{{"userName", ""}}},
		{expr: "fullName eq 'x'", err: true},
		{expr: "domain eq 'a b  c'", want: filter{{"domain", "a b  c"}}},
		{expr: "domain eq 'and eq or'", want: filter{{"domain", "and eq or"}}},
		{expr: "enabled eq true", want: filter{{"enabled", "true"}}},
		{expr: "enabled eq false and userName eq 'x'", want: filter{{"enabled", "false"}, {"userName", "x"}}},
		{expr: "guidUser eq 'ABC'", want: filter{{"guidUser", "abc"}}},
		{expr: "contactEmail eq 'A@B.C'", want: filter{{"contactEmail", "a@b.c"}}},
		{expr: "enabled eq 'true'", err: true},
		{expr: "enabled eq TRUE", err: true},
		{expr: "enabled eq 1", err: true},
		{expr: "userName eq ann", err: true},
		{expr: "userName eq true", err: true},
		{expr: "userName ne 'a'", err: true},
		{expr: "userName co 'a'", err: true},
		{expr: "userName sw 'a'", err: true},
		{expr: "userName eq 'a' or domain eq 'b'", err: true},
		{expr: "(userName eq 'a')", err: true},
		{expr: "userName eq 'a' and (domain eq 'b')", err: true},
		{expr: "not userName eq 'a'", err: true},
		{expr: "username eq 'a'", err: true},
		{expr: "displayName eq 'a'", err: true},
		{expr: "idUser eq '1'", err: true},
		{expr: "userName eq", err: true},
		{expr: "userName", err: true},
		{expr: "userName eq 'a' and", err: true},
		{expr: "and userName eq 'a'", err: true},
		{expr: "userName eq 'a' domain eq 'b'", err: true},
		{expr: "userName eq 'unterminated", err: true},
		{expr: "userName eq 'a'b", err: true},
		{expr: "userName eq 'a''", err: true},
		{expr: "userName eq'a'", err: true},
		{expr: "userName\teq 'a'", err: true},
		{expr: "'userName' eq 'a'", err: true},
		{expr: "userName 'eq' 'a'", err: true},
		{expr: "userName eq 'a' 'and' domain eq 'b'", err: true},
		{expr: "userName eq 'a' and and domain eq 'b'", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := parseFilter(tt.expr, userFilterFields)
			if tt.err {
				if err == nil {
					t.Fatalf("parsed as %v, want FILTER_NOT_SUPPORTED", got)
				}
				if err.status != 400 || err.code != CodeFilterNotSupported || err.target != "$filter" {
					t.Fatalf("error = %+v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err.message)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("group fields", func(t *testing.T) {
		for _, expr := range []string{"name eq 'a'", "guidGroup eq 'x'", "externalKey eq 'k'"} {
			if _, err := parseFilter(expr, groupFilterFields); err != nil {
				t.Fatalf("%s: %s", expr, err.message)
			}
		}
		for _, expr := range []string{"enabled eq true", "userName eq 'a'", "description eq 'd'"} {
			if _, err := parseFilter(expr, groupFilterFields); err == nil {
				t.Fatalf("%s accepted on groups", expr)
			}
		}
	})
}

func TestUserFilters(t *testing.T) {
	p := newPortal(t)
	ann := p.createUser(`{"userName":"Ann","domain":"Corp","externalKey":"K-1","contactEmail":"Ann@Example.com"}`)
	annLab := p.createUser(`{"userName":"ann","domain":"lab","externalKey":"k-1"}`)
	obrien := p.createUser(`{"userName":"o.brien","domain":"corp","externalKey":"O'Brien","enabled":false}`)
	plus := p.createUser(`{"userName":"a+b","domain":"corp","contactEmail":"a+b@example.com"}`)
	all := []int64{ann.IDUser, annLab.IDUser, obrien.IDUser, plus.IDUser}
	tests := []struct {
		name   string
		filter string // raw, encoded here with url.QueryEscape
		want   []int64
	}{
		{"no filter", "", all},
		{"userName in other case", "userName eq 'ANN'", []int64{ann.IDUser, annLab.IDUser}},
		{"login", "userName eq 'ann' and domain eq 'CORP'", []int64{ann.IDUser}},
		{"login, domain first", "domain eq 'lab' and userName eq 'Ann'", []int64{annLab.IDUser}},
		{"login that does not exist", "userName eq 'ann' and domain eq 'nowhere'", nil},
		{"domain alone", "domain eq 'corp'", []int64{ann.IDUser, obrien.IDUser, plus.IDUser}},
		{"guidUser", "guidUser eq '" + annLab.GUIDUser + "'", []int64{annLab.IDUser}},
		{"guidUser in upper case", "guidUser eq '" + upper(annLab.GUIDUser) + "'", []int64{annLab.IDUser}},
		{"guidUser and a field that does not match", "guidUser eq '" + annLab.GUIDUser + "' and domain eq 'corp'", nil},
		{"externalKey", "externalKey eq 'k-1'", []int64{ann.IDUser, annLab.IDUser}},
		{"externalKey with a quote", "externalKey eq 'o''brien'", []int64{obrien.IDUser}},
		{"contactEmail", "contactEmail eq 'ann@example.COM'", []int64{ann.IDUser}},
		{"plus sign", "userName eq 'a+b'", []int64{plus.IDUser}},
		{"enabled false", "enabled eq false", []int64{obrien.IDUser}},
		{"enabled true", "enabled eq true", []int64{ann.IDUser, annLab.IDUser, plus.IDUser}},
		{"enabled and domain", "enabled eq true and domain eq 'corp'", []int64{ann.IDUser, plus.IDUser}},
		{"contradiction", "enabled eq true and enabled eq false", nil},
		{"no such user", "userName eq 'zed'", nil},
		{"many spaces", "userName   eq    'ann'   and   domain  eq  'lab'", []int64{annLab.IDUser}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := usersPath
			if tt.filter != "" {
				path += "?$filter=" + url.QueryEscape(tt.filter)
			}
			res := p.call(http.MethodGet, path, "")
			if res.status != 200 {
				t.Fatalf("status %d: %s", res.status, res.body)
			}
			var l struct {
				Count int    `json:"@odata.count"`
				Value []User `json:"value"`
			}
			decode(t, res.body, &l)
			var got []int64
			for _, u := range l.Value {
				got = append(got, u.IDUser)
			}
			if !slices.Equal(got, tt.want) || l.Count != len(tt.want) {
				t.Fatalf("got ids %v (count %d), want %v", got, l.Count, tt.want)
			}
		})
	}
	t.Run("empty $filter is no filter", func(t *testing.T) {
		res := p.call(http.MethodGet, usersPath+"?$filter=", "")
		if res.status != 200 || !startsWithCount(res.body, len(all)) {
			t.Fatalf("got %d %s", res.status, res.body)
		}
	})
	t.Run("a raw + is a space", func(t *testing.T) {
		res := p.call(http.MethodGet, usersPath+"?$filter=userName+eq+'a+b'", "")
		if res.status != 200 || !startsWithCount(res.body, 0) {
			t.Fatalf("got %d %s", res.status, res.body)
		}
	})
	refused := []string{
		"userName eq 'ann' or domain eq 'x'", "userName ne 'ann'", "(userName eq 'ann')", "enabled eq 'true'",
		"fullName eq 'x'", "userName eq ann", "userName eq 'ann", "name eq 'x'",
	}
	for _, f := range refused {
		t.Run("refused "+f, func(t *testing.T) {
			wantError(t, p.call(http.MethodGet, usersPath+"?$filter="+url.QueryEscape(f), ""), 400, CodeFilterNotSupported, "$filter")
		})
	}
}

func TestGroupFilters(t *testing.T) {
	p := newPortal(t)
	staff := p.createGroup(`{"name":"Staff","externalKey":"G-1"}`)
	admins := p.createGroup(`{"name":"admins","externalKey":"g-1","description":"d"}`)
	tests := []struct {
		filter string
		want   []int64
	}{
		{"", []int64{staff.IDGroup, admins.IDGroup}},
		{"name eq 'STAFF'", []int64{staff.IDGroup}},
		{"guidGroup eq '" + admins.GUIDGroup + "'", []int64{admins.IDGroup}},
		{"externalKey eq 'g-1'", []int64{staff.IDGroup, admins.IDGroup}},
		{"externalKey eq 'g-1' and name eq 'admins'", []int64{admins.IDGroup}},
		{"name eq 'nobody'", nil},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			res := p.call(http.MethodGet, groupsPath+"?$filter="+url.QueryEscape(tt.filter), "")
			var l struct {
				Count int     `json:"@odata.count"`
				Value []Group `json:"value"`
			}
			decode(t, res.body, &l)
			var got []int64
			for _, g := range l.Value {
				got = append(got, g.IDGroup)
			}
			if res.status != 200 || !slices.Equal(got, tt.want) || l.Count != len(tt.want) {
				t.Fatalf("got %d ids %v count %d, want %v", res.status, got, l.Count, tt.want)
			}
		})
	}
	for _, f := range []string{"enabled eq true", "userName eq 'a'", "name eq 'a' or name eq 'b'"} {
		t.Run("refused "+f, func(t *testing.T) {
			wantError(t, p.call(http.MethodGet, groupsPath+"?$filter="+url.QueryEscape(f), ""), 400, CodeFilterNotSupported, "$filter")
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func startsWithCount(body []byte, n int) bool {
	prefix := fmt.Sprintf(`{"@odata.count":%d,`, n)
	return len(body) >= len(prefix) && string(body[:len(prefix)]) == prefix
}
