package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/internal/tlstest"
	"github.com/gdmsetup/gdmsetup/nbd"
)

// toolFails runs a peer binary that must fail and returns its output.
func toolFails(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := peerOutput(t, name, args...)
	if err == nil {
		t.Fatalf("%s %s succeeded, want a failure:\n%s", name, strings.Join(args, " "), out)
	}
	return out
}

// searchedDirs is how the error of a search for certificates (see tlsOptions) lists the
// directories gdmsetup run by this test with HOME=home searches; a test that expects the
// search to fail is skipped when certificates are installed there (as root: /etc/pki/nbdkit).
func searchedDirs(t *testing.T, home string) string {
	t.Helper()
	dirs := nbd.DefaultTLSCertificateDirs(os.Geteuid(), home)
	if dir, err := nbd.FindTLSCertificates(dirs); err == nil {
		t.Skipf("TLS certificates installed in %s: a search for them does not fail", dir)
	}
	return strings.Join(dirs, ", ")
}

// TestServeTLSRequire: `serve --tls=require --tls-certificates DIR --tls-verify-peer` on a
// unix socket and TCP: qemu-img writes a device over TLS on TCP, nbdcopy reads it back over
// TLS on the unix socket, byte-identical; a plain client and one without a certificate are
// refused; SIGTERM still stops the server cleanly.
func TestServeTLSRequire(t *testing.T) {
	dmtest.Peer(t, "nbdinfo")
	dmtest.Peer(t, "nbdcopy")
	dmtest.Peer(t, "qemu-img")
	s := newSandbox(t)
	const size = 4 << 20
	s.file("a.img", size)
	s.ok("", "create", "lin", "--table", "0 8192 linear a.img 0")
	ca := tlstest.NewCA(t, "gdmsetup test CA")
	cliDir := ca.ClientDir(t, "client", true)
	srv := s.serve("--listen", "127.0.0.1:0", "--tls=require", "--tls-certificates", ca.ServerDir(t), "--tls-verify-peer")
	addr := srv.tcpAddr()
	if !strings.Contains(srv.stderr.String(), "TLS required, client certificates verified") {
		t.Errorf("no TLS policy in the log:\n%s", srv.stderr)
	}
	tlsUnix := "nbds+unix:///lin?socket=" + srv.sock + "&tls-certificates=" + cliDir
	if out := tool(t, "nbdinfo", tlsUnix); !strings.Contains(out, "with TLS") {
		t.Errorf("nbdinfo %s:\n%s", tlsUnix, out)
	}

	src := filepath.Join(s.dir, "src.raw")
	want := randomFile(t, src, size)
	host, port, _ := strings.Cut(addr, ":")
	tool(t, "qemu-img", "convert", "-n", "--object", "tls-creds-x509,id=tls0,endpoint=client,dir="+cliDir, "-f", "raw", src,
		"--target-image-opts", "driver=nbd,server.type=inet,server.host="+host+",server.port="+port+",export=lin,tls-creds=tls0")
	out := filepath.Join(s.dir, "out.raw")
	tool(t, "nbdcopy", tlsUnix, out)
	if got, err := os.ReadFile(out); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("qemu-img in over TLS, nbdcopy out over TLS: %d bytes differ (%v)", countDiff(got, want), err)
	}

	if out := toolFails(t, "nbdinfo", srv.url("lin")); !strings.Contains(out, "server replied with error to opt_go request") {
		t.Errorf("plain nbdinfo against --tls=require:\n%s", out)
	}
	toolFails(t, "nbdinfo", "nbds://"+addr+"/lin?tls-certificates="+ca.ClientDir(t, "", false))
	if code := srv.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, srv.stderr)
	}
}

// TestServeTLSOn: --tls-certificates alone offers TLS (--tls=on, as nbdkit): plain and TLS
// clients both get the device; --tls=on without certificates warns and serves plain.
func TestServeTLSOn(t *testing.T) {
	dmtest.Peer(t, "nbdinfo")
	s := newSandbox(t)
	s.ok("", "create", "z", "--table", "0 2048 zero")
	ca := tlstest.NewCA(t, "gdmsetup test CA")
	srv := s.serve("--tls-certificates", ca.ServerDir(t))
	if out := tool(t, "nbdinfo", srv.url("z")); strings.Contains(out, "with TLS") || !strings.Contains(out, "export-size: 1048576") {
		t.Errorf("plain nbdinfo:\n%s", out)
	}
	if out := tool(t, "nbdinfo", "nbds+unix:///z?socket="+srv.sock+"&tls-certificates="+ca.ClientDir(t, "", false)); !strings.Contains(out, "with TLS") {
		t.Errorf("nbdinfo over TLS:\n%s", out)
	}
	if !strings.Contains(srv.stderr.String(), "TLS offered, client certificates not asked for") {
		t.Errorf("no TLS policy in the log:\n%s", srv.stderr)
	}
	srv.stop()

	home := t.TempDir()
	s.env = append(s.env, "HOME="+home)
	searched := searchedDirs(t, home)
	srv = s.serve("--tls=on")
	if out := tool(t, "nbdinfo", srv.url("z")); strings.Contains(out, "with TLS") {
		t.Errorf("plain nbdinfo:\n%s", out)
	}
	if log := srv.stderr.String(); !strings.Contains(log, "--tls=on without --tls-certificates: no TLS certificates found: searched "+searched) || !strings.Contains(log, ": serving without TLS") {
		t.Errorf("no warning naming %s in the log:\n%s", searched, log)
	}
}

// TestServeTLSOptionErrors: bad TLS options and certificate directories fail serve with a
// message naming the option or file, before it listens or opens its state directory.
func TestServeTLSOptionErrors(t *testing.T) {
	s := newSandbox(t)
	home := t.TempDir()
	s.env = append(s.env, "HOME="+home)
	searched := searchedDirs(t, home)
	ca := tlstest.NewCA(t, "gdmsetup test CA")
	good := ca.ServerDir(t)
	// dirWith is a copy of good with name replaced by the bytes b (a directory when b is nil).
	dirWith := func(name string, b []byte) string {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(good)); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		os.Remove(p)
		if b == nil {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
			return dir
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	otherKey := read(filepath.Join(ca.ClientDir(t, "c", true), "client-key.pem"))
	other := tlstest.NewCA(t, "other CA")
	otherCRL := t.TempDir()
	other.Revoke(t, otherCRL, filepath.Join(good, "server-cert.pem"))
	missing := dirWith("server-cert.pem", nil)
	os.Remove(filepath.Join(missing, "server-cert.pem"))

	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--tls=require"}, "--tls=require without --tls-certificates DIR: no TLS certificates found: searched " + searched + " (each needs ca-cert.pem, server-cert.pem and server-key.pem)"},
		{[]string{"--tls=yes"}, "--tls=yes: want off, on or require"},
		{[]string{"--tls-verify-peer"}, "--tls-verify-peer needs --tls=on or --tls=require"},
		{[]string{"--tls=require", "--tls-psk=keys.psk"}, "--tls-psk keys.psk: TLS with pre-shared keys is not supported"},
		{[]string{"--tls-certificates", filepath.Join(s.dir, "none")}, filepath.Join(s.dir, "none", "ca-cert.pem") + ": no such file or directory"},
		{[]string{"--tls-certificates", missing}, filepath.Join(missing, "server-cert.pem") + ": no such file or directory"},
		{[]string{"--tls-certificates", dirWith("server-key.pem", nil)}, "server-key.pem: is a directory"},
		{[]string{"--tls-certificates", dirWith("server-key.pem", otherKey)}, "server-key.pem: tls: private key does not match public key"},
		{[]string{"--tls-certificates", dirWith("ca-cert.pem", []byte("garbage\n"))}, "ca-cert.pem: no PEM CERTIFICATE block"},
		{[]string{"--tls-certificates", dirWith("ca-crl.pem", []byte("garbage\n"))}, "ca-crl.pem: no PEM X509 CRL block"},
		{[]string{"--tls-certificates", dirWith("ca-crl.pem", read(filepath.Join(otherCRL, "ca-crl.pem")))}, `ca-crl.pem: issuer "CN=other CA,O=gdmsetup tests" is none of the CAs in ca-cert.pem`},
	}
	sock := filepath.Join(s.dir, "nbd.sock")
	for _, c := range cases {
		r := s.run("", append([]string{"serve", "--socket", sock}, c.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, c.want) || !strings.HasSuffix(r.stderr, "Command failed.\n") {
			t.Errorf("serve %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(c.args, " "), r.code, r.stderr, c.want)
		}
		for _, p := range []string{sock, filepath.Join(s.dir, "state")} {
			if _, err := os.Lstat(p); err == nil {
				t.Fatalf("serve %s: %s exists after the failure", strings.Join(c.args, " "), p)
			}
		}
	}
}
