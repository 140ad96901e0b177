// Command scim-loadgen replays what Microsoft Entra ID's provisioning service does against a SCIM
// base URL (the gateway, or any SCIM server), or sends the equivalent calls straight to the portal's
// user-sync API (--direct) to measure the baseline, and reports throughput, latency and errors per
// operation.
//
//	scim-loadgen --base-url http://127.0.0.1:8080/scim/v2 --token T --users 1000 --groups 20 \
//	    --members-per-group 50 --concurrency 8 --scenario full [--rate R] [--sim-url http://127.0.0.1:8081]
//	scim-loadgen --direct --base-url http://127.0.0.1:8081/portal --token STATIC --users 1000 ...
//
// It owns the load generator only: it is a SCIM client (and a portal client in --direct mode) with its
// own wire types, and imports none of the gateway's packages.
//
// A run is a sequence of phases, each a sequence of stages, one stage per operation:
//   - initial (scenario initial and full): filter every user by userName, create those not found,
//     then filter every group by displayName, create those not found, and add their members with
//     PATCH operations of several members each;
//   - setup (scenarios incremental and get): the user half of the initial cycle, to learn the ids;
//   - incremental (scenarios incremental and full): GET every user by id, PATCH --patch-fraction of
//     them, disable --disable-fraction of them (PATCH active "False", or false under
//     --dialect aadOptscim062020);
//   - get (scenario get): --requests GETs by id over the users.
//
// Running one operation per stage keeps the portal calls of each SCIM operation apart: with --sim-url,
// portal-sim's /_sim/stats is read before and after every stage and the difference, divided by the
// stage's requests, is reported per portal route.
//
// Retries follow Entra: an object whose request fails with 429, 5xx or no answer is put back and
// tried again later, after its Retry-After when the answer has one, else after a delay that doubles
// from --retry-delay, up to --max-retries times; any other error is final. A 409 on a create means
// the object exists: it is looked up by its filter and counted as a conflict. Closed-loop runs keep
// --concurrency requests in flight; with --rate, requests start on a fixed schedule (open loop) and
// latency is measured from the scheduled start, so a slow server is not hidden by a slowed client.
// --duration stops dispatching new requests in the measured phases.
//
// The text report goes to stdout; --json FILE also writes it as JSON. Its last line,
// "answers: ... errors_without_retry_after=N ... error_statuses={...}", is meant for soak tests.
//
// --verify sends no load: it reads the portal at --base-url with --token (the portal's own token,
// as with --direct) and checks that it holds exactly what an initial cycle with the same --users,
// --groups, --members-per-group, --prefix, --domain and --seed creates through the gateway's default
// mapping: each generated user once with every attribute as generated, each group once with exactly
// its members, and no other user or group named like the run's. It prints
// "verify ... problems=N" and the problems, and exits 1 when N is not 0:
//
//	scim-loadgen --verify --base-url http://127.0.0.1:8081/portal --token STATIC --users 300 \
//	    --groups 10 --members-per-group 20 --prefix soak1 --seed 1
package main
