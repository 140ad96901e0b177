package store

import (
	"context"
	"strings"
	"time"
)

// DefaultTenant is the tenant whose keys carry no namespace: the keys of a gateway without tenants,
// so that its Redis data stays valid when tenants are added.
const DefaultTenant = "default"

// TenantNamespace is the key namespace of a tenant's entries below the backend's key prefix: none for
// DefaultTenant, "t:NAME:" for another (a tenant name is a DNS label, so no namespace is the start of
// another, and no key of the default tenant starts with "t:").
func TenantNamespace(tenant string) string {
	if tenant == "" || tenant == DefaultTenant {
		return ""
	}
	return "t:" + tenant + ":"
}

// ForTenant returns the view of kv that tenant's Store uses: every key in the tenant's namespace
// (TenantNamespace), so two tenants may hold the same login, id or Idempotency-Key. The default tenant
// gets kv itself. Closing the view does not close kv, which its owner closes.
func ForTenant(kv KV, tenant string) KV {
	ns := TenantNamespace(tenant)
	if ns == "" {
		return kv
	}
	return &namespaced{kv: kv, ns: ns}
}

// namespaced prefixes every key with ns.
type namespaced struct {
	kv KV
	ns string
}

func (n *namespaced) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return n.kv.Get(ctx, n.ns+key)
}

func (n *namespaced) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	return n.kv.Set(ctx, n.ns+key, value, ttl)
}

func (n *namespaced) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	return n.kv.SetNX(ctx, n.ns+key, value, ttl)
}

func (n *namespaced) Delete(ctx context.Context, key string) error { return n.kv.Delete(ctx, n.ns+key) }

func (n *namespaced) CompareAndDelete(ctx context.Context, key string, value []byte) (bool, error) {
	return n.kv.CompareAndDelete(ctx, n.ns+key, value)
}

func (n *namespaced) Ping(ctx context.Context) error { return n.kv.Ping(ctx) }

// Close does nothing: the backend is shared and closed by its owner.
func (n *namespaced) Close() error { return nil }

// Scan enumerates the tenant's keys under prefix, without the namespace; ErrNoScan when the backend
// cannot enumerate its keys.
func (n *namespaced) Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	sc, ok := n.kv.(Scanner)
	if !ok {
		return ErrNoScan
	}
	return sc.Scan(ctx, n.ns+prefix, func(key string, value []byte) error {
		return fn(strings.TrimPrefix(key, n.ns), value)
	})
}
