package upstream

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/scim-gateway/scim-gateway/translator"
)

// queueFullRetryAfter is the RetryAfter hint of a "portal queue full" error.
const queueFullRetryAfter = time.Second

// limiter bounds the portal calls in flight. A call that finds every slot taken waits at most
// queueWait (and no longer than its context allows), then fails with EUnavailable: never a hang.
type limiter struct {
	slots     chan struct{}
	queueWait time.Duration
	inFlight  atomic.Int64
	waiting   atomic.Int64
}

func newLimiter(size int, queueWait time.Duration) *limiter {
	return &limiter{slots: make(chan struct{}, size), queueWait: queueWait}
}

// acquire takes a slot and returns the function that gives it back. Errors: EUnavailable "portal
// queue full" after queueWait, EUnavailable when ctx ends first.
func (l *limiter) acquire(ctx context.Context) (release func(), err *translator.Error) {
	select {
	case l.slots <- struct{}{}:
		return l.taken(), nil
	default:
	}
	if l.queueWait <= 0 {
		return nil, queueFull()
	}
	l.waiting.Add(1)
	defer l.waiting.Add(-1)
	timer := time.NewTimer(l.queueWait)
	defer timer.Stop()
	select {
	case l.slots <- struct{}{}:
		return l.taken(), nil
	case <-timer.C:
		return nil, queueFull()
	case <-ctx.Done():
		return nil, callerGone(ctx)
	}
}

func (l *limiter) taken() func() {
	l.inFlight.Add(1)
	return func() {
		l.inFlight.Add(-1)
		<-l.slots
	}
}

func queueFull() *translator.Error {
	return &translator.Error{
		Code:       translator.EUnavailable,
		Message:    "portal queue full",
		RetryAfter: queueFullRetryAfter,
	}
}

// callerGone is the error of a call abandoned by its caller (context cancelled or past its deadline)
// before anything was sent.
func callerGone(ctx context.Context) *translator.Error {
	return &translator.Error{
		Code:       translator.EUnavailable,
		Message:    "portal call abandoned before it was sent",
		RetryAfter: queueFullRetryAfter,
		Err:        context.Cause(ctx),
	}
}
