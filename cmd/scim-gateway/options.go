package main

import (
	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/upstream"
)

// The configuration is a leaf: the packages that do the work take plain options, built here.

// upstreamConfig is the portal client's configuration from the file's upstream block.
func upstreamConfig(u config.Upstream) upstream.Config {
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

// redisOptions are the store's Redis options from the file's store.redis block.
func redisOptions(r config.Redis) store.RedisOptions {
	return store.RedisOptions{URL: r.URL, Mode: r.Mode, Addrs: r.Addrs, MasterName: r.MasterName,
		Username: r.Username, Password: r.Password, SentinelUsername: r.SentinelUsername, SentinelPassword: r.SentinelPassword,
		DB: r.DB, KeyPrefix: r.KeyPrefix, TLS: store.TLS(r.TLS), DialTimeout: r.DialTimeout, Timeout: r.Timeout}
}
