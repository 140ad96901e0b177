package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// scanBatch is how many keys one SCAN step asks Redis for, and how many values one pipeline of GETs
// reads: large enough that 400,000 keys take a few hundred round trips, small enough that one step
// holds Redis for well under a millisecond.
const scanBatch = 500

// Scanner is the read-only enumeration that offline tools (reconcile) need beside KV. Both backends
// implement it; it never writes, and it changes no key's value or ttl.
type Scanner interface {
	// Scan calls fn with every key that starts with prefix (without the backend's own key prefix) and
	// its value, in no particular order, until fn returns an error (returned as is). A key that exists
	// for the whole scan is seen at least once; Redis may show a key twice (callers must tolerate it),
	// and a key written or expiring during the scan may or may not be seen. Errors are those of Get.
	Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error
}

var (
	_ Scanner = (*Memory)(nil)
	_ Scanner = (*Redis)(nil)
)

// Scan enumerates the live keys under prefix: the matching keys are listed under the lock, then each
// value is read with Get, so fn may call the store. Errors are those of Get.
func (m *Memory) Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory scan: %w", err)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return memoryClosed("scan")
	}
	var keys []string
	for k := range m.items {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	m.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		v, ok, err := m.Get(ctx, k)
		if err != nil {
			return err
		}
		if !ok { // expired or deleted since listed
			continue
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Scan enumerates the keys under prefix with SCAN MATCH (on every master of a Cluster), reading the
// values of each batch with one pipeline of GETs. Each SCAN step and each pipeline goes through the
// short-circuit like any other call. Errors are those of Get.
func (r *Redis) Scan(ctx context.Context, prefix string, fn func(key string, value []byte) error) error {
	match := globEscape(r.prefix+prefix) + "*"
	if cc, ok := r.client.(*redis.ClusterClient); ok {
		// ForEachMaster runs the masters concurrently; fn is called by one at a time.
		var mu sync.Mutex
		serial := func(key string, value []byte) error {
			mu.Lock()
			defer mu.Unlock()
			return fn(key, value)
		}
		return cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return r.scanNode(ctx, node, match, serial)
		})
	}
	return r.scanNode(ctx, r.client, match, fn)
}

// scanNode runs one SCAN loop on one server (all of a standalone or Sentinel master's keys, or one
// Cluster master's).
func (r *Redis) scanNode(ctx context.Context, node redis.Cmdable, match string, fn func(key string, value []byte) error) error {
	var cursor uint64
	for {
		var keys []string
		err := r.do(ctx, "scan", func() error {
			var err error
			keys, cursor, err = node.Scan(ctx, cursor, match, scanBatch).Result()
			return err
		})
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			var cmds []*redis.StringCmd
			err := r.do(ctx, "scan-get", func() error {
				pipe := node.Pipeline()
				cmds = make([]*redis.StringCmd, len(keys))
				for i, k := range keys {
					cmds[i] = pipe.Get(ctx, k)
				}
				_, _ = pipe.Exec(ctx) // each command's own error is checked below
				for _, cmd := range cmds {
					if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) && !isWrongType(err) {
						return err
					}
				}
				// redis.Nil: a key expired or was deleted since SCAN listed it; WRONGTYPE: a key that
				// holds no string (the translation stream) is no entry of the store.
				return nil
			})
			if err != nil {
				return err
			}
			for i, cmd := range cmds {
				v, err := cmd.Bytes()
				if err != nil { // redis.Nil: gone since listed
					continue
				}
				if err := fn(strings.TrimPrefix(keys[i], r.prefix), v); err != nil {
					return err
				}
			}
		}
		if cursor == 0 {
			return nil
		}
	}
}

// isWrongType reports whether err is Redis' answer to a GET of a key that holds no string.
func isWrongType(err error) bool {
	var rerr redis.Error
	return errors.As(err, &rerr) && strings.HasPrefix(rerr.Error(), "WRONGTYPE")
}

// globEscape escapes the characters SCAN MATCH reads as a pattern, so that a prefix matches itself.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
