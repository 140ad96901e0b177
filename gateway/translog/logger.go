package translog

import (
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
	// Reads also logs GET and list requests; writes are always logged.
	Reads bool `yaml:"reads"`
	// Redaction is the policy for personal data in records.
	Redaction Policy `yaml:"redaction"`
}

// DefaultConfig returns the default translation-log configuration.
func DefaultConfig() Config {
	return Config{Buffer: DefaultBuffer, Redaction: DefaultPolicy()}
}

// Validate lists every problem of c at once, each prefixed with its key relative to c
// ("redaction.attributes.userName: ..."). It returns nil when c is valid.
func (c Config) Validate() error {
	var errs []error
	if c.Buffer < 0 || c.Buffer > MaxBuffer {
		errs = append(errs, fmt.Errorf("buffer: must be between 0 and %d, not %d", MaxBuffer, c.Buffer))
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
}

// setup is the part of a Logger a configuration reload replaces.
type setup struct {
	red   *Redactor
	reads bool
}

// Logger writes finished translation records to zap and keeps the most recent ones in memory.
type Logger struct {
	log   *zap.Logger
	now   func() time.Time
	setup atomic.Pointer[setup]
	ring  ring
}

// New builds a Logger. Errors are those of Config.Validate.
func New(opts Options) (*Logger, error) {
	log := opts.Logger
	if log == nil {
		log = zap.NewNop()
	}
	l := &Logger{log: log.With(zap.String("component", "translation")), now: opts.Now}
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
	size := c.Buffer
	if size == 0 {
		size = DefaultBuffer
	}
	l.ring.resize(size)
	l.setup.Store(&setup{red: red, reads: c.Reads})
	return nil
}

// Redactor returns the redaction policy in force.
func (l *Logger) Redactor() *Redactor { return l.setup.Load().red }

// Start begins the record of a SCIM request, stamped with the current time; requestID is its request
// id and token the name of the token that authenticated it. Carry it with WithRecorder and end it with
// Finish.
func (l *Logger) Start(requestID, token string) *Recorder {
	s := l.setup.Load()
	return &Recorder{logger: l, red: s.red, reads: s.reads,
		rec: Record{Time: l.now(), RequestID: requestID, Token: token}}
}

// emit writes rec to the zap logger and keeps it.
func (l *Logger) emit(rec *Record) {
	if ce := l.log.Check(zap.InfoLevel, "translation"); ce != nil {
		ce.Write(zap.Inline(rec))
	}
	l.ring.add(*rec)
}

// ring keeps the last records, oldest overwritten first.
type ring struct {
	mu   sync.RWMutex
	buf  []Record
	next int // where the next record goes
	n    int // how many slots hold a record
}

// add keeps rec, overwriting the oldest record when full.
func (r *ring) add(rec Record) {
	r.mu.Lock()
	r.buf[r.next] = rec
	r.next = (r.next + 1) % len(r.buf)
	if r.n < len(r.buf) {
		r.n++
	}
	r.mu.Unlock()
}

// resize changes the capacity to size, keeping the newest records that fit.
func (r *ring) resize(size int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if size == len(r.buf) {
		return
	}
	kept := make([]Record, 0, min(r.n, size))
	r.scanLocked(func(rec *Record) bool {
		kept = append(kept, *rec)
		return len(kept) < size
	})
	buf := make([]Record, size)
	// kept is newest first; lay it out oldest first.
	for i := range kept {
		buf[i] = kept[len(kept)-1-i]
	}
	r.buf, r.n, r.next = buf, len(kept), len(kept)%size
}

// scan calls fn on the records newest first until fn returns false.
func (r *ring) scan(fn func(*Record) bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	r.scanLocked(fn)
}

func (r *ring) scanLocked(fn func(*Record) bool) {
	for i := 1; i <= r.n; i++ {
		j := (r.next - i + len(r.buf)) % len(r.buf)
		if !fn(&r.buf[j]) {
			return
		}
	}
}
