package gateway

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"sync/atomic"
)

// Readiness is the detail /readyz reports. A degraded dependency does not make the pod unready: an
// unready pod would turn the gateway's clean 503s into connection errors.
type Readiness struct {
	Redis         string `json:"redis"`   // "ok", "degraded", or "memory" when no Redis is configured
	Breaker       string `json:"breaker"` // the portal circuit breaker: "closed", "half-open", "open"
	ConfigVersion int64  `json:"configVersion"`
	// GlobalBound is the default tenant's fleet-wide portal bound (upstream.globalMaxInFlight): "off",
	// "enforced", or "degraded" while Redis fails and only each replica's upstream.maxInFlight applies.
	GlobalBound string `json:"globalBound,omitempty"`
	// Endpoints are the portal endpoint switches in force (upstream.endpoints.<op>.enabled).
	Endpoints map[string]bool `json:"endpoints,omitempty"`
	// Tenants is each tenant's detail, when tenants are configured. A tenant's open breaker shows here
	// and does not make the pod unready: the other tenants still serve.
	Tenants map[string]TenantReadiness `json:"tenants,omitempty"`
}

// TenantReadiness is one tenant's part of the /readyz detail.
type TenantReadiness struct {
	Breaker string `json:"breaker"` // the tenant's portal circuit breaker: "closed", "half-open", "open"
	// GlobalBound is the tenant's fleet-wide portal bound, as Readiness.GlobalBound is the default
	// tenant's: "off", "enforced" or "degraded".
	GlobalBound string `json:"globalBound,omitempty"`
}

// AdminOptions are the dependencies of the admin listener.
type AdminOptions struct {
	// Token guards /admin/*; empty leaves /admin/* closed (403).
	Token string
	// Readiness reports the detail of /readyz.
	Readiness func() Readiness
}

// Admin is the cluster-internal listener: /healthz, /readyz, and the /admin/ routes.
type Admin struct {
	mux       *http.ServeMux
	draining  atomic.Bool
	token     atomic.Pointer[[sha256.Size]byte]
	readiness func() Readiness
}

// NewAdmin builds the admin listener's handler.
func NewAdmin(opts AdminOptions) *Admin {
	a := &Admin{mux: http.NewServeMux(), readiness: opts.Readiness}
	a.SetToken(opts.Token)
	a.mux.HandleFunc("GET /healthz", a.healthz)
	a.mux.HandleFunc("GET /readyz", a.readyz)
	return a
}

// Handler returns the admin listener's handler.
func (a *Admin) Handler() http.Handler { return a.mux }

// Handle mounts h on the admin mux under pattern (for example "GET /metrics"); patterns under /admin/
// should be wrapped in RequireToken.
func (a *Admin) Handle(pattern string, h http.Handler) { a.mux.Handle(pattern, h) }

// SetToken replaces the admin token (configuration reload).
func (a *Admin) SetToken(tok string) {
	if tok == "" {
		a.token.Store(nil)
		return
	}
	d := sha256.Sum256([]byte(tok))
	a.token.Store(&d)
}

// RequireToken guards h with the admin token.
func (a *Admin) RequireToken(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		want := a.token.Load()
		if want == nil {
			http.Error(w, "admin routes are closed: set admin.token", http.StatusForbidden)
			return
		}
		tok, ok := bearerToken(r.Header.Get("Authorization"))
		got := sha256.Sum256([]byte(tok))
		if !ok || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="admin"`)
			http.Error(w, "missing or invalid admin token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// SetDraining makes /readyz fail, the first step of a graceful shutdown.
func (a *Admin) SetDraining() { a.draining.Store(true) }

// healthz serves GET /healthz: the process is alive.
func (a *Admin) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// readyz serves GET /readyz: 200 with the detail while serving, 503 while draining.
func (a *Admin) readyz(w http.ResponseWriter, _ *http.Request) {
	body := map[string]any{"status": "ready"}
	status := http.StatusOK
	if a.draining.Load() {
		body["status"] = "draining"
		status = http.StatusServiceUnavailable
	}
	if a.readiness != nil {
		body["detail"] = a.readiness()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
