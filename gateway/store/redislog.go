package store

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

var routeRedisLogsOnce sync.Once

// RouteRedisLogs sends go-redis' own log lines (failed dials, discarded connections), which otherwise go
// to stderr, to logger at warn level. go-redis keeps its logger in a package variable, so only the first
// call has an effect: call it once, from main, with a logger that lives as long as the process (not a
// test's logger).
func RouteRedisLogs(logger *zap.Logger) {
	if logger == nil {
		return
	}
	routeRedisLogsOnce.Do(func() {
		redis.SetLogger(redisLogger{logger: logger.With(zap.String("component", "go-redis"))})
	})
}

// redisLogger adapts zap to go-redis' Printf-style logging interface.
type redisLogger struct {
	logger *zap.Logger
}

// Printf logs one go-redis line.
func (l redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.logger.Warn(strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
}
