package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSplitWords(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`create a --table "0 8 zero"`, []string{"create", "a", "--table", "0 8 zero"}},
		{`  a   b  `, []string{"a", "b"}},
		{`a'b c'd`, []string{"ab cd"}},
		{`''`, []string{""}},
		{`a\ b \# c # comment`, []string{"a b", "#", "c"}},
		{`"a \"q\" \\ \$ \x"`, []string{`a "q" \ $ \x`}},
		{"'0 8 zero\n8 8 zero'", []string{"0 8 zero\n8 8 zero"}},
		{"a \\\nb", []string{"a", "b"}},
		{"a#b", []string{"a#b"}},
		{"# all comment\nls", []string{"ls"}},
	} {
		got, err := splitWords(c.in)
		if err != nil || fmt.Sprintf("%q", got) != fmt.Sprintf("%q", c.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, in := range []string{`"open`, `'open`, `trailing\`, `"a\`} {
		if _, err := splitWords(in); err != errIncomplete {
			t.Errorf("splitWords(%q): %v, want errIncomplete", in, err)
		}
	}
}

func TestShellScript(t *testing.T) {
	s := newSandbox(t)
	s.file("a.img", 1<<20)
	script := `# a script
create a --table "0 8 zero"
create b --table '0 8 linear a.img 0
8 8 zero'
table b
remove nosuch
ls
`
	s.expect(args("shell"), script, "0 8 linear "+filepath.Join(s.dir, "a.img")+" 0\n8 8 zero \n",
		"device-mapper: remove ioctl on nosuch  failed: No such device or address\nCommand failed.\n"+
			"gdmsetup shell: line 6 failed (exit 1); stopping\n", 1)
	s.expect(args("shell"), "ls\nexit\nremove a\n", "a\t(253:0)\nb\t(253:1)\n", "", 0)
	s.expect(args("shell"), "ls 'open\n", "", "gdmsetup shell: line 1: "+errIncomplete.Error()+"\n", 1)
	// no arguments and stdin not a terminal: help, not the shell
	if r := s.run("ls\n"); r.code != 0 || !strings.HasPrefix(r.stdout, "Usage: gdmsetup") {
		t.Fatalf("gdmsetup with stdin not a terminal: %+v", r)
	}
}

// pty is a pseudo-terminal pair: the test holds master, the shell gets
// slave as its terminal.
type pty struct {
	master, slave *os.File
	out           *syncBuffer
}

func openPTY(t *testing.T) *pty {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(int(sl.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 160}); err != nil {
		t.Fatal(err)
	}
	p := &pty{master: m, slave: sl, out: &syncBuffer{}}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			p.out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { m.Close(); sl.Close() })
	return p
}

// shellSession is `gdmsetup` (no arguments) on a pseudo-terminal.
type shellSession struct {
	t    *testing.T
	p    *pty
	cmd  *exec.Cmd
	done chan error
	mark int // output before mark has been matched already
}

func (s *sandbox) shellOnPTY(env ...string) *shellSession {
	s.t.Helper()
	p := openPTY(s.t)
	cmd := exec.Command(binary, "--dir", filepath.Join(s.dir, "state"))
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), append([]string{"TERM=xterm"}, env...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	sess := &shellSession{t: s.t, p: p, cmd: cmd, done: make(chan error, 1)}
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	go func() { sess.done <- cmd.Wait(); timer.Stop() }()
	s.t.Cleanup(func() { cmd.Process.Kill() })
	sess.expect("gdmsetup> ")
	return sess
}

func (ss *shellSession) send(keys string) {
	if _, err := ss.p.master.WriteString(keys); err != nil {
		ss.t.Fatal(err)
	}
}

// expect waits for want in the output after the last match and returns
// the output up to and including it.
func (ss *shellSession) expect(want string) string {
	ss.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		out := ss.p.out.String()
		if i := strings.Index(out[ss.mark:], want); i >= 0 {
			got := out[ss.mark : ss.mark+i+len(want)]
			ss.mark += i + len(want)
			return got
		}
		if time.Now().After(deadline) {
			ss.t.Fatalf("waited for %q; terminal shows:\n%q", want, out[ss.mark:])
		}
	}
}

// exit ends the session with ^D and checks the exit status.
func (ss *shellSession) exit() {
	ss.t.Helper()
	ss.send("\x04")
	select {
	case err := <-ss.done:
		if err != nil {
			ss.t.Fatalf("shell exit: %v\n%q", err, ss.p.out.String())
		}
	case <-time.After(10 * time.Second):
		ss.t.Fatalf("shell did not exit on ^D:\n%q", ss.p.out.String())
	}
}

// TestShellOnTerminal: completion of commands, devices, options, target
// types and message verbs; history kept across sessions in the state
// directory; colour only without NO_COLOR.
func TestShellOnTerminal(t *testing.T) {
	s := newSandbox(t)
	s.ok("", "create", "alpha", "--table", "0 8 zero")
	ss := s.shellOnPTY("NO_COLOR=1")
	ss.send("inf\t")
	ss.expect("info ")
	ss.send("alp\t")
	ss.expect("alpha ")
	ss.send("\r")
	ss.expect("Name:              alpha")
	ss.expect("State:             ACTIVE\r\n")
	ss.expect("gdmsetup> ")
	ss.send("ls --tar\t")
	ss.expect("--target ")
	ss.send("ze\t")
	ss.expect("zero ")
	ss.send("\r")
	ss.expect("alpha\t(253, 0)")
	ss.send("message alpha 0 create_t\t")
	ss.expect("create_thin ")
	ss.send("\x03")
	ss.expect("gdmsetup> ")
	ss.send("thin rep\t")
	ss.expect("repair ")
	ss.send("\x03") // ^C drops the line
	ss.expect("gdmsetup> ")
	ss.send("info nosuch\r")
	out := ss.expect("Command failed.")
	if strings.Contains(out, "\x1b[31m") {
		t.Errorf("an error coloured under NO_COLOR: %q", out)
	}
	ss.expect("gdmsetup> ")
	ss.send("\x1b[A") // up: the last line again
	ss.expect("info nosuch")
	ss.send("\x03")
	ss.expect("gdmsetup> ")
	ss.exit()
	hist, err := os.ReadFile(filepath.Join(s.dir, "state", historyFile))
	if err != nil || !strings.Contains(string(hist), "info alpha") || !strings.Contains(string(hist), "info nosuch\n") {
		t.Fatalf("history file: %q, %v", hist, err)
	}
	if fi, _ := os.Stat(filepath.Join(s.dir, "state", historyFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("history file mode %v, want 0600", fi.Mode().Perm())
	}

	// a new session recalls the history; without NO_COLOR errors are red
	// and states green
	ss = s.shellOnPTY()
	ss.send("\x1b[A\x1b[A\x1b[A")
	ss.expect("ls --target zero")
	ss.send("\x03")
	ss.expect("gdmsetup> ")
	ss.send("info nosuch\r")
	if out := ss.expect("Command failed."); !strings.Contains(out, "\x1b[31mDevice does not exist.") {
		t.Errorf("error not red with colour on: %q", out)
	}
	ss.send("info alpha\r")
	if out := ss.expect("Number of targets"); !strings.Contains(out, "\x1b[32mACTIVE") {
		t.Errorf("state not green with colour on: %q", out)
	}
	ss.expect("gdmsetup> ")
	ss.exit()
}

// TestShellRunsThinCommands: a script in `gdmsetup --dir D shell` runs thin
// commands (the shell passes --dir before each command's words).
func TestShellRunsThinCommands(t *testing.T) {
	s := newSandbox(t)
	s.thinPool(16384)
	got := s.ok("thin ls --no-headers -o DEV meta.img\nthin check -q meta.img\n", "shell")
	if strings.TrimSpace(got) != "0" {
		t.Fatalf("thin ls in the shell: %q", got)
	}
}
