package main

import (
	"container/heap"
	"context"
	"math"
	"sync"
	"time"
)

// maxRetryDelay caps the growing delay between attempts of an answer without Retry-After.
const maxRetryDelay = 5 * time.Minute

// pacing is how a stage sends its requests.
type pacing struct {
	concurrency int     // workers, hence requests in flight at most
	rate        float64 // > 0: attempts start on a fixed schedule of rate per second (open loop)
	maxRetries  int     // retries of an object after its first attempt
	retryDelay  time.Duration
	deadline    time.Time // when not zero, no attempt starts after it
}

// stage is one operation over n objects: do makes one attempt for object i.
type stage struct {
	op *opStats
	n  int
	do func(ctx context.Context, i int) outcome
}

// stageResult says how a stage ended.
type stageResult struct {
	wall    time.Duration
	stopped bool // the deadline or ctx stopped it before every object was done
}

// attempt is one try of one object.
type attempt struct {
	item  int
	try   int       // 0 for the first attempt
	sched time.Time // open loop: the scheduled start; zero in closed loop
}

// attemptDone is an attempt and its outcome.
type attemptDone struct {
	attempt
	out     outcome
	latency time.Duration
}

// runStage runs s to completion, or until ctx is done or the deadline passes, and records every
// attempt in s.op. Objects that fail with a retryable outcome go back to the queue, due after their
// Retry-After or a doubling delay; an object still pending when the stage stops counts as abandoned.
func runStage(ctx context.Context, p pacing, s stage) stageResult {
	start := time.Now()
	jobs := make(chan attempt)
	results := make(chan attemptDone)
	var wg sync.WaitGroup
	for range max(p.concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range jobs {
				begin := time.Now()
				if !a.sched.IsZero() {
					begin = a.sched
				}
				out := s.do(ctx, a.item)
				results <- attemptDone{attempt: a, out: out, latency: time.Since(begin)}
			}
		}()
	}

	ready := make([]attempt, s.n)
	for i := range ready {
		ready[i] = attempt{item: i}
	}
	var delayed retryQueue
	inflight := 0
	stopped := false
	slot := 0 // open loop: index of the next scheduled start
	slotTime := func(k int) time.Time {
		return start.Add(time.Duration(float64(k) / p.rate * float64(time.Second)))
	}

	for {
		now := time.Now()
		for delayed.Len() > 0 && !delayed[0].due.After(now) {
			ready = append(ready, heap.Pop(&delayed).(retryItem).attempt)
		}
		if !stopped && (ctx.Err() != nil || (!p.deadline.IsZero() && !now.Before(p.deadline))) {
			stopped = true
		}
		if stopped && (len(ready) > 0 || delayed.Len() > 0) {
			s.op.abandon(len(ready) + delayed.Len())
			ready, delayed = nil, nil
		}
		if len(ready) == 0 && delayed.Len() == 0 && inflight == 0 {
			break
		}

		var send chan attempt
		var next attempt
		var wake time.Time
		switch {
		case len(ready) > 0 && p.rate > 0:
			at := slotTime(slot)
			if at.After(now) {
				wake = at
			} else {
				send, next = jobs, ready[0]
				next.sched = at
			}
		case len(ready) > 0:
			send, next = jobs, ready[0]
		case delayed.Len() > 0:
			wake = delayed[0].due
			if p.rate > 0 && slotTime(slot).Before(now) {
				// Nothing to send: skip the slots missed while idle rather than charge their delay to
				// the next request.
				slot = int(math.Ceil(now.Sub(start).Seconds() * p.rate))
			}
		}
		if !p.deadline.IsZero() && !stopped && (wake.IsZero() || p.deadline.Before(wake)) {
			wake = p.deadline
		}
		var timer *time.Timer
		var timerC <-chan time.Time
		if !wake.IsZero() {
			timer = time.NewTimer(time.Until(wake))
			timerC = timer.C
		}
		var done <-chan struct{}
		if !stopped {
			done = ctx.Done()
		}

		select {
		case send <- next:
			ready = ready[1:]
			inflight++
			slot++
		case d := <-results:
			inflight--
			s.op.record(d.out, d.latency)
			switch {
			case d.out.ok:
			case d.out.retryable && d.try < p.maxRetries && stopped:
				s.op.abandon(1)
			case d.out.retryable && d.try < p.maxRetries:
				s.op.retry()
				next := d.attempt
				next.try++
				next.sched = time.Time{}
				heap.Push(&delayed, retryItem{attempt: next, due: time.Now().Add(retryDelay(d.out, d.try, p.retryDelay))})
			default:
				s.op.fail()
			}
		case <-timerC:
		case <-done:
		}
		if timer != nil {
			timer.Stop()
		}
	}
	close(jobs)
	wg.Wait()
	return stageResult{wall: time.Since(start), stopped: stopped}
}

// retryDelay is how long an object waits before its next attempt: the answer's Retry-After when it
// has one, else base doubled for each earlier retry, at most maxRetryDelay.
func retryDelay(o outcome, try int, base time.Duration) time.Duration {
	if o.hasRetryAfter {
		return o.retryAfter
	}
	d := base
	for range try {
		d *= 2
		if d >= maxRetryDelay {
			return maxRetryDelay
		}
	}
	return d
}

// retryItem is an attempt waiting until due.
type retryItem struct {
	attempt
	due time.Time
}

// retryQueue is a min-heap of retryItems by due time.
type retryQueue []retryItem

func (q retryQueue) Len() int           { return len(q) }
func (q retryQueue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q retryQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *retryQueue) Push(x any)        { *q = append(*q, x.(retryItem)) }
func (q *retryQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}
