package store

import (
	"context"
	"testing"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

// TestTenantNamespaces: tenants on one backend keep apart (same login, same SCIM id, same
// Idempotency-Key), the default tenant's keys are today's, and Entries lists only the tenant's own.
func TestTenantNamespaces(t *testing.T) {
	for name, open := range map[string]func(t *testing.T) KV{
		"memory": func(t *testing.T) KV { return NewMemory() },
		"redis": func(t *testing.T) KV {
			testkit.RequireSharedRedis(t)
			cfg := testRedisConfig("redis://127.0.0.1:6379/0")
			cfg.KeyPrefix = testkit.SharedRedisPrefix(t, "nstest")
			r, err := NewRedis(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Close() })
			return r
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			kv := open(t)
			def := New(ForTenant(kv, DefaultTenant), Options{LocalIDs: -1})
			fab := New(ForTenant(kv, "fabrikam"), Options{LocalIDs: -1})
			fabr := New(ForTenant(kv, "fabrikam2"), Options{LocalIDs: -1})
			login := NormaliseLogin("contoso", "alice")
			for i, s := range []*Store{def, fab, fabr} {
				if err := s.Remember(ctx, User, Login, login, []string{"d-id", "f-id", "f2-id"}[i]); err != nil {
					t.Fatal(err)
				}
				if err := s.RememberPortalKey(ctx, User, "same-id", int64(i+1)); err != nil {
					t.Fatal(err)
				}
				if _, claimed, err := s.BeginIdempotent(ctx, "entra", "k1", "fp"); err != nil || !claimed {
					t.Fatalf("tenant %d: idempotency key not claimed in its own namespace: %v %v", i, claimed, err)
				}
			}
			for i, s := range []*Store{def, fab, fabr} {
				id, _, _ := s.Lookup(ctx, User, Login, login)
				key, _, _ := s.PortalKey(ctx, User, "same-id")
				if id != []string{"d-id", "f-id", "f2-id"}[i] || key != int64(i+1) {
					t.Errorf("tenant %d reads %q, %d", i, id, key)
				}
			}
			// The default tenant's keys are exactly today's.
			if b, ok, _ := kv.Get(ctx, keyAttr(User, Login, login)); !ok || string(b) != "d-id" {
				t.Errorf("default key %q = %q, %v", keyAttr(User, Login, login), b, ok)
			}
			if b, ok, _ := kv.Get(ctx, "t:fabrikam:"+keyAttr(User, Login, login)); !ok || string(b) != "f-id" {
				t.Errorf("fabrikam key = %q, %v", b, ok)
			}
			if _, ok := kv.(Scanner); !ok {
				return
			}
			for i, s := range []*Store{def, fab, fabr} {
				var ids []string
				if err := s.Entries(ctx, func(e Entry) error {
					if e.Type == EntryLookup {
						ids = append(ids, e.SCIMID)
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if want := []string{"d-id", "f-id", "f2-id"}[i]; len(ids) != 1 || ids[0] != want {
					t.Errorf("tenant %d Entries lookups = %v, want [%s]", i, ids, want)
				}
			}
		})
	}
}
