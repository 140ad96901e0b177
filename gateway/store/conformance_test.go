package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

const (
	// shortTTL is the ttl of keys the suite watches expire: long enough that a loaded machine still
	// reads them back before it passes, short enough to keep the suite quick.
	shortTTL = 2 * time.Second
	// expiryTimeout bounds how long the suite polls for a key to expire on a backend with a real clock.
	expiryTimeout = 10 * time.Second
)

// fastForwarder is implemented by test backends whose clock the suite can move (miniredis) instead of
// waiting in real time.
type fastForwarder interface {
	FastForward(d time.Duration)
}

// RunConformance checks that a backend behaves as KV says. newKV returns a fresh, empty store and
// arranges its Close with t.Cleanup; the subtests run in parallel, each on its own store. A store that
// implements FastForward(time.Duration) has its clock moved for the expiry cases; the others are polled
// in real time.
func RunConformance(t *testing.T, newKV func(t *testing.T) KV) {
	tests := []struct {
		name string
		run  func(t *testing.T, kv KV)
	}{
		{"get missing", testGetMissing},
		{"set then get", testSetGet},
		{"overwrite", testOverwrite},
		{"overwrite without ttl keeps the key", testOverwriteClearsTTL},
		{"ttl expiry", testTTLExpiry},
		{"negative ttl", testNegativeTTL},
		{"setnx", testSetNX},
		{"setnx after expiry", testSetNXAfterExpiry},
		{"delete", testDelete},
		{"compare and delete", testCompareAndDelete},
		{"binary values", testBinaryValues},
		{"values are copied", testValuesCopied},
		{"concurrent setnx", testConcurrentSetNX},
		{"ping", testPing},
		{"canceled context", testCanceledContext},
		{"closed", testClosed},
		{"scan prefix", testScanPrefix},
		{"scan many keys", testScanMany},
		{"scan reads only", testScanReadsOnly},
		{"scan skips expired keys", testScanSkipsExpired},
		{"scan stops on error", testScanStops},
		{"scan canceled or closed", testScanCanceledClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newKV(t))
		})
	}
}

func testGetMissing(t *testing.T, kv KV) {
	mustMissing(t, kv, "missing")
}

func testSetGet(t *testing.T, kv KV) {
	mustSet(t, kv, "k", "v", 0)
	mustGet(t, kv, "k", "v")
	mustMissing(t, kv, "other")
}

func testOverwrite(t *testing.T, kv KV) {
	mustSet(t, kv, "k", "first", 0)
	mustSet(t, kv, "k", "second", 0)
	mustGet(t, kv, "k", "second")
}

func testOverwriteClearsTTL(t *testing.T, kv KV) {
	mustSet(t, kv, "k", "first", shortTTL)
	mustSet(t, kv, "k", "second", 0)
	elapse(kv, shortTTL+500*time.Millisecond)
	mustGet(t, kv, "k", "second")
}

func testTTLExpiry(t *testing.T, kv KV) {
	mustSet(t, kv, "short", "v", shortTTL)
	mustSet(t, kv, "long", "v", time.Hour)
	mustGet(t, kv, "short", "v")
	waitExpired(t, kv, "short", shortTTL)
	mustGet(t, kv, "long", "v")
}

func testNegativeTTL(t *testing.T, kv KV) {
	ctx := context.Background()
	if err := kv.Set(ctx, "k", []byte("v"), -time.Second); err == nil {
		t.Fatalf("Set with a negative ttl: got no error")
	}
	if _, err := kv.SetNX(ctx, "k", []byte("v"), -time.Second); err == nil {
		t.Fatalf("SetNX with a negative ttl: got no error")
	}
	mustMissing(t, kv, "k")
}

func testSetNX(t *testing.T, kv KV) {
	if !mustSetNX(t, kv, "lock", "first", 0) {
		t.Fatalf("first SetNX: got false, want true")
	}
	if mustSetNX(t, kv, "lock", "second", 0) {
		t.Fatalf("second SetNX: got true, want false")
	}
	mustGet(t, kv, "lock", "first")
}

func testSetNXAfterExpiry(t *testing.T, kv KV) {
	if !mustSetNX(t, kv, "lock", "first", shortTTL) {
		t.Fatalf("first SetNX: got false, want true")
	}
	if mustSetNX(t, kv, "lock", "second", shortTTL) {
		t.Fatalf("second SetNX before expiry: got true, want false")
	}
	waitExpired(t, kv, "lock", shortTTL)
	if !mustSetNX(t, kv, "lock", "third", time.Hour) {
		t.Fatalf("SetNX after expiry: got false, want true")
	}
	mustGet(t, kv, "lock", "third")
}

func testDelete(t *testing.T, kv KV) {
	ctx := context.Background()
	mustSet(t, kv, "a", "1", 0)
	mustSet(t, kv, "b", "2", 0)
	if err := kv.Delete(ctx, "a"); err != nil {
		t.Fatalf("Delete(a): %v", err)
	}
	mustMissing(t, kv, "a")
	mustGet(t, kv, "b", "2")
	if err := kv.Delete(ctx, "never-set"); err != nil {
		t.Fatalf("Delete of a missing key: got %v, want nil", err)
	}
}

func testCompareAndDelete(t *testing.T, kv KV) {
	tests := []struct {
		name        string
		stored      string // "" leaves the key unset
		compare     string
		wantDeleted bool
	}{
		{name: "matching", stored: "token-1", compare: "token-1", wantDeleted: true},
		{name: "not matching", stored: "token-1", compare: "token-2", wantDeleted: false},
		{name: "prefix of the value", stored: "token-1", compare: "token-", wantDeleted: false},
		{name: "missing", compare: "token-1", wantDeleted: false},
	}
	ctx := context.Background()
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("cad-%d", i)
			if tc.stored != "" {
				mustSet(t, kv, key, tc.stored, time.Hour)
			}
			deleted, err := kv.CompareAndDelete(ctx, key, []byte(tc.compare))
			if err != nil {
				t.Fatalf("CompareAndDelete: %v", err)
			}
			if deleted != tc.wantDeleted {
				t.Fatalf("CompareAndDelete: got %v, want %v", deleted, tc.wantDeleted)
			}
			switch {
			case tc.stored == "" || tc.wantDeleted:
				mustMissing(t, kv, key)
			default:
				mustGet(t, kv, key, tc.stored)
			}
		})
	}
}

func testBinaryValues(t *testing.T, kv KV) {
	large := make([]byte, 64<<10)
	for i := range large {
		large[i] = byte(i * 7)
	}
	tests := []struct {
		name  string
		value []byte
	}{
		{"empty", []byte{}},
		{"nul bytes", []byte{0, 0, 1, 0}},
		{"invalid utf-8", []byte{0xff, 0xfe, 0xc3, 0x28}},
		{"crlf", []byte("a\r\nb\r\n")},
		{"64KiB", large},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := "bin-" + tc.name
			if err := kv.Set(ctx, key, tc.value, 0); err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, ok, err := kv.Get(ctx, key)
			if err != nil || !ok {
				t.Fatalf("Get: got ok=%v err=%v, want the value", ok, err)
			}
			if !bytes.Equal(got, tc.value) {
				t.Fatalf("Get: got %d bytes %q, want %d bytes", len(got), truncate(got), len(tc.value))
			}
			other := append(bytes.Clone(tc.value), 0)
			if deleted, err := kv.CompareAndDelete(ctx, key, other); err != nil || deleted {
				t.Fatalf("CompareAndDelete with a longer value: got %v, %v, want false, nil", deleted, err)
			}
			if deleted, err := kv.CompareAndDelete(ctx, key, tc.value); err != nil || !deleted {
				t.Fatalf("CompareAndDelete with the value: got %v, %v, want true, nil", deleted, err)
			}
		})
	}
}

func testValuesCopied(t *testing.T, kv KV) {
	ctx := context.Background()
	buf := []byte("original")
	if err := kv.Set(ctx, "k", buf, 0); err != nil {
		t.Fatalf("Set: %v", err)
	}
	buf[0] = 'X'
	got, _, err := kv.Get(ctx, "k")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if string(got) != "original" {
		t.Fatalf("after changing the caller's slice: got %q, want %q", got, "original")
	}
	got[0] = 'Y'
	mustGet(t, kv, "k", "original")
}

func testConcurrentSetNX(t *testing.T, kv KV) {
	const n = 20
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		results = make([]bool, n)
		errs    = make([]error, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = kv.SetNX(context.Background(), "lock", fmt.Appendf(nil, "owner-%d", i), time.Hour)
		}()
	}
	close(start)
	wg.Wait()

	winner := -1
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("SetNX %d: %v", i, errs[i])
		}
		if results[i] {
			if winner >= 0 {
				t.Fatalf("SetNX: both %d and %d won", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("SetNX: nobody won")
	}
	mustGet(t, kv, "lock", fmt.Sprintf("owner-%d", winner))
}

func testPing(t *testing.T, kv KV) {
	if err := kv.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testCanceledContext(t *testing.T, kv KV) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := []struct {
		name string
		call func() error
	}{
		{"get", func() error { _, _, err := kv.Get(ctx, "k"); return err }},
		{"set", func() error { return kv.Set(ctx, "k", []byte("v"), 0) }},
		{"setnx", func() error { _, err := kv.SetNX(ctx, "k", []byte("v"), 0); return err }},
		{"delete", func() error { return kv.Delete(ctx, "k") }},
		{"compare and delete", func() error { _, err := kv.CompareAndDelete(ctx, "k", []byte("v")); return err }},
		{"ping", func() error { return kv.Ping(ctx) }},
	}
	for _, c := range calls {
		err := c.call()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("%s with a canceled context: got %v, want context.Canceled", c.name, err)
		}
		if errors.Is(err, ErrUnavailable) {
			t.Fatalf("%s with a canceled context: got %v, which blames the backend", c.name, err)
		}
	}
	mustMissing(t, kv, "k")
}

func testClosed(t *testing.T, kv KV) {
	if err := kv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := kv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := context.Background()
	if _, _, err := kv.Get(ctx, "k"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Get after Close: got %v, want ErrUnavailable", err)
	}
	if err := kv.Set(ctx, "k", []byte("v"), 0); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Set after Close: got %v, want ErrUnavailable", err)
	}
}

func mustSet(t *testing.T, kv KV, key, value string, ttl time.Duration) {
	t.Helper()
	if err := kv.Set(context.Background(), key, []byte(value), ttl); err != nil {
		t.Fatalf("Set(%s): %v", key, err)
	}
}

func mustSetNX(t *testing.T, kv KV, key, value string, ttl time.Duration) bool {
	t.Helper()
	ok, err := kv.SetNX(context.Background(), key, []byte(value), ttl)
	if err != nil {
		t.Fatalf("SetNX(%s): %v", key, err)
	}
	return ok
}

func mustGet(t *testing.T, kv KV, key, want string) {
	t.Helper()
	got, ok, err := kv.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	if !ok {
		t.Fatalf("Get(%s): missing, want %q", key, want)
	}
	if string(got) != want {
		t.Fatalf("Get(%s): got %q, want %q", key, got, want)
	}
}

func mustMissing(t *testing.T, kv KV, key string) {
	t.Helper()
	got, ok, err := kv.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	if ok || got != nil {
		t.Fatalf("Get(%s): got %q, %v, want missing", key, got, ok)
	}
}

// elapse lets d pass for kv: by moving its clock if it can, otherwise in real time.
func elapse(kv KV, d time.Duration) {
	if ff, ok := kv.(fastForwarder); ok {
		ff.FastForward(d)
		return
	}
	time.Sleep(d)
}

// waitExpired checks that key, stored with ttl, expires: after moving the clock past ttl, or by
// polling for up to expiryTimeout.
func waitExpired(t *testing.T, kv KV, key string, ttl time.Duration) {
	t.Helper()
	if ff, ok := kv.(fastForwarder); ok {
		ff.FastForward(ttl - 10*time.Millisecond)
		mustValue(t, kv, key)
		ff.FastForward(20 * time.Millisecond)
		mustMissing(t, kv, key)
		return
	}
	deadline := time.Now().Add(expiryTimeout)
	for {
		_, ok, err := kv.Get(context.Background(), key)
		if err != nil {
			t.Fatalf("Get(%s): %v", key, err)
		}
		if !ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get(%s): still there %s after it was set with ttl %s", key, expiryTimeout, ttl)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustValue(t *testing.T, kv KV, key string) string {
	t.Helper()
	got, ok, err := kv.Get(context.Background(), key)
	if err != nil || !ok {
		t.Fatalf("Get(%s): got ok=%v err=%v, want the value", key, ok, err)
	}
	return string(got)
}

func truncate(b []byte) []byte {
	if len(b) > 32 {
		return b[:32]
	}
	return b
}
