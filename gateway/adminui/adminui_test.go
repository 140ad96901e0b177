package adminui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scim-gateway/scim-gateway/gateway/adminui"
)

// TestHandler: the page's three files are served with a policy that lets them load nothing from
// elsewhere; /admin/ui redirects to /admin/ui/; other paths are 404.
func TestHandler(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /admin/ui/", adminui.Handler())
	mux.Handle("GET /admin/ui", adminui.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	tests := []struct {
		path, contentType, contains string
		status                      int
	}{
		{"/admin/ui/", "text/html", `<script src="app.js"`, http.StatusOK},
		{"/admin/ui/app.js", "javascript", "/admin/translations", http.StatusOK},
		{"/admin/ui/app.css", "text/css", "@media", http.StatusOK},
		{"/admin/ui", "", "", http.StatusMovedPermanently},
		{"/admin/ui/missing.js", "", "", http.StatusNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp, err := client.Get(srv.URL + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "connect-src 'self'") {
				t.Fatalf("Content-Security-Policy %q", csp)
			}
			if tc.status == http.StatusMovedPermanently && resp.Header.Get("Location") != adminui.Prefix {
				t.Fatalf("Location %q, want %s", resp.Header.Get("Location"), adminui.Prefix)
			}
			if tc.status != http.StatusOK {
				return
			}
			if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, tc.contentType) {
				t.Fatalf("Content-Type %q, want %s", ct, tc.contentType)
			}
			if !strings.Contains(string(body), tc.contains) {
				t.Fatalf("body lacks %q", tc.contains)
			}
		})
	}
}
