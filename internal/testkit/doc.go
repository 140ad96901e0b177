// Package testkit holds helpers for tests only: a redis-server of a test's own (StartRedisServer,
// NewRedisServer), the shared Redis on 127.0.0.1:6379 (RequireSharedRedis, SharedRedisPrefix), a raw
// PING (PingRedis), a free loopback port (FreePort) and a throw-away certificate authority writing PEM
// files (NewCA). Every helper takes a testing.TB, fails or skips the test itself, and cleans up with
// t.Cleanup. Production code must not import it.
package testkit
