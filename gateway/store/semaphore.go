package store

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// The semaphore's Redis layout, all under one hash tag (one Cluster slot), per bound name (a tenant;
// <ns> is the tenant's namespace, TenantNamespace: none for the default tenant, "t:NAME:" for another):
//
//	<prefix><ns>portal-slots:{<name>}:holders    sorted set: lease id -> lease expiry (ms, Redis clock)
//	<prefix><ns>portal-slots:{<name>}:queue      sorted set: waiter id -> ticket (FIFO order)
//	<prefix><ns>portal-slots:{<name>}:queue-exp  sorted set: waiter id -> waiter expiry (ms)
//	<prefix><ns>portal-slots:{<name>}:ticket     counter of tickets
//	<prefix><ns>portal-slots:{<name>}:free       pub/sub channel: the waiters a freed slot is for
//
// Every script reads the time from Redis (TIME), so replicas with skewed clocks agree on expiry, and
// first drops expired leases (a crashed holder) and expired waiters (a crashed waiter).
const semaphorePrelude = `
local t = redis.call("TIME")
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", now)
local gone = redis.call("ZRANGEBYSCORE", KEYS[3], "-inf", now)
for i = 1, #gone do
	redis.call("ZREM", KEYS[2], gone[i])
end
if #gone > 0 then
	redis.call("ZREMRANGEBYSCORE", KEYS[3], "-inf", now)
end
`

// semAcquire tries to take a slot for ARGV[1] (limit ARGV[2], lease ARGV[3] ms, waiter expiry ARGV[4]
// ms). A slot goes to a waiter only when the waiters queued before it leave enough free slots: the
// first free slots belong to the oldest tickets, so no replica starves. A caller not yet queued and
// not served at once takes a ticket. It answers {granted (0|1), slots held after, leases expired}.
var semAcquire = redis.NewScript(semaphorePrelude + `
local id = ARGV[1]
local limit = tonumber(ARGV[2])
local held = redis.call("ZCARD", KEYS[1])
local rank = redis.call("ZRANK", KEYS[2], id)
local queued = rank ~= false
if not queued then
	rank = redis.call("ZCARD", KEYS[2])
end
if rank < limit - held then
	if queued then
		redis.call("ZREM", KEYS[2], id)
		redis.call("ZREM", KEYS[3], id)
	end
	redis.call("ZADD", KEYS[1], now + tonumber(ARGV[3]), id)
	return {1, held + 1, expired}
end
if not queued then
	redis.call("ZADD", KEYS[2], redis.call("INCR", KEYS[4]), id)
end
redis.call("ZADD", KEYS[3], now + tonumber(ARGV[4]), id)
return {0, held, expired}
`)

// semWake tells the waiters that free slots are theirs (limit ARGV[2], channel ARGV[3]): it publishes
// the ids of the waiters at the head of the queue that the free slots go to, space-separated, and each
// process wakes its own. Nothing is published when no slot is free or nobody waits.
const semWake = `
local function wake()
	local free = tonumber(ARGV[2]) - redis.call("ZCARD", KEYS[1])
	if free > 0 then
		local ids = redis.call("ZRANGE", KEYS[2], 0, free - 1)
		if #ids > 0 then
			redis.call("PUBLISH", ARGV[3], table.concat(ids, " "))
		end
	end
end
`

// semRelease gives back the slot ARGV[1], or leaves the queue when ARGV[1] is a waiter, and wakes the
// waiters the freed slot is for. It answers {slots held after, leases expired}.
var semRelease = redis.NewScript(semaphorePrelude + semWake + `
redis.call("ZREM", KEYS[1], ARGV[1])
redis.call("ZREM", KEYS[2], ARGV[1])
redis.call("ZREM", KEYS[3], ARGV[1])
wake()
return {redis.call("ZCARD", KEYS[1]), expired}
`)

// semRenew extends the leases ARGV[4..] that still exist by ARGV[1] ms, and wakes waiters when it
// found expired leases. It answers {slots held, leases expired}.
var semRenew = redis.NewScript(semaphorePrelude + semWake + `
for i = 4, #ARGV do
	redis.call("ZADD", KEYS[1], "XX", now + tonumber(ARGV[1]), ARGV[i])
end
if expired > 0 then
	wake()
end
return {redis.call("ZCARD", KEYS[1]), expired}
`)

// A waiting caller is woken when a slot is freed for it (the release publishes its id), and polls as
// well, so that a lost message (a dropped subscription, a lease that expired with no script to notice)
// never strands it: while the subscription is up, the first poll after semWakePollMin, doubling up to
// semWakePollMax; while it is not, after semPollMin doubling up to semPollMax (with jitter, so that
// waiters of many replicas do not poll in step). A waiter that stops polling leaves the queue after
// semWaiterTTL. The listener checks its subscription with a PING after semListenIdle without a message.
const (
	semPollMin     = 2 * time.Millisecond
	semPollMax     = 20 * time.Millisecond
	semWakePollMin = 25 * time.Millisecond
	semWakePollMax = 250 * time.Millisecond
	semWaiterTTL   = 2 * time.Second
	semListenIdle  = 5 * time.Second
)

// SemaphoreOptions configure a Semaphore.
type SemaphoreOptions struct {
	// Name tells bounds apart: the tenant whose portal the bound protects. The keys are in the tenant's
	// namespace, so two tenants' bounds never share a slot.
	Name string
	// Limit is the number of slots across every process sharing the Redis; 0 refuses nothing (the bound
	// is off) and asks Redis nothing.
	Limit int
	// Lease is how long a slot stays taken without renewal; a holder renews its slots every third of it,
	// so the slots of a process that died come free within Lease.
	Lease time.Duration
	// Logger receives one warning when Redis fails under the semaphore and one line when it is back.
	Logger *zap.Logger
	// OnWait is called once per Acquire that had to queue, when it ends, with how long it waited and
	// whether it got a slot. It must be quick.
	OnWait func(waited time.Duration, granted bool)
}

// Semaphore is a bound on concurrent work shared by every process on one Redis (the portal calls of a
// fleet of replicas): counting slots with leases that expire, a FIFO queue of tickets for fairness,
// Lua scripts for atomicity, a background renewal of the leases this process holds, and a pub/sub
// subscription that wakes a waiter as soon as a slot is freed for it (polling stays as a fallback). When Redis
// fails, Acquire lets every caller through (the caller's own local bound still applies) and reports
// the semaphore Degraded until a Redis call succeeds again. It is safe for concurrent use. Close stops
// the renewal.
type Semaphore struct {
	r       *Redis
	keys    []string
	channel string // pub/sub channel of the waiters' wake-ups
	lease   time.Duration
	logger  *zap.Logger
	onWait  func(time.Duration, bool)

	// Poll intervals of a waiter: while the subscription is up (wake*), and while it is not.
	pollMin, pollMax, wakePollMin, wakePollMax time.Duration

	limit    atomic.Int64
	inUse    atomic.Int64  // fleet-wide slots held, as Redis last said
	expired  atomic.Uint64 // leases this process found expired and removed
	waits    atomic.Uint64 // Acquires that had to queue
	degraded atomic.Bool

	mu      sync.Mutex
	held    map[string]struct{}      // lease ids this process holds
	waiters map[string]chan struct{} // waiter ids of this process, each with its wake-up

	listening  atomic.Bool // the wake-up subscription is up
	stop       chan struct{}
	done       chan struct{}
	listenDone chan struct{}
	closeOnce  sync.Once
}

// NewSemaphore builds the semaphore opts describe on r and starts renewing its leases.
func NewSemaphore(r *Redis, opts SemaphoreOptions) *Semaphore {
	if opts.Lease <= 0 {
		opts.Lease = 10 * time.Second
	}
	logger := opts.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	base := r.prefix + TenantNamespace(opts.Name) + "portal-slots:{" + opts.Name + "}:"
	s := &Semaphore{
		r:       r,
		keys:    []string{base + "holders", base + "queue", base + "queue-exp", base + "ticket"},
		channel: base + "free",
		lease:   opts.Lease,
		logger:  logger.With(zap.String("component", "portal-slots"), zap.String("bound", opts.Name)),
		onWait:  opts.OnWait,
		pollMin: semPollMin, pollMax: semPollMax, wakePollMin: semWakePollMin, wakePollMax: semWakePollMax,
		held:       map[string]struct{}{},
		waiters:    map[string]chan struct{}{},
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		listenDone: make(chan struct{}),
	}
	s.limit.Store(int64(max(opts.Limit, 0)))
	go s.renewLoop()
	go s.listen()
	return s
}

// SetLimit changes the number of slots (a configuration reload); 0 turns the bound off. Slots held
// beyond a lowered limit are kept until released.
func (s *Semaphore) SetLimit(n int) { s.limit.Store(int64(max(n, 0))) }

// Limit returns the number of slots; 0 when the bound is off.
func (s *Semaphore) Limit() int { return int(s.limit.Load()) }

// InUse returns the slots held across the fleet, as Redis last reported them.
func (s *Semaphore) InUse() int { return int(s.inUse.Load()) }

// Waits returns how many Acquires had to queue for a slot.
func (s *Semaphore) Waits() uint64 { return s.waits.Load() }

// Expired returns how many leases this process found expired (their holder stopped renewing them: it
// died, or lost Redis) and removed.
func (s *Semaphore) Expired() uint64 { return s.expired.Load() }

// Degraded reports whether the last call to Redis failed, so that callers pass on their local bound
// only.
func (s *Semaphore) Degraded() bool { return s.degraded.Load() }

// Acquire takes a slot, queueing behind earlier waiters until one comes free, and returns the function
// that gives it back (call it exactly once). The error is ctx's (context.Cause) when ctx ends before a
// slot comes free: put the queue wait in ctx's deadline. When Redis fails, or the limit is 0, Acquire
// returns at once with a release that does nothing and no error.
func (s *Semaphore) Acquire(ctx context.Context) (release func(), err error) {
	limit := s.limit.Load()
	if limit <= 0 {
		return func() {}, nil
	}
	id := newLeaseID()
	// The script calls must not be cut by the queue deadline (that would count as a Redis failure and
	// leave the outcome unknown): the Redis command timeout bounds them, and ctx is checked between.
	rctx := context.WithoutCancel(ctx)
	// Listening before the first try: a slot freed between a refused try and the wait still wakes it.
	wake := s.addWaiter(id)
	defer s.removeWaiter(id)
	var (
		start  time.Time
		poll   time.Duration
		queued bool
		timer  *time.Timer
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		granted, err := s.try(rctx, id, limit)
		if err != nil {
			if queued {
				s.leave(rctx, id)
				s.waited(start, false)
			}
			if cerr := ctx.Err(); cerr != nil {
				return nil, context.Cause(ctx)
			}
			return func() {}, nil // degraded: the local bound alone applies
		}
		if granted {
			if queued {
				s.waited(start, true)
			}
			s.mu.Lock()
			s.held[id] = struct{}{}
			s.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { s.release(rctx, id) }) }, nil
		}
		if !queued {
			queued, start = true, time.Now()
			s.waits.Add(1)
		}
		pollMin, pollMax := s.pollMin, s.pollMax
		if s.listening.Load() {
			pollMin, pollMax = s.wakePollMin, s.wakePollMax
		}
		poll = min(max(2*poll, pollMin), pollMax)
		if timer == nil {
			timer = time.NewTimer(jitter(poll))
		} else {
			timer.Reset(jitter(poll))
		}
		select {
		case <-timer.C:
		case <-wake:
		case <-ctx.Done():
			s.leave(rctx, id)
			s.waited(start, false)
			return nil, context.Cause(ctx)
		}
		limit = max(s.limit.Load(), 1)
	}
}

// try runs the acquire script once.
func (s *Semaphore) try(ctx context.Context, id string, limit int64) (bool, error) {
	var res []int64
	err := s.call(ctx, "slots-acquire", func() (err error) {
		res, err = semAcquire.Run(ctx, s.r.client, s.keys, id, limit, s.lease.Milliseconds(), semWaiterTTL.Milliseconds()).Int64Slice()
		return err
	})
	if err != nil {
		return false, err
	}
	if len(res) != 3 {
		return false, fmt.Errorf("slots-acquire: unexpected answer %v", res)
	}
	s.inUse.Store(res[1])
	s.expired.Add(uint64(res[2]))
	return res[0] == 1, nil
}

// release gives a slot back. A failure is logged at debug level only: the lease expires by itself.
func (s *Semaphore) release(ctx context.Context, id string) {
	s.mu.Lock()
	delete(s.held, id)
	s.mu.Unlock()
	s.runCounting(ctx, "slots-release", semRelease, id, s.limit.Load(), s.channel)
}

// leave takes a waiter out of the queue (it gave up); on failure its entry expires by itself.
func (s *Semaphore) leave(ctx context.Context, id string) {
	s.runCounting(ctx, "slots-leave", semRelease, id, s.limit.Load(), s.channel)
}

// addWaiter registers the waiter id of this process and returns the channel its wake-ups arrive on.
func (s *Semaphore) addWaiter(id string) <-chan struct{} {
	ch := make(chan struct{}, 1)
	s.mu.Lock()
	s.waiters[id] = ch
	s.mu.Unlock()
	return ch
}

func (s *Semaphore) removeWaiter(id string) {
	s.mu.Lock()
	delete(s.waiters, id)
	s.mu.Unlock()
}

// wakeWaiters wakes the waiters of this process among ids (a message of the channel); the others are
// other processes'.
func (s *Semaphore) wakeWaiters(ids string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range strings.FieldsSeq(ids) {
		if ch, ok := s.waiters[id]; ok {
			select {
			case ch <- struct{}{}:
			default: // already woken
			}
		}
	}
}

// listen keeps the wake-up subscription, and tells waiters whether it is up (then they poll rarely).
// go-redis reconnects and subscribes again after a failure; a PING after semListenIdle without a
// message finds a connection that died silently.
func (s *Semaphore) listen() {
	defer close(s.listenDone)
	ps := s.r.client.Subscribe(context.Background(), s.channel)
	go func() {
		select {
		case <-s.stop:
		case <-s.done:
		}
		_ = ps.Close()
	}()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(context.Background(), semListenIdle)
		select {
		case <-s.stop:
			s.listening.Store(false)
			return
		default:
		}
		if err != nil {
			var nerr net.Error
			if errors.As(err, &nerr) && nerr.Timeout() && !pinged {
				pinged = true
				ctx, cancel := context.WithTimeout(context.Background(), semListenIdle)
				err = ps.Ping(ctx)
				cancel()
				if err == nil {
					continue
				}
			}
			// Down, or no answer to the PING: poll until the subscription is confirmed again.
			s.listening.Store(false)
			pinged = false
			select {
			case <-s.stop:
				return
			case <-time.After(jitter(time.Second)):
			}
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			s.listening.Store(m.Kind == "subscribe")
		case *redis.Message:
			s.wakeWaiters(m.Payload)
		}
	}
}

// runCounting runs a script that answers {slots held, leases expired} and records both.
func (s *Semaphore) runCounting(ctx context.Context, op string, script *redis.Script, args ...any) {
	var res []int64
	err := s.call(ctx, op, func() (err error) {
		res, err = script.Run(ctx, s.r.client, s.keys, args...).Int64Slice()
		return err
	})
	if err != nil || len(res) != 2 {
		s.logger.Debug("portal slot call failed; leases expire by themselves", zap.String("op", op), zap.Error(err))
		return
	}
	s.inUse.Store(res[0])
	s.expired.Add(uint64(res[1]))
}

// call runs one Redis call through the store's short-circuit and tracks the degraded state.
func (s *Semaphore) call(ctx context.Context, op string, f func() error) error {
	err := s.r.do(ctx, op, f)
	switch {
	case err == nil:
		if s.degraded.CompareAndSwap(true, false) {
			s.logger.Info("the fleet-wide portal bound is enforced again")
		}
	case errors.Is(err, ErrUnavailable):
		if s.degraded.CompareAndSwap(false, true) {
			s.logger.Warn("redis unavailable: the fleet-wide portal bound is not enforced, only each replica's upstream.maxInFlight", zap.Error(err))
		}
	}
	return err
}

func (s *Semaphore) waited(start time.Time, granted bool) {
	if s.onWait != nil {
		s.onWait(time.Since(start), granted)
	}
}

// renewLoop extends the leases this process holds every third of the lease, and refreshes InUse.
func (s *Semaphore) renewLoop() {
	defer close(s.done)
	t := time.NewTicker(s.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		s.mu.Lock()
		args := make([]any, 0, len(s.held)+3)
		args = append(args, s.lease.Milliseconds(), s.limit.Load(), s.channel)
		for id := range s.held {
			args = append(args, id)
		}
		s.mu.Unlock()
		if len(args) == 3 && s.limit.Load() == 0 {
			continue // the bound is off and nothing is held: nothing to ask Redis
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.lease/3)
		s.runCounting(ctx, "slots-renew", semRenew, args...)
		cancel()
	}
}

// Close stops the renewal and the wake-up subscription: the slots still held expire within the
// lease. It does not close r.
func (s *Semaphore) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		<-s.listenDone
	})
}

func newLeaseID() string {
	var b [12]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// jitter returns a duration in [d/2, d].
func jitter(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }
