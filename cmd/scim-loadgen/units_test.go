package main

import (
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"1", time.Second, true},
		{"0", 0, true},
		{"120", 2 * time.Minute, true},
		{"-1", 0, false},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Fatalf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	tests := []struct {
		name string
		out  outcome
		try  int
		want time.Duration
	}{
		{"Retry-After wins", outcome{hasRetryAfter: true, retryAfter: 3 * time.Second}, 4, 3 * time.Second},
		{"Retry-After zero", outcome{hasRetryAfter: true}, 2, 0},
		{"first retry", outcome{}, 0, time.Second},
		{"doubles", outcome{}, 3, 8 * time.Second},
		{"capped", outcome{}, 30, maxRetryDelay},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryDelay(tt.out, tt.try, time.Second); got != tt.want {
				t.Fatalf("retryDelay = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLatencyPercentiles(t *testing.T) {
	var samples []time.Duration
	for i := 100; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	got := latencyOf(samples)
	want := Latency{P50: 50, P95: 95, P99: 99, Max: 100, Mean: 50.5}
	if got != want {
		t.Fatalf("latencyOf = %+v, want %+v", got, want)
	}
	if got := latencyOf(nil); got != (Latency{}) {
		t.Fatalf("latencyOf(nil) = %+v", got)
	}
}

func TestPickFractions(t *testing.T) {
	users := generateUsers(40, "p", "contoso.com", newTestRand(1))
	for i, u := range users {
		if i%4 != 0 { // a quarter never got an id
			u.id = u.login
		}
	}
	patch, disable := pickFractions(users, 0.1, 0.05, newTestRand(2))
	if len(patch) != 3 || len(disable) != 2 {
		t.Fatalf("picked %d to patch and %d to disable of 30, want 3 and 2", len(patch), len(disable))
	}
	seen := map[string]bool{}
	for _, u := range append(patch, disable...) {
		if u.id == "" || seen[u.id] {
			t.Fatalf("picked %q twice or without an id", u.login)
		}
		seen[u.id] = true
	}
}

func TestMemberPatches(t *testing.T) {
	users := generateUsers(120, "p", "contoso.com", newTestRand(1))
	for _, u := range users[1:] { // user 0 has no id
		u.id = u.login
	}
	groups := generateGroups(2, 110, len(users), "p")
	groups[0].id = "g1" // group 1 has no id
	got := memberPatches(groups, users)
	// Group 0 has users 0..109; user 0 is unknown, so 109 members in batches of 50, 50, 9.
	if len(got) != 3 || len(got[0].memberIDs) != memberBatch || len(got[2].memberIDs) != 9 || got[0].memberIDs[0] != "p-2" {
		t.Fatalf("memberPatches = %d patches: %+v", len(got), got)
	}
}

func newTestRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0)) }
