package translog

import (
	"cmp"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Buffer sizes of the in-memory record ring.
const (
	DefaultBuffer = 1000   // records kept per replica when Config.Buffer is 0
	MaxBuffer     = 100000 // the largest Config.Buffer accepted
)

// Config configures the translation log (the config package embeds it).
type Config struct {
	// Buffer is how many finished records each replica keeps for /admin/translations; 0: DefaultBuffer.
	Buffer int `yaml:"buffer"`
	// BufferBytes bounds the memory of the kept records (estimated); the oldest go first when a new
	// one would pass it. 0: DefaultBufferBytes.
	BufferBytes int `yaml:"bufferBytes"`
	// MaxValueBytes is the longest value (each change's old and new value, userName, error text,
	// request id) a record keeps and logs; longer ones are cut with a marker ("…[cut N bytes]").
	// 0: DefaultMaxValueBytes.
	MaxValueBytes int `yaml:"maxValueBytes"`
	// Reads also logs GET and list requests; writes are always logged.
	Reads bool `yaml:"reads"`
	// Redaction is the policy for personal data in records.
	Redaction Policy `yaml:"redaction"`
}

// DefaultConfig returns the default translation-log configuration.
func DefaultConfig() Config {
	return Config{Buffer: DefaultBuffer, BufferBytes: DefaultBufferBytes, MaxValueBytes: DefaultMaxValueBytes,
		Redaction: DefaultPolicy()}
}

// Validate lists every problem of c at once, each prefixed with its key relative to c
// ("redaction.attributes.userName: ..."). It returns nil when c is valid.
func (c Config) Validate() error {
	var errs []error
	if c.Buffer < 0 || c.Buffer > MaxBuffer {
		errs = append(errs, fmt.Errorf("buffer: must be between 0 and %d, not %d", MaxBuffer, c.Buffer))
	}
	if b := c.BufferBytes; b != 0 && (b < MinBufferBytes || b > MaxBufferBytes) {
		errs = append(errs, fmt.Errorf("bufferBytes: must be between %d and %d, not %d", MinBufferBytes, MaxBufferBytes, b))
	}
	if m := c.MaxValueBytes; m != 0 && (m < MinMaxValueBytes || m > MaxMaxValueBytes) {
		errs = append(errs, fmt.Errorf("maxValueBytes: must be between %d and %d, not %d", MinMaxValueBytes, MaxMaxValueBytes, m))
	}
	if err := c.Redaction.Validate(); err != nil {
		for _, e := range unjoin(err) {
			errs = append(errs, fmt.Errorf("redaction.%w", e))
		}
	}
	return errors.Join(errs...)
}

// unjoin returns the errors errors.Join combined into err.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Options are the dependencies of a Logger.
type Options struct {
	// Logger receives one record per finished translation; give it an unsampled logger of its own.
	Logger *zap.Logger
	Config Config
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Replica names this gateway replica on every record (Record.Replica).
	Replica string
}

// setup is the part of a Logger a configuration reload replaces.
type setup struct {
	red      *Redactor
	reads    bool
	maxValue int
}

// Logger writes finished translation records to zap and keeps the most recent ones in memory.
type Logger struct {
	log     *zap.Logger
	now     func() time.Time
	replica string
	setup   atomic.Pointer[setup]
	ring    ring
	fleet   atomic.Pointer[Fleet] // the fleet-wide stream, when there is one (fleet.go)
}

// New builds a Logger. Errors are those of Config.Validate.
func New(opts Options) (*Logger, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	l := &Logger{log: log.With(zap.String("component", "translation")), now: opts.Now, replica: opts.Replica}
	if l.now == nil {
		l.now = time.Now
	}
	if err := l.SetConfig(opts.Config); err != nil {
		return nil, err
	}
	return l, nil
}

// SetConfig applies a new configuration (a reload): requests that start from now on use the new
// policy; the ring keeps its newest records when it shrinks. On error (those of Config.Validate) the
// configuration in force is kept.
func (l *Logger) SetConfig(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	red, err := NewRedactor(c.Redaction)
	if err != nil {
		return err
	}
	size := cmp.Or(c.Buffer, DefaultBuffer)
	l.ring.resize(size, cmp.Or(c.BufferBytes, DefaultBufferBytes))
	l.setup.Store(&setup{red: red, reads: c.Reads, maxValue: cmp.Or(c.MaxValueBytes, DefaultMaxValueBytes)})
	return nil
}

// Redactor returns the redaction policy in force.
func (l *Logger) Redactor() *Redactor { return l.setup.Load().red }

// Start begins the record of a SCIM request, stamped with the current time; requestID is its request
// id and token the name of the token that authenticated it. Carry it with WithRecorder and end it with
// Finish.
func (l *Logger) Start(requestID, token string) *Recorder {
	s := l.setup.Load()
	return &Recorder{logger: l, red: s.red, reads: s.reads, maxValue: s.maxValue,
		rec: Record{Time: l.now(), RequestID: requestID, Token: token, Replica: l.replica}}
}

// emit writes rec to the zap logger and keeps it.
func (l *Logger) emit(rec *Record) {
	if ce := l.log.Check(zap.InfoLevel, "translation"); ce != nil {
		ce.Write(zap.Inline(rec))
	}
	l.ring.add(*rec)
	l.fleet.Load().enqueue(rec)
}

// Kept returns how many records the ring holds and their estimated bytes.
func (l *Logger) Kept() (records, bytes int) {
	l.ring.mu.RLock()
	defer l.ring.mu.RUnlock()
	return l.ring.n, l.ring.bytes
}

// ring keeps the last records, oldest overwritten first, within a count (len(buf)) and an estimate of
// their bytes (maxBytes).
type ring struct {
	mu       sync.RWMutex
	buf      []kept
	next     int // where the next record goes
	n        int // how many slots hold a record
	bytes    int // the estimated bytes of the records held
	maxBytes int
}

// kept is a record in the ring, with its estimated size.
type kept struct {
	rec  Record
	size int
}

// add keeps rec, dropping the oldest records until it fits. A record larger than maxBytes alone is
// not kept (it was logged).
func (r *ring) add(rec Record) {
	size := rec.size()
	r.mu.Lock()
	defer r.mu.Unlock()
	if size > r.maxBytes {
		return
	}
	for r.n > 0 && (r.n == len(r.buf) || r.bytes+size > r.maxBytes) {
		r.dropOldestLocked()
	}
	r.buf[r.next] = kept{rec: rec, size: size}
	r.next = (r.next + 1) % len(r.buf)
	r.n++
	r.bytes += size
}

// dropOldestLocked forgets the oldest record; r.mu is held and r.n > 0.
func (r *ring) dropOldestLocked() {
	i := (r.next - r.n + len(r.buf)) % len(r.buf)
	r.bytes -= r.buf[i].size
	r.buf[i] = kept{}
	r.n--
}

// resize changes the bounds to size records and maxBytes, keeping the newest records that fit.
func (r *ring) resize(size, maxBytes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if size == len(r.buf) && maxBytes == r.maxBytes {
		return
	}
	var newest []kept // newest first
	total := 0
	r.scanLocked(func(k *kept) bool {
		if len(newest) == size || total+k.size > maxBytes {
			return false
		}
		newest = append(newest, *k)
		total += k.size
		return true
	})
	buf := make([]kept, size)
	// newest is newest first; lay it out oldest first.
	for i := range newest {
		buf[i] = newest[len(newest)-1-i]
	}
	r.buf, r.n, r.next, r.bytes, r.maxBytes = buf, len(newest), len(newest)%size, total, maxBytes
}

// scan calls fn on the records newest first until fn returns false.
func (r *ring) scan(fn func(*Record) bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	r.scanLocked(func(k *kept) bool { return fn(&k.rec) })
}

func (r *ring) scanLocked(fn func(*kept) bool) {
	for i := 1; i <= r.n; i++ {
		j := (r.next - i + len(r.buf)) % len(r.buf)
		if !fn(&r.buf[j]) {
			return
		}
	}
}
