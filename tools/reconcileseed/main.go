// Command reconcileseed fills a portal-sim and a Redis for the reconcile benchmark
// (scripts/bench-reconcile.sh): N users created through the portal's API, and for each the store
// entries the gateway writes when it provisions a user (id mapping, userName and externalId lookups,
// create record), under a Redis key prefix. Every tenth user gets no externalKey, so that the
// unmanaged check has work to do; none is drift.
//
//	reconcileseed --portal URL --token T --redis URL --prefix P --users N [--concurrency C]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/internal/wiring"
	"github.com/scim-gateway/scim-gateway/translator"
	"github.com/scim-gateway/scim-gateway/upstream"
)

func main() {
	portal := flag.String("portal", "", "portal base URL, e.g. http://127.0.0.1:8081/portal")
	token := flag.String("token", "", "portal static bearer token")
	redisURL := flag.String("redis", "", "Redis URL; empty: the portal only")
	prefix := flag.String("prefix", config.DefaultRedisKeyPrefix, "Redis key prefix")
	users := flag.Int("users", 100000, "users to create")
	conc := flag.Int("concurrency", 16, "creates at once")
	flag.Parse()
	if err := seed(*portal, *token, *redisURL, *prefix, *users, *conc); err != nil {
		fmt.Fprintln(os.Stderr, "reconcileseed:", err)
		os.Exit(1)
	}
}

func seed(portalURL, token, redisURL, prefix string, n, conc int) error {
	cfg := &config.Config{}
	cfg.Upstream.BaseURL = portalURL
	cfg.Upstream.Auth.Type = "bearer"
	cfg.Upstream.Auth.Token = token
	cfg.Store.Redis.URL = redisURL
	cfg.Store.Redis.KeyPrefix = prefix
	cfg.ApplyDefaults()
	cfg.Upstream.MaxInFlight = conc
	cfg.Store.Redis.Timeout = 5 * time.Second // a loaded benchmark machine, not a request path
	client, err := upstream.New(wiring.UpstreamConfig(cfg.Upstream), upstream.Options{})
	if err != nil {
		return err
	}
	var st *store.Store
	if redisURL != "" {
		kv, err := store.NewRedis(wiring.RedisOptions(cfg.Store.Redis), nil)
		if err != nil {
			return err
		}
		defer kv.Close()
		st = store.New(kv, store.Options{LocalIDs: -1, MappingTTL: 240 * time.Hour, RecordTTL: 240 * time.Hour})
	}
	ctx := context.Background()
	var next, done atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := one(ctx, client, st, i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				if d := done.Add(1); d%10000 == 0 {
					fmt.Fprintf(os.Stderr, "reconcileseed: %d users (%.0f/s)\n", d, float64(d)/time.Since(start).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func one(ctx context.Context, client *upstream.Client, st *store.Store, i int64) error {
	nu := translator.NewPortalUser{UserName: fmt.Sprintf("user%06d", i), Domain: "contoso.com",
		FullName: fmt.Sprintf("User %d", i), ContactEmail: fmt.Sprintf("user%06d@contoso.com", i)}
	if i%10 != 0 {
		nu.ExternalKey = fmt.Sprintf("ext-%06d", i)
	}
	u, err := client.CreateUser(ctx, nu)
	if err != nil {
		return err
	}
	if st == nil {
		return nil
	}
	login := store.NormaliseLogin(u.Domain, u.UserName)
	for _, err := range []error{
		st.RememberPortalKey(ctx, store.User, u.GUIDUser, u.IDUser),
		st.Remember(ctx, store.User, store.Login, login, u.GUIDUser),
		st.Remember(ctx, store.User, store.ExternalID, u.ExternalKey, u.GUIDUser),
		st.PutCreateRecord(ctx, store.User, login, store.CreateRecord{Fingerprint: "bench", ID: u.GUIDUser, Delivered: true}),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}
