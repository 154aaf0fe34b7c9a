package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// binary is the gdmsetup built once for the tests that run it as a user does.
var binary string

func TestMain(m *testing.M) {
	if slices.ContainsFunc(os.Args[1:], func(a string) bool { return strings.HasPrefix(a, "-test.fuzzworker") }) {
		// a fuzz worker runs fuzz functions only: no binary to build
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "gdmsetup-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gdmsetup")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		os.Stderr.Write(out)
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// sandbox is a temporary working directory with its own state directory.
// Commands run in the C locale, with env added last.
type sandbox struct {
	t   *testing.T
	dir string
	env []string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	return &sandbox{t: t, dir: t.TempDir()}
}

// file makes a sparse file of size bytes in the sandbox and returns its path.
func (s *sandbox) file(name string, size int64) string {
	s.t.Helper()
	p := filepath.Join(s.dir, name)
	f, err := os.Create(p)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		s.t.Fatal(err)
	}
	f.Close()
	return p
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the built gdmsetup in the sandbox with stdin, bounded in time.
func (s *sandbox) run(stdin string, args ...string) result {
	s.t.Helper()
	cmd := exec.Command(binary, append([]string{"--dir", filepath.Join(s.dir, "state")}, args...)...)
	cmd.Dir = s.dir
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1", "LC_ALL=C"), s.env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

// ok runs a command that must succeed and returns its stdout.
func (s *sandbox) ok(stdin string, args ...string) string {
	s.t.Helper()
	r := s.run(stdin, args...)
	if r.code != 0 {
		s.t.Fatalf("gdmsetup %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// expect runs a command and compares stdout, stderr and the exit code exactly.
func (s *sandbox) expect(args []string, stdin, stdout, stderr string, code int) {
	s.t.Helper()
	r := s.run(stdin, args...)
	if r.stdout != stdout || r.stderr != stderr || r.code != code {
		s.t.Errorf("gdmsetup %s:\n got stdout %q\nwant stdout %q\n got stderr %q\nwant stderr %q\n got exit %d, want %d",
			strings.Join(args, " "), r.stdout, stdout, r.stderr, stderr, r.code, code)
	}
}

// state returns the saved registry, to show a failed command changed nothing.
func (s *sandbox) state() string {
	s.t.Helper()
	b, err := os.ReadFile(filepath.Join(s.dir, "state", "devices.json"))
	if err != nil && !os.IsNotExist(err) {
		s.t.Fatal(err)
	}
	return string(b)
}

func args(s string) []string { return strings.Fields(s) }
