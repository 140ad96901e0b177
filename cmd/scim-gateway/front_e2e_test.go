package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"reflect"
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
// alias, every email coming back as sent (with "Primary"), and its filter with unquoted values and
// sub-attributes in another case.
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
	wantEmails := []any{map[string]any{"primary": true, "type": "work", "value": "testing@bob.com"},
		map[string]any{"primary": false, "type": "home", "value": "testinghome@bob.com"}}
	if !reflect.DeepEqual(got.body["emails"], wantEmails) {
		t.Fatalf("emails = %v, want both as sent, the work one primary", got.body["emails"])
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

// microsoftEmployee is the user shape of the "User tests with garbage" folder of Microsoft's SCIM
// reference collection: two work emails (the one its filter looks for is the second), three phones,
// two addresses, meta, null name parts and an empty roles list.
func microsoftEmployee(userName, family, first, second string) string {
	return fmt.Sprintf(`{"userName":%q,"active":true,
		"addresses":[{"country":"Bermuda","formatted":"9132 Jennifer Way Suite 040\nSouth Nancy, MI 55645","locality":"West Mercedes",
			"postalCode":"99265","region":"Montana","streetAddress":"4939 Hess Fork","type":"work","primary":false},
			{"country":null,"formatted":"18522 Lisa Unions\nEast Gregory, CT 52311","locality":null,"postalCode":null,"region":null,
			"streetAddress":null,"type":"other","primary":false}],
		"displayName":"Kimberly Baker",
		"emails":[{"type":"work","primary":true,"value":%q},{"type":"work","primary":false,"value":%q}],
		"meta":{"created":"2019-09-18T18:15:26.5788954+00:00","lastModified":"2019-09-18T18:15:26.5788976+00:00","resourceType":"User"},
		"name":{"formatted":"Daniel Mcgee","familyName":%q,"givenName":"Darl","honorificPrefix":null,"honorificSuffix":null},
		"phoneNumbers":[{"type":"fax","primary":false,"value":"312-320-0500"},{"type":"mobile","primary":false,"value":"312-320-1707"},
			{"type":"work","primary":true,"value":"312-320-0932"}],
		"preferredLanguage":"xh","roles":[],"title":"Site engineer","externalId":"22fbc523-6032-4c5f-939d-5d4850cf3e52",
		"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"]}`, userName, first, second, family)
}

// TestMicrosoftCollectionSecondWorkEmail runs the collection's filter on its own users: the address it
// looks for is each user's second work email, which the portal's one contact email cannot hold. The
// whole emails attribute (property scimEmails) keeps it, so the filter finds the 4 employees; the
// contact email is the first work email; every email, phone and address comes back as sent; and
// removing the second email by PATCH takes that user out of the result.
func TestMicrosoftCollectionSecondWorkEmail(t *testing.T) {
	e := newEnv(t, nil)
	ids := map[string]string{}
	for _, u := range []struct{ userName, family, second string }{
		{"emp1", "Employee", "anna33@example.com"},
		{"emp2", "Employee", "anna33@example.org"},
		{"emp3", "Employee", "anna33@example.com"},
		{"enterprise", "Employee", "anna33@example.com"},
		{"emp4", "Employee", "anna33@elsewhere.net"},
		{"OMalley", "OMalley", "anna33@example.com"},
	} {
		ids[u.userName] = e.scim(http.MethodPost, "/Users", microsoftEmployee(u.userName, u.family, "anna33@gmail.com", u.second)).
			want(t, http.StatusCreated).str("id")
	}
	filter := filterPath(`name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)`)
	list := e.scim(http.MethodGet, filter, nil).want(t, http.StatusOK)
	if n, _ := list.body["totalResults"].(float64); n != 4 {
		t.Fatalf("totalResults = %v, want 4: %s", list.body["totalResults"], list.raw)
	}

	pu := e.portalUser("corp.example", "emp1")
	if strp(pu.ContactEmail) != "anna33@gmail.com" {
		t.Fatalf("contactEmail = %q, want the first work email", strp(pu.ContactEmail))
	}
	if s, _ := pu.Properties["scimEmails"].(string); !strings.Contains(s, "anna33@example.com") {
		t.Fatalf("scimEmails = %v, want the whole emails attribute", pu.Properties["scimEmails"])
	}
	got := e.scim(http.MethodGet, "/Users/"+ids["emp1"], nil).want(t, http.StatusOK)
	var sent map[string]any
	if err := json.Unmarshal([]byte(microsoftEmployee("emp1", "Employee", "anna33@gmail.com", "anna33@example.com")), &sent); err != nil {
		t.Fatal(err)
	}
	for _, attr := range []string{"emails", "phoneNumbers"} {
		if !reflect.DeepEqual(got.body[attr], sent[attr]) {
			t.Errorf("%s = %v, want as sent %v", attr, got.body[attr], sent[attr])
		}
	}
	if addrs, _ := got.body["addresses"].([]any); len(addrs) != 2 || addrs[0].(map[string]any)["country"] != "Bermuda" {
		t.Errorf("addresses = %v, want both as sent (nulls left out)", got.body["addresses"])
	}
	// The translation log names the whole attribute and masks it (redact: mask): no address in clear.
	if s, body := e.admin("/admin/translations?scimId="+ids["emp1"], e2eAdminToken); s != http.StatusOK ||
		!strings.Contains(body, `"portal":"properties.scimEmails"`) || strings.Contains(body, "anna33@example.com") ||
		strings.Contains(body, "Hess Fork") {
		t.Fatalf("/admin/translations: %d %s", s, body)
	}
	projected := e.scim(http.MethodGet, "/Users?attributes=emails&filter="+strings.TrimPrefix(filter, "/Users?filter="), nil).want(t, http.StatusOK)
	if !strings.Contains(projected.raw, "anna33@example.org") || strings.Contains(projected.raw, "312-320") {
		t.Fatalf("attributes=emails: %s", projected.raw)
	}

	e.scim(http.MethodPatch, "/Users/"+ids["emp2"], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"remove","path":"emails[value eq \"anna33@example.org\"]"}]}`).want(t, http.StatusNoContent)
	if p := e.portalUser("corp.example", "emp2"); p.Properties["scimEmails"] != nil || strp(p.ContactEmail) != "anna33@gmail.com" {
		t.Fatalf("after removing the second email: contactEmail %q, scimEmails %v; want the first kept and no whole property",
			strp(p.ContactEmail), p.Properties["scimEmails"])
	}
	list = e.scim(http.MethodGet, filter, nil).want(t, http.StatusOK)
	if n, _ := list.body["totalResults"].(float64); n != 3 {
		t.Fatalf("totalResults after the PATCH = %v, want 3: %s", list.body["totalResults"], list.raw)
	}
}
