package dmtest

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A crash test runs a child process (a test of the same binary) that
// writes to a device and logs what it does in DIR/log, kills it with
// SIGKILL at a random moment, and checks what the devices hold against the
// log. The child logs "W K KEY" before its write number K to KEY (a block
// or a sector; no KEY is written twice) and "F FIRST NEXT" after a flush
// that covers its writes FIRST to NEXT-1.

// CrashChild is a running crash-test child.
type CrashChild struct {
	cmd    *exec.Cmd
	exited chan error
	out    bytes.Buffer
}

// StartCrashChild starts the test binary's test named test with the
// environment variable env set to "DIR FIRST" (FIRST: the number of its
// first write) and waits until the child reports it has started
// (CrashStarted): at once, with the child's output, it fails the test if
// the child exits first, and after 30 s.
func StartCrashChild(t testing.TB, test, env, dir string, first int) *CrashChild {
	t.Helper()
	c := &CrashChild{exited: make(chan error, 1)}
	c.cmd = exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	c.cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d", env, dir, first))
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.exited <- c.cmd.Wait() }()
	started := filepath.Join(dir, "started")
	deadline := time.After(30 * time.Second)
	for os.Remove(started) != nil {
		select {
		case err := <-c.exited:
			t.Fatalf("the child exited before it started (%v):\n%s", err, &c.out)
		case <-deadline:
			c.Kill()
			t.Fatalf("the child did not start in 30 s:\n%s", &c.out)
		case <-time.After(time.Millisecond):
		}
	}
	return c
}

// Kill ends the child with SIGKILL and waits for it.
func (c *CrashChild) Kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.exited
}

// CrashChildArgs is the child's side of StartCrashChild: the directory and
// the number of its first write, from env ("" when the test does not run
// as a child).
func CrashChildArgs(env string) (dir string, first int, ok bool) {
	spec := os.Getenv(env)
	if spec == "" {
		return "", 0, false
	}
	fmt.Sscanf(spec, "%s %d", &dir, &first)
	return dir, first, true
}

// CrashLogger is the child's log.
type CrashLogger struct {
	f     *os.File
	first int
}

// OpenCrashLog opens dir's log for a child whose first write is first.
func OpenCrashLog(t testing.TB, dir string, first int) *CrashLogger {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return &CrashLogger{f: f, first: first}
}

// Started tells the parent waiting in StartCrashChild that the device is
// built and the writes begin.
func (l *CrashLogger) Started(t testing.TB) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(filepath.Dir(l.f.Name()), "started"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Write logs write k to key; call it before the write.
func (l *CrashLogger) Write(k int, key uint64) { fmt.Fprintf(l.f, "W %d %d\n", k, key) }

// Flushed logs a flush after this child's writes up to next-1.
func (l *CrashLogger) Flushed(next int) { fmt.Fprintf(l.f, "F %d %d\n", l.first, next) }

// CrashLog is what the children logged so far.
type CrashLog struct {
	Written map[uint64]int // key -> the one write logged for it
	Durable map[int]bool   // writes a flush of their own child covered
	Next    int            // the number the next child's first write takes
}

// ReadCrashLog reads dir's log.
func ReadCrashLog(t testing.TB, dir string) *CrashLog {
	t.Helper()
	l := &CrashLog{Written: map[uint64]int{}, Durable: map[int]bool{}}
	f, err := os.Open(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) != 3 {
			continue
		}
		a, _ := strconv.Atoi(w[1])
		switch w[0] {
		case "W":
			key, _ := strconv.ParseUint(w[2], 10, 64)
			l.Written[key] = a
			l.Next = max(l.Next, a+1)
		case "F":
			to, _ := strconv.Atoi(w[2])
			for k := a; k < to; k++ {
				l.Durable[k] = true
			}
		}
	}
	return l
}
