// Command refproxy is the benchmark floor of a SCIM read: the least a gateway in front of the portal
// must do to answer GET /scim/v2/Users/{id}, and nothing more. scripts/bench.sh runs it beside the
// gateway, on the same CPU, and reports the gateway's throughput as a fraction of refproxy's.
//
// Per request it checks the bearer token (constant-time, on SHA-256 digests), reads the portal's
// idUser for the SCIM id from Redis (one GET of KEY_PREFIX+id), makes one portal call
// (GET /api/usersync/v1/users({idUser}) with a static bearer token), decodes the portal's JSON and
// encodes a SCIM User. No logging, metrics, breaker, retries, router or cache fill: an id that Redis
// does not know is 404, as are the portal's 404s; a portal that cannot be reached or answers something
// else is 502.
//
//	refproxy --listen 127.0.0.1:18080 --portal http://127.0.0.1:8081/portal --portal-token T \
//	    --redis 127.0.0.1:6379 --key-prefix refproxy: --token SCIM-TOKEN
//
// The keys are set by whoever runs it (scripts/bench.sh: SET refproxy:{guidUser} {idUser}).
package main
