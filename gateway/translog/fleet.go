package translog

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Defaults of the fleet-wide stream (StreamConfig).
const (
	DefaultStreamMaxLen         = 10000 // records the stream keeps, about (MAXLEN ~)
	DefaultStreamMaxRecordBytes = 16384 // the largest record written, in bytes of JSON
)

// Defaults of the writer (FleetOptions).
const (
	DefaultFleetQueue   = 256             // records waiting to be written
	DefaultFleetTimeout = 2 * time.Second // one write of a batch
	fleetBatch          = 64              // records written in one round trip, at most
	// clockSkew is how far the clocks of the replicas and Redis may differ. A record is added to the
	// stream after its request started, so an entry added before T-clockSkew holds no record of a
	// request that started at or after T.
	clockSkew = 10 * time.Second
)

// Reasons a record does not reach the stream (FleetOptions.OnDrop).
const (
	DropQueueFull   = "queue_full"  // the writer is behind (Redis slow): the queue was full
	DropUnavailable = "unavailable" // the write failed (Redis down, short-circuited or timed out)
	DropTooLarge    = "too_large"   // the record does not fit MaxRecordBytes even without its details
)

// Scopes of an /admin/translations answer.
const (
	ScopeFleet   = "fleet"   // the stream every replica writes, and this replica's own records
	ScopeReplica = "replica" // this replica's records only
)

// StreamConfig bounds the fleet-wide stream: MaxLen records of at most MaxRecordBytes each, so the
// stream holds about MaxLen × MaxRecordBytes bytes at most.
type StreamConfig struct {
	Enabled        bool // write records to the stream and read /admin/translations from it
	MaxLen         int  // records kept, about; 0: DefaultStreamMaxLen
	MaxRecordBytes int  // the largest record written; 0: DefaultStreamMaxRecordBytes
}

func (c StreamConfig) withDefaults() StreamConfig {
	if c.MaxLen == 0 {
		c.MaxLen = DefaultStreamMaxLen
	}
	if c.MaxRecordBytes == 0 {
		c.MaxRecordBytes = DefaultStreamMaxRecordBytes
	}
	return c
}

// Stream is a capped log the replicas share (store.Stream on Redis): Add appends values trimming the
// log to about maxLen entries; Scan calls fn with entries newest first (when each was added, by the
// log's clock, and its value), back to those added at or after since, until fn returns false.
type Stream interface {
	Add(ctx context.Context, maxLen int, values [][]byte) error
	Scan(ctx context.Context, since time.Time, fn func(added time.Time, value []byte) bool) error
}

// FleetOptions are the dependencies of a Fleet.
type FleetOptions struct {
	Stream Stream
	Config StreamConfig
	// Logger receives a warning when writes start failing and a line when they work again.
	Logger *zap.Logger
	// OnDrop counts records that did not reach the stream, by reason (DropQueueFull...). It is called
	// from the request's goroutine for DropQueueFull: keep it quick.
	OnDrop func(reason string, n int)
	// Queue is how many records may wait for the writer; 0: DefaultFleetQueue.
	Queue int
	// Timeout bounds one write; 0: DefaultFleetTimeout.
	Timeout time.Duration
}

// Fleet writes finished records to the fleet-wide stream from a goroutine of its own, so that a slow
// or absent Redis never slows or fails a SCIM request: the request hands its record to a bounded queue
// without waiting, and a full queue or a failed write drops records (counted by OnDrop). It also
// answers /admin/translations from the stream (see Logger.SetFleet).
type Fleet struct {
	stream  Stream
	log     *zap.Logger
	onDrop  func(string, int)
	timeout time.Duration
	cfg     atomic.Pointer[StreamConfig]

	queue   chan *Record
	stop    chan struct{}
	done    chan struct{}
	closing sync.Once
	failing bool // the last write failed (writer goroutine only)
}

// NewFleet starts the writer of a Fleet; Close stops it.
func NewFleet(opts FleetOptions) *Fleet {
	f := &Fleet{stream: opts.Stream, log: opts.Logger, onDrop: opts.OnDrop, timeout: opts.Timeout,
		stop: make(chan struct{}), done: make(chan struct{})}
	if f.log == nil {
		f.log = zap.NewNop()
	}
	f.log = f.log.With(zap.String("component", "translation-stream"))
	if f.onDrop == nil {
		f.onDrop = func(string, int) {}
	}
	if f.timeout <= 0 {
		f.timeout = DefaultFleetTimeout
	}
	size := opts.Queue
	if size <= 0 {
		size = DefaultFleetQueue
	}
	f.queue = make(chan *Record, size)
	f.SetConfig(opts.Config)
	go f.run()
	return f
}

// SetConfig applies a new stream configuration (a reload); zero bounds take their defaults.
func (f *Fleet) SetConfig(c StreamConfig) {
	c = c.withDefaults()
	f.cfg.Store(&c)
}

// config returns the configuration in force; a nil Fleet is disabled.
func (f *Fleet) config() StreamConfig {
	if f == nil {
		return StreamConfig{}
	}
	return *f.cfg.Load()
}

// Close stops the writer after it has written what was queued (each write bounded by the timeout).
// Records finished after Close are not written.
func (f *Fleet) Close() {
	f.closing.Do(func() { close(f.stop) })
	<-f.done
}

// SetFleet makes l write every record it keeps to f as well, and answer /admin/translations from the
// stream merged with its own ring; nil turns that off.
func (l *Logger) SetFleet(f *Fleet) { l.fleet.Store(f) }

// enqueue hands rec to the writer without waiting; a full queue drops it.
func (f *Fleet) enqueue(rec *Record) {
	if !f.config().Enabled {
		return
	}
	select {
	case <-f.stop:
		return
	default:
	}
	select {
	case f.queue <- rec:
	default:
		f.onDrop(DropQueueFull, 1)
	}
}

// run is the writer: it takes what is queued, in batches, until Close.
func (f *Fleet) run() {
	defer close(f.done)
	for {
		select {
		case rec := <-f.queue:
			ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
			f.write(ctx, f.batch(rec))
			cancel()
		case <-f.stop:
			// What is queued gets one timeout in all, so that a shutdown with Redis down is quick.
			ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
			defer cancel()
			for {
				select {
				case rec := <-f.queue:
					f.write(ctx, f.batch(rec))
				default:
					return
				}
			}
		}
	}
}

// batch returns first and what else is queued, up to fleetBatch records.
func (f *Fleet) batch(first *Record) []*Record {
	recs := []*Record{first}
	for len(recs) < fleetBatch {
		select {
		case rec := <-f.queue:
			recs = append(recs, rec)
		default:
			return recs
		}
	}
	return recs
}

// write encodes recs within the byte bound and appends them to the stream.
func (f *Fleet) write(ctx context.Context, recs []*Record) {
	cfg := f.config()
	values := make([][]byte, 0, len(recs))
	for _, rec := range recs {
		b, ok := fitRecord(rec, cfg.MaxRecordBytes)
		if !ok {
			f.onDrop(DropTooLarge, 1)
			continue
		}
		values = append(values, b)
	}
	err := f.stream.Add(ctx, cfg.MaxLen, values)
	switch {
	case err != nil:
		f.onDrop(DropUnavailable, len(values))
		if !f.failing {
			f.failing = true
			f.log.Warn("translation records cannot be written to the fleet-wide stream; dropping them until it works again",
				zap.Error(err))
		}
	case f.failing:
		f.failing = false
		f.log.Info("translation records are written to the fleet-wide stream again")
	}
}

// streamCutMarker replaces a value left out of a record to fit the stream's byte bound.
const streamCutMarker = "[cut: over logging.translation.stream.maxRecordBytes]"

// fitRecord encodes rec as /admin/translations shows it, within max bytes: when it is larger, the
// changes' values are left out, then the changes, then the calls, then most of the error text, each
// step saying so in the record's "cut" field. It reports false when even that does not fit.
func fitRecord(rec *Record, max int) ([]byte, bool) {
	b, err := json.Marshal(rec)
	if err != nil {
		return nil, false
	}
	if len(b) <= max {
		return b, true
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, false
	}
	steps := []struct {
		what  string
		apply func()
	}{
		{"the changes' values", func() {
			changes, _ := m["changes"].([]any)
			for _, c := range changes {
				if c, ok := c.(map[string]any); ok {
					for _, k := range []string{"old", "new"} {
						if c[k] != nil {
							c[k] = streamCutMarker
						}
					}
				}
			}
		}},
		{"the changes", func() { m["changesCut"] = countOf(m["changes"]); m["changes"] = []any{} }},
		{"the portal calls", func() { m["callsCut"] = countOf(m["calls"]); m["calls"] = []any{} }},
		{"the error text", func() {
			if s, ok := m["error"].(string); ok && len(s) > 200 {
				m["error"] = s[:200] + "… " + streamCutMarker
			}
		}},
	}
	var cut []string
	for _, s := range steps {
		s.apply()
		cut = append(cut, s.what)
		m["cut"] = streamCutMarker + ": " + strings.Join(cut, ", ")
		if b, err = json.Marshal(m); err == nil && len(b) <= max {
			return b, true
		}
	}
	return nil, false
}

func countOf(v any) int {
	l, _ := v.([]any)
	return len(l)
}
