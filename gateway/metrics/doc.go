// Package metrics owns the gateway's Prometheus metrics (names prefixed scimgw_): SCIM requests by
// route template, method and status with their durations; portal calls by operation and status with
// their durations, retries, the circuit breaker's state and transitions, calls in flight and waiting;
// cache hits and misses by kind; Redis errors and availability; create outcomes; translation records;
// configuration reloads and version; failed SCIM authentication. Metrics has one typed method per
// event, which the gateway, upstream and store wiring call (cmd/scim-gateway connects them), and
// Handler serves them on the admin port with Go runtime and process metrics.
//
// The metrics are github.com/prometheus/client_golang collectors on a *prometheus.Registry of each
// Metrics' own, never the global default registry, together with client_golang's Go runtime and process
// collectors; promhttp renders them.
//
// Labels are route templates, operation names and fixed words, never raw paths or user values.
package metrics
