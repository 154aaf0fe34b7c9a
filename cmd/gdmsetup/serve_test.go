package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// serverLimit bounds every server a test starts: it is killed after it.
const serverLimit = 120 * time.Second

// liveServer is a `gdmsetup serve` started by a test.
type liveServer struct {
	t      *testing.T
	cmd    *exec.Cmd
	sock   string // the NBD unix socket
	stderr *syncBuffer
	done   chan struct{}
	err    error
}

// syncBuffer is a bytes.Buffer safe for a writer and readers at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// serve starts a server on the sandbox's state directory with an NBD unix
// socket, the sandbox's env added to the environment, and waits until its
// control socket answers and its start-up log is written. It is killed at
// serverLimit, when the test binary dies, and stopped at the test's end.
func (s *sandbox) serve(extra ...string) *liveServer {
	s.t.Helper()
	ls := &liveServer{t: s.t, sock: filepath.Join(s.dir, "nbd.sock"), stderr: &syncBuffer{}, done: make(chan struct{})}
	args := append([]string{"--dir", filepath.Join(s.dir, "state"), "serve", "--socket", ls.sock}, extra...)
	ls.cmd = exec.Command(binary, args...)
	ls.cmd.Dir = s.dir
	ls.cmd.Env = append(os.Environ(), s.env...)
	ls.cmd.Stderr = ls.stderr
	ls.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := ls.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	timer := time.AfterFunc(serverLimit, func() { ls.cmd.Process.Kill() })
	go func() {
		ls.err = ls.cmd.Wait()
		timer.Stop()
		close(ls.done)
	}()
	s.t.Cleanup(func() { ls.stop() })
	ctl := filepath.Join(s.dir, "state", controlSocket)
	for deadline := time.Now().Add(10 * time.Second); ; {
		// the control socket's line is the last of the start-up log: the
		// socket may answer before the lines are written
		if c, err := net.Dial("unix", ctl); err == nil {
			c.Close()
			if strings.Contains(ls.stderr.String(), "control socket ") {
				break
			}
		}
		select {
		case <-ls.done:
			s.t.Fatalf("server exited at start: %v\n%s", ls.err, ls.stderr)
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("server did not start:\n%s", ls.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ls
}

// stop sends SIGTERM and waits for the exit (killing after 20 s); it
// returns the exit code.
func (ls *liveServer) stop() int {
	select {
	case <-ls.done:
	default:
		ls.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-ls.done:
		case <-time.After(20 * time.Second):
			ls.cmd.Process.Kill()
			<-ls.done
			ls.t.Errorf("server ignored SIGTERM for 20 s:\n%s", ls.stderr)
		}
	}
	return ls.cmd.ProcessState.ExitCode()
}

// stacks makes the server print its goroutines (SIGQUIT) and returns its
// stderr, to show where it hangs.
func (ls *liveServer) stacks() string {
	ls.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-ls.done:
	case <-time.After(5 * time.Second):
	}
	return ls.stderr.String()
}

// kill ends the server with SIGKILL, as a crash would.
func (ls *liveServer) kill() {
	ls.cmd.Process.Kill()
	<-ls.done
}

// tcpAddr is the address of the server's first TCP listener, from its log.
func (ls *liveServer) tcpAddr() string {
	ls.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		for _, l := range strings.Split(ls.stderr.String(), "\n") {
			if _, a, ok := strings.Cut(l, "NBD on tcp "); ok {
				return a
			}
		}
		if time.Now().After(deadline) {
			ls.t.Fatalf("no TCP address logged:\n%s", ls.stderr)
		}
	}
}

func (ls *liveServer) url(export string) string {
	return "nbd+unix:///" + export + "?socket=" + ls.sock
}

// peerOutput runs a peer binary bounded in time and returns its combined output.
func peerOutput(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	dmtest.Peer(t, name)
	cmd := exec.Command(name, args...)
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// tool runs a peer binary that must succeed and returns its output.
func tool(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := peerOutput(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func randomFile(t *testing.T, path string, size int) []byte {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestServeListsExportsWithSizes(t *testing.T) {
	dmtest.Peer(t, "nbdinfo")
	s := newSandbox(t)
	s.file("a.img", 4<<20)
	s.ok("", "create", "lin", "--table", "0 8192 linear a.img 0")
	s.ok("", "create", "z", "--table", "0 16 zero")
	s.ok("", "create", "empty", "--notable")
	srv := s.serve()
	out := tool(t, "nbdinfo", "--json", "--list", srv.url(""))
	var doc struct {
		Exports []struct {
			Name string `json:"export-name"`
			Size int64  `json:"export-size"`
		} `json:"exports"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("nbdinfo --json: %v\n%s", err, out)
	}
	got := map[string]int64{}
	for _, e := range doc.Exports {
		got[e.Name] = e.Size
	}
	want := map[string]int64{"lin": 4 << 20, "z": 8192}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("exports %v, want %v (a device without a live table is not exported)", got, want)
	}
	// --export narrows the list
	srv.stop()
	srv = s.serve("--export", "z")
	if out := tool(t, "nbdinfo", "--list", srv.url("")); strings.Contains(out, `"lin"`) || !strings.Contains(out, `"z"`) {
		t.Fatalf("--export z lists:\n%s", out)
	}
}

// TestServeExportNamesAreShownNames: a device whose name dmsetup mangles
// for the kernel (a space, a letter outside ASCII) is exported under
// the name the user gave it, which --export and clients use.
func TestServeExportNamesAreShownNames(t *testing.T) {
	dmtest.Peer(t, "nbdinfo")
	s := newSandbox(t)
	s.ok("", "create", "a b", "--table", "0 16 zero")
	s.ok("", "create", "café", "--table", "0 32 zero")
	if out := s.ok("", "ls", "--manglename", "none"); !strings.Contains(out, `a\x20b`) {
		t.Fatalf("the kernel's name is not mangled:\n%s", out)
	}
	srv := s.serve()
	out := tool(t, "nbdinfo", "--list", srv.url(""))
	for _, want := range []string{`"a b"`, `"café"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("nbdinfo --list does not show %s:\n%s", want, out)
		}
	}
	if out := tool(t, "nbdinfo", "--size", srv.url("a%20b")); strings.TrimSpace(out) != "8192" {
		t.Fatalf("nbdinfo --size of \"a b\": %q", out)
	}
	srv.stop()
	srv = s.serve("--export", "café")
	if out := tool(t, "nbdinfo", "--size", srv.url("caf%C3%A9")); strings.TrimSpace(out) != "16384" {
		t.Fatalf("nbdinfo --size of \"café\" exported by --export: %q", out)
	}
	if out := tool(t, "nbdinfo", "--list", srv.url("")); strings.Contains(out, `"a b"`) {
		t.Fatalf("--export café lists:\n%s", out)
	}
}

func TestServeQemuImgRoundTrip(t *testing.T) {
	dmtest.Peer(t, "qemu-img")
	s := newSandbox(t)
	const size = 6 << 20
	want := randomFile(t, filepath.Join(s.dir, "src.raw"), size)
	s.file("a.img", 4<<20)
	s.file("b.img", 4<<20)
	// two files joined, so that requests cross a target boundary
	s.ok("", "create", "lin", "--table", "0 4096 linear a.img 2048\n4096 8192 linear b.img 0")
	srv := s.serve()
	tool(t, "qemu-img", "convert", "-n", "-f", "raw", "-O", "raw", filepath.Join(s.dir, "src.raw"), srv.url("lin"))
	out := filepath.Join(s.dir, "out.raw")
	tool(t, "qemu-img", "convert", "-f", "raw", "-O", "raw", srv.url("lin"), out)
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("qemu-img convert in and out: %d bytes differ from the %d written", countDiff(got, want), size)
	}
	a, _ := os.ReadFile(filepath.Join(s.dir, "a.img"))
	if !bytes.Equal(a[1<<20:3<<20], want[:2<<20]) {
		t.Fatal("a.img does not hold the device's first 2 MiB at its sector 2048")
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, srv.stderr)
	}
}

func countDiff(a, b []byte) int {
	if len(a) != len(b) {
		return max(len(a), len(b))
	}
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}

// thinPool assembles a pool over fresh metadata and data files and a thin
// device "thin" of lenSectors on it.
func (s *sandbox) thinPool(lenSectors int) {
	s.t.Helper()
	s.file("meta.img", 4<<20)
	s.file("data.img", 64<<20)
	s.ok("", "create", "pool", "--table", "0 131072 thin-pool meta.img data.img 128 0")
	s.ok("", "message", "pool", "0", "create_thin", "0")
	s.ok("", "create", "thin", "--table", fmt.Sprintf("0 %d thin /dev/mapper/pool 0", lenSectors))
}

// TestServeKillKeepsFlushedData writes and flushes through qemu-io, kills
// the server with SIGKILL and restarts it: the thin device's data is there.
// The stale control socket the killed server left does not stop the CLI.
func TestServeKillKeepsFlushedData(t *testing.T) {
	dmtest.Peer(t, "qemu-io")
	s := newSandbox(t)
	s.thinPool(16384)
	srv := s.serve()
	tool(t, "qemu-io", "-f", "raw", "-c", "write -P 0xab 1M 256k", "-c", "flush", srv.url("thin"))
	srv.kill()
	if _, err := os.Stat(filepath.Join(s.dir, "state", controlSocket)); err != nil {
		t.Fatalf("the killed server's socket: %v", err)
	}
	// no server: the CLI runs itself, past the stale socket
	got := s.ok("", "read", "thin", "--offset", "1M", "--length", "256K")
	if !bytes.Equal([]byte(got), bytes.Repeat([]byte{0xab}, 256<<10)) {
		t.Fatal("data written and flushed before SIGKILL is not on the thin device")
	}
	srv = s.serve()
	tool(t, "qemu-io", "-f", "raw", "-c", "read -P 0xab 1M 256k", "-c", "read -P 0 0 1M", srv.url("thin"))
	// trim gives the blocks back to the pool
	used := func() string { return strings.Fields(s.ok("", "status", "pool"))[5] }
	before := used()
	tool(t, "qemu-io", "-f", "raw", "-c", "discard 1M 256k", "-c", "flush", srv.url("thin"))
	if after := used(); after == before {
		t.Fatalf("pool used data blocks %s before and after a trim", before)
	}
}

// qemuIO is an interactive qemu-io connected to an export: a client that
// stays connected while the test runs commands.
type qemuIO struct {
	t     *testing.T
	cmd   *exec.Cmd
	in    io.WriteCloser
	lines chan string
}

func startQemuIO(t *testing.T, url string) *qemuIO {
	t.Helper()
	dmtest.Peer(t, "qemu-io")
	q := &qemuIO{t: t, cmd: exec.Command("qemu-io", "-f", "raw", url), lines: make(chan string, 100)}
	q.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var err error
	if q.in, err = q.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := q.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	q.cmd.Stderr = q.cmd.Stdout
	if err := q.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(serverLimit, func() { q.cmd.Process.Kill() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			q.lines <- sc.Text()
		}
		close(q.lines)
	}()
	t.Cleanup(func() { timer.Stop(); q.close() })
	return q
}

// do sends a qemu-io command line.
func (q *qemuIO) do(line string) {
	if _, err := io.WriteString(q.in, line+"\n"); err != nil {
		q.t.Fatal(err)
	}
}

// mustDo sends a qemu-io command line and fails the test unless an output
// line containing want follows within 20 s.
func (q *qemuIO) mustDo(line, want string) {
	q.t.Helper()
	q.do(line)
	if !q.expect(want, 20*time.Second) {
		q.t.Fatalf("qemu-io %q: no %q", line, want)
	}
}

// expect waits up to timeout for an output line containing want.
func (q *qemuIO) expect(want string, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-q.lines:
			if !ok {
				return false
			}
			if strings.Contains(l, want) {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func (q *qemuIO) close() {
	if q.in != nil {
		q.in.Close()
		q.in = nil
		q.cmd.Wait()
	}
}

// TestServeBusyExport: with a client connected, the device's open count
// shows it and remove is refused; two commands at once while the export is
// busy get the answers they get alone; suspend holds the client's I/O
// until resume.
func TestServeBusyExport(t *testing.T) {
	s := newSandbox(t)
	s.file("a.img", 8<<20)
	s.ok("", "create", "lin", "--table", "0 16384 linear a.img 0")
	srv := s.serve()
	q := startQemuIO(t, srv.url("lin"))
	q.mustDo("write -P 0x5a 0 1M", "wrote 1048576/1048576")
	s.expect(args("info lin"), "", info("lin", "ACTIVE", "LIVE", 1, 0, 0, 1, 256), "", 0)
	s.expect(args("remove lin"), "", "", "device-mapper: remove ioctl on lin  failed: Device or resource busy\nCommand failed.\n", 1)

	// keep the export busy (qemu-io takes one command line at a time) while
	// two commands run at once, many times
	busy := make(chan string, 1)
	go func() {
		for i := 0; i < 20; i++ {
			io.WriteString(q.in, fmt.Sprintf("write -P %d %d 1M\n", i, (i%8)<<20))
			if !q.expect("wrote 1048576/1048576", 30*time.Second) {
				busy <- fmt.Sprintf("qemu-io write %d did not complete", i)
				return
			}
		}
		busy <- ""
	}()
	var wg sync.WaitGroup
	results := make([]result, 2)
	for round := 0; round < 5; round++ {
		name := fmt.Sprintf("z%d", round)
		wg.Add(2)
		go func() { defer wg.Done(); results[0] = s.run("", "create", name, "--table", "0 8 zero") }()
		go func() { defer wg.Done(); results[1] = s.run("", "table", "lin") }()
		wg.Wait()
		if results[0].code != 0 || results[0].stdout != "" || results[0].stderr != "" {
			t.Fatalf("create %s while busy: %+v", name, results[0])
		}
		if want := "0 16384 linear " + filepath.Join(s.dir, "a.img") + " 0\n"; results[1].stdout != want || results[1].code != 0 {
			t.Fatalf("table while busy: %+v, want %q", results[1], want)
		}
	}
	if msg := <-busy; msg != "" {
		t.Fatalf("%s; server:\n%s", msg, srv.stacks())
	}

	// suspend holds the client's reads until resume
	s.ok("", "suspend", "lin")
	q.do("read -P 0x13 3M 4k")
	if q.expect("read 4096/4096", 700*time.Millisecond) {
		t.Fatal("a read went through a suspended device")
	}
	s.expect(args("info lin"), "", info("lin", "SUSPENDED", "LIVE", 1, 0, 0, 1, 256), "", 0)
	s.ok("", "resume", "lin")
	if !q.expect("read 4096/4096", 10*time.Second) {
		t.Fatal("the held read did not complete after resume")
	}
	q.close()
	// the client gone, remove works
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		r := s.run("", "remove", "lin")
		if r.code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("remove after the client left: %+v", r)
		}
	}
}

// TestServeFileModes: the state directory is 0700 (even if it was made
// wider), the control and NBD sockets 0600; a second server is refused.
func TestServeFileModes(t *testing.T) {
	s := newSandbox(t)
	if err := os.Mkdir(filepath.Join(s.dir, "state"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := s.serve()
	for path, want := range map[string]os.FileMode{
		filepath.Join(s.dir, "state"):                os.ModeDir | 0o700,
		filepath.Join(s.dir, "state", controlSocket): os.ModeSocket | 0o600,
		srv.sock: os.ModeSocket | 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	r := s.run("", "serve", "--socket", filepath.Join(s.dir, "other.sock"))
	if r.code != 1 || !strings.Contains(r.stderr, "a server already owns") {
		t.Fatalf("second serve: %+v", r)
	}
	if code := srv.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d\n%s", code, srv.stderr)
	}
	for _, p := range []string{filepath.Join(s.dir, "state", controlSocket), srv.sock} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after SIGTERM: %v", p, err)
		}
	}
}

// TestServeAnswersAsLocal runs the same command lines with and without a
// server, from the sandbox (relative table paths), with stdin: every
// stdout, stderr and exit code is the same.
func TestServeAnswersAsLocal(t *testing.T) {
	script := []struct {
		stdin string
		args  []string
	}{
		{"", args("create lin --table 0_2048_linear_a.img_0")},
		{"0 8 zero\n", args("create z")},
		{"", args("create fromfile t.table")},
		{"", args("create bad --table 0_8_linear_nosuch.img_0")},
		{"", args("create lin --table 0_8_zero")},
		{"hello through the server", args("write lin --offset 1000")},
		{"", args("read lin --offset 1000 --length 24")},
		{"", args("info")},
		{"", args("table")},
		{"", args("status --target linear")},
		{"", args("message lin 0 hello")},
		{"", args("ls --tree")},
		{"", args("deps lin")},
		{"", args("suspend z")},
		{"", args("info z -c")},
		{"", args("resume z")},
		{"", args("wait z 1")},
		{"", args("rename z zz")},
		{"", args("remove nosuch")},
		{"", args("remove_all")},
		{"", args("ls")},
		{"", args("info --bogus")},
	}
	runAll := func(s *sandbox) []string {
		s.file("a.img", 1<<20)
		s.file("f.img", 1<<20)
		if err := os.WriteFile(filepath.Join(s.dir, "t.table"), []byte("0 16 linear f.img 8\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range script {
			a := make([]string, len(c.args))
			for i, w := range c.args {
				a[i] = strings.ReplaceAll(w, "_", " ")
			}
			r := s.run(c.stdin, a...)
			out = append(out, strings.ReplaceAll(fmt.Sprintf("$ %s\n%s%s[%d]\n", strings.Join(a, " "), r.stdout, r.stderr, r.code), s.dir, "$DIR"))
		}
		return out
	}
	local := runAll(newSandbox(t))
	s := newSandbox(t)
	srv := s.serve()
	served := runAll(s)
	for i := range local {
		if local[i] != served[i] {
			t.Errorf("through the server:\n%s\nlocally:\n%s", served[i], local[i])
		}
	}
	if srv.stop() != 0 {
		t.Fatalf("server:\n%s", srv.stderr)
	}
}

// TestServeWaitLetsOthersRun: a wait forwarded to the server does not hold
// it; an event raised by I/O through the server ends the wait.
func TestServeWaitLetsOthersRun(t *testing.T) {
	s := newSandbox(t)
	s.file("a.img", 1<<20)
	s.ok("", "create", "st", "--table", "0 2048 striped 1 8 a.img 0")
	s.serve()
	waitForStripeError(t, s, func() { s.ok("", "ls") })
}

// TestServeHostileControlClients: garbage on the control socket gets the
// connection closed; the server goes on answering.
func TestServeHostileControlClients(t *testing.T) {
	s := newSandbox(t)
	srv := s.serve()
	ctl := filepath.Join(s.dir, "state", controlSocket)
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.0\r\n\r\n"),
		{frameRequest, 0xff, 0xff, 0xff, 0xff},
		{frameRequest, 0, 0, 0, 10, '{'},
		append([]byte{frameRequest, 0, 0, 0, 2}, "{}"...),
		append([]byte{frameRequest, 0, 0, 0, 27}, `{"args":["serve"],"cwd":"/"}`[:27]...),
		append([]byte{frameStdin, 0, 0, 0, 1}, 'x'),
	} {
		c, err := net.Dial("unix", ctl)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(junk)
		c.(*net.UnixConn).CloseWrite()
		c.SetReadDeadline(time.Now().Add(15 * time.Second))
		io.Copy(io.Discard, c)
		c.Close()
	}
	s.ok("", "ls")
	if srv.stop() != 0 {
		t.Fatalf("server:\n%s", srv.stderr)
	}
}

// TestServeTCP serves on a TCP port of the loopback.
func TestServeTCP(t *testing.T) {
	dmtest.Peer(t, "nbdinfo")
	s := newSandbox(t)
	s.ok("", "create", "z", "--table", "0 2048 zero")
	srv := s.serve("--listen", "127.0.0.1:0")
	if out := tool(t, "nbdinfo", "--size", "nbd://"+srv.tcpAddr()+"/z"); strings.TrimSpace(out) != "1048576" {
		t.Fatalf("nbdinfo --size over TCP: %q", out)
	}
}

// TestServeReloadAndDrain: reload + resume changes what a connected client
// reads; SIGTERM while a suspended device holds a client's read waits for
// it, control commands still run (resume), then the server exits 0.
func TestServeReloadAndDrain(t *testing.T) {
	s := newSandbox(t)
	s.file("a.img", 1<<20)
	if err := os.WriteFile(filepath.Join(s.dir, "b.img"), bytes.Repeat([]byte{0x42}, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	s.ok("", "create", "lin", "--table", "0 2048 linear a.img 0")
	srv := s.serve()
	q := startQemuIO(t, srv.url("lin"))
	q.mustDo("read -P 0 0 64k", "read 65536/65536")
	s.ok("", "reload", "lin", "--table", "0 2048 linear b.img 0")
	s.ok("", "resume", "lin")
	q.mustDo("read -P 0x42 0 64k", "read 65536/65536")
	s.ok("", "suspend", "lin")
	q.do("read -P 0x42 4k 4k")
	time.Sleep(200 * time.Millisecond)
	srv.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	select {
	case <-srv.done:
		t.Fatalf("the server exited with a read held by a suspended device:\n%s", srv.stderr)
	default:
	}
	s.ok("", "resume", "lin")
	if !q.expect("read 4096/4096", 10*time.Second) {
		t.Fatal("the held read did not complete")
	}
	select {
	case <-srv.done:
		if code := srv.cmd.ProcessState.ExitCode(); code != 0 {
			t.Fatalf("exit %d:\n%s", code, srv.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the server did not stop after the drain:\n%s", srv.stacks())
	}
}

// TestServeKillKeepsControlChanges: commands run through the server are
// saved when they end, so a server killed with SIGKILL loses none of them.
func TestServeKillKeepsControlChanges(t *testing.T) {
	s := newSandbox(t)
	srv := s.serve()
	s.ok("", "create", "z", "--table", "0 8 zero")
	s.ok("", "create", "gone", "--table", "0 8 zero")
	s.ok("", "remove", "gone")
	s.ok("", "rename", "z", "zz")
	srv.kill()
	s.expect(args("ls"), "", "zz\t(253:0)\n", "", 0)
}
