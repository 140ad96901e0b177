package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

// scanAll returns the values of s newest first, from since.
func scanAll(t *testing.T, s *Stream, since time.Time) []string {
	t.Helper()
	var out []string
	if err := s.Scan(context.Background(), since, func(added time.Time, v []byte) bool {
		if time.Since(added) > time.Minute || time.Until(added) > time.Minute {
			t.Fatalf("entry %q added at %v: not the time of the add", v, added)
		}
		out = append(out, string(v))
		return true
	}); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return out
}

// TestStreamAddScan: values come back newest first across pages, the scan stops when fn says so, and
// a since bound leaves out older entries.
func TestStreamAddScan(t *testing.T) {
	testkit.RequireSharedRedis(t)
	r := newRealRedisKV(t)
	s := r.Stream("log")
	ctx := context.Background()
	const n = 2*streamPage + 17 // three pages
	for i := range n {
		if err := s.Add(ctx, 100000, [][]byte{[]byte(strconv.Itoa(i))}); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	got := scanAll(t, s, time.Time{})
	if len(got) != n {
		t.Fatalf("Scan read %d values, want %d", len(got), n)
	}
	for i, v := range got {
		if want := strconv.Itoa(n - 1 - i); v != want {
			t.Fatalf("value %d = %q, want %q (newest first)", i, v, want)
		}
	}
	seen := 0
	if err := s.Scan(ctx, time.Time{}, func(time.Time, []byte) bool { seen++; return seen < 3 }); err != nil || seen != 3 {
		t.Fatalf("a scan stopped by fn after 3 values saw %d (%v)", seen, err)
	}

	// Entries added after a moment are the only ones a since of that moment reads.
	time.Sleep(5 * time.Millisecond) // stream ids have millisecond resolution
	mark := time.Now()
	time.Sleep(5 * time.Millisecond)
	if err := s.Add(ctx, 100000, [][]byte{[]byte("late-1"), []byte("late-2")}); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if got := scanAll(t, s, mark); fmt.Sprint(got) != "[late-2 late-1]" {
		t.Fatalf("Scan since a moment = %v, want [late-2 late-1]", got)
	}
}

// TestStreamCapped: the stream stays near maxLen however much is added (MAXLEN ~ trims whole nodes of
// at most 100 entries, Redis' stream-node-max-entries default).
func TestStreamCapped(t *testing.T) {
	testkit.RequireSharedRedis(t)
	r := newRealRedisKV(t)
	s := r.Stream("capped")
	ctx := context.Background()
	const maxLen = 150
	batch := make([][]byte, 50)
	for i := range batch {
		batch[i] = []byte("record")
	}
	for range 40 { // 2,000 entries
		if err := s.Add(ctx, maxLen, batch); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	n, err := s.Len(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n < maxLen || n > maxLen+100 {
		t.Fatalf("stream holds %d entries after 2,000 adds with maxLen %d, want %d to %d", n, maxLen, maxLen, maxLen+100)
	}
}

// TestStreamRedisDown: with Redis gone, Add and Scan fail with ErrUnavailable, promptly once the
// short-circuit opens.
func TestStreamRedisDown(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	r := newTestRedis(t, testRedisConfig(srv.URL()), defaultCircuitSettings())
	s := r.Stream("down")
	ctx := context.Background()
	if err := s.Add(ctx, 100, [][]byte{[]byte("before")}); err != nil {
		t.Fatalf("Add while up: %v", err)
	}
	srv.Stop()
	for i := range 5 {
		if err := s.Add(ctx, 100, [][]byte{[]byte("during")}); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Add %d while down: %v, want ErrUnavailable", i, err)
		}
	}
	if err := s.Scan(ctx, time.Time{}, func(time.Time, []byte) bool { return true }); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Scan while down: %v, want ErrUnavailable", err)
	}
	if r.Rejected() == 0 {
		t.Fatal("the short-circuit never opened for the stream's calls")
	}
}

// TestStreamBesideScan: a stream under the store's prefix (the translation log's) is no store entry:
// enumerating the keys (reconcile) skips it rather than failing on its type.
func TestStreamBesideScan(t *testing.T) {
	testkit.RequireSharedRedis(t)
	r := newRealRedisKV(t)
	ctx := context.Background()
	if err := r.Stream("translations").Add(ctx, 100, [][]byte{[]byte("record")}); err != nil {
		t.Fatal(err)
	}
	if err := r.Set(ctx, "id:user:u1", []byte("7"), 0); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := r.Scan(ctx, "", func(key string, _ []byte) error { keys = append(keys, key); return nil }); err != nil {
		t.Fatalf("Scan with a stream under the prefix: %v", err)
	}
	if fmt.Sprint(keys) != "[id:user:u1]" {
		t.Fatalf("Scan listed %v, want [id:user:u1]", keys)
	}
}
