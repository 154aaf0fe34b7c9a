package nbd

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/tlstest"
)

// tlsConfig loads the server configuration from dir.
func tlsConfig(t testing.TB, dir string, verifyPeer bool) *tls.Config {
	t.Helper()
	cfg, err := LoadTLSCertificates(dir, verifyPeer)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// tlsURI is the libnbd URI of export name on ts over TLS with the client files in cliDir,
// or without TLS when cliDir is empty.
func tlsURI(ts *testServer, network, name, cliDir string) string {
	scheme, q := "nbds", "?tls-certificates="+cliDir
	if cliDir == "" {
		scheme, q = "nbd", "?"
	}
	if network == "unix" {
		return scheme + "+unix:///" + name + q + "&socket=" + ts.addr
	}
	return scheme + "://" + ts.addr + "/" + name + q
}

// qemuNBDOpts are qemu's --image-opts for export name on ts over TLS with the object tls0.
func qemuNBDOpts(ts *testServer, network, name string) string {
	if network == "unix" {
		return fmt.Sprintf("driver=nbd,server.type=unix,server.path=%s,export=%s,tls-creds=tls0,tls-hostname=localhost", ts.addr, name)
	}
	host, port, _ := net.SplitHostPort(ts.addr)
	return fmt.Sprintf("driver=nbd,server.type=inet,server.host=%s,server.port=%s,export=%s,tls-creds=tls0", host, port, name)
}

// runFail runs a client command bounded to 60 s that must fail and returns its output.
func runFail(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err == nil {
		t.Fatalf("%s %v succeeded, want a failure:\n%s", name, args, out)
	}
	return string(out)
}

// TestTLSClients: with TLS required and client certificates checked, nbdinfo, qemu-img and
// nbdcopy connect over TLS on TCP and a unix socket, and what they copy in and out is
// byte-identical.
func TestTLSClients(t *testing.T) {
	needBin(t, "nbdinfo", "nbdcopy", "qemu-img")
	ca := tlstest.NewCA(t, "gdmsetup test CA")
	cfg := tlsConfig(t, ca.ServerDir(t), true)
	cliDir := ca.ClientDir(t, "client", true)
	for _, network := range networks {
		t.Run(network, func(t *testing.T) {
			const sizeB = 8 << 20
			dst := tempFile(t, sizeB, false)
			e := openCounting(t, dst, false)
			ts := startServer(t, network, &Server{Exports: StaticExports{"disk": e}, TLSConfig: cfg, RequireTLS: true})
			uri := tlsURI(ts, network, "disk", cliDir)
			if out := runCmd(t, "nbdinfo", uri); !strings.Contains(out, "with TLS") || !strings.Contains(out, fmt.Sprintf("export-size: %d", sizeB)) {
				t.Errorf("nbdinfo %s:\n%s", uri, out)
			}

			obj := "tls-creds-x509,id=tls0,endpoint=client,dir=" + cliDir
			opts := qemuNBDOpts(ts, network, "disk")
			src := tempFile(t, sizeB, true)
			runCmd(t, "qemu-img", "convert", "-n", "--object", obj, "-f", "raw", src, "--target-image-opts", opts)
			back := filepath.Join(t.TempDir(), "back.img")
			runCmd(t, "qemu-img", "convert", "--object", obj, "--image-opts", opts, "-O", "raw", back)
			if !sameFile(t, src, dst) || !sameFile(t, src, back) {
				t.Fatal("qemu-img convert over TLS: round trip differs")
			}

			src2 := tempFile(t, sizeB, true)
			runCmd(t, "nbdcopy", "--flush", src2, uri)
			out := filepath.Join(t.TempDir(), "out.img")
			runCmd(t, "nbdcopy", uri, out)
			if !sameFile(t, src2, dst) || !sameFile(t, src2, out) {
				t.Fatal("nbdcopy over TLS: round trip differs")
			}
		})
	}
}

// TestTLSNbdClientList: nbd-client (the reference client, its own GnuTLS code) lists the
// exports of a TLS-only server that verifies client certificates, and is refused without a
// client certificate. (No kernel nbd module here: listing is what it can do without one.)
func TestTLSNbdClientList(t *testing.T) {
	needBin(t, "nbd-client")
	ca := tlstest.NewCA(t, "gdmsetup test CA")
	e := openCounting(t, tempFile(t, 1<<20, false), false)
	ts := startServer(t, "tcp", &Server{Exports: StaticExports{"disk": e, "other": e}, TLSConfig: tlsConfig(t, ca.ServerDir(t), true), RequireTLS: true})
	host, port, _ := net.SplitHostPort(ts.addr)
	list := func(run func(*testing.T, string, ...string) string, dir string, withCert bool) string {
		args := []string{"-cacertfile", filepath.Join(dir, CACertFile), "-tlshostname", "localhost"}
		if withCert {
			args = append(args, "-certfile", filepath.Join(dir, "client-cert.pem"), "-keyfile", filepath.Join(dir, "client-key.pem"))
		}
		return run(t, "nbd-client", append(args, "-l", host, port)...)
	}
	if out := list(runCmd, ca.ClientDir(t, "client", true), true); !strings.Contains(out, "disk\nother\n") {
		t.Errorf("nbd-client -l over TLS:\n%s", out)
	}
	list(runFail, ca.ClientDir(t, "", false), false)
}

// startNbdkit runs nbdkit's file plugin on path with args on a unix socket for at most 2
// minutes (killed at cleanup) and returns the socket's path.
func startNbdkit(t *testing.T, path string, args ...string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "nbdkit.sock")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, "nbdkit", append(append([]string{"-f", "--exit-with-parent", "-U", sock}, args...), "file", path)...)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			return sock
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nbdkit %v: no socket after 5 s", args)
	return ""
}

// TestTLSPolicy: --tls=require refuses a plain client (nbdinfo says what it says to nbdkit
// --tls=require: the NBD_REP_ERR_TLS_REQD reply to its NBD_OPT_GO); --tls=on takes plain and
// TLS clients; --tls-verify-peer refuses a client without a certificate, with one from
// another CA or with one ca-crl.pem revokes, as nbdkit does, and takes a good one.
func TestTLSPolicy(t *testing.T) {
	needBin(t, "nbdinfo", "nbdkit")
	ca := tlstest.NewCA(t, "gdmsetup test CA")
	srvDir := ca.ServerDir(t)
	good := ca.ClientDir(t, "good client", true)
	noCert := ca.ClientDir(t, "", false)
	revokedDir := ca.ClientDir(t, "revoked client", true)
	other := tlstest.NewCA(t, "other CA").ClientDir(t, "stranger", true)
	// The stranger trusts our CA for the server, and presents the other CA's certificate.
	caPEM, err := os.ReadFile(filepath.Join(good, CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, CACertFile), caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	ca.Revoke(t, srvDir, filepath.Join(revokedDir, "client-cert.pem"))
	path := tempFile(t, 1<<20, false)
	e := openCounting(t, path, false)
	// sameRefusal runs nbdinfo with the client files of cliDir ("" for plain) against ts and
	// against the nbdkit on nbdkitSock: both must fail, with the same words when sameWords (a
	// failed TLS handshake is told by gnutls as the socket's timing has it).
	sameRefusal := func(t *testing.T, ts *testServer, nbdkitSock, cliDir string, sameWords bool) {
		t.Helper()
		ours := runFail(t, "nbdinfo", tlsURI(ts, "unix", "", cliDir))
		theirs := runFail(t, "nbdinfo", tlsURI(&testServer{addr: nbdkitSock}, "unix", "", cliDir))
		if sameWords && strings.ReplaceAll(ours, ts.addr, "SOCK") != strings.ReplaceAll(theirs, nbdkitSock, "SOCK") {
			t.Errorf("nbdinfo with %q: against gdmsetup\n%s\nagainst nbdkit\n%s", cliDir, ours, theirs)
		}
	}

	t.Run("require", func(t *testing.T) {
		ts := startServer(t, "unix", &Server{Exports: StaticExports{"": e}, TLSConfig: tlsConfig(t, srvDir, false), RequireTLS: true})
		sameRefusal(t, ts, startNbdkit(t, path, "--tls=require", "--tls-certificates="+srvDir), "", true)
		if out := runCmd(t, "nbdinfo", tlsURI(ts, "unix", "", noCert)); !strings.Contains(out, "with TLS") {
			t.Errorf("nbdinfo over TLS without a client certificate (not verified):\n%s", out)
		}
	})
	t.Run("on", func(t *testing.T) {
		ts := startServer(t, "tcp", &Server{Exports: StaticExports{"": e}, TLSConfig: tlsConfig(t, srvDir, false)})
		if out := runCmd(t, "nbdinfo", tlsURI(ts, "tcp", "", "")); strings.Contains(out, "with TLS") {
			t.Errorf("plain nbdinfo says TLS:\n%s", out)
		}
		if out := runCmd(t, "nbdinfo", tlsURI(ts, "tcp", "", good)); !strings.Contains(out, "with TLS") {
			t.Errorf("nbdinfo over TLS:\n%s", out)
		}
	})
	t.Run("verify-peer", func(t *testing.T) {
		ts := startServer(t, "unix", &Server{Exports: StaticExports{"": e}, TLSConfig: tlsConfig(t, srvDir, true), RequireTLS: true})
		sock := startNbdkit(t, path, "--tls=require", "--tls-certificates="+srvDir, "--tls-verify-peer")
		for _, dir := range []string{noCert, other, revokedDir} {
			sameRefusal(t, ts, sock, dir, false)
		}
		if out := runCmd(t, "nbdinfo", tlsURI(ts, "unix", "", good)); !strings.Contains(out, "with TLS") {
			t.Errorf("nbdinfo with a good certificate:\n%s", out)
		}
	})
}

// startTLS sends NBD_OPT_STARTTLS, expects NBD_REP_ACK and runs the TLS handshake with cfg.
func (r *rawClient) startTLS(cfg *tls.Config) {
	r.t.Helper()
	r.option(optStartTLS, nil)
	if typ, data := r.optReply(optStartTLS); typ != repAck {
		r.t.Fatalf("STARTTLS: reply %#x %q, want ACK", typ, data)
	}
	tc := tls.Client(r.c, cfg)
	if err := tc.Handshake(); err != nil {
		r.t.Fatalf("TLS handshake: %v", err)
	}
	r.c = tc
}

// TestSTARTTLSMalformed: hostile or mistaken STARTTLS traffic gets the protocol's error reply
// or a disconnect, and the server goes on serving others.
func TestSTARTTLSMalformed(t *testing.T) {
	ca := tlstest.NewCA(t, "gdmsetup test CA")
	cfg := tlsConfig(t, ca.ServerDir(t), false)
	cliCfg := tlstest.ClientConfig(t, ca.ClientDir(t, "", false))
	e := openCounting(t, tempFile(t, 1<<20, false), false)
	on := startServer(t, "tcp", &Server{Exports: StaticExports{"rw": e}, TLSConfig: cfg})
	off := startServer(t, "tcp", &Server{Exports: StaticExports{"rw": e}})
	required := startServer(t, "tcp", &Server{Exports: StaticExports{"rw": e}, TLSConfig: cfg, RequireTLS: true})
	hasty := startServer(t, "tcp", &Server{Exports: StaticExports{"rw": e}, TLSConfig: cfg, HandshakeTimeout: 300 * time.Millisecond})
	expectReply := func(r *rawClient, opt, want uint32) {
		r.t.Helper()
		if typ, data := r.optReply(opt); typ != want {
			r.t.Errorf("option %d: reply %#x %q, want %#x", opt, typ, data, want)
		}
	}
	cases := []struct {
		name string
		ts   *testServer
		run  func(r *rawClient)
	}{
		{"starttls with data", on, func(r *rawClient) {
			r.option(optStartTLS, []byte{1, 2, 3})
			expectReply(r, optStartTLS, repErrInvalid)
			r.goExport("rw")
			r.expectAlive()
		}},
		{"starttls twice", on, func(r *rawClient) {
			r.startTLS(cliCfg)
			r.option(optStartTLS, nil)
			expectReply(r, optStartTLS, repErrInvalid)
			r.goExport("rw")
			r.expectAlive()
		}},
		{"starttls on a plain server", off, func(r *rawClient) {
			r.option(optStartTLS, nil)
			expectReply(r, optStartTLS, repErrPolicy)
			r.goExport("rw")
			r.expectAlive()
		}},
		{"garbage after starttls", on, func(r *rawClient) {
			r.option(optStartTLS, nil)
			expectReply(r, optStartTLS, repAck)
			r.send(optBytes(optGo, goData("rw")))
			r.expectClosed()
		}},
		{"bytes sent with starttls", on, func(r *rawClient) {
			r.send(append(optBytes(optStartTLS, nil), optBytes(optList, nil)...))
			r.expectClosed()
		}},
		{"eof in the tls handshake", on, func(r *rawClient) {
			r.option(optStartTLS, nil)
			expectReply(r, optStartTLS, repAck)
			r.send([]byte{0x16, 3, 1, 0, 200, 1})
			r.closeWrite()
			r.expectClosed()
		}},
		{"options reset by starttls", on, func(r *rawClient) {
			r.option(optStructuredReply, nil)
			expectReply(r, optStructuredReply, repAck)
			r.startTLS(cliCfg)
			if _, flags := r.goExport("rw"); flags&transSendDF != 0 {
				t.Errorf("structured replies negotiated before STARTTLS still in force: flags %#x", flags)
			}
			r.expectAlive()
		}},
		{"require: options before starttls", required, func(r *rawClient) {
			r.option(optList, nil)
			expectReply(r, optList, repErrTLSReqd)
			r.option(optGo, goData("rw"))
			expectReply(r, optGo, repErrTLSReqd)
			r.option(optStructuredReply, nil)
			expectReply(r, optStructuredReply, repErrTLSReqd)
			r.startTLS(cliCfg)
			r.goExport("rw")
			r.expectAlive()
		}},
		{"require: export name before starttls", required, func(r *rawClient) {
			r.option(optExportName, []byte("rw"))
			r.expectClosed()
		}},
		{"silence in the tls handshake", hasty, func(r *rawClient) {
			r.option(optStartTLS, nil)
			expectReply(r, optStartTLS, repAck)
			start := time.Now()
			r.expectClosed()
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("closed %v after STARTTLS, HandshakeTimeout is 300ms", d)
			}
		}},
		{"require: abort", required, func(r *rawClient) {
			r.option(optAbort, nil)
			expectReply(r, optAbort, repAck)
			r.expectClosed()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := dialRaw(t, c.ts.addr)
			r.clientFlags(3)
			c.run(r)
		})
	}
	for _, ts := range []*testServer{on, required} {
		r := dialRaw(t, ts.addr)
		r.clientFlags(3)
		r.startTLS(cliCfg)
		r.goExport("rw")
		r.expectAlive()
	}
}

// FuzzStartTLS feeds arbitrary bytes to the TLS handshake that follows NBD_OPT_STARTTLS: the
// server must not panic and must end the connection by itself once the input is exhausted.
func FuzzStartTLS(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x16\x03\x01\x00\x05hello"))
	f.Add(optBytes(optGo, goData("")))
	f.Add([]byte{0x16, 3, 3, 0xff, 0xff, 1, 0, 0xff, 0xfb, 3, 3})
	ca := tlstest.NewCA(f, "fuzz CA")
	exp, err := OpenFileExport(tempFileF(f), false, false)
	if err != nil {
		f.Fatal(err)
	}
	defer exp.Close()
	srv := &Server{Exports: StaticExports{"": exp}, HandshakeTimeout: 5 * time.Second, TLSConfig: tlsConfig(f, ca.ServerDir(f), true), RequireTLS: true}
	f.Fuzz(func(t *testing.T, in []byte) {
		client, wait := pipeConn(srv)
		client.SetDeadline(time.Now().Add(5 * time.Second))
		var greeting [18 + 20]byte
		if _, err := io.ReadFull(client, greeting[:18]); err != nil {
			t.Fatalf("greeting: %v", err)
		}
		client.Write(append(binary.BigEndian.AppendUint32(nil, 3), optBytes(optStartTLS, nil)...))
		if _, err := io.ReadFull(client, greeting[18:]); err != nil {
			t.Fatalf("STARTTLS reply: %v", err)
		}
		if typ := binary.BigEndian.Uint32(greeting[18+12:]); typ != repAck {
			t.Fatalf("STARTTLS reply %#x, want ACK", typ)
		}
		go func() { io.Copy(io.Discard, client) }()
		client.Write(in)
		client.Close()
		wait(t)
	})
}
