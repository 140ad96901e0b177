package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

// replicaStores opens n stores on the shared Redis with one private key prefix: n replicas of one
// fleet, each with its own connections.
func replicaStores(t *testing.T, n int) []*Redis {
	t.Helper()
	cfg := testRedisConfig("redis://" + testkit.SharedRedisAddr + "/0")
	cfg.KeyPrefix = testkit.SharedRedisPrefix(t, "scimgw-sem-")
	out := make([]*Redis, n)
	for i := range out {
		out[i] = newTestRedis(t, cfg, defaultCircuitSettings())
	}
	return out
}

func newTestSemaphore(t *testing.T, r *Redis, limit int, lease time.Duration) *Semaphore {
	t.Helper()
	s := NewSemaphore(r, SemaphoreOptions{Name: "default", Limit: limit, Lease: lease})
	t.Cleanup(s.Close)
	return s
}

// queueLen reads how many waiters the semaphore's queue holds.
func queueLen(t *testing.T, s *Semaphore) int64 {
	t.Helper()
	n, err := s.r.client.ZCard(context.Background(), s.keys[1]).Result()
	if err != nil {
		t.Fatalf("ZCARD queue: %v", err)
	}
	return n
}

// waitFor polls cond every few milliseconds until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestSemaphoreBoundAcrossReplicas runs many workers on three replicas of one bound: at no time do
// more than the limit hold a slot, and every worker gets one in the end.
func TestSemaphoreBoundAcrossReplicas(t *testing.T) {
	const limit, workers, rounds = 4, 12, 5
	stores := replicaStores(t, 3)
	sems := make([]*Semaphore, len(stores))
	for i, r := range stores {
		sems[i] = newTestSemaphore(t, r, limit, 5*time.Second)
	}
	var inside, peak, served atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := sems[w%len(sems)]
			for range rounds {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				release, err := s.Acquire(ctx)
				cancel()
				if err != nil {
					t.Errorf("Acquire: %v", err)
					return
				}
				n := inside.Add(1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				time.Sleep(3 * time.Millisecond)
				inside.Add(-1)
				served.Add(1)
				release()
			}
		}()
	}
	wg.Wait()
	if got := peak.Load(); got > limit {
		t.Fatalf("peak holders: got %d, want at most %d", got, limit)
	}
	if got := served.Load(); got != workers*rounds {
		t.Fatalf("slots served: got %d, want %d", got, workers*rounds)
	}
	var waits uint64
	for _, s := range sems {
		if s.Degraded() {
			t.Fatalf("Degraded with Redis up")
		}
		waits += s.Waits()
	}
	if waits == 0 {
		t.Fatalf("Waits: got 0 with %d workers on %d slots, want some", workers, limit)
	}
	// InUse is what Redis last told this replica; the renewal tick (run here) refreshes it.
	sems[0].runCounting(context.Background(), "slots-renew", semRenew, sems[0].lease.Milliseconds())
	if got := sems[0].InUse(); got != 0 {
		t.Fatalf("InUse after every release: got %d, want 0", got)
	}
}

// TestSemaphoreFIFO checks fairness: waiters get freed slots in the order they queued, whichever
// replica they are on, and a newcomer does not take a slot ahead of them. "woken" makes the waiters
// poll once a minute: then only the wake-up each release publishes gets them their slot within the
// test's 20 s.
func TestSemaphoreFIFO(t *testing.T) {
	for _, mode := range []string{"polling", "woken"} {
		t.Run(mode, func(t *testing.T) { testSemaphoreFIFO(t, mode == "woken") })
	}
}

func testSemaphoreFIFO(t *testing.T, woken bool) {
	stores := replicaStores(t, 3)
	a := newTestSemaphore(t, stores[0], 1, 5*time.Second)
	b := newTestSemaphore(t, stores[1], 1, 5*time.Second)
	c := newTestSemaphore(t, stores[2], 1, 5*time.Second)
	if woken {
		slowPolls(b)
		slowPolls(c)
		waitFor(t, 10*time.Second, "the subscriptions up", func() bool { return b.listening.Load() && c.listening.Load() })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	releaseA, err := a.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire a: %v", err)
	}
	type result struct {
		release func()
		err     error
	}
	gotB, gotC := make(chan result, 1), make(chan result, 1)
	go func() { r, err := b.Acquire(ctx); gotB <- result{r, err} }()
	waitFor(t, 10*time.Second, "b queued", func() bool { return queueLen(t, a) == 1 })
	go func() { r, err := c.Acquire(ctx); gotC <- result{r, err} }()
	waitFor(t, 10*time.Second, "c queued", func() bool { return queueLen(t, a) == 2 })

	releaseA()
	// The freed slot is b's: a newcomer, and c, are refused until b has taken and released it.
	if granted, err := a.try(ctx, "newcomer", 1); err != nil || granted {
		t.Fatalf("newcomer with two waiters queued: granted %v, err %v; want refused", granted, err)
	}
	var rb result
	select {
	case rb = <-gotB:
	case rc := <-gotC:
		t.Fatalf("c got the slot before b (err %v)", rc.err)
	}
	if rb.err != nil {
		t.Fatalf("Acquire b: %v", rb.err)
	}
	select {
	case rc := <-gotC:
		t.Fatalf("c got a slot while b holds the only one (err %v)", rc.err)
	default:
	}
	rb.release()
	rc := <-gotC
	if rc.err != nil {
		t.Fatalf("Acquire c: %v", rc.err)
	}
	rc.release()
	a.leave(context.Background(), "newcomer")
	if got := queueLen(t, a); got != 0 {
		t.Fatalf("queue after everyone was served: got %d entries, want 0", got)
	}
}

// TestSemaphoreQueueWaitEnds lets a waiter's deadline pass: Acquire fails with the deadline, and the
// waiter leaves the queue.
func TestSemaphoreQueueWaitEnds(t *testing.T) {
	stores := replicaStores(t, 1)
	s := newTestSemaphore(t, stores[0], 1, 5*time.Second)
	var waits []bool
	s.onWait = func(_ time.Duration, granted bool) { waits = append(waits, granted) }
	release, err := s.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire with every slot taken: got %v, want context.DeadlineExceeded", err)
	}
	if got := queueLen(t, s); got != 0 {
		t.Fatalf("queue after the waiter gave up: got %d, want 0", got)
	}
	if len(waits) != 1 || waits[0] {
		t.Fatalf("OnWait calls: got %v, want one, not granted", waits)
	}
	if s.Waits() != 1 || s.InUse() != 1 {
		t.Fatalf("Waits, InUse: got %d, %d; want 1, 1", s.Waits(), s.InUse())
	}
}

// TestSemaphoreLeaseExpires kills a replica holding every slot (it stops renewing and never releases):
// another replica gets a slot within the lease, and counts the expired leases. While the holder lives,
// renewal keeps its slots past the lease.
func TestSemaphoreLeaseExpires(t *testing.T) {
	const lease = 900 * time.Millisecond
	stores := replicaStores(t, 2)
	dying := newTestSemaphore(t, stores[0], 2, lease)
	other := newTestSemaphore(t, stores[1], 2, lease)
	for range 2 {
		if _, err := dying.Acquire(context.Background()); err != nil {
			t.Fatalf("Acquire: %v", err)
		}
	}
	// Renewed: after two leases the slots are still taken.
	ctx, cancel := context.WithTimeout(context.Background(), 2*lease)
	_, err := other.Acquire(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Acquire while the holder renews: got %v, want context.DeadlineExceeded", err)
	}

	dying.Close() // the replica dies: no renewal, no release
	killed := time.Now()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	release, err := other.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire after the holder died: %v", err)
	}
	release()
	t.Logf("a slot came free %s after the holder died (lease %s)", time.Since(killed), lease)
	if got := other.Expired(); got != 2 {
		t.Fatalf("Expired: got %d, want 2", got)
	}
}

// TestSemaphoreRedisDown stops Redis under a semaphore: Acquire lets callers through at once (the local
// bound alone applies) and reports Degraded; when Redis is back the bound is enforced again.
func TestSemaphoreRedisDown(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	r := newTestRedis(t, testRedisConfig(srv.URL()), circuitSettings{threshold: 1, cooldown: 20 * time.Millisecond, maxCooldown: 50 * time.Millisecond})
	s := newTestSemaphore(t, r, 1, 5*time.Second)
	hold, err := s.Acquire(context.Background())
	if err != nil || s.Degraded() {
		t.Fatalf("Acquire with Redis up: err %v, degraded %v", err, s.Degraded())
	}
	hold()

	srv.Stop()
	for i := range 3 { // over the limit of 1: nothing is refused while Redis is down
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		release, err := s.Acquire(ctx)
		cancel()
		if err != nil {
			t.Fatalf("Acquire %d with Redis down: %v, want a pass-through", i, err)
		}
		defer release()
	}
	if !s.Degraded() {
		t.Fatalf("Degraded with Redis down: got false")
	}

	srv.Start()
	var first func()
	waitFor(t, recoveryTimeout, "the bound enforced again", func() bool {
		release, err := s.Acquire(context.Background())
		if err != nil {
			t.Fatalf("Acquire: %v", err)
		}
		if s.Degraded() {
			release()
			return false
		}
		first = release
		return true
	})
	defer first()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Acquire on one slot after Redis came back: got %v, want context.DeadlineExceeded", err)
	}
}

// TestSemaphoreOff asks Redis nothing when the limit is 0.
func TestSemaphoreOff(t *testing.T) {
	r := newTestRedis(t, testRedisConfig("redis://127.0.0.1:1/0"), defaultCircuitSettings())
	s := newTestSemaphore(t, r, 0, time.Second)
	before := r.Errors() // the startup PING failed
	for range 5 {
		release, err := s.Acquire(context.Background())
		if err != nil {
			t.Fatalf("Acquire with the bound off: %v", err)
		}
		release()
	}
	if s.Degraded() || r.Errors() != before {
		t.Fatalf("bound off: degraded %v, redis errors %d then %d; want no Redis call", s.Degraded(), before, r.Errors())
	}
}

// slowPolls makes s poll once a minute, listening or not: only a wake-up gets it a slot within a test.
func slowPolls(s *Semaphore) {
	s.pollMin, s.pollMax, s.wakePollMin, s.wakePollMax = time.Minute, time.Minute, time.Minute, time.Minute
}

// acquireAndRelease takes a slot of s in the background and gives it back at once; the channel tells
// Acquire's error.
func acquireAndRelease(ctx context.Context, s *Semaphore) <-chan error {
	got := make(chan error, 1)
	go func() {
		r, err := s.Acquire(ctx)
		if err == nil {
			r()
		}
		got <- err
	}()
	return got
}

// TestSemaphoreLostWakeUp: when the wake-up of a freed slot is lost, the waiter still gets the slot
// by polling.
func TestSemaphoreLostWakeUp(t *testing.T) {
	stores := replicaStores(t, 2)
	a := newTestSemaphore(t, stores[0], 1, 5*time.Second)
	b := newTestSemaphore(t, stores[1], 1, 5*time.Second)
	waitFor(t, 10*time.Second, "the subscriptions up", func() bool { return a.listening.Load() && b.listening.Load() })
	b.wakePollMin, b.wakePollMax = 5*time.Millisecond, 20*time.Millisecond
	a.channel = a.channel + ":nobody" // a's release wakes no one
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	releaseA, err := a.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire a: %v", err)
	}
	got := acquireAndRelease(ctx, b)
	waitFor(t, 10*time.Second, "b queued", func() bool { return queueLen(t, a) == 1 })
	releaseA()
	if err := <-got; err != nil {
		t.Fatalf("Acquire b after a lost wake-up: %v", err)
	}
}

// TestSemaphoreListenerAcrossRedisRestart: the subscription is down while Redis is, and comes back
// with it, so that waiters are woken again.
func TestSemaphoreListenerAcrossRedisRestart(t *testing.T) {
	srv := testkit.StartRedisServer(t)
	r := newTestRedis(t, testRedisConfig(srv.URL()), defaultCircuitSettings())
	s := newTestSemaphore(t, r, 1, 5*time.Second)
	waitFor(t, 10*time.Second, "the subscription up", s.listening.Load)
	srv.Stop()
	waitFor(t, 30*time.Second, "the subscription seen down", func() bool { return !s.listening.Load() })
	srv.Start()
	waitFor(t, 30*time.Second, "the subscription up again", s.listening.Load)
	slowPolls(s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	release, err := s.Acquire(ctx)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	got := acquireAndRelease(ctx, s)
	waitFor(t, 10*time.Second, "a waiter queued", func() bool { return queueLen(t, s) == 1 })
	release()
	if err := <-got; err != nil {
		t.Fatalf("Acquire after the restart, woken: %v", err)
	}
}
