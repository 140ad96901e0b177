package main

import (
	"os"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/gateway/translog"
)

// The Redis stream is where translation records are kept fleet-wide.
var _ translog.Stream = (*store.Stream)(nil)

// translationStreamKey is the key (under store.redis.keyPrefix) of the fleet-wide translation stream.
const translationStreamKey = "translations"

// replicaName names this replica on its translation records: opts.Replica, else the POD_NAME variable
// (the chart sets it from the pod's name), else the host name.
func replicaName(opts AppOptions) string {
	if opts.Replica != "" {
		return opts.Replica
	}
	if n := os.Getenv("POD_NAME"); n != "" {
		return n
	}
	n, _ := os.Hostname()
	return n
}

// streamConfig is the fleet-wide stream's part of the configuration.
func streamConfig(cfg *config.Config) translog.StreamConfig {
	s := cfg.Logging.Translation.Stream
	return translog.StreamConfig{Enabled: s.IsEnabled(), MaxLen: s.MaxLen, MaxRecordBytes: s.MaxRecordBytes}
}

// openFleet starts the writer of the fleet-wide translation stream when the store is Redis, and makes
// the translation log use it; without Redis it does nothing (records stay per replica).
func (a *App) openFleet(cfg *config.Config) {
	rs, ok := a.kv.(*store.Redis)
	if !ok {
		return
	}
	a.fleet = translog.NewFleet(translog.FleetOptions{
		Stream: rs.Stream(translationStreamKey),
		Config: streamConfig(cfg),
		Logger: a.logger,
		OnDrop: a.metrics.TranslationStreamDropped,
	})
	a.translog.SetFleet(a.fleet)
}

// closeFleet writes what the stream's writer still holds and stops it.
func (a *App) closeFleet() {
	if a.fleet != nil {
		a.translog.SetFleet(nil)
		a.fleet.Close()
	}
}
