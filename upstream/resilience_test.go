package upstream

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scim-gateway/scim-gateway/translator"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

// faults returns the default faults changed by edit.
func faults(edit func(*portalsim.Faults)) portalsim.Faults {
	f := portalsim.DefaultFaults()
	edit(&f)
	return f
}

func TestUnavailableBurst(t *testing.T) {
	ctx := context.Background()

	t.Run("reads are retried through a burst", func(t *testing.T) {
		p := newPortal(t, portalsim.DefaultFaults())
		var log callLog
		c := newClient(t, p, nil, Options{OnCall: log.record})
		user := mustCreateUser(t, c, "burst")
		p.setFaults(t, faults(func(f *portalsim.Faults) { f.ErrorRate = 1 }))
		p.healAfter(t, 2)
		got, err := c.GetUser(ctx, user.IDUser)
		if err != nil {
			t.Fatalf("GetUser through a 503 burst: %v", err)
		}
		if got.IDUser != user.IDUser {
			t.Fatalf("GetUser = %+v", got)
		}
		s := p.stats(t)
		if n := s.count(http.MethodGet, routeUser, http.StatusServiceUnavailable); n != 2 {
			t.Fatalf("503 answers = %d, want 2", n)
		}
		if n := s.count(http.MethodGet, routeUser, http.StatusOK); n != 1 {
			t.Fatalf("200 answers = %d, want 1", n)
		}
		var attempts []int
		for _, call := range log.all() {
			if call.Op == OpGetUser {
				attempts = append(attempts, call.Attempt)
			}
		}
		if len(attempts) != 3 || attempts[0] != 1 || attempts[2] != 3 {
			t.Fatalf("getUser attempts = %v, want 1 2 3", attempts)
		}
	})

	t.Run("reads give up after maxAttempts", func(t *testing.T) {
		p := newPortal(t, faults(func(f *portalsim.Faults) { f.ErrorRate = 1 }))
		c := newClient(t, p, func(u *Config) { u.Breaker.ConsecutiveFailures = 100 }, Options{})
		_, err := c.GetUser(ctx, 1)
		e := wantCode(t, err, translator.EUnavailable)
		if e.Status != http.StatusServiceUnavailable || e.RetryAfter <= 0 {
			t.Fatalf("error = %+v, want status 503 and a RetryAfter hint", e)
		}
		if n := p.stats(t).count(http.MethodGet, routeUser, -1); n != testConfig("").Retry.MaxAttempts {
			t.Fatalf("GET calls = %d, want %d", n, testConfig("").Retry.MaxAttempts)
		}
	})

	t.Run("creates are not retried", func(t *testing.T) {
		p := newPortal(t, faults(func(f *portalsim.Faults) { f.ErrorRate = 1 }))
		c := newClient(t, p, nil, Options{})
		_, err := c.CreateUser(ctx, newUser("once"))
		wantCode(t, err, translator.EUnavailable)
		if n := p.stats(t).count(http.MethodPost, routeUsers, -1); n != 1 {
			t.Fatalf("POST calls = %d, want 1", n)
		}
	})

	t.Run("HTML error page", func(t *testing.T) {
		p := newPortal(t, faults(func(f *portalsim.Faults) { f.ErrorRate = 1; f.HTMLErrors = true }))
		c := newClient(t, p, func(u *Config) { u.Retry.MaxAttempts = 1 }, Options{})
		_, err := c.GetUser(ctx, 1)
		e := wantCode(t, err, translator.EUnavailable)
		if e.Status != http.StatusServiceUnavailable || e.PortalCode != "" || e.Err != nil {
			t.Fatalf("error = %+v, want a plain 503 without a decode error", e)
		}
	})
}

func TestBreaker(t *testing.T) {
	ctx := context.Background()
	trip := func(t *testing.T, openTimeout time.Duration) (*portal, *Client, *[]string) {
		p := newPortal(t, faults(func(f *portalsim.Faults) { f.ErrorRate = 1 }))
		var mu sync.Mutex
		changes := []string{}
		c := newClient(t, p, func(u *Config) {
			u.Retry.MaxAttempts = 1
			u.Breaker.ConsecutiveFailures = 3
			u.Breaker.OpenTimeout = openTimeout
		}, Options{OnBreakerChange: func(from, to string) {
			mu.Lock()
			changes = append(changes, from+">"+to)
			mu.Unlock()
		}})
		for i := range 3 {
			if c.BreakerState() != "closed" {
				t.Fatalf("breaker %s after %d failures, want closed", c.BreakerState(), i)
			}
			_, err := c.GetUser(ctx, 1)
			wantCode(t, err, translator.EUnavailable)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(changes) != 1 || changes[0] != "closed>open" {
			t.Fatalf("breaker changes after 3 failures = %v, want closed>open", changes)
		}
		return p, c, &changes
	}

	t.Run("fails fast while open", func(t *testing.T) {
		p, c, _ := trip(t, time.Hour)
		if c.BreakerState() != "open" {
			t.Fatalf("breaker %s, want open", c.BreakerState())
		}
		before := p.stats(t).Total
		for _, call := range []func() error{
			func() error { _, err := c.GetUser(ctx, 1); return err },
			func() error { _, err := c.CreateUser(ctx, newUser("x")); return err },
		} {
			e := wantCode(t, call(), translator.EUnavailable)
			if e.Message != "portal circuit breaker open" {
				t.Fatalf("message = %q", e.Message)
			}
			if e.RetryAfter <= 59*time.Minute || e.RetryAfter > time.Hour {
				t.Fatalf("RetryAfter = %s, want the remaining open time (just under an hour)", e.RetryAfter)
			}
		}
		if after := p.stats(t).Total; after != before {
			t.Fatalf("portal saw %d calls while the breaker was open, want 0", after-before)
		}
	})

	t.Run("client errors do not trip it", func(t *testing.T) {
		p := newPortal(t, portalsim.DefaultFaults())
		c := newClient(t, p, func(u *Config) { u.Breaker.ConsecutiveFailures = 2 }, Options{})
		mustCreateUser(t, c, "dup")
		for range 5 {
			_, err := c.GetUser(ctx, 999)
			wantCode(t, err, translator.ENotFound)
			_, err = c.CreateUser(ctx, newUser("dup"))
			wantCode(t, err, translator.EConflict)
			_, err = c.CreateUser(ctx, newUser("bad@name"))
			wantCode(t, err, translator.EInvalid)
		}
		if c.BreakerState() != "closed" {
			t.Fatalf("breaker %s, want closed", c.BreakerState())
		}
	})

	t.Run("recovers through half-open", func(t *testing.T) {
		p, c, changes := trip(t, 20*time.Millisecond)
		p.setFaults(t, portalsim.DefaultFaults())
		waitFor(t, "half-open", func() bool { return c.BreakerState() == "half-open" })
		if _, err := c.ListUsers(ctx, nil, translator.Page{Top: 1}); err != nil {
			t.Fatalf("probe: %v", err)
		}
		if c.BreakerState() != "closed" {
			t.Fatalf("breaker %s after a good probe, want closed", c.BreakerState())
		}
		want := "closed>open open>half-open half-open>closed"
		if got := strings.Join(*changes, " "); got != want {
			t.Fatalf("OnBreakerChange saw %q, want %q", got, want)
		}
	})
}

func TestRateLimited(t *testing.T) {
	ctx := context.Background()
	limited := faults(func(f *portalsim.Faults) { f.RateLimitRate = 1; f.RetryAfterSeconds = 1 })

	t.Run("a read waits out Retry-After", func(t *testing.T) {
		p := newPortal(t, portalsim.DefaultFaults())
		c := newClient(t, p, nil, Options{})
		user := mustCreateUser(t, c, "patient")
		p.setFaults(t, limited)
		p.healAfter(t, 1)
		start := time.Now()
		if _, err := c.GetUser(ctx, user.IDUser); err != nil {
			t.Fatalf("GetUser after a 429: %v", err)
		}
		if waited := time.Since(start); waited < time.Second {
			t.Fatalf("retried after %s, before the portal's Retry-After of 1s", waited)
		}
		s := p.stats(t)
		if s.count(http.MethodGet, routeUser, http.StatusTooManyRequests) != 1 || s.count(http.MethodGet, routeUser, http.StatusOK) != 1 {
			t.Fatalf("stats = %+v, want one 429 then one 200", s.Calls)
		}
	})

	t.Run("a create is not retried", func(t *testing.T) {
		p := newPortal(t, limited)
		c := newClient(t, p, nil, Options{})
		_, err := c.CreateUser(ctx, newUser("hasty"))
		e := wantCode(t, err, translator.ERateLimited)
		if e.RetryAfter != time.Second || e.Status != http.StatusTooManyRequests {
			t.Fatalf("error = %+v, want RetryAfter 1s", e)
		}
		if n := p.stats(t).count(http.MethodPost, routeUsers, -1); n != 1 {
			t.Fatalf("POST calls = %d, want 1", n)
		}
		if c.BreakerState() != "closed" {
			t.Fatalf("breaker %s, want closed: a 429 is not a failure", c.BreakerState())
		}
	})

	t.Run("a Retry-After over maxRetryAfter goes back to the caller", func(t *testing.T) {
		p := newPortal(t, faults(func(f *portalsim.Faults) { f.RateLimitRate = 1; f.RetryAfterSeconds = 30 }))
		c := newClient(t, p, nil, Options{})
		_, err := c.GetUser(ctx, 1)
		e := wantCode(t, err, translator.ERateLimited)
		if e.RetryAfter != 30*time.Second {
			t.Fatalf("RetryAfter = %s, want 30s", e.RetryAfter)
		}
		if n := p.stats(t).count(http.MethodGet, routeUser, -1); n != 1 {
			t.Fatalf("GET calls = %d, want 1", n)
		}
	})

	t.Run("a Retry-After past the caller's deadline goes back to the caller", func(t *testing.T) {
		p := newPortal(t, faults(func(f *portalsim.Faults) { f.RateLimitRate = 1; f.RetryAfterSeconds = 5 }))
		c := newClient(t, p, nil, Options{})
		dctx, cancel := context.WithTimeout(ctx, 4*time.Second)
		defer cancel()
		_, err := c.GetUser(dctx, 1)
		e := wantCode(t, err, translator.ERateLimited)
		if e.RetryAfter != 5*time.Second {
			t.Fatalf("RetryAfter = %s, want 5s", e.RetryAfter)
		}
		if n := p.stats(t).count(http.MethodGet, routeUser, -1); n != 1 {
			t.Fatalf("GET calls = %d, want 1", n)
		}
	})
}

func TestDroppedConnections(t *testing.T) {
	ctx := context.Background()
	dropping := faults(func(f *portalsim.Faults) { f.DropRate = 1 })

	t.Run("a dropped create has an unknown outcome and is sent once", func(t *testing.T) {
		p := newPortal(t, dropping)
		c := newClient(t, p, nil, Options{})
		_, err := c.CreateUser(ctx, newUser("dropped"))
		wantCode(t, err, translator.EOutcomeUnknown)
		s := p.stats(t)
		if n := s.count(http.MethodPost, routeUsers, -1); n != 1 {
			t.Fatalf("POST calls = %d, want exactly 1", n)
		}
		if n := s.count(http.MethodPost, routeUsers, 0); n != 1 {
			t.Fatalf("dropped POST calls = %d, want 1", n)
		}
	})

	t.Run("a dropped read is retried", func(t *testing.T) {
		p := newPortal(t, portalsim.DefaultFaults())
		c := newClient(t, p, nil, Options{})
		user := mustCreateUser(t, c, "reread")
		p.setFaults(t, dropping)
		p.healAfter(t, 1)
		if _, err := c.GetUser(ctx, user.IDUser); err != nil {
			t.Fatalf("GetUser after a drop: %v", err)
		}
		if n := p.stats(t).count(http.MethodGet, routeUser, 0); n < 1 {
			t.Fatalf("dropped GET calls = %d, want at least 1", n)
		}
	})

	t.Run("a dropped disable is retried, then reported unknown", func(t *testing.T) {
		p := newPortal(t, portalsim.DefaultFaults())
		c := newClient(t, p, nil, Options{})
		user := mustCreateUser(t, c, "flaky")
		p.setFaults(t, dropping)
		err := c.DisableUser(ctx, user.IDUser)
		wantCode(t, err, translator.EOutcomeUnknown)
		if n := p.stats(t).count(http.MethodPost, routeUser+"/disable", 0); n != testConfig("").Retry.MaxAttempts {
			t.Fatalf("dropped disable calls = %d, want %d", n, testConfig("").Retry.MaxAttempts)
		}
	})

	t.Run("a refused connection is not sent", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		cfg := testConfig("http://" + addr + testBasePath)
		cfg.Auth = Auth{Type: "bearer", Token: "t"}
		c, err := New(cfg, Options{})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		_, err = c.CreateUser(ctx, newUser("nowhere"))
		wantCode(t, err, translator.EUnavailable)
		_, err = c.GetUser(ctx, 1)
		wantCode(t, err, translator.EUnavailable)
	})
}

func TestSlowCommit(t *testing.T) {
	// The simulator holds a slow commit's answer for a minute, or until the client hangs up.
	p := newPortal(t, faults(func(f *portalsim.Faults) { f.SlowCommitRate = 1; f.SlowCommitMs = 60_000 }))
	c := newClient(t, p, func(u *Config) { u.Timeout = time.Second }, Options{})
	_, err := c.CreateUser(context.Background(), newUser("slowpoke"))
	wantCode(t, err, translator.EOutcomeUnknown)
	if n := p.stats(t).count(http.MethodPost, routeUsers, -1); n > 1 {
		t.Fatalf("POST calls = %d, want at most 1", n)
	}

	p.setFaults(t, portalsim.DefaultFaults())
	check := newClient(t, p, nil, Options{})
	list, err := check.ListUsers(context.Background(), []translator.PortalFilter{{Field: translator.FieldUserName, Value: "slowpoke"}}, translator.Page{Top: 1})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	if list.Count != 1 {
		t.Fatalf("users named slowpoke = %d, want 1: the slow commit was stored", list.Count)
	}
}

func TestCallerCancellation(t *testing.T) {
	tests := []struct {
		name string
		call func(context.Context, *Client) error
		code translator.Code
	}{
		{"read", func(ctx context.Context, c *Client) error { _, err := c.GetUser(ctx, 1); return err }, translator.EUnavailable},
		{"create", func(ctx context.Context, c *Client) error { _, err := c.CreateUser(ctx, newUser("gone")); return err }, translator.EOutcomeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPortal(t, portalsim.DefaultFaults())
			c := newClient(t, p, func(u *Config) { u.Breaker.ConsecutiveFailures = 1 }, Options{})
			arrived := make(chan struct{}, 1)
			p.hook(func(w http.ResponseWriter, r *http.Request) bool {
				io.Copy(io.Discard, r.Body) // read the whole request, so the server notices a hang-up
				arrived <- struct{}{}
				<-r.Context().Done() // hold the call until the client hangs up
				return false
			})
			ctx, cancel := context.WithCancel(context.Background())
			errs := make(chan error, 1)
			go func() { errs <- tt.call(ctx, c) }()
			<-arrived
			cancel()
			wantCode(t, <-errs, tt.code)
			if c.BreakerState() != "closed" {
				t.Fatalf("breaker %s, want closed: the caller's own cancellation is not a portal failure", c.BreakerState())
			}
		})
	}
}

func TestQueue(t *testing.T) {
	p := newPortal(t, portalsim.DefaultFaults())
	c := newClient(t, p, func(u *Config) {
		u.MaxInFlight = 1
		u.QueueWait = 10 * time.Millisecond
	}, Options{})
	mustCreateUser(t, c, "queued") // gets the token before the gate
	release := make(chan struct{})
	arrived := make(chan struct{}, 4)
	p.hook(func(w http.ResponseWriter, r *http.Request) bool {
		arrived <- struct{}{}
		<-release
		return true
	})

	first := make(chan error, 1)
	go func() {
		_, err := c.GetUser(context.Background(), 1)
		first <- err
	}()
	<-arrived
	if c.InFlight() != 1 {
		t.Fatalf("InFlight = %d, want 1", c.InFlight())
	}

	_, err := c.GetUser(context.Background(), 1)
	e := wantCode(t, err, translator.EUnavailable)
	if e.Message != "portal queue full" || e.RetryAfter <= 0 {
		t.Fatalf("error = %+v, want portal queue full with a RetryAfter", e)
	}

	// A waiter whose context ends leaves the queue without a call.
	ctx, cancel := context.WithCancel(context.Background())
	c.slots.queueWait = time.Hour
	waiter := make(chan error, 1)
	go func() {
		_, err := c.GetUser(ctx, 1)
		waiter <- err
	}()
	waitFor(t, "a waiter", func() bool { return c.Waiting() == 1 })
	cancel()
	wantCode(t, <-waiter, translator.EUnavailable)
	if c.Waiting() != 0 {
		t.Fatalf("Waiting = %d after the waiter left, want 0", c.Waiting())
	}

	close(release)
	if err := <-first; err != nil {
		t.Fatalf("first call: %v", err)
	}
	if c.InFlight() != 0 {
		t.Fatalf("InFlight = %d after the calls ended, want 0", c.InFlight())
	}
}

// fakeSlots is a shared bound of n slots, as the Redis semaphore would be for one replica.
type fakeSlots struct {
	slots    chan struct{}
	acquired atomic.Int64
	released atomic.Int64
}

func (f *fakeSlots) Acquire(ctx context.Context) (func(), error) {
	select {
	case f.slots <- struct{}{}:
		f.acquired.Add(1)
		return func() { f.released.Add(1); <-f.slots }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

// TestSharedSlots: a call takes a shared slot after its local one and gives both back; with every
// shared slot taken it answers "portal queue full" after queueWait without calling the portal, and
// gives its local slot back; a caller who leaves gets EUnavailable too.
func TestSharedSlots(t *testing.T) {
	p := newPortal(t, portalsim.DefaultFaults())
	shared := &fakeSlots{slots: make(chan struct{}, 1)}
	c := newClient(t, p, func(u *Config) {
		u.MaxInFlight = 4
		u.QueueWait = 20 * time.Millisecond
	}, Options{Slots: shared})
	u := mustCreateUser(t, c, "shared")
	if shared.acquired.Load() != 1 || shared.released.Load() != 1 {
		t.Fatalf("shared slots acquired/released after one call: %d/%d, want 1/1", shared.acquired.Load(), shared.released.Load())
	}

	shared.slots <- struct{}{} // another replica holds the only shared slot
	before := p.stats(t).apiCalls()
	_, err := c.GetUser(context.Background(), u.IDUser)
	e := wantCode(t, err, translator.EUnavailable)
	if !strings.Contains(e.Message, "portal queue full") || !strings.Contains(e.Message, "globalMaxInFlight") || e.RetryAfter <= 0 {
		t.Fatalf("error = %+v, want a fleet-wide portal queue full with a RetryAfter", e)
	}
	if got := p.stats(t).apiCalls(); got != before {
		t.Fatalf("portal API calls: %d then %d, want none while the shared bound is full", before, got)
	}
	if c.InFlight() != 0 {
		t.Fatalf("InFlight = %d after a refused call, want 0 (the local slot is given back)", c.InFlight())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.GetUser(ctx, u.IDUser)
	wantCode(t, err, translator.EUnavailable)

	<-shared.slots // the other replica releases
	if _, err := c.GetUser(context.Background(), u.IDUser); err != nil {
		t.Fatalf("GetUser with a shared slot free: %v", err)
	}
	if shared.acquired.Load() != shared.released.Load() {
		t.Fatalf("shared slots acquired %d, released %d", shared.acquired.Load(), shared.released.Load())
	}
}
