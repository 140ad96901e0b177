package store

import (
	"context"
	"errors"
	"time"
)

// KV is the whole of what the gateway asks of a backend. Each call touches one key, so that every call
// is atomic on Redis Cluster too. Keys are built by this package's typed helpers; values are opaque.
//
// Errors: ErrUnavailable (wrapped) when the backend cannot be reached or is short-circuited after
// recent failures; callers treat any error as a cache miss and go to the portal.
type KV interface {
	// Get returns the value of key and whether it exists.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores value under key for ttl (0: no expiry).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// SetNX stores value under key for ttl only if key does not exist, and reports whether it did.
	SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// CompareAndDelete removes key only if its value is value, and reports whether it did.
	CompareAndDelete(ctx context.Context, key string, value []byte) (bool, error)
	// Ping checks that the backend answers.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// ErrUnavailable is wrapped by every error that means "the backend did not answer".
var ErrUnavailable = errors.New("store unavailable")
