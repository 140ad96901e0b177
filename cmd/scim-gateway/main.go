package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/scim-gateway/scim-gateway/config"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `scim-gateway: a SCIM 2.0 endpoint for Microsoft Entra ID in front of a legacy portal's user-sync API

Usage:
  scim-gateway [serve] --config FILE          serve SCIM and the admin port (the default command)
  scim-gateway check-config --config FILE [--skip-files]
                                              print every configuration problem; exit 1 if there is one
  scim-gateway demo [--listen ADDR]           run the gateway with an embedded reference portal
  scim-gateway translate --config FILE --op create|replace|patch [--current FILE] < request.json
                                              print the portal calls a SCIM User request would make
  scim-gateway reconcile --config FILE [--tenant NAME] [--format table|json]
                                              report drift between the portal and Redis (reads only);
                                              exit 0 clean, 1 drift found, 2 could not run
  scim-gateway probe --url URL                exit 0 if URL answers 2xx (container health checks)
  scim-gateway version                        print the version
  scim-gateway help                           print this text

"scim-gateway COMMAND -h" lists the flags of a command. Every configuration key can also be set from
the environment: SCIMGW_ plus the key path in upper case, e.g. SCIMGW_UPSTREAM_BASEURL. See the README
for every key.
`

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command and returns the process exit code.
func run(args, environ []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	switch {
	case len(args) > 0 && isHelpFlag(args[0]):
		// The top-level -h lists the commands; "serve -h" lists serve's flags.
		cmd, args = "help", args[1:]
	case len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-':
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = serveCmd(args, environ, stdout, stderr)
	case "check-config":
		return checkConfigCmd(args, environ, stdout, stderr)
	case "demo":
		err = demoCmd(args, stdout, stderr)
	case "translate":
		err = translateCmd(args, environ, stdin, stdout, stderr)
	case "reconcile":
		return reconcileCmd(args, environ, stdout, stderr)
	case "probe":
		err = probeCmd(args, stderr)
	case "version":
		fmt.Fprintln(stdout, version)
	case "help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "scim-gateway: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "scim-gateway %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// isHelpFlag reports whether arg asks for help, as the flag package understands it.
func isHelpFlag(arg string) bool {
	switch arg {
	case "-h", "--h", "-help", "--help":
		return true
	}
	return false
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("scim-gateway "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// serveCmd runs the gateway until SIGINT or SIGTERM; SIGHUP reloads the configuration.
func serveCmd(args, environ []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	path := fs.String("config", "", "configuration file (YAML); empty: defaults and SCIMGW_ variables only")
	drain := fs.Duration("drain-delay", 5*time.Second, "on SIGTERM, how long to keep serving after readiness fails")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, warnings, err := config.Load(*path, environ)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	app, err := NewApp(cfg, AppOptions{ConfigPath: *path, Environ: environ, LogOutput: stdout, DrainDelay: *drain})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			app.Reload()
		}
	}()
	return app.Run(ctx)
}

// checkConfigCmd prints every problem of a configuration with its key path.
func checkConfigCmd(args, environ []string, stdout, stderr io.Writer) int {
	fs := newFlags("check-config", stderr)
	path := fs.String("config", "", "configuration file (YAML); empty: the defaults and SCIMGW_ variables only, as serve without --config")
	skipFiles := fs.Bool("skip-files", false, "do not read the files of ...File and TLS keys (Secrets mounted only in the pod): "+
		"check a rendered ConfigMap offline; each file skipped is named")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "scim-gateway check-config: unexpected arguments %q (the file goes after --config)\n", fs.Args())
		return 2
	}
	what := *path
	if what == "" {
		what = "no --config: the defaults and SCIMGW_ variables only"
	}
	cfg, warnings, err := config.LoadWith(*path, environ, config.LoadOptions{SkipFiles: *skipFiles})
	var problems config.Problems
	if err != nil && !errors.As(err, &problems) {
		problems = config.Problems{{Message: err.Error()}}
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "%d problem(s) (%s):\n", len(problems), what)
		for _, p := range problems {
			fmt.Fprintf(stderr, "  %s\n", p)
		}
		return 1
	}
	fmt.Fprintf(stdout, "configuration OK (%s)\n", what)
	if len(cfg.Tenants) > 0 {
		for _, t := range cfg.AllTenants() {
			fmt.Fprintf(stdout, "  tenant %s: %d token(s), portal %s, onDelete %s, dryRun %v\n",
				t.Name, len(t.Tokens), t.Upstream.BaseURL, t.Deprovision.OnDelete, t.DryRun)
		}
	}
	return 0
}

// probeCmd GETs a URL and fails unless it answers 2xx: the health check of an image with no shell.
func probeCmd(args []string, stderr io.Writer) error {
	fs := newFlags("probe", stderr)
	url := fs.String("url", "http://127.0.0.1:9090/readyz", "URL to GET")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	client := &http.Client{Timeout: *timeout}
	resp, err := client.Get(*url)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", *url, resp.Status)
	}
	return nil
}
