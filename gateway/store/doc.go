// Package store keeps what the gateway remembers between requests and across replicas: the id-mapping
// cache (SCIM id to portal key, login and externalId to SCIM id), create records (the fingerprint of the
// last create of a login and whether its 201 reached the client), create locks, and Idempotency-Key
// records. The portal is the source of truth; everything here is a cache that may be lost.
//
// KV is the narrow interface every backend implements (memory for a single replica, Redis through
// go-redis for several); no backend type leaks out of this package. The typed helpers above it build
// the keys, hashing every login and externalId so that no key carries PII in clear.
//
// Open picks the backend from RedisOptions: NewRedis when a server is named, NewMemory otherwise. The
// Redis backend never makes a request wait on a dead Redis for long: short timeouts, no command
// retries, and a short-circuit that answers ErrUnavailable at once after a few consecutive failures and
// probes Redis again after a cool-down. RouteRedisLogs sends go-redis' own log lines to zap.
// Both backends also implement Scanner, a read-only enumeration of keys by prefix (SCAN on Redis), and
// Store.Entries reads every id mapping, lookup and create record through it for offline checks
// (reconcile) without writing anything. RunConformance (in the tests) is the behaviour every backend
// must share.
package store
