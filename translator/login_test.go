package translator

import (
	"strings"
	"testing"
)

func TestSplitLogin(t *testing.T) {
	tests := []struct {
		in      string
		want    Login
		errPart string // non-empty: an invalidValue error whose message contains it
	}{
		{in: "alice@contoso.com", want: Login{"alice", "contoso.com", LoginFormUPN}},
		{in: "Alice.Smith@Contoso.COM", want: Login{"Alice.Smith", "Contoso.COM", LoginFormUPN}},
		{in: "alice", want: Login{"alice", "corp.example", LoginFormPlain}},
		{in: "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1", want: Login{"Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1", "corp.example", LoginFormPlain}},
		{in: "a!$*+.=_~-#z@x.y", want: Login{"a!$*+.=_~-#z", "x.y", LoginFormUPN}},
		{in: "svc@sub@contoso.com", errPart: `"@"`},
		{in: "o'brien@contoso.com", errPart: `"'" (U+0027) at position 2`},
		{in: "j^doe@contoso.com", errPart: `"^" (U+005E) at position 2`},
		{in: "john doe", errPart: "U+0020"},
		{in: "jos\u00e9@contoso.com", errPart: "U+00E9"},
		{in: `dom\user`, errPart: "U+005C"},
		{in: "@contoso.com", errPart: "nothing before"},
		{in: "alice@", errPart: "nothing after"},
		{in: "", errPart: "nothing before"},
		{in: "alice@con\\toso", errPart: `"\"`},
		{in: strings.Repeat("a", 100) + "@x", want: Login{strings.Repeat("a", 100), "x", LoginFormUPN}},
		{in: strings.Repeat("a", 101) + "@x", errPart: "101 characters"},
		{in: "a@" + strings.Repeat("d", 101), errPart: "101 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := SplitLogin(tc.in, "corp.example")
			if tc.errPart != "" {
				e := AsError(err)
				if e == nil || e.Code != EInvalid || e.ScimType != ScimInvalidValue || e.Target != "userName" {
					t.Fatalf("SplitLogin(%q) = %v, %v; want invalidValue on userName", tc.in, got, err)
				}
				if !strings.Contains(e.Message, tc.errPart) {
					t.Fatalf("message %q does not contain %q", e.Message, tc.errPart)
				}
				if len(tc.in) > 3 && strings.Contains(e.Message, tc.in) {
					t.Fatalf("message %q repeats the userName", e.Message)
				}
				return
			}
			if err != nil {
				t.Fatalf("SplitLogin(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("SplitLogin(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			// And back, exactly as sent.
			if back := SCIMUserName(got.UserName, got.Domain, got.Form, "corp.example"); back != tc.in {
				t.Fatalf("SCIMUserName = %q, want %q", back, tc.in)
			}
		})
	}
}

func TestSCIMUserNameForm(t *testing.T) {
	tests := []struct {
		name, user, domain, form, want string
	}{
		{"recorded upn in the default domain", "alice", "corp.example", LoginFormUPN, "alice@corp.example"},
		{"recorded plain", "alice", "corp.example", LoginFormPlain, "alice"},
		{"recorded plain, default domain in another case", "alice", "CORP.example", LoginFormPlain, "alice"},
		{"recorded plain but moved to another domain", "alice", "other.example", LoginFormPlain, "alice@other.example"},
		{"unrecorded, default domain", "alice", "corp.example", "", "alice"},
		{"unrecorded, other domain", "alice", "contoso.com", "", "alice@contoso.com"},
		{"garbage form is inferred", "alice", "contoso.com", "weird", "alice@contoso.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := SCIMUserName(tc.user, tc.domain, tc.form, "corp.example"); got != tc.want {
				t.Fatalf("SCIMUserName = %q, want %q", got, tc.want)
			}
		})
	}
}
