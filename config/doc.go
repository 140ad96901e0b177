// Package config owns the gateway's configuration: the key tree of DESIGN.md and the README (types.go),
// its defaults as named constants (defaults.go), the names of the portal operations upstream.endpoints
// accepts and the placeholders their paths take (operations.go), and:
//
//   - Load: the defaults, then a YAML file, then SCIMGW_ environment overrides (layered with koanf),
//     then every ...File key read from its file (paths as given, relative ones to the working
//     directory). Unknown YAML keys are errors, unknown SCIMGW_ variables warnings.
//   - Validate: a pure function that reports every problem at once, each with its key path; Load and
//     Check (for `scim-gateway check-config`) return all of them as Problems.
//   - Watcher: reloads when the file, a ...File secret or a TLS file changes (Kubernetes volume symlink
//     swaps included) or on Reload (SIGHUP), hands a fully built and validated configuration to its
//     callback, keeps the old one when the new one is invalid, and numbers the versions. LiveChanges
//     names the changed keys that need a restart; the app applies the rest live.
//
// It is a leaf: only cmd/scim-gateway imports it, and builds from it the plain options of the packages
// that do the work (the portal client's defaults of methods and paths live with the client).
//
// example.yaml documents every key; a test loads it.
package config
