package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a throw-away certificate authority valid for an hour either side of now, whose certificate
// and issued certificates are PEM files in a temporary directory of the test. It is not safe for concurrent use.
type CA struct {
	// CertPEM is the CA certificate in PEM.
	CertPEM []byte
	// CertFile is the path of CertPEM, for a caFile setting.
	CertFile string
	// Pool holds the CA certificate, for a tls.Config's RootCAs or ClientCAs.
	Pool *x509.CertPool

	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	dir    string
	serial int64
}

// Cert is a certificate a CA issued, with its private key, in PEM, as files, and as a
// tls.Certificate.
type Cert struct {
	CertPEM, KeyPEM   []byte
	CertFile, KeyFile string
	TLS               tls.Certificate
}

// NewCA creates a CA with a P-256 key and writes its certificate to ca.pem in a t.TempDir(); it fails
// the test on an error.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "scimgw test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parsing the CA certificate: %v", err)
	}
	ca := &CA{cert: cert, key: key, dir: t.TempDir(), serial: 1, Pool: x509.NewCertPool()}
	ca.Pool.AddCert(cert)
	ca.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	ca.CertFile = writeFile(t, ca.dir, "ca.pem", ca.CertPEM)
	return ca
}

// IssueServer issues a server certificate (ExtKeyUsageServerAuth) for names: the first is the common
// name, each IP literal becomes an IP address and every other name a DNS name of the certificate. It
// fails the test on an error.
func (ca *CA) IssueServer(t testing.TB, names ...string) Cert {
	t.Helper()
	return ca.issue(t, x509.ExtKeyUsageServerAuth, names)
}

// IssueClient issues a client certificate (ExtKeyUsageClientAuth) with the common name name. It fails
// the test on an error.
func (ca *CA) IssueClient(t testing.TB, name string) Cert {
	t.Helper()
	return ca.issue(t, x509.ExtKeyUsageClientAuth, []string{name})
}

func (ca *CA) issue(t testing.TB, usage x509.ExtKeyUsage, names []string) Cert {
	t.Helper()
	if len(names) == 0 {
		t.Fatal("testkit: a certificate needs a name")
	}
	ca.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial),
		Subject:      pkix.Name{CommonName: names[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		for _, name := range names {
			if ip := net.ParseIP(name); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, name)
			}
		}
	}
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("certificate for %s: %v", names[0], err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("marshaling a key: %v", err)
	}
	c := Cert{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		TLS:     tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
	}
	c.CertFile = writeFile(t, ca.dir, fmt.Sprintf("cert-%d.pem", ca.serial), c.CertPEM)
	c.KeyFile = writeFile(t, ca.dir, fmt.Sprintf("cert-%d-key.pem", ca.serial), c.KeyPEM)
	return c
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("key: %v", err)
	}
	return key
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("writing %s: %v", name, err)
	}
	return path
}
