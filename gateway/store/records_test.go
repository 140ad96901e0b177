package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

// recordBackends runs f against the typed Store on every backend.
func recordBackends(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Run("memory", func(t *testing.T) {
		kv := NewMemory()
		t.Cleanup(func() { _ = kv.Close() })
		f(t, New(kv, Options{}))
	})
	t.Run("real-redis", func(t *testing.T) {
		testkit.RequireSharedRedis(t)
		f(t, New(newRealRedisKV(t), Options{}))
	})
}

func TestPortalKeyMapping(t *testing.T) {
	recordBackends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, ok, err := s.PortalKey(ctx, User, "guid-1"); ok || err != nil {
			t.Fatalf("PortalKey on an empty store = %v, %v", ok, err)
		}
		if err := s.RememberPortalKey(ctx, User, "guid-1", 42); err != nil {
			t.Fatal(err)
		}
		if v, ok, err := s.PortalKey(ctx, User, "guid-1"); !ok || err != nil || v != 42 {
			t.Fatalf("PortalKey = %d, %v, %v; want 42", v, ok, err)
		}
		if _, ok, _ := s.PortalKey(ctx, Group, "guid-1"); ok {
			t.Fatal("a user mapping answered for a group")
		}
		// Through the backend alone (a second replica has an empty in-process cache).
		other := New(s.KV(), Options{})
		if v, ok, err := other.PortalKey(ctx, User, "guid-1"); !ok || err != nil || v != 42 {
			t.Fatalf("second replica PortalKey = %d, %v, %v; want 42", v, ok, err)
		}
		if err := s.ForgetPortalKey(ctx, User, "guid-1"); err != nil {
			t.Fatal(err)
		}
		for _, st := range []*Store{s, New(s.KV(), Options{})} {
			if _, ok, _ := st.PortalKey(ctx, User, "guid-1"); ok {
				t.Fatal("mapping still there after ForgetPortalKey")
			}
		}
	})
}

func TestLookupHidesPII(t *testing.T) {
	kv := NewMemory()
	s := New(kv, Options{})
	ctx := context.Background()
	login := NormaliseLogin("Contoso.com", "Alice.Smith")
	if login != `contoso.com\alice.smith` {
		t.Fatalf("NormaliseLogin = %q", login)
	}
	if err := s.Remember(ctx, User, Login, login, "guid-a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remember(ctx, User, ExternalID, "EXT-1", "guid-a"); err != nil {
		t.Fatal(err)
	}
	if id, ok, _ := s.Lookup(ctx, User, Login, login); !ok || id != "guid-a" {
		t.Fatalf("Lookup(login) = %q, %v", id, ok)
	}
	if _, ok, _ := s.Lookup(ctx, User, ExternalID, "ext-1"); ok {
		t.Fatal("externalId lookup must be exact")
	}
	for _, k := range kv.keys() {
		if strings.Contains(strings.ToLower(k), "alice") || strings.Contains(k, "EXT-1") {
			t.Fatalf("key %q carries PII in clear", k)
		}
	}
	if err := s.Forget(ctx, User, Login, login); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Lookup(ctx, User, Login, login); ok {
		t.Fatal("login still mapped after Forget")
	}
}

func TestCreateRecord(t *testing.T) {
	recordBackends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, ok, err := s.CreateRecord(ctx, User, `d\a`); ok || err != nil {
			t.Fatalf("CreateRecord on an empty store = %v, %v", ok, err)
		}
		want := CreateRecord{Fingerprint: "fp", ID: "guid-a"}
		if err := s.PutCreateRecord(ctx, User, `d\a`, want); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.CreateRecord(ctx, User, `d\a`)
		if !ok || err != nil || got != want {
			t.Fatalf("CreateRecord = %+v, %v, %v; want %+v", got, ok, err, want)
		}
		want.Delivered = true
		if err := s.PutCreateRecord(ctx, User, `d\a`, want); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := s.CreateRecord(ctx, User, `d\a`); !got.Delivered {
			t.Fatal("Delivered not stored")
		}
	})
}

func TestLockCreateSerialises(t *testing.T) {
	recordBackends(t, func(t *testing.T, s *Store) {
		var inside, maxInside, done atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				unlock, err := s.LockCreate(ctx, User, `d\same`, 10*time.Second)
				if err != nil {
					t.Errorf("LockCreate: %v", err)
					return
				}
				n := inside.Add(1)
				for {
					m := maxInside.Load()
					if n <= m || maxInside.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
				inside.Add(-1)
				done.Add(1)
				unlock()
			}()
		}
		wg.Wait()
		if maxInside.Load() != 1 || done.Load() != 8 {
			t.Fatalf("max holders at once = %d, finished = %d; want 1 and 8", maxInside.Load(), done.Load())
		}
	})
}

func TestLockCreateTimesOutAndExpires(t *testing.T) {
	recordBackends(t, func(t *testing.T, s *Store) {
		unlock, err := s.LockCreate(context.Background(), User, `d\held`, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if _, err := s.LockCreate(ctx, User, `d\held`, time.Hour); !errors.Is(err, ErrLockTimeout) {
			t.Fatalf("second LockCreate = %v, want ErrLockTimeout", err)
		}
		unlock()
		u2, err := s.LockCreate(context.Background(), User, `d\held`, time.Hour)
		if err != nil {
			t.Fatalf("LockCreate after unlock: %v", err)
		}
		u2()
	})
}

func TestIdempotency(t *testing.T) {
	recordBackends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		rec, claimed, err := s.BeginIdempotent(ctx, "entra", "k1", "fp1")
		if err != nil || !claimed || rec.Fingerprint != "fp1" {
			t.Fatalf("first Begin = %+v, %v, %v", rec, claimed, err)
		}
		rec, claimed, err = s.BeginIdempotent(ctx, "entra", "k1", "fp1")
		if err != nil || claimed || rec.Done {
			t.Fatalf("Begin while in flight = %+v, %v, %v; want not claimed, not done", rec, claimed, err)
		}
		body := []byte(`{"id":"x"}`)
		if err := s.FinishIdempotent(ctx, "entra", "k1", IdemRecord{Fingerprint: "fp1", Status: 201, Location: "/u/x", Body: body}); err != nil {
			t.Fatal(err)
		}
		rec, claimed, err = s.BeginIdempotent(ctx, "entra", "k1", "fp2")
		if err != nil || claimed || !rec.Done || rec.Status != 201 || rec.Fingerprint != "fp1" || !bytes.Equal(rec.Body, body) {
			t.Fatalf("Begin after Finish = %+v, %v, %v", rec, claimed, err)
		}
		// Scoped to the token.
		if _, claimed, _ := s.BeginIdempotent(ctx, "other", "k1", "fp1"); !claimed {
			t.Fatal("an Idempotency-Key of one token blocked another token")
		}
		if err := s.AbandonIdempotent(ctx, "other", "k1"); err != nil {
			t.Fatal(err)
		}
		if _, claimed, _ := s.BeginIdempotent(ctx, "other", "k1", "fp1"); !claimed {
			t.Fatal("abandoned key not claimable again")
		}
	})
}

func TestIDCacheBounded(t *testing.T) {
	c := newIDCache(100)
	for i := 0; i < 1000; i++ {
		c.put(strings.Repeat("x", i%7)+string(rune('a'+i%26))+time.Duration(i).String(), int64(i))
	}
	if n := len(c.m); n > 100 {
		t.Fatalf("cache holds %d entries, cap 100", n)
	}
	c.put("k", 7)
	if v, ok := c.get("k"); !ok || v != 7 {
		t.Fatal("last put not readable")
	}
}

func TestStoreErrorsAreReturned(t *testing.T) {
	kv := NewMemory()
	s := New(kv, Options{LocalIDs: -1})
	_ = kv.Close()
	ctx := context.Background()
	if _, _, err := s.PortalKey(ctx, User, "x"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("PortalKey on a closed store: %v, want ErrUnavailable", err)
	}
	if _, err := s.LockCreate(ctx, User, "x", time.Second); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("LockCreate on a closed store: %v, want ErrUnavailable", err)
	}
}

// keys lists the memory store's live keys (tests only).
func (m *Memory) keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.items))
	for k := range m.items {
		out = append(out, k)
	}
	return out
}

// slowSetNX is a KV whose SetNX on a held key answers only when the caller's context ends, with the
// context's error, as a Redis call cut by the deadline does.
type slowSetNX struct{ KV }

func (k slowSetNX) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	ok, err := k.KV.SetNX(ctx, key, value, ttl)
	if ok || err != nil {
		return ok, err
	}
	<-ctx.Done()
	return false, fmt.Errorf("redis setnx: %w", ctx.Err())
}

// TestLockCreateTimeoutDuringTheCall: a wait that ends during a SetNX is ErrLockTimeout, not a
// backend failure (on which the gateway would go on without the lock). It made
// TestLockCreateTimesOutAndExpires/real-redis flaky.
func TestLockCreateTimeoutDuringTheCall(t *testing.T) {
	kv := NewMemory()
	t.Cleanup(func() { _ = kv.Close() })
	s := New(slowSetNX{kv}, Options{})
	unlock, err := s.LockCreate(context.Background(), User, `d\held`, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.LockCreate(ctx, User, `d\held`, time.Hour); !errors.Is(err, ErrLockTimeout) {
		t.Fatalf("second LockCreate = %v, want ErrLockTimeout", err)
	}
}
