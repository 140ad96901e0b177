package config

import (
	"fmt"
	"regexp"
	"strings"
)

// DefaultTenant is the name of the implicit tenant made of the top-level keys (server.tokens,
// upstream, mapping, deprovision, limits, dryRun). No entry of tenants may take it.
const DefaultTenant = "default"

// tenantName is a DNS label: lower-case letters, digits and inner hyphens, at most 63 characters.
var tenantName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidTenantName reports whether name may name a tenant (a DNS label; "default" is the top level's).
func ValidTenantName(name string) bool { return tenantName.MatchString(name) }

// tenantInherited are the keys of a tenants entry that come from the top level when the entry leaves
// them out. Inheritance is key by key: a block the entry sets is merged over the top level's, so an
// entry that sets only upstream.baseURL and upstream.auth keeps the top level's timeouts, retries,
// breaker and endpoints. Lists (tokens, scopes, mapping.users) are taken whole.
var tenantInherited = []string{"upstream", "mapping", "deprovision", "limits", "dryRun"}

// tenantWhole are the blocks of a tenant's upstream that are taken whole: an entry that sets any key
// of one gets none of the top level's keys of that block (the built-in defaults fill the rest), so one
// portal's credentials or client certificate never reach another portal.
var tenantWhole = []string{"auth", "tls"}

// inheritTenants fills every entry of root's tenants list (the merged defaults, file and environment
// layers) with what it inherits from the top level, in place; defaults is the defaults layer (for the
// blocks taken whole). It reports an entry that would send the top level's portal credentials to
// another portal: one that sets upstream.baseURL to another URL without an upstream.auth of its own.
func inheritTenants(root, defaults map[string]any) (ps Problems) {
	list, _ := root["tenants"].([]any)
	for i, item := range list {
		t, ok := item.(map[string]any)
		if !ok {
			continue // decoding reports the type
		}
		p := indexKey("tenants", i)
		if up, ok := t["upstream"].(map[string]any); ok {
			top, _ := root["upstream"].(map[string]any)
			_, ownAuth := up["auth"]
			if base, set := up["baseURL"]; set && !ownAuth && base != top["baseURL"] && authType(top) != "none" {
				ps.add(p+".upstream.auth", "required when upstream.baseURL is not the top level's: "+
					"the top level's portal credentials are not sent to another portal")
			}
		}
		for _, k := range tenantInherited {
			base := deepCopy(root[k])
			own, set := t[k]
			if !set {
				t[k] = base
				continue
			}
			if k == "upstream" {
				baseUp, _ := base.(map[string]any)
				ownUp, _ := own.(map[string]any)
				defUp, _ := defaults["upstream"].(map[string]any)
				for _, w := range tenantWhole {
					if _, set := ownUp[w]; set && baseUp != nil {
						baseUp[w] = deepCopy(defUp[w])
					}
				}
			}
			t[k] = mergeRaw(base, own)
		}
	}
	return ps
}

func authType(upstream map[string]any) string {
	a, _ := upstream["auth"].(map[string]any)
	s, _ := a["type"].(string)
	return s
}

// mergeRaw lays over on top of base, key by key where both are mappings; otherwise over wins.
func mergeRaw(base, over any) any {
	bm, ok1 := base.(map[string]any)
	om, ok2 := over.(map[string]any)
	if !ok1 || !ok2 {
		return deepCopy(over)
	}
	for k, v := range om {
		bm[k] = mergeRaw(bm[k], v)
	}
	return bm
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = deepCopy(e)
		}
		return l
	}
	return v
}

// AllTenants returns every tenant: "default" (the top-level keys) first, then the tenants list.
func (c *Config) AllTenants() []Tenant {
	all := make([]Tenant, 0, 1+len(c.Tenants))
	all = append(all, Tenant{Name: DefaultTenant, Tokens: c.Server.Tokens, Upstream: c.Upstream, Mapping: c.Mapping,
		Deprovision: c.Deprovision, Limits: c.Limits, DryRun: c.DryRun})
	return append(all, c.Tenants...)
}

// Tenant returns the tenant named name ("default": the top level), and whether there is one.
func (c *Config) Tenant(name string) (Tenant, bool) {
	for _, t := range c.AllTenants() {
		if t.Name == name {
			return t, true
		}
	}
	return Tenant{}, false
}

// TenantNames lists every tenant's name, "default" first.
func (c *Config) TenantNames() []string {
	names := []string{DefaultTenant}
	for _, t := range c.Tenants {
		names = append(names, t.Name)
	}
	return names
}

// tenants checks the tenants list: names, tokens, and each entry's blocks with its key path. A problem
// of an inherited value that the top level already reports is not repeated under the tenant. It also
// refuses a token value that appears twice anywhere (server.tokens or any tenant's): the token picks
// the tenant.
func (v *validator) tenants(c *Config) {
	top := map[string]bool{}
	for _, p := range v.ps {
		top[p.String()] = true
	}
	names := map[string]int{}
	for i, t := range c.Tenants {
		p := indexKey("tenants", i)
		switch prev, dup := names[t.Name]; {
		case t.Name == "":
			v.addf(p+".name", "empty")
		case t.Name == DefaultTenant:
			v.addf(p+".name", "%q is the top level's tenant (server.tokens and upstream); pick another name", t.Name)
		case !ValidTenantName(t.Name):
			v.addf(p+".name", "%q must be a DNS label: lower-case letters, digits and inner hyphens, at most 63", t.Name)
		case dup:
			v.addf(p+".name", "%q is also the name of tenants[%d]", t.Name, prev)
		default:
			names[t.Name] = i
		}
		tv := &validator{}
		tv.tokens(p+".tokens", t.Tokens)
		tv.upstream(p+".upstream", &t.Upstream)
		tv.globalBound(p+".upstream", &t.Upstream, &c.Store.Redis)
		tv.oneOf(p+".deprovision.onDelete", t.Deprovision.OnDelete, onDeleteModes)
		tv.limits(p+".limits", &t.Limits)
		tv.mapping(p+".", &t.Mapping)
		for _, q := range tv.ps {
			inherited := Problem{Path: strings.TrimPrefix(q.Path, p+"."), Message: q.Message}
			if !top[inherited.String()] {
				v.ps = append(v.ps, q)
			}
		}
	}
	// A token value used twice, in one list or across lists.
	seen := map[string]string{}
	check := func(list string, tokens []Token) {
		for i, t := range tokens {
			if t.Value == "" {
				continue
			}
			p := indexKey(list, i)
			if prev, dup := seen[t.Value]; dup {
				v.addf(p+".value", "same value as %s: a token picks its tenant, so each value may appear once", prev)
				continue
			}
			seen[t.Value] = p
		}
	}
	check("server.tokens", c.Server.Tokens)
	for i, t := range c.Tenants {
		check(fmt.Sprintf("tenants[%d].tokens", i), t.Tokens)
	}
}
