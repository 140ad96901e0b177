package portalsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// Faults is the set of faults the simulator injects into API calls (docs/portal-api.md section 6).
// Token calls get no faults and no added latency.
type Faults struct {
	// LatencyMs is added to every API call, before any other fault.
	LatencyMs int `json:"latencyMs"`
	// JitterMs adds a uniform 0..JitterMs to LatencyMs.
	JitterMs int `json:"jitterMs"`
	// ErrorRate is the fraction of API calls answered 503 UNAVAILABLE.
	ErrorRate float64 `json:"errorRate"`
	// RateLimitRate is the fraction of API calls answered 429 RATE_LIMITED with Retry-After.
	RateLimitRate float64 `json:"rateLimitRate"`
	// RetryAfterSeconds is the Retry-After of a 429.
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	// HTMLErrors renders 5xx bodies as an HTML page instead of the JSON error body.
	HTMLErrors bool `json:"htmlErrors"`
	// TokenTTLSeconds is the lifetime of OAuth tokens issued from now on (at least 1).
	TokenTTLSeconds int `json:"tokenTTLSeconds"`
	// DropRate is the fraction of API calls whose connection is closed with no answer; a dropped
	// write is not stored.
	DropRate float64 `json:"dropRate"`
	// SlowCommitRate is the fraction of successful writes that are stored and only then answered,
	// after SlowCommitMs.
	SlowCommitRate float64 `json:"slowCommitRate"`
	// SlowCommitMs is how long a slow commit waits before answering.
	SlowCommitMs int `json:"slowCommitMs"`
}

// DefaultFaults returns the fault set of a portal that behaves: no faults, Retry-After 1 second,
// tokens valid for an hour.
func DefaultFaults() Faults {
	return Faults{RetryAfterSeconds: 1, TokenTTLSeconds: 3600}
}

// Validate reports the first invalid value of f, naming its JSON key: a rate outside 0..1, a negative
// number or a TokenTTLSeconds under 1.
func (f Faults) Validate() error {
	_, err := f.check()
	return err
}

// check returns the JSON key of the first invalid value, and an error describing it.
func (f Faults) check() (string, error) {
	rates := []struct {
		key string
		v   float64
	}{
		{"errorRate", f.ErrorRate}, {"rateLimitRate", f.RateLimitRate},
		{"dropRate", f.DropRate}, {"slowCommitRate", f.SlowCommitRate},
	}
	for _, r := range rates {
		if math.IsNaN(r.v) || r.v < 0 || r.v > 1 {
			return r.key, fmt.Errorf("%s must be between 0 and 1, got %v", r.key, r.v)
		}
	}
	counts := []struct {
		key string
		v   int
	}{
		{"latencyMs", f.LatencyMs}, {"jitterMs", f.JitterMs},
		{"retryAfterSeconds", f.RetryAfterSeconds}, {"slowCommitMs", f.SlowCommitMs},
	}
	for _, c := range counts {
		if c.v < 0 {
			return c.key, fmt.Errorf("%s must not be negative, got %d", c.key, c.v)
		}
	}
	if f.TokenTTLSeconds < 1 {
		return "tokenTTLSeconds", fmt.Errorf("tokenTTLSeconds must be at least 1, got %d", f.TokenTTLSeconds)
	}
	return "", nil
}

// faultKeys are the JSON keys of Faults, each with a function that decodes a value onto a Faults.
var faultKeys = map[string]func(f *Faults, raw json.RawMessage) bool{
	"latencyMs":         intField(func(f *Faults) *int { return &f.LatencyMs }),
	"jitterMs":          intField(func(f *Faults) *int { return &f.JitterMs }),
	"errorRate":         rateField(func(f *Faults) *float64 { return &f.ErrorRate }),
	"rateLimitRate":     rateField(func(f *Faults) *float64 { return &f.RateLimitRate }),
	"retryAfterSeconds": intField(func(f *Faults) *int { return &f.RetryAfterSeconds }),
	"htmlErrors":        boolField(func(f *Faults) *bool { return &f.HTMLErrors }),
	"tokenTTLSeconds":   intField(func(f *Faults) *int { return &f.TokenTTLSeconds }),
	"dropRate":          rateField(func(f *Faults) *float64 { return &f.DropRate }),
	"slowCommitRate":    rateField(func(f *Faults) *float64 { return &f.SlowCommitRate }),
	"slowCommitMs":      intField(func(f *Faults) *int { return &f.SlowCommitMs }),
}

func intField(field func(*Faults) *int) func(*Faults, json.RawMessage) bool {
	return func(f *Faults, raw json.RawMessage) bool {
		var n json.Number
		if !decodeNumber(raw, &n) {
			return false
		}
		v, err := n.Int64()
		if err != nil || v > math.MaxInt32 || v < math.MinInt32 {
			return false
		}
		*field(f) = int(v)
		return true
	}
}

func rateField(field func(*Faults) *float64) func(*Faults, json.RawMessage) bool {
	return func(f *Faults, raw json.RawMessage) bool {
		var n json.Number
		if !decodeNumber(raw, &n) {
			return false
		}
		v, err := n.Float64()
		if err != nil {
			return false
		}
		*field(f) = v
		return true
	}
}

func boolField(field func(*Faults) *bool) func(*Faults, json.RawMessage) bool {
	return func(f *Faults, raw json.RawMessage) bool {
		raw = bytes.TrimSpace(raw)
		switch string(raw) {
		case "true":
			*field(f) = true
		case "false":
			*field(f) = false
		default:
			return false
		}
		return true
	}
}

// decodeNumber decodes raw into n when raw is a JSON number (not a string, not null).
func decodeNumber(raw json.RawMessage, n *json.Number) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return false
	}
	return json.Unmarshal(raw, n) == nil
}

// mergeFaults applies the keys named in body (a JSON object) onto base. It returns the offending key
// and an error on an unknown key, a value of the wrong type or an invalid result; base is not changed.
func mergeFaults(base Faults, body []byte) (Faults, string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return base, "", fmt.Errorf("body must be a JSON object")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	next := base
	for _, k := range keys {
		set, ok := faultKeys[k]
		if !ok {
			return base, k, fmt.Errorf("unknown fault %q", k)
		}
		if !set(&next, m[k]) {
			return base, k, fmt.Errorf("bad value for %s: %s", k, bytes.TrimSpace(m[k]))
		}
	}
	if key, err := next.check(); err != nil {
		return base, key, err
	}
	return next, "", nil
}

// draws is the simulator's seeded random sequence. A rate of 0 or 1 takes no draw, so tests that use
// only those are deterministic whatever the seed.
type draws struct {
	mu   sync.Mutex
	seed int64
	rnd  *rand.Rand
}

func newDraws(seed int64) *draws {
	d := &draws{seed: seed}
	d.restart()
	return d
}

// restart starts the sequence again from the seed.
func (d *draws) restart() {
	d.mu.Lock()
	d.rnd = rand.New(rand.NewPCG(uint64(d.seed), uint64(d.seed)^0x9e3779b97f4a7c15))
	d.mu.Unlock()
}

// hit reports whether an event of probability rate happens.
func (d *draws) hit(rate float64) bool {
	if rate <= 0 {
		return false
	}
	if rate >= 1 {
		return true
	}
	d.mu.Lock()
	v := d.rnd.Float64()
	d.mu.Unlock()
	return v < rate
}

// upTo returns a uniform integer in 0..n.
func (d *draws) upTo(n int) int {
	if n <= 0 {
		return 0
	}
	d.mu.Lock()
	v := d.rnd.IntN(n + 1)
	d.mu.Unlock()
	return v
}

// sleep waits for d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
