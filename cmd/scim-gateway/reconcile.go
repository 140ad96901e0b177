package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/gateway/reconcile"
	"github.com/scim-gateway/scim-gateway/gateway/store"
	"github.com/scim-gateway/scim-gateway/internal/wiring"
	"github.com/scim-gateway/scim-gateway/upstream"
)

// The portal client and the store are what reconcile reads.
var (
	_ reconcile.Portal = (*upstream.Client)(nil)
	_ reconcile.Store  = (*store.Store)(nil)
)

// Exit codes of the reconcile command.
const (
	reconcileClean     = 0
	reconcileDrift     = 1
	reconcileCannotRun = 2
)

// reconcileRedisTimeout is the least Redis timeout of the reconcile command: store.redis.timeout is
// tuned for a request waiting on a cache, while an offline run can wait for a pipelined batch of
// reads on a busy Redis rather than fail.
const reconcileRedisTimeout = 5 * time.Second

// defaultTenant is the tenant of the top-level configuration.
const defaultTenant = config.DefaultTenant

// checkTenant refuses a tenant name the configuration does not have, naming those it has.
func checkTenant(cfg *config.Config, name string) (config.Tenant, error) {
	t, ok := cfg.Tenant(name)
	if !ok {
		return t, fmt.Errorf("unknown tenant %q: this configuration has the tenants %s", name, strings.Join(cfg.TenantNames(), ", "))
	}
	return t, nil
}

// reconcileOptions returns the options of a run for tenant over its portal client and the store
// backend given (read in the tenant's namespace).
func reconcileOptions(cfg *config.Config, tenant string, client *upstream.Client, kv store.KV) (reconcile.Options, error) {
	if _, err := checkTenant(cfg, tenant); err != nil {
		return reconcile.Options{}, err
	}
	name := "Redis"
	if _, ok := kv.(*store.Memory); ok {
		name = "memory store"
	}
	return reconcile.Options{
		Portal:    client,
		Store:     store.New(store.ForTenant(kv, tenant), store.Options{LocalIDs: -1}),
		Tenant:    tenant,
		StoreName: name,
		KeyPrefix: cfg.Store.Redis.KeyPrefix + store.TenantNamespace(tenant),
	}, nil
}

// reconcileCmd runs `scim-gateway reconcile`: it reads the portal and Redis, writes nothing, prints the
// drift, and exits 0 when there is none, 1 when there is some, 2 when it could not run.
func reconcileCmd(args, environ []string, stdout, stderr io.Writer) int {
	fs := newFlags("reconcile", stderr)
	path := fs.String("config", "", "configuration file (YAML), the one the gateway serves with")
	tenant := fs.String("tenant", defaultTenant, "tenant to reconcile")
	format := fs.String("format", "table", "output: table (for a person) or json (for scripts)")
	concurrency := fs.Int("concurrency", reconcile.DefaultConcurrency, "portal calls and store reads made at once (the portal client's upstream.maxInFlight also applies)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return reconcileClean
		}
		return reconcileCannotRun
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "scim-gateway reconcile: could not run: "+format+"\n", a...)
		return reconcileCannotRun
	}
	if fs.NArg() > 0 {
		return fail("unexpected arguments %v", fs.Args())
	}
	if *format != "table" && *format != "json" {
		return fail("--format %q: want table or json", *format)
	}
	cfg, warnings, err := config.Load(*path, environ)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if err != nil {
		return fail("invalid configuration:\n%v", err)
	}
	tn, err := checkTenant(cfg, *tenant)
	if err != nil {
		return fail("%v", err)
	}
	if cfg.Store.Redis.URL == "" && len(cfg.Store.Redis.Addrs) == 0 {
		return fail("no Redis configured (store.redis): the gateway's store lives inside the serving process; use GET /admin/reconcile on its admin port")
	}
	client, err := upstream.New(wiring.UpstreamConfig(tn.Upstream), upstream.Options{})
	if err != nil {
		return fail("%v", err)
	}
	defer client.Close()
	cfg.Store.Redis.Timeout = max(cfg.Store.Redis.Timeout, reconcileRedisTimeout)
	kv, err := store.NewRedis(wiring.RedisOptions(cfg.Store.Redis), zap.NewNop())
	if err != nil {
		return fail("%v", err)
	}
	defer kv.Close()
	opts, err := reconcileOptions(cfg, *tenant, client, kv)
	if err != nil {
		return fail("%v", err)
	}
	opts.Concurrency = *concurrency
	if isTerminal(stderr) {
		opts.Progress = progressPrinter(stderr)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := reconcile.Run(ctx, opts)
	if opts.Progress != nil {
		fmt.Fprint(stderr, "\r\033[K")
	}
	if err != nil {
		return fail("%v", err)
	}
	if *format == "json" {
		err = reconcile.WriteJSON(stdout, rep)
	} else {
		err = reconcile.WriteTable(stdout, rep)
	}
	if err != nil {
		return fail("writing the report: %v", err)
	}
	if !rep.Summary.Clean {
		return reconcileDrift
	}
	return reconcileClean
}

// isTerminal reports whether w is a terminal (progress is shown only there).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progressPrinter rewrites one status line on w, at most ten times a second.
func progressPrinter(w io.Writer) func(reconcile.Progress) {
	var last time.Time
	return func(p reconcile.Progress) {
		if now := time.Now(); now.Sub(last) >= 100*time.Millisecond || (p.Total > 0 && p.Done == p.Total) {
			last = now
			if p.Total > 0 {
				fmt.Fprintf(w, "\r\033[Kreconcile: %s %d/%d", p.Phase, p.Done, p.Total)
			} else {
				fmt.Fprintf(w, "\r\033[Kreconcile: %s %d", p.Phase, p.Done)
			}
		}
	}
}

// reconcileHandler serves GET /admin/reconcile over the running gateway's portal client and store,
// and records each run in the metrics and the log.
func (a *App) reconcileHandler() *reconcile.Handler {
	return reconcile.NewHandler(reconcile.HandlerOptions{
		Options: func(tenant string) (reconcile.Options, error) {
			a.mu.Lock()
			cfg, t := a.cfg, a.tenants[tenant]
			a.mu.Unlock()
			if t == nil {
				_, err := checkTenant(cfg, tenant)
				return reconcile.Options{}, err
			}
			return reconcileOptions(cfg, tenant, t.client, a.kv)
		},
		Observe: func(rep *reconcile.Report, err error) {
			if err != nil {
				a.metrics.ReconcileFailed()
				a.logger.Warn("reconcile could not run", zap.Error(err))
				return
			}
			s := rep.Summary
			a.metrics.ReconcileRun(s.ByKind, time.Duration(s.DurationSeconds*float64(time.Second)), time.Now())
			a.logger.Info("reconcile finished", zap.Bool("clean", s.Clean), zap.Int("findings", s.Findings),
				zap.Any("byKind", s.ByKind), zap.Int("portalUsers", s.PortalUsers), zap.Int("portalGroups", s.PortalGroups),
				zap.Int("storeEntries", s.StoreEntries), zap.Float64("seconds", s.DurationSeconds))
		},
	})
}
