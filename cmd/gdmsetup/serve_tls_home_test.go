package main

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/internal/tlstest"
	"github.com/gdmsetup/gdmsetup/nbd"
)

// nobodyID is the user and group the test runs gdmsetup as when it runs as root: nbdkit
// searches a HOME for certificates only when not root.
const nobodyID = 65534

// userTree is a directory a gdmsetup run as another user (nobody, when the test is root)
// owns whole, with a copy of the binary in it.
type userTree struct {
	dir, binary string
	cred        *syscall.Credential // nil: run as the test's own user
}

// newUserTree makes the tree, removed at the test's end.
func newUserTree(t *testing.T) *userTree {
	t.Helper()
	dir, err := os.MkdirTemp("", "gdmsetup-user")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	u := &userTree{dir: dir, binary: filepath.Join(dir, "gdmsetup")}
	src, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(u.binary, src, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		u.cred = &syscall.Credential{Uid: nobodyID, Gid: nobodyID}
	}
	return u
}

// own gives the whole tree to the user gdmsetup runs as.
func (u *userTree) own(t *testing.T) {
	t.Helper()
	if u.cred == nil {
		return
	}
	err := filepath.WalkDir(u.dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, nobodyID, nobodyID)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// command is gdmsetup with args, as the tree's user, with HOME=home and the state directory
// in the tree; it is killed after serverLimit.
func (u *userTree) command(t *testing.T, home string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(u.binary, append([]string{"--dir", filepath.Join(u.dir, "state")}, args...)...)
	cmd.Dir = u.dir
	cmd.Env = append(os.Environ(), "HOME="+home, "LC_ALL=C")
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.cred, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(serverLimit, func() { cmd.Process.Kill() })
	t.Cleanup(func() { timer.Stop(); cmd.Process.Kill() })
	return cmd, stderr
}

// TestServeTLSDefaultDirs: `serve --tls=require` without --tls-certificates, run as a user
// other than root (nobody, when the test is root), takes the certificates in
// $HOME/.pki/nbdkit, as nbdkit does, and nbdinfo gets the device over TLS while a plain
// nbdinfo is refused; with a HOME holding none it fails naming the directories searched.
func TestServeTLSDefaultDirs(t *testing.T) {
	dmtest.Peer(t, "nbdinfo")
	u := newUserTree(t)
	ca := tlstest.NewCA(t, "gdmsetup test CA")
	home := filepath.Join(u.dir, "home")
	if err := os.CopyFS(filepath.Join(home, ".pki", "nbdkit"), os.DirFS(ca.ServerDir(t))); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(u.dir, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	u.own(t)

	create, stderr := u.command(t, home, "create", "z", "--table", "0 2048 zero")
	if err := create.Wait(); err != nil {
		t.Fatalf("create: %v\n%s", err, stderr)
	}
	sock := filepath.Join(u.dir, "nbd.sock")
	fail, stderr := u.command(t, empty, "serve", "--socket", sock, "--tls=require")
	err := fail.Wait()
	euid := os.Geteuid()
	if u.cred != nil {
		euid = nobodyID
	}
	dirs := nbd.DefaultTLSCertificateDirs(euid, empty)
	if err == nil || !strings.Contains(stderr.String(), "no TLS certificates found: searched "+strings.Join(dirs, ", ")) {
		t.Fatalf("serve --tls=require with HOME=%s: %v, want a failure naming %q:\n%s", empty, err, dirs, stderr)
	}

	srv, stderr := u.command(t, home, "serve", "--socket", sock, "--tls=require")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start:\n%s", stderr)
		}
	}
	if out := tool(t, "nbdinfo", "nbds+unix:///z?socket="+sock+"&tls-certificates="+ca.ClientDir(t, "", false)); !strings.Contains(out, "with TLS") {
		t.Errorf("nbdinfo over TLS:\n%s", out)
	}
	toolFails(t, "nbdinfo", "nbd+unix:///z?socket="+sock)
	srv.Process.Signal(syscall.SIGTERM)
	if err := srv.Wait(); err != nil {
		t.Errorf("SIGTERM: %v\n%s", err, stderr)
	}
	if log := stderr.String(); !strings.Contains(log, "TLS required") || !strings.Contains(log, "stopped") {
		t.Errorf("server log:\n%s", log)
	}
}
