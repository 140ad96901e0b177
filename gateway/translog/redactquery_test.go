package translog_test

import (
	"net/url"
	"testing"

	"github.com/scim-gateway/scim-gateway/gateway/translog"
)

func TestRedactQuery(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no query", "", ""},
		{"no filter", "startIndex=1&count=100", "startIndex=1&count=100"},
		{"quoted value", `filter=userName+eq+%22alice%40example.com%22`, `filter=userName+eq+%22%2A%2A%2A%22`},
		{"spaces as %20", `filter=userName%20eq%20%22alice%22`, `filter=userName+eq+%22%2A%2A%2A%22`},
		{"other parameters kept as sent", `count=1&filter=externalId+eq+%22e-1%22&attributes=id%2CuserName`,
			`count=1&filter=externalId+eq+%22%2A%2A%2A%22&attributes=id%2CuserName`},
		{"unquoted value", `filter=employeeNumber+eq+12345`, `filter=employeeNumber+eq+%2A%2A%2A`},
		{"booleans and null kept", `filter=active+eq+true+and+manager+eq+null`, `filter=active+eq+true+and+manager+eq+null`},
		{"escaped quote inside a value", `filter=userName+eq+%22a%5C%22b%22+and+active+eq+false`,
			`filter=userName+eq+%22%2A%2A%2A%22+and+active+eq+false`},
		{"value filter", `filter=emails%5Btype+eq+%22work%22+and+value+co+%22%40x.org%22%5D`,
			`filter=emails%5Btype+eq+%22%2A%2A%2A%22+and+value+co+%22%2A%2A%2A%22%5D`},
		{"parentheses and pr", `filter=%28title+pr%29+or+%28displayName+sw+Al%29`, `filter=%28title+pr%29+or+%28displayName+sw+%2A%2A%2A%29`},
		{"unterminated quote", `filter=userName+eq+%22alice`, `filter=userName+eq+%22%2A%2A%2A%22`},
		{"key in other case", `Filter=userName+eq+%22alice%22`, `Filter=userName+eq+%22%2A%2A%2A%22`},
		{"bad percent-encoding", `filter=userName+eq+%22alice%ZZ`, `filter=%2A%2A%2A`},
		{"filter without value", `filter&count=1`, `filter&count=1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := translog.RedactQuery(tt.in)
			if got != tt.want {
				gotF, _ := url.QueryUnescape(got)
				t.Fatalf("RedactQuery(%q) = %q (%s), want %q", tt.in, got, gotF, tt.want)
			}
		})
	}
}

func TestRedactFilter(t *testing.T) {
	tests := []struct{ in, want string }{
		{`userName eq "alice@x"`, `userName eq "***"`},
		{`userName eq "alice" and active eq true`, `userName eq "***" and active eq true`},
		{`displayName EQ Alice`, `displayName EQ ***`},
		{`meta.lastModified gt 2026-01-01T00:00:00Z`, `meta.lastModified gt ***`},
		{`title pr`, `title pr`},
		{`not (userName ne "bob")`, `not (userName ne "***")`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := translog.RedactFilter(tt.in); got != tt.want {
				t.Fatalf("RedactFilter(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
