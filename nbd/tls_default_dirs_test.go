package nbd

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/tlstest"
)

// TestDefaultTLSCertificateDirs: nbdkit's search order, per user.
func TestDefaultTLSCertificateDirs(t *testing.T) {
	for _, c := range []struct {
		euid int
		home string
		want []string
	}{
		{0, "/root", []string{"/etc/pki/nbdkit"}},
		{1000, "/home/u", []string{"/home/u/.pki/nbdkit", "/home/u/.config/pki/nbdkit"}},
		{1000, "", nil},
	} {
		if got := DefaultTLSCertificateDirs(c.euid, c.home); !slices.Equal(got, c.want) {
			t.Errorf("euid %d HOME %q: %q, want %q", c.euid, c.home, got, c.want)
		}
	}
}

// TestFindTLSCertificates: under a temporary HOME, a ~/.pki/nbdkit missing the key is passed
// over for a complete ~/.config/pki/nbdkit, and the certificates found there load; with
// neither complete the error names both directories.
func TestFindTLSCertificates(t *testing.T) {
	home := t.TempDir()
	dirs := DefaultTLSCertificateDirs(1000, home)
	ca := tlstest.NewCA(t, "gdmsetup test CA")
	src := ca.ServerDir(t)
	install := func(dir string, names ...string) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(src, n))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	install(dirs[0], CACertFile, ServerCertFile)
	_, err := FindTLSCertificates(dirs)
	if err == nil || !strings.Contains(err.Error(), dirs[0]) || !strings.Contains(err.Error(), dirs[1]) {
		t.Fatalf("no complete directory: %v, want an error naming %q and %q", err, dirs[0], dirs[1])
	}
	install(dirs[1], CACertFile, ServerCertFile, ServerKeyFile)
	dir, err := FindTLSCertificates(dirs)
	if err != nil || dir != dirs[1] {
		t.Fatalf("found %q %v, want %q", dir, err, dirs[1])
	}
	if _, err := LoadTLSCertificates(dir, true); err != nil {
		t.Fatalf("loading the certificates found: %v", err)
	}
	if _, err := FindTLSCertificates(nil); err == nil {
		t.Fatal("no directory to search: no error")
	}
}

// TestTLSCRLDates: a CRL past its NextUpdate, and one whose ThisUpdate is still ahead, load
// and revoke exactly what they list, for gdmsetup as for nbdkit (gnutls does not check a
// CRL's dates): the revoked client is refused by both and a good one taken by both.
func TestTLSCRLDates(t *testing.T) {
	needBin(t, "nbdinfo", "nbdkit")
	ca := tlstest.NewCA(t, "gdmsetup test CA")
	good := ca.ClientDir(t, "good client", true)
	revokedDir := ca.ClientDir(t, "revoked client", true)
	path := tempFile(t, 1<<20, false)
	e := openCounting(t, path, false)
	now := time.Now()
	for _, c := range []struct {
		name                   string
		thisUpdate, nextUpdate time.Time
	}{
		{"stale", now.Add(-48 * time.Hour), now.Add(-24 * time.Hour)},
		{"issued in the future", now.Add(24 * time.Hour), now.Add(48 * time.Hour)},
	} {
		t.Run(c.name, func(t *testing.T) {
			srvDir := ca.ServerDir(t)
			ca.RevokeDated(t, srvDir, filepath.Join(revokedDir, "client-cert.pem"), c.thisUpdate, c.nextUpdate)
			ts := startServer(t, "unix", &Server{Exports: StaticExports{"": e}, TLSConfig: tlsConfig(t, srvDir, true), RequireTLS: true})
			nbdkit := &testServer{addr: startNbdkit(t, path, "--tls=require", "--tls-certificates="+srvDir, "--tls-verify-peer")}
			for _, s := range []*testServer{ts, nbdkit} {
				runFail(t, "nbdinfo", tlsURI(s, "unix", "", revokedDir))
				if out := runCmd(t, "nbdinfo", tlsURI(s, "unix", "", good)); !strings.Contains(out, "with TLS") {
					t.Errorf("nbdinfo with a good certificate against %s:\n%s", s.addr, out)
				}
			}
		})
	}
}
