// Package spanattr lends the attribute lists the gateway's spans are given when they end. The
// tracing SDK copies the attributes a span is given (SetAttributes keeps none of the caller's slice),
// so one list per call is garbage at once: a pool of lists makes a recorded span's attributes cost
// the SDK's own copy only.
package spanattr

import (
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// List is a span's attribute list, borrowed with Get and given back by Set.
type List struct{ kvs []attribute.KeyValue }

var pool = sync.Pool{New: func() any { return &List{kvs: make([]attribute.KeyValue, 0, 8)} }}

// Get borrows an empty list.
func Get() *List { return pool.Get().(*List) }

// Add appends attributes to the list.
func (l *List) Add(kvs ...attribute.KeyValue) { l.kvs = append(l.kvs, kvs...) }

// Set gives span the list's attributes in one call and returns the list to the pool; l must not be
// used afterwards.
func (l *List) Set(span trace.Span) {
	span.SetAttributes(l.kvs...)
	clear(l.kvs) // drop the references to the strings before the list waits in the pool
	l.kvs = l.kvs[:0]
	pool.Put(l)
}
