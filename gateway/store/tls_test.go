package store

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"go.uber.org/zap"

	"github.com/scim-gateway/scim-gateway/config"
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
	dir := t.TempDir()
	caKey := newKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "scimgw test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatalf("CA certificate: %v", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatalf("parsing the CA certificate: %v", err)
	}
	issue := func(serial int64, usage x509.ExtKeyUsage) ([]byte, *ecdsa.PrivateKey) {
		key := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: "redis.test"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			DNSNames:     []string{"redis.test"},
			IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatalf("certificate: %v", err)
		}
		return der, key
	}
	serverDER, serverKey := issue(2, x509.ExtKeyUsageServerAuth)
	clientDER, clientKey := issue(3, x509.ExtKeyUsageClientAuth)

	p := testPKI{
		caFile:     writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER),
		clientCert: writePEM(t, dir, "client.pem", "CERTIFICATE", clientDER),
		clientKey:  writePEM(t, dir, "client-key.pem", "EC PRIVATE KEY", marshalKey(t, clientKey)),
		pool:       x509.NewCertPool(),
		server:     tls.Certificate{Certificate: [][]byte{serverDER}, PrivateKey: serverKey},
	}
	p.pool.AddCert(ca)
	return p
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	return key
}

func marshalKey(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("marshaling a key: %v", err)
	}
	return der
}

func writePEM(t *testing.T, dir, name, kind string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatalf("writing %s: %v", name, err)
	}
	return path
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
		tls    config.TLS
		wantOK bool
	}{
		{name: "rediss with the CA", url: "rediss://" + mr.Addr(), tls: config.TLS{CAFile: pki.caFile}, wantOK: true},
		{name: "tls enabled with a server name", url: "redis://" + mr.Addr(), tls: config.TLS{Enabled: true, CAFile: pki.caFile, ServerName: "redis.test"}, wantOK: true},
		{name: "wrong server name", url: "rediss://" + mr.Addr(), tls: config.TLS{CAFile: pki.caFile, ServerName: "other.test"}},
		{name: "unknown CA", url: "rediss://" + mr.Addr()},
		{name: "unknown CA, verification off", url: "rediss://" + mr.Addr(), tls: config.TLS{InsecureSkipVerify: true}, wantOK: true},
		{name: "plain text to a TLS server", url: "redis://" + mr.Addr()},
		{name: "client certificate", url: "rediss://" + mmr.Addr(), tls: config.TLS{CAFile: pki.caFile, CertFile: pki.clientCert, KeyFile: pki.clientKey}, wantOK: true},
		{name: "client certificate missing", url: "rediss://" + mmr.Addr(), tls: config.TLS{CAFile: pki.caFile}},
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
