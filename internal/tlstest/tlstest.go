// Package tlstest makes X.509 certificates for tests of TLS servers and clients: a CA, server
// certificates for localhost, 127.0.0.1 and ::1, client certificates and revocation lists,
// written in the directory layout nbdkit, qemu's tls-creds-x509 and libnbd read
// (ca-cert.pem, server-cert.pem, server-key.pem, client-cert.pem, client-key.pem, ca-crl.pem).
package tlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority valid for a day; its serials count up from 1.
type CA struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	serial int64
}

// NewCA makes a self-signed CA named cn.
func NewCA(t testing.TB, cn string) *CA {
	t.Helper()
	ca := &CA{key: newKey(t)}
	tmpl := ca.template(cn)
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ca.key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if ca.cert, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	return ca
}

// ServerDir returns a new temporary directory with ca-cert.pem, server-cert.pem (for
// localhost, 127.0.0.1 and ::1) and server-key.pem.
func (ca *CA) ServerDir(t testing.TB) string {
	t.Helper()
	dir := ca.caDir(t)
	tmpl := ca.template("localhost")
	tmpl.DNSNames = []string{"localhost"}
	tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	ca.issue(t, tmpl, filepath.Join(dir, "server-cert.pem"), filepath.Join(dir, "server-key.pem"))
	return dir
}

// ClientDir returns a new temporary directory with ca-cert.pem and, when withCert is set,
// client-cert.pem and client-key.pem for a client named cn.
func (ca *CA) ClientDir(t testing.TB, cn string, withCert bool) string {
	t.Helper()
	dir := ca.caDir(t)
	if withCert {
		tmpl := ca.template(cn)
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		ca.issue(t, tmpl, filepath.Join(dir, "client-cert.pem"), filepath.Join(dir, "client-key.pem"))
	}
	return dir
}

// Revoke writes dir/ca-crl.pem, a revocation list of the CA's listing the certificate in
// certFile, issued an hour ago with its next update due in a day.
func (ca *CA) Revoke(t testing.TB, dir, certFile string) {
	t.Helper()
	now := time.Now()
	ca.RevokeDated(t, dir, certFile, now.Add(-time.Hour), now.Add(24*time.Hour))
}

// RevokeDated is Revoke with the list's own dates: thisUpdate (when it was issued) and
// nextUpdate (when the next one is due; past it, the list is stale).
func (ca *CA) RevokeDated(t testing.TB, dir, certFile string, thisUpdate, nextUpdate time.Time) {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM block", certFile)
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:     big.NewInt(1),
		ThisUpdate: thisUpdate,
		NextUpdate: nextUpdate,
		RevokedCertificateEntries: []x509.RevocationListEntry{
			{SerialNumber: cert.SerialNumber, RevocationTime: thisUpdate},
		},
	}, ca.cert, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "ca-crl.pem"), "X509 CRL", der, 0o644)
}

// template is a leaf or CA certificate template named cn with the next serial.
func (ca *CA) template(cn string) *x509.Certificate {
	ca.serial++
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"gdmsetup tests"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
}

// caDir makes a temporary directory holding ca-cert.pem.
func (ca *CA) caDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	writePEM(t, filepath.Join(dir, "ca-cert.pem"), "CERTIFICATE", ca.cert.Raw, 0o644)
	return dir
}

// issue signs tmpl for a new key and writes the certificate and the key (mode 0600).
func (ca *CA) issue(t testing.TB, tmpl *x509.Certificate, certPath, keyPath string) {
	t.Helper()
	key := newKey(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, certPath, "CERTIFICATE", der, 0o644)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyPath, "PRIVATE KEY", keyDER, 0o600)
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func writePEM(t testing.TB, path, typ string, der []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
}

// ClientConfig is a Go TLS client configuration from a directory ClientDir made: it trusts
// dir/ca-cert.pem, presents dir/client-cert.pem when there is one, and checks that the server
// is localhost.
func ClientConfig(t testing.TB, dir string) *tls.Config {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "ca-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s: no certificate", dir)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost", MinVersion: tls.VersionTLS12}
	certFile := filepath.Join(dir, "client-cert.pem")
	if _, err := os.Stat(certFile); err == nil {
		pair, err := tls.LoadX509KeyPair(certFile, filepath.Join(dir, "client-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg
}
