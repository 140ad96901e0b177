package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

// shutdownTimeout bounds how long in-flight calls (a slow commit, say) may take to finish on stop.
const shutdownTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stderr, nil)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "portal-sim: %v\n", err)
		os.Exit(1)
	}
}

// errUsage reports bad command-line arguments (already explained on stderr).
var errUsage = errors.New("bad arguments")

// config is the parsed command line.
type config struct {
	listen string
	opts   portalsim.Options
}

// parseFlags parses args. It returns flag.ErrHelp for --help and errUsage for bad arguments, having
// written the usage or the problem to stderr.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	f := portalsim.DefaultFaults()
	fs := flag.NewFlagSet("portal-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8081", "`address` to listen on")
	fs.StringVar(&c.opts.BasePath, "base-path", portalsim.DefaultBasePath, "`path` the API is served under")
	fs.StringVar(&c.opts.ClientID, "client-id", "", "OAuth client `id` the token endpoint accepts")
	fs.StringVar(&c.opts.ClientSecret, "client-secret", "", "OAuth client `secret` the token endpoint accepts")
	fs.StringVar(&c.opts.StaticToken, "static-token", "", "a long-lived bearer `token` with both scopes, accepted beside OAuth tokens")
	fs.BoolVar(&c.opts.AllowDelete, "allow-delete", false, "let DELETE /users({idUser}) delete users (default: 405 USER_DELETE_NOT_SUPPORTED)")
	fs.IntVar(&f.LatencyMs, "latency-ms", f.LatencyMs, "`ms` added to every API call")
	fs.IntVar(&f.JitterMs, "jitter-ms", f.JitterMs, "uniform 0..`ms` added to the latency")
	fs.Float64Var(&f.ErrorRate, "error-rate", f.ErrorRate, "`fraction` of API calls answered 503 UNAVAILABLE")
	fs.Float64Var(&f.RateLimitRate, "rate-limit-rate", f.RateLimitRate, "`fraction` of API calls answered 429 RATE_LIMITED")
	fs.IntVar(&f.RetryAfterSeconds, "retry-after-seconds", f.RetryAfterSeconds, "Retry-After `seconds` of a 429")
	fs.BoolVar(&f.HTMLErrors, "html-errors", f.HTMLErrors, "answer 5xx with an HTML page instead of the JSON error body")
	fs.IntVar(&f.TokenTTLSeconds, "token-ttl-seconds", f.TokenTTLSeconds, "lifetime in `seconds` of the OAuth tokens issued")
	fs.Float64Var(&f.DropRate, "drop-rate", f.DropRate, "`fraction` of API calls whose connection is closed with no answer (a dropped write is not stored)")
	fs.Float64Var(&f.SlowCommitRate, "slow-commit-rate", f.SlowCommitRate, "`fraction` of successful writes stored, then answered after --slow-commit-ms")
	fs.IntVar(&f.SlowCommitMs, "slow-commit-ms", f.SlowCommitMs, "how many `ms` a slow commit waits before answering")
	fs.Int64Var(&c.opts.Seed, "seed", 0, "`seed` of the random fault draws (0: a random seed, printed at start)")
	fs.Usage = func() { usage(fs, stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "portal-sim: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return c, errUsage
	}
	if err := f.Validate(); err != nil {
		fmt.Fprintf(stderr, "portal-sim: %v\n", err)
		return c, errUsage
	}
	c.opts.Faults = f
	return c, nil
}

// usage prints the flags with the double dash they are documented with.
func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "Usage: portal-sim [flags]\n\n"+
		"Runs the reference portal: the user-sync API of docs/portal-api.md under --base-path, and\n"+
		"GET /_sim/stats, POST /_sim/reset, GET and PUT /_sim/faults at the root.\n"+
		"Give --client-id and --client-secret, or --static-token, or both.\n\nFlags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, help)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// run serves the portal until ctx is done, then shuts down gracefully. ready, when not nil, is called
// with the address listened on once the server accepts connections.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(addr string)) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	sim, err := portalsim.New(c.opts)
	if err != nil {
		return err
	}
	// New treats zero TTL and Retry-After as their defaults; set the flags' values exactly.
	if err := sim.SetFaults(c.opts.Faults); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stderr, "portal-sim: listening on http://%s%s (seed %d)\n", ln.Addr(), sim.BasePath(), sim.Seed())
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "portal-sim: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
