package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout)
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		fmt.Fprintf(os.Stderr, "scim-loadgen: %v (see --help)\n", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "scim-loadgen: %v\n", err)
		os.Exit(1)
	}
}

// errUsage wraps every problem with the command line.
var errUsage = errors.New("bad arguments")

// Scenarios.
const (
	scenarioInitial     = "initial"
	scenarioIncremental = "incremental"
	scenarioFull        = "full"
	scenarioGet         = "get"
)

// Dialects: how a PATCH of active is written.
const (
	dialectDefault = "default"          // "active": "False", Entra's default
	dialectOpt2020 = "aadOptscim062020" // "active": false, under the Tenant URL flag
)

// Defaults of the flags that have named values.
const (
	defaultConcurrency = 8
	defaultMaxRetries  = 5
	defaultRetryDelay  = time.Second
	defaultTimeout     = 60 * time.Second // Entra's own limit
	defaultRequests    = 1000
	defaultDomain      = "contoso.com"
)

// options is the parsed command line.
type options struct {
	baseURL         string
	token           string
	direct          bool
	users           int
	groups          int
	membersPerGroup int
	concurrency     int
	rate            float64
	duration        time.Duration
	scenario        string
	requests        int
	patchFraction   float64
	disableFraction float64
	seed            int64
	prefix          string
	domain          string
	dialect         string
	maxRetries      int
	retryDelay      time.Duration
	timeout         time.Duration
	simURL          string
	jsonPath        string
	verify          bool
	prefixSet       bool // --prefix was given
}

// parseFlags parses args. --help prints the usage to stdout and returns flag.ErrHelp; every other
// problem is returned wrapped in errUsage.
func parseFlags(args []string, stdout io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("scim-loadgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.baseURL, "base-url", "", "SCIM base `URL` (http://127.0.0.1:8080/scim/v2), or the portal's base URL with --direct (http://127.0.0.1:8081/portal)")
	fs.StringVar(&o.token, "token", "", "bearer `token`: the SCIM secret token, or the portal's static token with --direct")
	fs.BoolVar(&o.direct, "direct", false, "send the equivalent calls straight to the portal's user-sync API (the baseline)")
	fs.IntVar(&o.users, "users", 100, "`number` of generated users")
	fs.IntVar(&o.groups, "groups", 0, "`number` of generated groups")
	fs.IntVar(&o.membersPerGroup, "members-per-group", 0, "`number` of members of each group (at most --users)")
	fs.IntVar(&o.concurrency, "concurrency", defaultConcurrency, "requests in flight at most (closed loop: exactly)")
	fs.Float64Var(&o.rate, "rate", 0, "requests per `second` started on a fixed schedule (open loop); 0: closed loop")
	fs.DurationVar(&o.duration, "duration", 0, "stop starting requests after this `duration` of measured phases; 0: no cap")
	fs.StringVar(&o.scenario, "scenario", scenarioFull, "`scenario`: initial, incremental, full or get")
	fs.IntVar(&o.requests, "requests", defaultRequests, "`number` of GETs by id of scenario get")
	fs.Float64Var(&o.patchFraction, "patch-fraction", 0.1, "`fraction` of users PATCHed in the incremental cycle")
	fs.Float64Var(&o.disableFraction, "disable-fraction", 0.05, "`fraction` of users disabled in the incremental cycle")
	fs.Int64Var(&o.seed, "seed", 1, "`seed` of the generated attributes and of the choice of users to change")
	fs.StringVar(&o.prefix, "prefix", "", "userName `prefix`: users are PREFIX-i@DOMAIN (default: lg plus the start time)")
	fs.StringVar(&o.domain, "domain", defaultDomain, "`domain` of the generated userNames")
	fs.StringVar(&o.dialect, "dialect", dialectDefault, "`dialect` of PATCH active: default (\"False\") or aadOptscim062020 (false)")
	fs.IntVar(&o.maxRetries, "max-retries", defaultMaxRetries, "retries of a failed object before it counts as failed")
	fs.DurationVar(&o.retryDelay, "retry-delay", defaultRetryDelay, "first retry `delay` of an answer without Retry-After, doubled each retry")
	fs.DurationVar(&o.timeout, "timeout", defaultTimeout, "`timeout` of each request")
	fs.StringVar(&o.simURL, "sim-url", "", "portal-sim root `URL` (http://127.0.0.1:8081): report portal calls per operation from /_sim/stats")
	fs.StringVar(&o.jsonPath, "json", "", "also write the report as JSON to this `file`")
	fs.BoolVar(&o.verify, "verify", false, "send no load: check that the portal at --base-url (--token: its token) holds exactly the users, groups and members an initial cycle with the same --users, --groups, --members-per-group, --prefix, --domain and --seed creates; exit 1 if not")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(fs, stdout)
			return o, err
		}
		return o, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("%w: unexpected arguments: %s", errUsage, strings.Join(fs.Args(), " "))
	}
	o.prefixSet = o.prefix != ""
	if o.prefix == "" {
		o.prefix = "lg" + strconv.FormatInt(time.Now().Unix(), 36)
	}
	if problems := o.validate(); len(problems) > 0 {
		return o, fmt.Errorf("%w: %s", errUsage, strings.Join(problems, "; "))
	}
	o.baseURL = strings.TrimRight(o.baseURL, "/")
	o.simURL = strings.TrimRight(o.simURL, "/")
	return o, nil
}

// validate lists every problem of o.
func (o options) validate() []string {
	var p []string
	if err := checkURL(o.baseURL); err != nil {
		p = append(p, "--base-url: "+err.Error())
	}
	if o.token == "" {
		p = append(p, "--token: required")
	}
	if o.simURL != "" {
		if err := checkURL(o.simURL); err != nil {
			p = append(p, "--sim-url: "+err.Error())
		}
	}
	if o.users < 1 {
		p = append(p, "--users must be at least 1")
	}
	if o.groups < 0 {
		p = append(p, "--groups must not be negative")
	}
	if o.membersPerGroup < 0 || o.membersPerGroup > o.users {
		p = append(p, "--members-per-group must be between 0 and --users")
	}
	if o.concurrency < 1 {
		p = append(p, "--concurrency must be at least 1")
	}
	if o.rate < 0 {
		p = append(p, "--rate must not be negative")
	}
	if o.duration < 0 {
		p = append(p, "--duration must not be negative")
	}
	switch o.scenario {
	case scenarioInitial, scenarioIncremental, scenarioFull, scenarioGet:
	default:
		p = append(p, fmt.Sprintf("--scenario %q is not initial, incremental, full or get", o.scenario))
	}
	if o.requests < 1 {
		p = append(p, "--requests must be at least 1")
	}
	if o.patchFraction < 0 || o.patchFraction > 1 {
		p = append(p, "--patch-fraction must be between 0 and 1")
	}
	if o.disableFraction < 0 || o.disableFraction > 1 {
		p = append(p, "--disable-fraction must be between 0 and 1")
	}
	if o.patchFraction+o.disableFraction > 1 {
		p = append(p, "--patch-fraction and --disable-fraction must add up to at most 1")
	}
	if o.prefix == "" || !portalLoginName(o.prefix) {
		p = append(p, "--prefix must be 1 or more of A-Z a-z 0-9 ! $ * + . = _ ~ - # (the portal's login characters)")
	}
	if o.domain == "" || strings.ContainsAny(o.domain, `@\ `) {
		p = append(p, "--domain must be non-empty, without @, \\ or spaces")
	}
	if o.verify && !o.prefixSet {
		p = append(p, "--verify needs the --prefix of the run to check")
	}
	if o.dialect != dialectDefault && o.dialect != dialectOpt2020 {
		p = append(p, fmt.Sprintf("--dialect %q is not default or aadOptscim062020", o.dialect))
	}
	if o.maxRetries < 0 {
		p = append(p, "--max-retries must not be negative")
	}
	if o.retryDelay < 0 {
		p = append(p, "--retry-delay must not be negative")
	}
	if o.timeout <= 0 {
		p = append(p, "--timeout must be positive")
	}
	return p
}

// checkURL accepts an absolute http or https URL.
func checkURL(s string) error {
	if s == "" {
		return errors.New("required")
	}
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return nil
}

// portalLoginName reports whether s holds only characters the portal accepts in a login name.
func portalLoginName(s string) bool {
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!$*+.=_~-#", c)
		if !ok {
			return false
		}
	}
	return true
}

// usage prints the flags with the double dash they are documented with.
func usage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "Usage: scim-loadgen --base-url URL --token T [flags]\n\n"+
		"Replays Entra ID provisioning cycles against a SCIM endpoint (or, with --direct, the equivalent\n"+
		"calls against the portal) and reports throughput, latency and errors per operation.\n\nFlags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		name, help := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n    \t%s", line, help)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}

// run parses args, runs the scenario (or --verify) and writes the text report to stdout (and the JSON
// report to --json). It returns flag.ErrHelp for --help, an errUsage error for bad arguments, an
// errVerifyFailed error when --verify finds differences, and an error when portal-sim's stats or,
// under --verify, the portal cannot be read, or the JSON file cannot be written. Failed requests are not
// errors of run: they are in the report.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args, stdout)
	if err != nil {
		return err
	}
	if o.verify {
		return runVerify(ctx, o, stdout)
	}
	rep, err := newLoadgen(o).run(ctx)
	if err != nil {
		return err
	}
	if err := writeText(stdout, rep); err != nil {
		return err
	}
	if o.jsonPath != "" {
		if err := writeJSONFile(o.jsonPath, rep); err != nil {
			return err
		}
	}
	return nil
}

// runVerify runs --verify: it writes the verify report to stdout (and as JSON to --json) and returns
// errVerifyFailed when the portal differs from the generated objects, or the error of a read of the
// portal that kept failing.
func runVerify(ctx context.Context, o options, stdout io.Writer) error {
	rep, err := verifyPortal(ctx, o)
	if err != nil {
		return err
	}
	if err := writeVerifyText(stdout, rep); err != nil {
		return err
	}
	if o.jsonPath != "" {
		if err := writeJSONFile(o.jsonPath, rep); err != nil {
			return err
		}
	}
	if rep.ProblemCount > 0 {
		return fmt.Errorf("%w: %d problems", errVerifyFailed, rep.ProblemCount)
	}
	return nil
}
