// Package portalsim is the reference portal: an in-memory implementation of the legacy work portal's
// user-sync API of docs/portal-api.md, sections 1 to 6, written independently of the gateway (its own wire
// types; it imports nothing else of this module).
//
// It owns:
//   - the OAuth 2 client-credentials token endpoint and bearer authentication (OAuth tokens and an
//     optional static token side by side);
//   - users, groups and memberships, with every field rule, the $filter grammar and $top/$skip paging;
//   - the test surface of section 6 at the server root: /_sim/stats, /_sim/reset and /_sim/faults,
//     and the injected faults (latency, dropped connections, 503, 429, HTML error pages, slow commits).
//     Beyond section 6, /_sim/stats also reports inFlight and peakInFlight: the API calls (not token
//     calls) being served at once, now and at the most since the last reset, from the moment a call
//     arrives (before its added latency) to the end of its answer; a test of a concurrency bound
//     across gateway replicas reads peakInFlight.
//
// A Sim is an http.Handler; tests run it with httptest.NewServer(sim) and call
// srv.URL+"/portal/api/usersync/v1/users". The command cmd/portal-sim serves it on a port.
// All state is in memory, guarded for concurrent use; users are indexed by idUser, guidUser and
// login, groups by idGroup, guidGroup and name, so that reads and indexed filters are not scans.
package portalsim
