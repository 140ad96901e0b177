package upstream

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/scim-gateway/scim-gateway/translator"
)

// queueFullRetryAfter is the RetryAfter hint of a "portal queue full" error.
const queueFullRetryAfter = time.Second

// Slots is a bound on portal calls shared with other processes: upstream.globalMaxInFlight, across
// every replica on one Redis. A call takes its local slot first, then a shared one.
type Slots interface {
	// Acquire takes a slot, waiting until ctx ends, and returns the function that gives it back
	// (called exactly once). It returns an error only when ctx ended before a slot came free; a bound
	// that cannot be enforced (its store is down) lets the call through with a release that does
	// nothing.
	Acquire(ctx context.Context) (release func(), err error)
}

// limiter bounds the portal calls in flight: upstream.maxInFlight in this process, then the shared
// Slots when there are any. A call that finds every slot taken waits at most queueWait in all (and no
// longer than its context allows), then fails with EUnavailable: never a hang.
type limiter struct {
	slots     chan struct{}
	shared    Slots // nil: no fleet-wide bound
	queueWait time.Duration
	inFlight  atomic.Int64
	waiting   atomic.Int64
}

func newLimiter(size int, queueWait time.Duration, shared Slots) *limiter {
	return &limiter{slots: make(chan struct{}, size), queueWait: queueWait, shared: shared}
}

// acquire takes a local slot, then a shared one, and returns the function that gives them back.
// Errors: EUnavailable "portal queue full" after queueWait, EUnavailable when ctx ends first.
func (l *limiter) acquire(ctx context.Context) (release func(), err *translator.Error) {
	if l.shared == nil {
		return l.acquireLocal(ctx)
	}
	start := time.Now()
	local, err := l.acquireLocal(ctx)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, l.queueWait-time.Since(start))
	defer cancel()
	shared, serr := l.shared.Acquire(wctx)
	if serr != nil {
		local()
		if ctx.Err() != nil {
			return nil, callerGone(ctx)
		}
		e := queueFull()
		e.Message = "portal queue full (upstream.globalMaxInFlight, shared by every replica)"
		return nil, e
	}
	return func() {
		shared()
		local()
	}, nil
}

// acquireLocal takes a slot of this process.
func (l *limiter) acquireLocal(ctx context.Context) (release func(), err *translator.Error) {
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
