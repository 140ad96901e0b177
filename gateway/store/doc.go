// Package store keeps what the gateway remembers between requests and across replicas: the id-mapping
// cache (SCIM id to portal key, login and externalId to SCIM id), create records (the fingerprint of the
// last create of a login and whether its 201 reached the client), create locks, and Idempotency-Key
// records. The portal is the source of truth; everything here is a cache that may be lost.
//
// KV is the narrow interface every backend implements (memory for a single replica, Redis through
// go-redis for several); no backend type leaks out of this package. The typed helpers above it build
// the keys, hashing every login and externalId so that no key carries PII in clear.
package store
