package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestAccessQuery(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"empty", "", ""},
		{"paging kept", "startIndex=1&count=100", "startIndex=1&count=100"},
		{"filter masked, decoded", `filter=userName+eq+%22alice%40example.com%22`, `filter=userName eq "***"`},
		{"filter key percent-encoded", `fil%74er=userName%20eq%20%22alice%40x%22`, `filter=userName eq "***"`},
		{"filter key in other case", `FILTER=displayName+eq+Alice`, `FILTER=displayName eq ***`},
		{"access_token", "access_token=SECRET-1234567890abcdef&count=2", "access_token=***&count=2"},
		{"token-like keys in any case", "Token=a&API_KEY=b&key=c&Secret=d&password=e&code=f&client_secret=g&sig=h",
			"Token=***&API_KEY=***&key=***&Secret=***&password=***&code=***&client_secret=***&sig=***"},
		{"encoded token key", "access%5Ftoken=SECRET", "access_token=***"},
		{"unknown parameter masked", "aadOptscim062020&foo=alice@example.com", "aadOptscim062020&foo=***"},
		{"a strange key is masked whole", "eyJhbGciOiJIUzI1NiJ9%2Esecret%2Fpart", "***"},
		{"value filter in attributes", `attributes=emails%5Bvalue+eq+%22emailName357%22%5D`, `attributes=emails[value eq "***"]`},
		{"attributes list kept", "attributes=userName,emails&excludedAttributes=members", "attributes=userName,emails&excludedAttributes=members"},
		{"count not a number", "count=alice%40x", "count=***"},
		{"sortOrder", "sortBy=userName&sortOrder=descending&sortOrder=bob", "sortBy=userName&sortOrder=descending&sortOrder=***"},
		{"bad percent-encoding", "filter=userName+eq+%22a%ZZ&count=1", "filter=***&count=1"},
		{"empty parts", "&&count=1&", "count=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := accessQuery(tt.in); got != tt.want {
				t.Fatalf("accessQuery(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestAccessLogHidesQuerySecrets sends real HTTP requests whose query strings carry a bearer token and
// a filter (its key percent-encoded) and checks every field of every log line the gateway wrote.
func TestAccessLogHidesQuerySecrets(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	s := New(Options{
		Logger: zap.New(core),
		Tokens: NewTokens([]Token{{Name: "entra", Value: testToken}}),
		Live:   &Live{Limits: Limits{MaxBodyBytes: 1 << 20, MaxPageSize: 100, MaxScan: 1000, MaxOperations: 100}, OnDelete: "disable"},
	})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	const secret = "SECRET-query-token-0123456789"
	for _, target := range []string{
		"/scim/v2/ServiceProviderConfig?access_token=" + secret + "&fil%74er=userName+eq+%22alice%40x%22",
		"/scim/v2/ResourceTypes?Access_Token=" + secret + "&FIL%54ER=userName%20eq%20%22alice%40x%22&count=5",
	} {
		for _, token := range []string{testToken, "wrong-token-for-a-401"} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+target, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	entries := logs.All()
	var access int
	for _, e := range entries {
		b, _ := json.Marshal(e.ContextMap())
		line := e.Message + " " + string(b)
		for _, raw := range []string{secret, "alice", "alice@x", "alice%40x", testToken, "wrong-token-for-a-401"} {
			if strings.Contains(line, raw) {
				t.Errorf("log line shows %q: %s", raw, line)
			}
		}
		if e.Message == "scim request" {
			access++
			q, _ := e.ContextMap()["query"].(string)
			if !strings.Contains(strings.ToLower(q), `filter=username eq "***"`) || !strings.Contains(strings.ToLower(q), "access_token=***") {
				t.Errorf("access log query = %q, want the filter and the token masked", q)
			}
		}
	}
	if access != 4 {
		t.Fatalf("%d access log lines, want 4", access)
	}
}
