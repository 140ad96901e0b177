package main

import (
	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/gateway/adminui"
)

// mountUI serves the translation-log viewer on the admin port. The page is served without the admin
// token (it holds no data); it reads records from /admin/translations with the token the user gives it.
func (a *App) mountUI() {
	h := adminui.Handler()
	a.admin.Handle("GET "+adminui.Prefix, h)
	a.admin.Handle("GET "+adminui.Prefix[:len(adminui.Prefix)-1], h)
}

// endpointSwitches are the portal endpoint switches in force (of the top-level upstream, tenant
// "default"), every operation named, for /readyz and the viewer's strip.
func (a *App) endpointSwitches() map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]bool, len(config.Operations))
	for _, op := range config.Operations {
		out[op] = a.cfg.Upstream.Endpoints[op].IsEnabled()
	}
	return out
}
