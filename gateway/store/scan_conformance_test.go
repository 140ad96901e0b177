package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

// mustScan returns what Scan reports under prefix, failing the test on an error or on a key reported
// twice with different values (Redis may report a key twice; the value must not differ).
func mustScan(t *testing.T, kv KV, prefix string) map[string]string {
	t.Helper()
	sc, ok := kv.(Scanner)
	if !ok {
		t.Fatalf("%T does not implement Scanner", kv)
	}
	got := map[string]string{}
	err := sc.Scan(context.Background(), prefix, func(key string, value []byte) error {
		if old, seen := got[key]; seen && old != string(value) {
			return fmt.Errorf("key %q reported with %q and %q", key, old, value)
		}
		got[key] = string(value)
		return nil
	})
	if err != nil {
		t.Fatalf("Scan(%q): %v", prefix, err)
	}
	return got
}

func wantScan(t *testing.T, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Fatalf("Scan reported %v, want %v", got, want)
	}
}

// testScanPrefix: only keys under the prefix, taken literally (glob characters are not patterns).
func testScanPrefix(t *testing.T, kv KV) {
	mustSet(t, kv, "p:1", "one", 0)
	mustSet(t, kv, "p:2", "two", time.Minute)
	mustSet(t, kv, "q:1", "other", 0)
	mustSet(t, kv, "p*:3", "star", 0)
	mustSet(t, kv, "p?[x]\\", "glob", 0)
	wantScan(t, mustScan(t, kv, "p:"), map[string]string{"p:1": "one", "p:2": "two"})
	wantScan(t, mustScan(t, kv, "p*"), map[string]string{"p*:3": "star"})
	wantScan(t, mustScan(t, kv, "p?[x]"), map[string]string{"p?[x]\\": "glob"})
	wantScan(t, mustScan(t, kv, "none:"), map[string]string{})
	if all := mustScan(t, kv, ""); len(all) != 5 {
		t.Fatalf("Scan(\"\") reported %d keys, want 5: %v", len(all), slices.Sorted(maps.Keys(all)))
	}
}

// testScanMany: more keys than one SCAN step and one pipeline hold.
func testScanMany(t *testing.T, kv KV) {
	const n = scanBatch*2 + 37
	want := make(map[string]string, n)
	for i := range n {
		k, v := fmt.Sprintf("m:%04d", i), fmt.Sprintf("v%d", i)
		mustSet(t, kv, k, v, time.Minute)
		want[k] = v
	}
	wantScan(t, mustScan(t, kv, "m:"), want)
}

// testScanReadsOnly: a scan changes no value, adds or removes no key, and leaves every ttl running.
func testScanReadsOnly(t *testing.T, kv KV) {
	mustSet(t, kv, "r:keep", "kept", 0)
	mustSet(t, kv, "r:ttl", "expiring", shortTTL)
	before := mustScan(t, kv, "")
	for range 3 {
		wantScan(t, mustScan(t, kv, ""), before)
	}
	mustGet(t, kv, "r:keep", "kept")
	waitExpired(t, kv, "r:ttl", shortTTL)
	mustGet(t, kv, "r:keep", "kept")
}

func testScanSkipsExpired(t *testing.T, kv KV) {
	mustSet(t, kv, "e:live", "live", 0)
	mustSet(t, kv, "e:gone", "gone", shortTTL)
	waitExpired(t, kv, "e:gone", shortTTL)
	wantScan(t, mustScan(t, kv, "e:"), map[string]string{"e:live": "live"})
}

func testScanStops(t *testing.T, kv KV) {
	for i := range 5 {
		mustSet(t, kv, fmt.Sprintf("s:%d", i), "v", 0)
	}
	stop := errors.New("stop here")
	calls := 0
	err := kv.(Scanner).Scan(context.Background(), "s:", func(string, []byte) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Scan with fn failing: err %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func testScanCanceledClosed(t *testing.T, kv KV) {
	mustSet(t, kv, "c:1", "v", 0)
	sc := kv.(Scanner)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := sc.Scan(ctx, "", func(string, []byte) error { return nil })
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		t.Fatalf("Scan with a canceled context: got %v, want context.Canceled not blaming the backend", err)
	}
	if err := kv.Close(); err != nil {
		t.Fatal(err)
	}
	err = sc.Scan(context.Background(), "", func(string, []byte) error { return nil })
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Scan after Close: got %v, want ErrUnavailable", err)
	}
}
