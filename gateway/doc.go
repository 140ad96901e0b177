// Package gateway is the SCIM front end: the echo routes under /scim/v2 (and /scim) for Users, Groups
// and discovery, bearer-token authentication (with a slowdown of repeated failures), SCIM content types,
// the rendering of every error as a SCIM error (in one place, ErrorRenderer), list paging, and the
// orchestration of portal calls for each SCIM request (users.go, groups.go): the call table and the
// create rules of DESIGN.md. It decides what to do; the translator builds every portal payload, and the
// portal is reached through small interfaces declared here, one per capability (UserPortal,
// GroupPortal, Switches; implemented by upstream.Client, wired in cmd/scim-gateway). Admin is the cluster-internal listener (health, readiness, and what the
// wiring mounts on it).
//
// Subpackages: store keeps id mappings, create records and idempotency keys (Redis or memory);
// translog builds, redacts, emits and keeps the translation records; metrics holds the Prometheus
// metrics.
package gateway
