package store

import (
	"sync"
	"sync/atomic"
	"time"
)

// Short-circuit defaults: after circuitThreshold consecutive failures the Redis backend stops calling
// Redis for circuitCooldown, doubling after every failed probe up to circuitMaxCooldown.
const (
	circuitThreshold   = 3
	circuitCooldown    = time.Second
	circuitMaxCooldown = 10 * time.Second
)

// outcome is what one backend call says about the backend's health.
type outcome int

const (
	outcomeSuccess outcome = iota // the backend answered (a miss is an answer)
	outcomeFailure                // the backend did not answer, or answered with an error
	outcomeNeutral                // the caller gave up; says nothing about the backend
)

// circuitSettings tunes a circuit; tests shorten or lengthen the cool-downs.
type circuitSettings struct {
	threshold   int
	cooldown    time.Duration
	maxCooldown time.Duration
}

func defaultCircuitSettings() circuitSettings {
	return circuitSettings{threshold: circuitThreshold, cooldown: circuitCooldown, maxCooldown: circuitMaxCooldown}
}

// circuit is the short-circuit in front of Redis. Closed, every call goes through. After threshold
// consecutive failures it opens: calls are refused at once until the cool-down has passed, then one
// probe goes through; a successful probe closes the circuit, a failed one reopens it with twice the
// cool-down (capped). The closed, failure-free path costs two atomic loads.
type circuit struct {
	settings circuitSettings
	now      func() time.Time
	onChange func(open bool, cooldown time.Duration, cause error) // called once per transition, under mu

	open     atomic.Bool  // fast-path copy of the state
	failures atomic.Int32 // consecutive failures while closed (fast-path check)

	mu        sync.Mutex
	openUntil time.Time     // while open: when the next probe may go
	cooldown  time.Duration // while open: the current cool-down
	probing   bool          // while open: a probe is in flight
}

func newCircuit(s circuitSettings, now func() time.Time, onChange func(bool, time.Duration, error)) *circuit {
	if s.threshold < 1 {
		s.threshold = 1
	}
	if s.maxCooldown < s.cooldown {
		s.maxCooldown = s.cooldown
	}
	return &circuit{settings: s, now: now, onChange: onChange}
}

// allow reports whether a call may go to the backend, and whether that call is the probe of an open
// circuit. When ok is true the caller must report the call's outcome through done, exactly once,
// passing probe back.
func (c *circuit) allow() (probe, ok bool) {
	if !c.open.Load() {
		return false, true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.open.Load() {
		return false, true
	}
	if c.probing || c.now().Before(c.openUntil) {
		return false, false
	}
	c.probing = true
	return true, true
}

// done records the outcome of a call that allow let through. Outcomes of calls that were let through
// before the circuit opened, and end while it is open, are ignored: only the probe decides.
func (c *circuit) done(probe bool, o outcome, cause error) {
	if !probe && o == outcomeSuccess && !c.open.Load() && c.failures.Load() == 0 {
		return // the common case: healthy and staying so
	}

	c.mu.Lock()
	var (
		changed  bool
		open     bool
		cooldown time.Duration
	)
	switch {
	case probe:
		c.probing = false
		switch o {
		case outcomeSuccess:
			c.failures.Store(0)
			c.open.Store(false)
			changed = true
		case outcomeFailure:
			c.cooldown = min(2*c.cooldown, c.settings.maxCooldown)
			c.openUntil = c.now().Add(c.cooldown)
		}
		// outcomeNeutral: the caller gave up; the next caller probes instead.
	case c.open.Load():
		// A straggler from before the circuit opened.
	case o == outcomeSuccess:
		c.failures.Store(0)
	case o == outcomeFailure:
		if int(c.failures.Add(1)) >= c.settings.threshold {
			c.open.Store(true)
			c.cooldown = c.settings.cooldown
			c.openUntil = c.now().Add(c.cooldown)
			changed, open, cooldown = true, true, c.cooldown
		}
	}
	if changed && c.onChange != nil {
		c.onChange(open, cooldown, cause) // under the lock, so that transitions are reported in order
	}
	c.mu.Unlock()
}

// healthy reports whether the circuit is closed.
func (c *circuit) healthy() bool { return !c.open.Load() }
