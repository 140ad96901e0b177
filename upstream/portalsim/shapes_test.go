package portalsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// keysOf returns the keys of a JSON object in the order they appear.
func keysOf(t *testing.T, data []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", data)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
	}
	return keys
}

// member returns the raw value of key in a JSON object.
func member(t *testing.T, data []byte, key string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return m[key]
}

// firstItem returns the first element of the array at key of a JSON object.
func firstItem(t *testing.T, data []byte, key string) []byte {
	t.Helper()
	var items []json.RawMessage
	if err := json.Unmarshal(member(t, data, key), &items); err != nil || len(items) == 0 {
		t.Fatalf("no %s items in %s (%v)", key, data, err)
	}
	return items[0]
}

// TestJSONShapes checks that every body has the key names of docs/portal-api.md, in its order.
func TestJSONShapes(t *testing.T) {
	p := newPortal(t)
	userKeys := []string{"idUser", "guidUser", "userName", "domain", "fullName", "firstName", "lastName",
		"contactEmail", "contactCellPhone", "externalKey", "enabled", "properties", "createdOn", "modifiedOn"}
	groupKeys := []string{"idGroup", "guidGroup", "name", "externalKey", "description", "createdOn", "modifiedOn"}
	created := p.call(http.MethodPost, usersPath, `{"userName":"ann","domain":"corp"}`)
	p.call(http.MethodPost, usersPath, `{"userName":"bob","domain":"corp"}`)
	group := p.call(http.MethodPost, groupsPath, `{"name":"g"}`)
	p.call(http.MethodPut, groupPath(1, "/members(1)"), "")
	p.call(http.MethodPut, groupPath(1, "/members(2)"), "")
	list := p.call(http.MethodGet, usersPath+"?$top=1", "")
	members := p.call(http.MethodGet, groupPath(1, "/members")+"?$top=1", "")
	notFound := p.call(http.MethodGet, userPath(42, ""), "")
	conflict := p.call(http.MethodPost, usersPath, `{"userName":"ann","domain":"corp"}`)
	groupConflict := p.call(http.MethodPost, groupsPath, `{"name":"G"}`)
	token := p.tokenRequest(testClientID, testClientSecret, "grant_type=client_credentials&scope=api%20usersync")
	stats := p.simCall(http.MethodGet, "/_sim/stats", "")
	faults := p.simCall(http.MethodGet, "/_sim/faults", "")

	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"token", token.body, []string{"access_token", "token_type", "expires_in", "scope", "http_status_code"}},
		{"user", created.body, userKeys},
		{"group", group.body, groupKeys},
		{"list", list.body, []string{"@odata.count", "value", "@odata.nextLink"}},
		{"list item", firstItem(t, list.body, "value"), userKeys},
		{"members list", members.body, []string{"@odata.count", "value", "@odata.nextLink"}},
		{"member", firstItem(t, members.body, "value"), []string{"idUser", "guidUser", "userName", "domain"}},
		{"error", notFound.body, []string{"error", "traceId"}},
		{"error object", member(t, notFound.body, "error"), []string{"code", "message", "target"}},
		{"409 error object", member(t, conflict.body, "error"), []string{"code", "message", "target", "existingIdUser"}},
		{"409 group error object", member(t, groupConflict.body, "error"), []string{"code", "message", "target", "existingIdGroup"}},
		{"stats", stats.body, []string{"total", "calls", "inFlight", "peakInFlight"}},
		{"stats entry", firstItem(t, stats.body, "calls"), []string{"method", "route", "status", "count"}},
		{"faults", faults.body, []string{"latencyMs", "jitterMs", "errorRate", "rateLimitRate", "retryAfterSeconds",
			"htmlErrors", "tokenTTLSeconds", "dropRate", "slowCommitRate", "slowCommitMs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keysOf(t, tt.data); !slices.Equal(got, tt.want) {
				t.Fatalf("keys = %v, want %v\nbody %s", got, tt.want, tt.data)
			}
		})
	}
	t.Run("error without target has a null target", func(t *testing.T) {
		res := p.send(http.MethodGet, p.apiURL(usersPath), "", "")
		if got := string(member(t, member(t, res.body, "error"), "target")); got != "null" {
			t.Fatalf("target = %s", got)
		}
	})
	t.Run("documented error example", func(t *testing.T) {
		var eb ErrorBody
		decode(t, notFound.body, &eb)
		if eb.Error.Code != "USER_NOT_FOUND" || eb.Error.Message != "no user with idUser 42" || str(eb.Error.Target) != "idUser" {
			t.Fatalf("error = %s", notFound.body)
		}
	})
}
