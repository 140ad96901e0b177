package store

import (
	"go.uber.org/zap"
)

// Open returns the backend cfg asks for: Redis when it names a server (url or addrs), otherwise the
// in-process Memory store, which suits a single replica only. Errors are those of NewRedis. The
// backends also have Healthy() bool (and Redis has Errors and Rejected counters) for readiness and
// metrics; reach them with a type assertion to a small interface of the caller's.
func Open(cfg RedisOptions, logger *zap.Logger) (KV, error) {
	if cfg.URL == "" && len(cfg.Addrs) == 0 {
		if logger != nil {
			logger.Info("no Redis configured; using the in-process store (single replica only)",
				zap.String("component", "store"))
		}
		return NewMemory(), nil
	}
	return NewRedis(cfg, logger)
}
