package gateway

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestAdminHealthAndReadiness(t *testing.T) {
	a := NewAdmin(AdminOptions{Readiness: func() Readiness {
		return Readiness{Redis: "degraded", Breaker: "open", ConfigVersion: 3}
	}})
	h := a.Handler()
	if w := do(t, h, http.MethodGet, "/healthz", "", ""); w.Code != http.StatusOK {
		t.Fatalf("/healthz = %d", w.Code)
	}
	w := do(t, h, http.MethodGet, "/readyz", "", "")
	if w.Code != http.StatusOK {
		t.Fatalf("/readyz with a degraded Redis and an open breaker = %d, want 200 (degraded, not unready)", w.Code)
	}
	var body struct {
		Status string    `json:"status"`
		Detail Readiness `json:"detail"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "ready" || body.Detail.Redis != "degraded" || body.Detail.Breaker != "open" || body.Detail.ConfigVersion != 3 {
		t.Fatalf("/readyz body = %+v", body)
	}
	a.SetDraining()
	if w := do(t, h, http.MethodGet, "/readyz", "", ""); w.Code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz while draining = %d, want 503", w.Code)
	}
	if w := do(t, h, http.MethodGet, "/healthz", "", ""); w.Code != http.StatusOK {
		t.Fatalf("/healthz while draining = %d, want 200", w.Code)
	}
}

func TestAdminToken(t *testing.T) {
	a := NewAdmin(AdminOptions{})
	a.Handle("GET /admin/ping", a.RequireToken(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	h := a.Handler()
	if w := do(t, h, http.MethodGet, "/admin/ping", "anything", ""); w.Code != http.StatusForbidden {
		t.Fatalf("no admin token configured: %d, want 403", w.Code)
	}
	a.SetToken("admin-token-0123456789")
	for _, tc := range []struct {
		token string
		want  int
	}{{"", http.StatusUnauthorized}, {"wrong", http.StatusUnauthorized}, {"admin-token-0123456789", http.StatusNoContent}} {
		if w := do(t, h, http.MethodGet, "/admin/ping", tc.token, ""); w.Code != tc.want {
			t.Fatalf("token %q: %d, want %d", tc.token, w.Code, tc.want)
		}
	}
}
