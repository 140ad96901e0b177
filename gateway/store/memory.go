package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// sweepSample is how many entries each write examines for expiry. Like Redis' active expiry, this keeps
// the share of expired entries that linger in the map near 1/sweepSample, without a goroutine.
const sweepSample = 16

var errMemoryClosed = errors.New("memory store closed")

// Memory is the in-process KV: one map behind a mutex, for a single replica (the demo, tests, or a
// deployment without Redis). Expired entries are dropped when read, and a few are swept on every write
// so that memory does not grow with keys nobody reads again. It is safe for concurrent use.
type Memory struct {
	now func() time.Time // the clock; tests replace it

	mu     sync.Mutex
	items  map[string]memoryItem
	closed bool
}

type memoryItem struct {
	value   []byte
	expires time.Time // zero: never
}

var _ KV = (*Memory)(nil)

// NewMemory returns an empty in-process store.
func NewMemory() *Memory {
	return &Memory{now: time.Now, items: make(map[string]memoryItem)}
}

// Get returns a copy of the value of key and whether it exists. The error wraps ErrUnavailable after Close,
// or is the context's error.
func (m *Memory) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("memory get: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, memoryClosed("get")
	}
	item, ok := m.liveLocked(key, m.now())
	if !ok {
		return nil, false, nil
	}
	return bytes.Clone(item.value), true, nil
}

// Set stores a copy of value under key for ttl (0: no expiry). The error wraps ErrUnavailable after
// Close, or is the context's error, or reports a negative ttl.
func (m *Memory) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL("memory set", ttl); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory set: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return memoryClosed("set")
	}
	now := m.now()
	m.sweepLocked(now)
	m.items[key] = newMemoryItem(value, ttl, now)
	return nil
}

// SetNX stores a copy of value under key for ttl (0: no expiry) unless key exists, and reports whether it
// did. Errors are those of Set.
func (m *Memory) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL("memory setnx", ttl); err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("memory setnx: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, memoryClosed("setnx")
	}
	now := m.now()
	m.sweepLocked(now)
	if _, ok := m.liveLocked(key, now); ok {
		return false, nil
	}
	m.items[key] = newMemoryItem(value, ttl, now)
	return true, nil
}

// Delete removes key; a missing key is not an error. The error wraps ErrUnavailable after Close, or is
// the context's error.
func (m *Memory) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory delete: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return memoryClosed("delete")
	}
	delete(m.items, key)
	return nil
}

// CompareAndDelete removes key only if its value is value, and reports whether it did. The error wraps
// ErrUnavailable after Close, or is the context's error.
func (m *Memory) CompareAndDelete(ctx context.Context, key string, value []byte) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("memory compare-and-delete: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, memoryClosed("compare-and-delete")
	}
	item, ok := m.liveLocked(key, m.now())
	if !ok || !bytes.Equal(item.value, value) {
		return false, nil
	}
	delete(m.items, key)
	return true, nil
}

// Ping reports whether the store is open: the error wraps ErrUnavailable after Close.
func (m *Memory) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory ping: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return memoryClosed("ping")
	}
	return nil
}

// Close drops every entry; later calls fail with an error wrapping ErrUnavailable. Closing twice is
// not an error.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.items = nil
	return nil
}

// Healthy reports whether the store is open.
func (m *Memory) Healthy() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.closed
}

// Len returns the number of entries held, expired ones not yet dropped included.
func (m *Memory) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// liveLocked returns the entry of key if it exists and has not expired, dropping it if it has.
func (m *Memory) liveLocked(key string, now time.Time) (memoryItem, bool) {
	item, ok := m.items[key]
	if !ok {
		return memoryItem{}, false
	}
	if item.expired(now) {
		delete(m.items, key)
		return memoryItem{}, false
	}
	return item, true
}

// sweepLocked examines up to sweepSample entries, starting at a point Go's map iteration picks at
// random, and drops the expired ones.
func (m *Memory) sweepLocked(now time.Time) {
	n := 0
	for key, item := range m.items {
		if item.expired(now) {
			delete(m.items, key)
		}
		if n++; n == sweepSample {
			return
		}
	}
}

func newMemoryItem(value []byte, ttl time.Duration, now time.Time) memoryItem {
	item := memoryItem{value: bytes.Clone(value)}
	if item.value == nil {
		item.value = []byte{}
	}
	if ttl > 0 {
		item.expires = now.Add(ttl)
	}
	return item
}

func (i memoryItem) expired(now time.Time) bool {
	return !i.expires.IsZero() && !now.Before(i.expires)
}

func memoryClosed(op string) error {
	return fmt.Errorf("memory %s: %w: %w", op, ErrUnavailable, errMemoryClosed)
}

// checkTTL rejects a negative ttl, which no backend can honour (Redis would read -1 as "keep the ttl").
func checkTTL(op string, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("%s: negative ttl %s", op, ttl)
	}
	return nil
}
