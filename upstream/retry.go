package upstream

import (
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryableOps are the portal operations that are safe to repeat: reads, and writes whose repetition
// leaves the portal as one call would (enable/disable, membership put/delete, deletes). Creates and
// PATCHes are never repeated.
var retryableOps = map[string]bool{
	OpGetUser:        true,
	OpListUsers:      true,
	OpDisableUser:    true,
	OpEnableUser:     true,
	OpDeleteUser:     true,
	OpGetGroup:       true,
	OpListGroups:     true,
	OpDeleteGroup:    true,
	OpListMembers:    true,
	OpAddMember:      true,
	OpRemoveMember:   true,
	OpListUserGroups: true,
}

// readOps are the operations that change nothing in the portal. Every other operation is a write:
// when one is sent and no answer comes, its outcome is unknown.
var readOps = map[string]bool{
	OpGetUser:        true,
	OpListUsers:      true,
	OpGetGroup:       true,
	OpListGroups:     true,
	OpListMembers:    true,
	OpListUserGroups: true,
}

// backoff returns the full-jitter delay before retry number n (1 for the first retry): a uniform
// draw in [0, min(maxDelay, initial*2^(n-1))].
func backoff(cfg Retry, n int) time.Duration {
	ceiling := cfg.InitialDelay
	for i := 1; i < n && ceiling < cfg.MaxDelay; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, cfg.MaxDelay)
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// retryDelay returns how long to wait before retry number n after an answer that asked for
// retryAfter (0 when it did not), and whether the retry should happen at all: a Retry-After longer
// than maxRetryAfter, or a wait that would end past ctx's deadline, is not waited out.
func retryDelay(ctx context.Context, cfg Retry, n int, retryAfter time.Duration) (time.Duration, bool) {
	if retryAfter > cfg.MaxRetryAfter {
		return 0, false
	}
	wait := max(backoff(cfg, n), retryAfter)
	if deadline, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(deadline) {
		return 0, false
	}
	return wait, true
}

// sleep waits d or until ctx ends; it reports whether the whole wait happened.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date. It returns 0 when the
// header is absent or unreadable, and never a negative duration.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}
