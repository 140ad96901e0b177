// Package config owns the gateway's configuration: the key tree of DESIGN.md and the README, its
// defaults (named constants), loading (a YAML file, then SCIMGW_ environment overrides, then the
// ...File keys read from their files), validation that reports every problem at once with its key path,
// and a watcher that rebuilds the live sections when a file changes and swaps them in atomically,
// keeping the old configuration when the new one is invalid.
package config
