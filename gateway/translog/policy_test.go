package translog_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/scim-gateway/scim-gateway/gateway/translog"
)

var hashPattern = regexp.MustCompile(`^h:[0-9a-f]{16}$`)

func mustRedactor(t *testing.T, p translog.Policy) *translog.Redactor {
	t.Helper()
	r, err := translog.NewRedactor(p)
	if err != nil {
		t.Fatalf("NewRedactor: %v", err)
	}
	return r
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a", "***"},
		{"ab", "***"},
		{"abc", "***"},
		{"abcd", "a***d"},
		{"alice@example.com", "a***m"},
		{"Zoë", "***"},
		{"Ørjan Ås", "Ø***s"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := translog.Mask(tt.in); got != tt.want {
				t.Fatalf("Mask(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestHash(t *testing.T) {
	a := mustRedactor(t, translog.Policy{HashKey: "key-a"})
	a2 := mustRedactor(t, translog.Policy{HashKey: "key-a"})
	b := mustRedactor(t, translog.Policy{HashKey: "key-b"})
	eph := mustRedactor(t, translog.Policy{})
	eph2 := mustRedactor(t, translog.Policy{})

	h := a.Hash("alice@example.com")
	t.Run("format", func(t *testing.T) {
		if !hashPattern.MatchString(h) {
			t.Fatalf("Hash = %q, want h: and 16 hex digits", h)
		}
	})
	t.Run("same key, same hash", func(t *testing.T) {
		if got := a2.Hash("alice@example.com"); got != h {
			t.Fatalf("hash with the same key = %q, want %q", got, h)
		}
	})
	t.Run("other key, other hash", func(t *testing.T) {
		if got := b.Hash("alice@example.com"); got == h {
			t.Fatalf("hash with another key = %q, same as with the first key", got)
		}
	})
	t.Run("other value, other hash", func(t *testing.T) {
		if got := a.Hash("bob@example.com"); got == h {
			t.Fatalf("hash of another value = %q, same as alice's", got)
		}
	})
	t.Run("no key: one random key per process", func(t *testing.T) {
		if !eph.EphemeralKey() || a.EphemeralKey() {
			t.Fatalf("EphemeralKey = %v (no key), %v (key), want true, false", eph.EphemeralKey(), a.EphemeralKey())
		}
		if eph.Hash("alice") != eph2.Hash("alice") {
			t.Fatalf("two redactors without a key hash differently: the process key is not stable")
		}
	})
}

// TestMode checks the order a value's mode is found in: the configured attributes, the mapping
// rule's redact, the built-in table of the resource type, the policy's default.
func TestMode(t *testing.T) {
	r := mustRedactor(t, translog.Policy{
		HashKey: "k",
		Attributes: map[string]string{
			"title":                        translog.ModeMask,
			"nickName":                     translog.ModeKeep, // overrides the built-in mask
			"properties.costCenter":        translog.ModeHash,
			`emails[type eq "home"].value`: translog.ModeDrop,
			"employeeNumber":               translog.ModeDrop, // overrides a rule's hash
		},
	})
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:"
	user, group := translog.ResourceUser, translog.ResourceGroup
	tests := []struct {
		name, resource, scim, portal, rule, want string
	}{
		{"userName hashed", user, "userName", "userName", "", translog.ModeHash},
		{"case-insensitive names", user, "USERNAME", "", "", translog.ModeHash},
		{"email by its top-level attribute", user, `emails[type eq "work"].value`, "contactEmail", "", translog.ModeMask},
		{"exact entry wins over the top level", user, `emails[type eq "home"].value`, "", "", translog.ModeDrop},
		{"an email's primary flag kept", user, `emails[type eq "work"].primary`, "properties.emailPrimary", "", translog.ModeKeep},
		{"phone", user, `phoneNumbers[type eq "mobile"].value`, "contactCellPhone", "", translog.ModeMask},
		{"given name", user, "name.givenName", "firstName", "", translog.ModeMask},
		{"formatted name", user, "name.formatted", "fullName", "", translog.ModeMask},
		{"user displayName masked", user, "displayName", "properties.displayName", "", translog.ModeMask},
		{"group displayName kept", group, "displayName", "name", "", translog.ModeKeep},
		{"rule's hash wins over the built-in mask", user, "displayName", "properties.displayName", translog.ModeHash, translog.ModeHash},
		{"rule's keep wins over the built-in mask", user, "name.givenName", "firstName", translog.ModeKeep, translog.ModeKeep},
		{"rule's mask on a group name", group, "displayName", "name", translog.ModeMask, translog.ModeMask},
		{"configured entry wins over the rule", user, ent + "employeeNumber", "properties.employeeNumber", translog.ModeHash, translog.ModeDrop},
		{"configured entry wins over the built-in", user, "nickName", "properties.nick", "", translog.ModeKeep},
		{"configured new entry", user, "title", "properties.title", "", translog.ModeMask},
		{"configured entry applies to groups too", group, "title", "description", "", translog.ModeMask},
		{"portal field catches a custom mapping", user, "urn:example:mobile", "contactCellPhone", "", translog.ModeMask},
		{"property key", user, "urn:example:cc", "properties.costCenter", "", translog.ModeHash},
		{"externalId kept", user, "externalId", "externalKey", "", translog.ModeKeep},
		{"active kept", user, "active", "enabled", "", translog.ModeKeep},
		{"department kept", user, ent + "department", "properties.department", "", translog.ModeKeep},
		{"unknown attribute: default", user, "nothing", "", "", translog.ModeKeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Mode(tt.resource, tt.scim, tt.portal, tt.rule); got != tt.want {
				t.Fatalf("Mode(%s, %q, %q, rule %q) = %q, want %q", tt.resource, tt.scim, tt.portal, tt.rule, got, tt.want)
			}
		})
	}
	t.Run("policy default", func(t *testing.T) {
		r := mustRedactor(t, translog.Policy{Default: translog.ModeMask})
		if got := r.Mode(user, "title", "properties.title", ""); got != translog.ModeMask {
			t.Fatalf("Mode(title) = %q, want the default mask", got)
		}
		if got := r.Mode(user, "emails", "contactEmail", translog.ModeKeep); got != translog.ModeKeep {
			t.Fatalf("Mode(emails, rule keep) = %q, want the rule's keep", got)
		}
	})
	t.Run("userName follows its rule", func(t *testing.T) {
		r := mustRedactor(t, translog.Policy{UserNameRule: translog.ModeMask})
		if got := r.UserName("Alice@Contoso.com"); got != "a***m" {
			t.Fatalf("UserName = %q, want the rule's mask a***m", got)
		}
		r = mustRedactor(t, translog.Policy{UserNameRule: translog.ModeMask, Attributes: map[string]string{"userName": translog.ModeDrop}})
		if got := r.UserName("alice@contoso.com"); got != "" {
			t.Fatalf("UserName = %q, want it dropped", got)
		}
	})
}

func TestApply(t *testing.T) {
	r := mustRedactor(t, translog.Policy{HashKey: "k"})
	tests := []struct {
		name string
		mode string
		in   any
		want any
	}{
		{"keep", translog.ModeKeep, "alice", "alice"},
		{"mask string", translog.ModeMask, "alice", "a***e"},
		{"mask bool", translog.ModeMask, true, "***"},
		{"hash string", translog.ModeHash, "alice", r.Hash("alice")},
		{"hash bool", translog.ModeHash, false, r.Hash("false")},
		{"hash list", translog.ModeHash, []any{"a", "b"}, r.Hash(`["a","b"]`)},
		{"nil stays nil under hash", translog.ModeHash, nil, nil},
		{"nil stays nil under mask", translog.ModeMask, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Apply(tt.mode, tt.in)
			if s, ok := tt.want.(string); ok {
				if got != s {
					t.Fatalf("Apply(%q, %v) = %v, want %q", tt.mode, tt.in, got, s)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("Apply(%q, %v) = %v, want %v", tt.mode, tt.in, got, tt.want)
			}
		})
	}
}

func TestUserName(t *testing.T) {
	hashed := mustRedactor(t, translog.Policy{HashKey: "k"})
	if a, b := hashed.UserName("Alice@Example.com"), hashed.UserName("alice@example.com"); a != b || !hashPattern.MatchString(a) {
		t.Fatalf("UserName hashes %q and %q, want one hash for both cases", a, b)
	}
	kept := mustRedactor(t, translog.Policy{Attributes: map[string]string{"userName": translog.ModeKeep}})
	if got := kept.UserName("Alice@Example.com"); got != "Alice@Example.com" {
		t.Fatalf("UserName under keep = %q, want it unchanged", got)
	}
	masked := mustRedactor(t, translog.Policy{Attributes: map[string]string{"userName": translog.ModeMask}})
	if got := masked.UserName("Alice@Example.com"); got != "a***m" {
		t.Fatalf("UserName under mask = %q, want a***m", got)
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name string
		p    translog.Policy
		want []string // substrings of the error, in order; nil: valid
	}{
		{"default policy", translog.DefaultPolicy(), nil},
		{"zero policy", translog.Policy{}, nil},
		{"every problem at once", translog.Policy{
			Default:    "scramble",
			Attributes: map[string]string{"b": "hide", "a": "show", "c": translog.ModeHash},
		}, []string{`default: must be one of keep, mask, hash, drop, not "scramble"`, `attributes.a:`, `attributes.b:`}},
		{"empty name", translog.Policy{Attributes: map[string]string{"": translog.ModeHash}}, []string{"empty name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want errors %q", tt.want)
			}
			msg, at := err.Error(), 0
			for _, w := range tt.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("Validate = %q, want %q after offset %d", msg, w, at)
				}
				at += i + len(w)
			}
			if _, err := translog.NewRedactor(tt.p); err == nil {
				t.Fatalf("NewRedactor accepted a policy Validate rejects")
			}
		})
	}
}
