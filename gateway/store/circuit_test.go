package store

import (
	"errors"
	"testing"
	"time"
)

// TestCircuit walks the short-circuit through its states on a fake clock.
func TestCircuit(t *testing.T) {
	type transition struct {
		open     bool
		cooldown time.Duration
	}
	clock := newFakeClock()
	var transitions []transition
	c := newCircuit(circuitSettings{threshold: 3, cooldown: time.Second, maxCooldown: 3 * time.Second}, clock.Now,
		func(open bool, cooldown time.Duration, _ error) {
			transitions = append(transitions, transition{open, cooldown})
		})
	failure := errors.New("connection refused")

	// call asks the circuit for one call and reports o if it was let through.
	call := func(o outcome) (probe, ok bool) {
		probe, ok = c.allow()
		if ok {
			c.done(probe, o, failure)
		}
		return probe, ok
	}
	steps := []struct {
		name      string
		advance   time.Duration
		outcome   outcome
		wantOK    bool
		wantProbe bool
		wantOpen  bool
	}{
		{name: "healthy", outcome: outcomeSuccess, wantOK: true},
		{name: "first failure", outcome: outcomeFailure, wantOK: true},
		{name: "second failure", outcome: outcomeFailure, wantOK: true},
		{name: "a success resets the count", outcome: outcomeSuccess, wantOK: true},
		{name: "failure 1 of 3", outcome: outcomeFailure, wantOK: true},
		{name: "failure 2 of 3", outcome: outcomeFailure, wantOK: true},
		{name: "canceled call does not count", outcome: outcomeNeutral, wantOK: true},
		{name: "failure 3 of 3 opens", outcome: outcomeFailure, wantOK: true, wantOpen: true},
		{name: "refused during the cool-down", advance: 999 * time.Millisecond, wantOpen: true},
		{name: "probe after 1s fails", advance: time.Millisecond, outcome: outcomeFailure, wantOK: true, wantProbe: true, wantOpen: true},
		{name: "cool-down doubled to 2s", advance: 1999 * time.Millisecond, wantOpen: true},
		{name: "probe canceled by its caller", advance: time.Millisecond, outcome: outcomeNeutral, wantOK: true, wantProbe: true, wantOpen: true},
		{name: "next caller probes, fails", outcome: outcomeFailure, wantOK: true, wantProbe: true, wantOpen: true},
		{name: "cool-down capped at 3s", advance: 2999 * time.Millisecond, wantOpen: true},
		{name: "probe succeeds and closes", advance: time.Millisecond, outcome: outcomeSuccess, wantOK: true, wantProbe: true},
		{name: "healthy again", outcome: outcomeSuccess, wantOK: true},
		{name: "failure 1 after closing", outcome: outcomeFailure, wantOK: true},
		{name: "failure 2 after closing", outcome: outcomeFailure, wantOK: true},
		{name: "failure 3 reopens with the first cool-down", outcome: outcomeFailure, wantOK: true, wantOpen: true},
		{name: "probe after 1s", advance: time.Second, outcome: outcomeSuccess, wantOK: true, wantProbe: true},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		probe, ok := call(s.outcome)
		if ok != s.wantOK || probe != s.wantProbe {
			t.Fatalf("%s: allow got probe=%v ok=%v, want probe=%v ok=%v", s.name, probe, ok, s.wantProbe, s.wantOK)
		}
		if got := !c.healthy(); got != s.wantOpen {
			t.Fatalf("%s: open got %v, want %v", s.name, got, s.wantOpen)
		}
	}
	want := []transition{{true, time.Second}, {false, 0}, {true, time.Second}, {false, 0}}
	if len(transitions) != len(want) {
		t.Fatalf("transitions: got %v, want %v", transitions, want)
	}
	for i := range want {
		if transitions[i] != want[i] {
			t.Fatalf("transition %d: got %v, want %v", i, transitions[i], want[i])
		}
	}
}

// TestCircuitOneProbe checks that an open circuit lets one probe through at a time, and that calls
// started before it opened do not decide its state.
func TestCircuitOneProbe(t *testing.T) {
	clock := newFakeClock()
	c := newCircuit(circuitSettings{threshold: 1, cooldown: time.Second, maxCooldown: time.Second}, clock.Now, nil)

	first, _ := c.allow()
	straggler, ok := c.allow() // still in flight when the first call fails and opens the circuit
	if !ok || first || straggler {
		t.Fatalf("allow while closed: got probe=%v/%v ok=%v, want plain calls", first, straggler, ok)
	}
	c.done(first, outcomeFailure, nil)
	if c.healthy() {
		t.Fatalf("healthy after the threshold: got true")
	}
	clock.Advance(time.Second)
	probe, ok := c.allow()
	if !ok || !probe {
		t.Fatalf("allow after the cool-down: got probe=%v ok=%v, want the probe", probe, ok)
	}
	if _, ok := c.allow(); ok {
		t.Fatalf("allow while the probe is in flight: got ok, want refused")
	}
	c.done(straggler, outcomeSuccess, nil)
	if c.healthy() {
		t.Fatalf("a straggler's success closed the circuit; only the probe may")
	}
	c.done(probe, outcomeSuccess, nil)
	if !c.healthy() {
		t.Fatalf("healthy after a successful probe: got false")
	}
}
