package upstream

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{"absent", "", 0},
		{"seconds", "3", 3 * time.Second},
		{"zero", "0", 0},
		{"negative", "-4", 0},
		{"HTTP date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{"HTTP date in the past", now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"garbage", "soon", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			if got := parseRetryAfter(h, now); got != tt.want {
				t.Fatalf("parseRetryAfter(%q) = %s, want %s", tt.value, got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	cfg := Retry{InitialDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for _, tt := range []struct {
		retry   int
		ceiling time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {4, 800 * time.Millisecond}, {5, time.Second}, {30, time.Second}} {
		for range 200 {
			if d := backoff(cfg, tt.retry); d < 0 || d > tt.ceiling {
				t.Fatalf("backoff(retry %d) = %s, want within [0, %s]", tt.retry, d, tt.ceiling)
			}
		}
	}
}

func TestRetryDelay(t *testing.T) {
	cfg := Retry{InitialDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, MaxRetryAfter: 10 * time.Second}
	short, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	tests := []struct {
		name       string
		ctx        context.Context
		retryAfter time.Duration
		wantOK     bool
		atLeast    time.Duration
	}{
		{"backoff only", context.Background(), 0, true, 0},
		{"Retry-After honoured", context.Background(), 3 * time.Second, true, 3 * time.Second},
		{"Retry-After over maxRetryAfter", context.Background(), 11 * time.Second, false, 0},
		{"within the deadline", short, 5 * time.Second, true, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wait, ok := retryDelay(tt.ctx, cfg, 1, tt.retryAfter)
			if ok != tt.wantOK || (ok && wait < tt.atLeast) {
				t.Fatalf("retryDelay = %s, %v; want ok %v and at least %s", wait, ok, tt.wantOK, tt.atLeast)
			}
		})
	}
	past, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if _, ok := retryDelay(past, cfg, 1, 2*time.Second); ok {
		t.Fatalf("retryDelay past the caller's deadline: want no retry")
	}
}
