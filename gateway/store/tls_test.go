package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"go.uber.org/zap"

	"github.com/scim-gateway/scim-gateway/internal/testkit"
)

// testPKI is a throw-away CA with a server certificate for 127.0.0.1 and redis.test, and a client
// certificate, written as PEM files.
type testPKI struct {
	caFile, clientCert, clientKey string
	pool                          *x509.CertPool
	server                        tls.Certificate
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	ca := testkit.NewCA(t)
	client := ca.IssueClient(t, "scimgw test client")
	return testPKI{
		caFile:     ca.CertFile,
		clientCert: client.CertFile,
		clientKey:  client.KeyFile,
		pool:       ca.Pool,
		server:     ca.IssueServer(t, "redis.test", "127.0.0.1").TLS,
	}
}

// TestRedisTLS connects to miniredis over TLS with each way the config can set TLS up.
func TestRedisTLS(t *testing.T) {
	pki := newTestPKI(t)
	serverTLS := &tls.Config{Certificates: []tls.Certificate{pki.server}, MinVersion: tls.VersionTLS12}
	mr, err := miniredis.RunTLS(serverTLS)
	if err != nil {
		t.Fatalf("miniredis over TLS: %v", err)
	}
	t.Cleanup(mr.Close)

	mutualTLS := &tls.Config{
		Certificates: []tls.Certificate{pki.server},
		ClientCAs:    pki.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	}
	mmr, err := miniredis.RunTLS(mutualTLS)
	if err != nil {
		t.Fatalf("miniredis over mutual TLS: %v", err)
	}
	t.Cleanup(mmr.Close)

	tests := []struct {
		name   string
		url    string
		tls    TLS
		wantOK bool
	}{
		{name: "rediss with the CA", url: "rediss://" + mr.Addr(), tls: TLS{CAFile: pki.caFile}, wantOK: true},
		{name: "tls enabled with a server name", url: "redis://" + mr.Addr(), tls: TLS{Enabled: true, CAFile: pki.caFile, ServerName: "redis.test"}, wantOK: true},
		{name: "wrong server name", url: "rediss://" + mr.Addr(), tls: TLS{CAFile: pki.caFile, ServerName: "other.test"}},
		{name: "unknown CA", url: "rediss://" + mr.Addr()},
		{name: "unknown CA, verification off", url: "rediss://" + mr.Addr(), tls: TLS{InsecureSkipVerify: true}, wantOK: true},
		{name: "plain text to a TLS server", url: "redis://" + mr.Addr()},
		{name: "client certificate", url: "rediss://" + mmr.Addr(), tls: TLS{CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}, wantOK: true},
		{name: "client certificate missing", url: "rediss://" + mmr.Addr(), tls: TLS{CAFile: pki.caFile}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testRedisConfig(tc.url)
			cfg.TLS = tc.tls
			r, err := NewRedis(cfg, zap.NewNop())
			if err != nil {
				t.Fatalf("NewRedis: %v", err)
			}
			t.Cleanup(func() { _ = r.Close() })
			err = r.Set(context.Background(), "k", []byte("v"), time.Minute)
			switch {
			case tc.wantOK && err != nil:
				t.Fatalf("Set over TLS: %v", err)
			case !tc.wantOK && !errors.Is(err, ErrUnavailable):
				t.Fatalf("Set: got %v, want ErrUnavailable", err)
			}
		})
	}
}
