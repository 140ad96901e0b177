package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// errShortCircuited is wrapped, beside ErrUnavailable, by the errors of calls refused without asking
// Redis because recent calls failed.
var errShortCircuited = errors.New("short-circuited after recent failures")

// compareAndDelete deletes KEYS[1] if its value is ARGV[1]: GET and DEL of one key in one atomic step.
// It answers 1 when it deleted, 0 otherwise.
var compareAndDelete = redis.NewScript(`
if redis.call("GET", KEYS[1]) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0
`)

// Redis is the KV on Redis (standalone, Sentinel or Cluster) through go-redis. Every key is prefixed with
// the configured key prefix. A short-circuit sits in front of Redis: after a few consecutive failures,
// calls fail at once with ErrUnavailable for a cool-down (1s, doubling up to 10s), then one call probes
// Redis and, if it answers, calls flow again. It is safe for concurrent use.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	logger  *zap.Logger
	circuit *circuit

	errors    atomic.Uint64 // calls that reached Redis and failed
	rejected  atomic.Uint64 // calls refused by the short-circuit
	downSince atomic.Int64  // unix nanoseconds when the circuit last opened

	closeOnce sync.Once
	closeErr  error
}

var _ KV = (*Redis)(nil)

// NewRedis connects to the Redis that cfg describes (see universalOptions for how cfg is read) and checks
// it with one PING. An unreachable Redis is not an error (the gateway serves without its cache, and the
// store recovers by itself when Redis comes back): it is logged. The error reports a config that cannot
// work: a bad URL or mode, missing addresses, unreadable TLS files, or credentials Redis refuses.
func NewRedis(cfg RedisOptions, logger *zap.Logger) (*Redis, error) {
	return newRedis(cfg, logger, defaultCircuitSettings())
}

func newRedis(cfg RedisOptions, logger *zap.Logger, settings circuitSettings) (*Redis, error) {
	opts, err := universalOptions(cfg)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	r := &Redis{
		client: redis.NewUniversalClient(opts),
		prefix: cfg.KeyPrefix,
		logger: logger.With(zap.String("component", "store"), zap.String("backend", "redis")),
	}
	r.circuit = newCircuit(settings, time.Now, r.logTransition)

	ctx, cancel := context.WithTimeout(context.Background(), opts.DialTimeout+opts.ReadTimeout)
	defer cancel()
	if err := r.Ping(ctx); err != nil {
		if redis.IsAuthError(err) || redis.IsPermissionError(err) {
			_ = r.client.Close()
			return nil, fmt.Errorf("store: redis refused the credentials (check username and password or passwordFile; with mode sentinel also sentinelUsername and sentinelPassword or sentinelPasswordFile): %w", err)
		}
		r.logger.Warn("redis does not answer at startup; serving without it until it does",
			zap.Strings("addrs", opts.Addrs), zap.Error(err))
	}
	return r, nil
}

// Get returns the value of key and whether it exists. The error wraps ErrUnavailable when Redis did not
// answer or is short-circuited; it wraps context.Canceled when ctx was canceled.
func (r *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	var (
		value []byte
		found bool
	)
	err := r.do(ctx, "get", func() error {
		v, err := r.client.Get(ctx, r.prefix+key).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
			return nil
		case err != nil:
			return err
		}
		value, found = v, true
		return nil
	})
	return value, found, err
}

// Set stores value under key for ttl (0: no expiry). Errors are those of Get, or report a negative ttl.
func (r *Redis) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkTTL("redis set", ttl); err != nil {
		return err
	}
	return r.do(ctx, "set", func() error {
		return r.client.Set(ctx, r.prefix+key, value, ttl).Err()
	})
}

// SetNX stores value under key for ttl (0: no expiry) unless key exists, and reports whether it did.
// Errors are those of Set.
func (r *Redis) SetNX(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL("redis setnx", ttl); err != nil {
		return false, err
	}
	var set bool
	err := r.do(ctx, "setnx", func() error {
		var err error
		set, err = r.client.SetNX(ctx, r.prefix+key, value, ttl).Result()
		return err
	})
	return set, err
}

// Delete removes key; a missing key is not an error. Errors are those of Get.
func (r *Redis) Delete(ctx context.Context, key string) error {
	return r.do(ctx, "delete", func() error {
		return r.client.Del(ctx, r.prefix+key).Err()
	})
}

// CompareAndDelete removes key only if its value is value, and reports whether it did, in one atomic
// step (a Lua script, sent by its digest and in full if Redis does not know it). Errors are those of
// Get.
func (r *Redis) CompareAndDelete(ctx context.Context, key string, value []byte) (bool, error) {
	var deleted bool
	err := r.do(ctx, "compare-and-delete", func() error {
		n, err := compareAndDelete.Run(ctx, r.client, []string{r.prefix + key}, value).Int64()
		deleted = n == 1
		return err
	})
	return deleted, err
}

// Ping checks that Redis answers. Errors are those of Get.
func (r *Redis) Ping(ctx context.Context) error {
	return r.do(ctx, "ping", func() error {
		return r.client.Ping(ctx).Err()
	})
}

// Close closes the connections to Redis; later calls fail with an error wrapping ErrUnavailable.
// Closing twice is not an error.
func (r *Redis) Close() error {
	r.closeOnce.Do(func() { r.closeErr = r.client.Close() })
	return r.closeErr
}

// Healthy reports whether calls go to Redis: false while the short-circuit is open, that is after
// consecutive failures and until a probe succeeds. For readiness detail and metrics.
func (r *Redis) Healthy() bool { return r.circuit.healthy() }

// Errors returns how many calls reached Redis and failed (a miss is not a failure, nor a call its
// caller canceled). For a metric.
func (r *Redis) Errors() uint64 { return r.errors.Load() }

// Rejected returns how many calls the short-circuit refused without asking Redis. For a metric.
func (r *Redis) Rejected() uint64 { return r.rejected.Load() }

// do runs one Redis call through the short-circuit and classifies its outcome. call returns nil for a
// miss. A context already done fails before anything else, and is not the backend's fault.
func (r *Redis) do(ctx context.Context, op string, call func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("redis %s: %w", op, err)
	}
	probe, ok := r.circuit.allow()
	if !ok {
		r.rejected.Add(1)
		return fmt.Errorf("redis %s: %w: %w", op, ErrUnavailable, errShortCircuited)
	}
	err := call()
	switch {
	case err == nil:
		r.circuit.done(probe, outcomeSuccess, nil)
		return nil
	case errors.Is(ctx.Err(), context.Canceled):
		// The caller gave up; that says nothing about Redis.
		r.circuit.done(probe, outcomeNeutral, nil)
		return fmt.Errorf("redis %s: %w", op, err)
	default:
		r.errors.Add(1)
		r.circuit.done(probe, outcomeFailure, err)
		return fmt.Errorf("redis %s: %w: %w", op, ErrUnavailable, err)
	}
}

// logTransition logs each opening and closing of the short-circuit once.
func (r *Redis) logTransition(open bool, cooldown time.Duration, cause error) {
	if open {
		r.downSince.Store(time.Now().UnixNano())
		r.logger.Warn("redis unavailable; calls short-circuited, the gateway serves from the portal",
			zap.Duration("cooldown", cooldown), zap.Error(cause))
		return
	}
	down := time.Since(time.Unix(0, r.downSince.Load()))
	r.logger.Info("redis available again", zap.Duration("downFor", down))
}
