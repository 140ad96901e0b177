package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"strings"
	"syscall"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

// demoAddrs are the demo's three addresses.
type demoAddrs struct{ scim, admin, portal string }

// demoDefaults are the demo's addresses when no flag names one. A default that is taken (another
// program on 8080, say) is replaced by a free port of the same host, and the banner says so.
var demoDefaults = demoAddrs{scim: "127.0.0.1:8080", admin: "127.0.0.1:9090", portal: "127.0.0.1:8081"}

// demoCmd runs the gateway with the reference portal embedded and the in-memory store, and prints
// what an Entra admin (or curl) needs to try it.
func demoCmd(args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runDemo(ctx, args, demoDefaults, stdout, stderr)
}

// runDemo is demoCmd until ctx is done, with defaults as the addresses flags do not set.
func runDemo(ctx context.Context, args []string, defaults demoAddrs, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	listen := fs.String("listen", defaults.scim, "SCIM address (when not given and taken: a free port)")
	adminListen := fs.String("admin-listen", defaults.admin, "admin address (when not given and taken: a free port)")
	portalListen := fs.String("portal-listen", defaults.portal, "address of the embedded reference portal (when not given and taken: a free port)")
	token := fs.String("token", "", "SCIM bearer token (default: a random one, printed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var notes []string
	for _, a := range []struct {
		flag string
		addr *string
	}{{"listen", listen}, {"admin-listen", adminListen}, {"portal-listen", portalListen}} {
		if given[a.flag] {
			continue // the address asked for, or an error naming it
		}
		if free, taken := freeIfTaken(*a.addr); taken {
			notes = append(notes, fmt.Sprintf("%s is taken: --%s uses a free port instead", *a.addr, a.flag))
			*a.addr = free
		}
	}
	d, err := startDemo(*listen, *adminListen, *portalListen, *token, stdout)
	if err != nil {
		return err
	}
	if err := d.app.Start(); err != nil {
		_ = d.portalSrv.Close()
		return err
	}
	d.notes = notes
	fmt.Fprint(stdout, d.banner())
	<-ctx.Done()
	d.app.Shutdown()
	return d.portalSrv.Close()
}

// freeIfTaken reports whether addr cannot be listened on, and if so returns the same host with port 0
// (a free port, chosen when the listener opens).
func freeIfTaken(addr string) (string, bool) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		_ = ln.Close()
		return addr, false
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil {
		return addr, false // not an address: let the listener report it
	}
	return net.JoinHostPort(host, "0"), true
}

// demo is a gateway wired to an embedded portal-sim.
type demo struct {
	app        *App
	portalURL  string
	portalSrv  *http.Server
	token      string
	adminToken string
	notes      []string // defaults that were taken, and what replaced them
}

// startDemo starts the embedded portal and builds (but does not start) the gateway.
func startDemo(listen, adminListen, portalListen, token string, logOut io.Writer) (*demo, error) {
	if token == "" {
		token = "demo-" + randomHex(16)
	}
	portalSecret := randomHex(16)
	sim, err := portalsim.New(portalsim.Options{BasePath: "/portal", ClientID: "scim-gateway", ClientSecret: portalSecret})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", portalListen)
	if err != nil {
		return nil, fmt.Errorf("embedded portal: %w", err)
	}
	d := &demo{portalURL: "http://" + ln.Addr().String(), token: token, adminToken: "admin-" + randomHex(16)}
	d.portalSrv = &http.Server{Handler: sim}
	go func() { _ = d.portalSrv.Serve(ln) }()

	cfg := &config.Config{}
	cfg.Server.Listen = listen
	cfg.Server.Tokens = []config.Token{{Name: "demo", Value: token}}
	cfg.Admin.Listen = adminListen
	cfg.Admin.Token = d.adminToken
	cfg.Upstream.BaseURL = d.portalURL + "/portal"
	cfg.Upstream.Auth.ClientID = "scim-gateway"
	cfg.Upstream.Auth.ClientSecret = portalSecret
	cfg.Logging.Format = "console"
	cfg.ApplyDefaults()
	if ps := config.Validate(cfg); len(ps) > 0 {
		_ = d.portalSrv.Close()
		return nil, ps
	}
	d.app, err = NewApp(cfg, AppOptions{LogOutput: logOut})
	if err != nil {
		_ = d.portalSrv.Close()
		return nil, err
	}
	return d, nil
}

func (d *demo) banner() string {
	scim := "http://" + d.app.SCIMAddr() + "/scim/v2/"
	var notes strings.Builder
	for _, n := range d.notes {
		notes.WriteString("\nNote: " + n + ".")
	}
	if notes.Len() > 0 {
		notes.WriteString("\n")
	}
	return fmt.Sprintf(`%s
scim-gateway demo: the gateway in front of an embedded reference portal (portal-sim), in-memory store.

  Tenant URL     %s
  Secret Token   %s
  Portal         %s/portal   (its test API: %s/_sim/stats)
  Admin          http://%s/readyz   (admin token %s)

Try it:
  curl -s -H 'Authorization: Bearer %s' -H 'Content-Type: application/scim+json' \
    -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@contoso.com","active":true,"emails":[{"type":"work","primary":true,"value":"alice@contoso.com"}]}' \
    %sUsers
  curl -s -H 'Authorization: Bearer %s' '%sUsers?filter=userName%%20eq%%20%%22alice@contoso.com%%22'

Stop with Ctrl-C.
`, notes.String(), scim, d.token, d.portalURL, d.portalURL, d.app.AdminAddr(), d.adminToken, d.token, scim, d.token, scim)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("crypto/rand failed: " + err.Error()))
	}
	return hex.EncodeToString(b)
}
