package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/signal"
	"syscall"

	"github.com/scim-gateway/scim-gateway/config"
	"github.com/scim-gateway/scim-gateway/upstream/portalsim"
)

// demoCmd runs the gateway with the reference portal embedded and the in-memory store, and prints
// what an Entra admin (or curl) needs to try it.
func demoCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "SCIM address")
	adminListen := fs.String("admin-listen", "127.0.0.1:9090", "admin address")
	portalListen := fs.String("portal-listen", "127.0.0.1:8081", "address of the embedded reference portal")
	token := fs.String("token", "", "SCIM bearer token (default: a random one, printed)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	d, err := startDemo(*listen, *adminListen, *portalListen, *token, stdout)
	if err != nil {
		return err
	}
	if err := d.app.Start(); err != nil {
		_ = d.portalSrv.Close()
		return err
	}
	fmt.Fprint(stdout, d.banner())
	<-ctx.Done()
	d.app.Shutdown()
	return d.portalSrv.Close()
}

// demo is a gateway wired to an embedded portal-sim.
type demo struct {
	app        *App
	portalURL  string
	portalSrv  *http.Server
	token      string
	adminToken string
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
	return fmt.Sprintf(`
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
`, scim, d.token, d.portalURL, d.portalURL, d.app.AdminAddr(), d.adminToken, d.token, scim, d.token, scim)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("crypto/rand failed: " + err.Error()))
	}
	return hex.EncodeToString(b)
}
