package translator

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The portal login.
//
// A SCIM userName becomes the portal's (userName, domain) pair by splitting it at its last "@":
// "alice@contoso.com" is userName "alice" in domain "contoso.com"; a userName without "@" ("alice")
// goes to the configured default domain (mapping.defaultDomain). The form that was sent is recorded
// in a portal property (mapping.loginFormProperty, "upn" or "plain"), so that the userName comes back
// exactly as sent: "alice@contoso.com" as "alice@contoso.com", "alice" as "alice", case kept.
//
// Characters the portal refuses. The portal's userName allows only the letters A-Z and a-z, the
// digits 0-9 and the characters ! $ * + . = _ ~ - # (docs/portal-api.md section 2), 1 to 100 of them.
// Real Entra userPrincipalNames can hold more than that: the apostrophe (o'brien@contoso.com), the
// caret, "&", "%", "{", "}", "/", "?", "|" and "`" are all valid in a UPN's local part, and a
// userName need not be a UPN at all (letters with accents, spaces). The gateway does not rewrite such
// a name, since the portal login would then differ from what the person types and from what Entra
// matches on; it refuses it with 400 invalidValue on userName, naming the character and its
// position, before any portal call. The fix is on the Entra side: map a different source attribute
// (or a transformed one, e.g. Replace([userPrincipalName], "'", "", , , , )) to userName.

// maxLoginLen is the portal's limit on userName and on domain, in code points.
const maxLoginLen = 100

// portalLoginChar reports whether the portal accepts c in a userName.
func portalLoginChar(c rune) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.ContainsRune("!$*+.=_~-#", c)
}

// Login is a portal login as the gateway derives it from a SCIM userName.
type Login struct {
	UserName string // the portal userName (the part before the last "@")
	Domain   string // the portal domain
	Form     string // LoginFormUPN or LoginFormPlain
}

// SplitLogin splits the SCIM userName into the portal login, using defaultDomain for a userName
// without "@". A userName the portal cannot store is an EInvalid *Error with scimType invalidValue and
// Target "userName"; its message says which character (or length) and why, without repeating the name.
func SplitLogin(userName, defaultDomain string) (Login, error) {
	l := Login{UserName: userName, Domain: defaultDomain, Form: LoginFormPlain}
	if i := strings.LastIndexByte(userName, '@'); i >= 0 {
		l = Login{UserName: userName[:i], Domain: userName[i+1:], Form: LoginFormUPN}
		if l.Domain == "" {
			return Login{}, loginError("has nothing after its last \"@\"; the portal needs a domain there")
		}
		if n := utf8.RuneCountInString(l.Domain); n > maxLoginLen {
			return Login{}, loginError("has a domain (after the last \"@\") of %d characters; the portal allows at most %d", n, maxLoginLen)
		}
		if strings.ContainsRune(l.Domain, '\\') {
			return Login{}, loginError("has a \"\\\" in its domain; the portal writes logins as domain\\userName and refuses it")
		}
	}
	if l.UserName == "" {
		return Login{}, loginError("has nothing before its last \"@\"; the portal needs a user name there")
	}
	pos := 0
	for _, c := range l.UserName {
		pos++
		if !portalLoginChar(c) {
			why := "the portal allows only A-Z, a-z, 0-9 and ! $ * + . = _ ~ - # in a login name"
			if c == '@' {
				why = "the portal's login name cannot hold \"@\" (the userName is split at its last \"@\" into name and domain)"
			}
			return Login{}, loginError("has the character %q (U+%04X) at position %d of the name before the domain, which the portal refuses: %s", string(c), c, pos, why)
		}
	}
	if pos > maxLoginLen {
		return Login{}, loginError("has %d characters before the domain; the portal allows at most %d", pos, maxLoginLen)
	}
	return l, nil
}

func loginError(format string, args ...any) *Error {
	e := Invalidf(ScimInvalidValue, "userName "+format, args...)
	e.Target = "userName"
	return e
}

// SCIMUserName returns the SCIM userName of a portal login: "user@domain" for the upn form, "user"
// for the plain form when the domain is the default domain (any case). An unknown or empty form is
// inferred: plain when the domain is the default domain, upn otherwise.
func SCIMUserName(userName, domain, form, defaultDomain string) string {
	if effectiveForm(form, domain, defaultDomain) == LoginFormPlain && strings.EqualFold(domain, defaultDomain) {
		return userName
	}
	return userName + "@" + domain
}

// effectiveForm is the login form of a portal user: its recorded property, or the inferred one.
func effectiveForm(recorded any, domain, defaultDomain string) string {
	if s, ok := recorded.(string); ok && (s == LoginFormUPN || s == LoginFormPlain) {
		return s
	}
	if strings.EqualFold(domain, defaultDomain) {
		return LoginFormPlain
	}
	return LoginFormUPN
}

// String renders the login as the portal shows it, domain\userName.
func (l Login) String() string { return fmt.Sprintf(`%s\%s`, l.Domain, l.UserName) }
