package nbd

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// The files of a TLS certificates directory, as nbdkit and qemu name them.
const (
	CACertFile     = "ca-cert.pem"
	CACRLFile      = "ca-crl.pem"
	ServerCertFile = "server-cert.pem"
	ServerKeyFile  = "server-key.pem"
)

// LoadTLSCertificates builds a server TLSConfig from dir as nbdkit's --tls-certificates reads
// it: CACertFile (one or more CA certificates), ServerCertFile (the server's certificate,
// then any intermediate ones), ServerKeyFile (its private key, which must match) and, when
// present, CACRLFile (a revocation list signed by one of the CAs). With verifyPeer a client
// must present a certificate that chains to a CA, is valid now and whose serial the CRL does
// not revoke; without it no client certificate is asked for. The CRL's own dates are not
// checked, as gnutls does not check them for nbdkit: a stale list (NextUpdate past) or one
// issued in the future (ThisUpdate ahead) still revokes what it lists, and only that. TLS
// 1.2 is the oldest version offered. Every error names the file at fault.
func LoadTLSCertificates(dir string, verifyPeer bool) (*tls.Config, error) {
	read := func(name string) ([]byte, error) {
		return os.ReadFile(filepath.Join(dir, name))
	}
	caPEM, err := read(CACertFile)
	if err != nil {
		return nil, err
	}
	cas, err := parsePEMCertificates(caPEM)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CACertFile), err)
	}
	certPEM, err := read(ServerCertFile)
	if err != nil {
		return nil, err
	}
	keyPEM, err := read(ServerKeyFile)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s with %s: %w", filepath.Join(dir, ServerCertFile), filepath.Join(dir, ServerKeyFile), err)
	}
	pool := x509.NewCertPool()
	for _, ca := range cas {
		pool.AddCert(ca)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	crlPEM, err := read(CACRLFile)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		crl, err := parseCRL(crlPEM, cas)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CACRLFile), err)
		}
		cfg.VerifyConnection = func(st tls.ConnectionState) error {
			for _, chain := range st.VerifiedChains {
				if len(chain) > 0 && revoked(crl, chain[0]) {
					return fmt.Errorf("client certificate %q (serial %x) is revoked by %s", chain[0].Subject, chain[0].SerialNumber, CACRLFile)
				}
			}
			return nil
		}
	}
	if verifyPeer {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = pool
	}
	return cfg, nil
}

// parsePEMCertificates parses every CERTIFICATE block of b; other blocks are skipped; no
// certificate at all is an error.
func parsePEMCertificates(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return certs, nil
}

// parseCRL parses the PEM X509 CRL in b and checks that one of cas signed it.
func parseCRL(b []byte, cas []*x509.Certificate) (*x509.RevocationList, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "X509 CRL" {
		return nil, errors.New("no PEM X509 CRL block")
	}
	crl, err := x509.ParseRevocationList(blk.Bytes)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, ca := range cas {
		if !bytes.Equal(ca.RawSubject, crl.RawIssuer) {
			continue
		}
		err := crl.CheckSignatureFrom(ca)
		if err == nil {
			return crl, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("issuer %q is none of the CAs in %s", crl.Issuer, CACertFile)
	}
	return nil, fmt.Errorf("signature: %w", errors.Join(errs...))
}

// revoked reports whether crl revokes cert: same issuer, serial listed.
func revoked(crl *x509.RevocationList, cert *x509.Certificate) bool {
	if !bytes.Equal(cert.RawIssuer, crl.RawIssuer) {
		return false
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
			return true
		}
	}
	return false
}
