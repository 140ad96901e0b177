// Command portal-sim runs the reference portal (package upstream/portalsim): an in-memory
// implementation of the legacy work portal's user-sync API of docs/portal-api.md, for the demo, the tests
// and the benchmarks.
//
//	portal-sim --listen 127.0.0.1:8081 --base-path /portal --client-id ID --client-secret SECRET \
//	    [--static-token T] [--allow-delete] [fault flags] [--seed N]
//
// The API is served under the base path, the test surface (/_sim/stats, /_sim/reset, /_sim/faults) at
// the root; /_sim/stats also reports inFlight and peakInFlight, the API calls served at once now and
// at the peak since the last reset (for testing a concurrency bound). Every fault of docs/portal-api.md
// section 6 has a flag; `portal-sim --help` lists them all.
// The command stops gracefully on SIGINT or SIGTERM.
package main
