// Package wiring builds, from the loaded configuration, the plain options of the packages that do the
// work: the configuration stays a leaf that only the programs that load it (cmd/scim-gateway, tools)
// import.
package wiring

import (
	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/upstream"
)

// UpstreamConfig is the portal client's configuration from the file's upstream block.
func UpstreamConfig(u config.Upstream) upstream.Config {
	eps := make(map[string]upstream.Endpoint, len(u.Endpoints))
	for op, e := range u.Endpoints {
		eps[op] = upstream.Endpoint{Method: e.Method, Path: e.Path, Disabled: !e.IsEnabled()}
	}
	return upstream.Config{
		BaseURL: u.BaseURL,
		Auth: upstream.Auth{Type: u.Auth.Type, ClientID: u.Auth.ClientID, ClientSecret: u.Auth.ClientSecret,
			TokenURL: u.Auth.TokenURL, Scopes: u.Auth.Scopes, Token: u.Auth.Token, RenewBefore: u.Auth.RenewBefore},
		Endpoints:   eps,
		TLS:         upstream.TLS(u.TLS),
		Timeout:     u.Timeout,
		MaxInFlight: u.MaxInFlight,
		QueueWait:   u.QueueWait,
		MaxBody:     u.MaxBody,
		Retry:       upstream.Retry(u.Retry),
		Breaker:     upstream.Breaker(u.Breaker),
	}
}

// RedisOptions are the store's Redis options from the file's store.redis block.
func RedisOptions(r config.Redis) store.RedisOptions {
	return store.RedisOptions{URL: r.URL, Mode: r.Mode, Addrs: r.Addrs, MasterName: r.MasterName,
		Username: r.Username, Password: r.Password, SentinelUsername: r.SentinelUsername, SentinelPassword: r.SentinelPassword,
		DB: r.DB, KeyPrefix: r.KeyPrefix, TLS: store.TLS(r.TLS), DialTimeout: r.DialTimeout, Timeout: r.Timeout}
}
