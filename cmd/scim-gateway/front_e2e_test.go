package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

// accessRemotes returns the "remote" of every access log line of the App's logs.
func accessRemotes(t *testing.T, e *env) []string {
	t.Helper()
	var out []string
	for _, line := range strings.Split(e.logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "scim request" {
			continue
		}
		r, _ := rec["remote"].(string)
		out = append(out, r)
	}
	return out
}

// TestTrustedProxiesFromConfigReloadLive drives the App from a configuration file: with no trusted
// proxies a forged X-Forwarded-For is ignored (the access log names the TCP peer); trusting the peer's
// range in the file makes the right-most untrusted entry the client, without a restart; removing it
// goes back.
func TestTrustedProxiesFromConfigReloadLive(t *testing.T) {
	f := newFileEnv(t, "")
	// Valid requests: the address is the same one the failed-auth slowdown uses (gateway tests cover
	// that), and polling with failures would itself be slowed down.
	probe := func() {
		f.scim(http.MethodGet, "/ServiceProviderConfig", nil, "X-Forwarded-For", "198.51.100.99, 203.0.113.50").want(t, http.StatusOK)
	}
	last := func() string {
		r := accessRemotes(t, f.env)
		if len(r) == 0 {
			return ""
		}
		return r[len(r)-1]
	}
	probe()
	if got := last(); got != "127.0.0.1" {
		t.Fatalf("remote %q with no trusted proxies, want the TCP peer 127.0.0.1", got)
	}
	// The file's server section gains the key (rewrite appends only top-level sections).
	content := strings.Replace(fmt.Sprintf(fileConfig, f.dir, f.simSrv.URL, ""), "server:\n", "server:\n  trustedProxies: [127.0.0.0/8]\n", 1)
	writeFile(t, f.path+".tmp", content)
	if err := os.Rename(f.path+".tmp", f.path); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the reload trusts the loopback proxy", func() bool { probe(); return last() == "203.0.113.50" })
	f.rewrite("")
	eventually(t, "the reload forgets the proxy", func() bool { probe(); return last() == "127.0.0.1" })
}

// TestMicrosoftCollectionShapes sends the request shapes of Microsoft's SCIM reference Postman
// collection through the gateway to portal-sim: resource paths in any case, the /serviceConfiguration
// alias, an email's "Primary" coming back, and its filter with unquoted values and sub-attributes in
// another case.
func TestMicrosoftCollectionShapes(t *testing.T) {
	e := newEnv(t, nil)
	e.scim(http.MethodGet, "/users", nil).want(t, http.StatusOK)
	e.scim(http.MethodGet, "/GROUPS", nil).want(t, http.StatusOK)
	if a := e.scim(http.MethodGet, "/serviceConfiguration", nil).want(t, http.StatusOK); a.body["patch"].(map[string]any)["supported"] != true {
		t.Fatalf("serviceConfiguration: %s", a.raw)
	}
	e.scim(http.MethodGet, "/resourcetypes/user", nil).want(t, http.StatusOK)
	e.scim(http.MethodGet, "/schemas", nil).want(t, http.StatusOK)

	id := e.scim(http.MethodPost, "/Users", `{"userName":"UserName123","active":true,"displayName":"BobIsAmazing",
		"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"externalId":"5b0e1c2d-0000-4000-8000-000000000001",
		"name":{"formatted":"Ryan Leenay","familyName":"Leenay","givenName":"Ryan"},
		"emails":[{"Primary":true,"type":"work","value":"testing@bob.com"},{"Primary":false,"type":"home","value":"testinghome@bob.com"}]}`).
		want(t, http.StatusCreated).str("id")
	got := e.scim(http.MethodGet, "/users/"+id, nil).want(t, http.StatusOK)
	emails, _ := got.body["emails"].([]any)
	if len(emails) != 1 || emails[0].(map[string]any)["primary"] != true || emails[0].(map[string]any)["value"] != "testing@bob.com" {
		t.Fatalf("emails = %v, want the work email with primary true", got.body["emails"])
	}
	if e.scim(http.MethodGet, "/Users/"+strings.ToUpper(id), nil).status != http.StatusNotFound {
		t.Fatalf("an id in another case found a user: ids are not case-folded")
	}

	for _, u := range []struct{ userName, family, email string }{
		{"emp1", "Employee", "anna33@example.com"},
		{"emp2", "Employee", "anna34@example.org"},
		{"emp3", "Employee", "anna35@Example.com"},
		{"enterprise", "Employee", "anna36@example.com"},
		{"emp5", "Employee", "anna37@gmail.com"},
		{"OMalley", "OMalley", "anna33@example.com"},
	} {
		e.scim(http.MethodPost, "/Users", fmt.Sprintf(`{"userName":%q,"active":true,"name":{"familyName":%q,"givenName":"Darl"},
			"emails":[{"type":"work","primary":true,"value":%q}]}`, u.userName, u.family, u.email)).want(t, http.StatusCreated)
	}
	list := e.scim(http.MethodGet, filterPath(`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`), nil).
		want(t, http.StatusOK)
	if n, _ := list.body["totalResults"].(float64); n != 4 {
		t.Fatalf("totalResults = %v, want 4: %s", list.body["totalResults"], list.raw)
	}
}
