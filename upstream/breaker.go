package upstream

import (
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/scim-gateway/scim-gateway/translator"
)

// halfOpenRetryAfter is the RetryAfter hint when the breaker is half-open and its probes are taken.
const halfOpenRetryAfter = time.Second

// The verdicts the client reports to the breaker after an attempt. The client classifies each answer
// itself (verdictOf), so the breaker's settings only translate these.
var (
	errBreakerFailure  = errors.New("portal failure") // 5xx, timeout, connection error, dropped connection
	errBreakerExcluded = errors.New("not the portal") // 429, the caller's own cancellation, a token failure
)

func newBreaker(c *Client, cfg Breaker) *gobreaker.TwoStepCircuitBreaker[struct{}] {
	threshold := uint32(max(cfg.ConsecutiveFailures, 1))
	return gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "portal",
		MaxRequests: uint32(max(cfg.HalfOpenMaxCalls, 1)),
		Interval:    cfg.Interval,
		Timeout:     cfg.OpenTimeout,
		ReadyToTrip: func(counts gobreaker.Counts) bool {
			return counts.ConsecutiveFailures >= threshold
		},
		IsSuccessful: func(err error) bool { return !errors.Is(err, errBreakerFailure) },
		IsExcluded:   func(err error) bool { return errors.Is(err, errBreakerExcluded) },
		OnStateChange: func(_ string, from, to gobreaker.State) {
			// gobreaker cannot say when it will half-open: remember when it opened.
			if to == gobreaker.StateOpen {
				c.openedAt.Store(time.Now().UnixNano())
			}
			if c.onBreaker != nil {
				c.onBreaker(from.String(), to.String())
			}
		},
	})
}

// breakerRejected maps a refusal of the breaker onto EUnavailable, with the remaining open time as
// RetryAfter.
func (c *Client) breakerRejected(err error) *translator.Error {
	if errors.Is(err, gobreaker.ErrTooManyRequests) {
		return &translator.Error{
			Code:       translator.EUnavailable,
			Message:    "portal circuit breaker half-open, probe in progress",
			RetryAfter: halfOpenRetryAfter,
			Err:        err,
		}
	}
	opened := time.Unix(0, c.openedAt.Load())
	remaining := max(time.Until(opened.Add(c.cfg.Breaker.OpenTimeout)), time.Millisecond)
	return &translator.Error{
		Code:       translator.EUnavailable,
		Message:    "portal circuit breaker open",
		RetryAfter: remaining,
		Err:        err,
	}
}
