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
