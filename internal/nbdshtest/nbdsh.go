// Package nbdshtest runs libnbd's nbdsh against a server under test: scripts that send
// requests (hostile ones too, with h.set_strict_mode(0)) and print one line per outcome.
package nbdshtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// Prelude defines try_(name, f) for scripts: it runs f and prints "name ok", or
// "name errno N" when f raises nbd.Error.
const Prelude = `
def try_(name, f):
    try:
        f()
        print(name, "ok")
    except nbd.Error as e:
        print(name, "errno", e.errnum)
`

// python is a python3 that imports libnbd's module, which nbdsh (`python3 -m nbd`) needs: the
// first python3 on PATH may be another one (pyenv's). It skips the test when there is none,
// unless CI=true.
func python(t testing.TB) string {
	t.Helper()
	dmtest.Peer(t, "nbdsh")
	var candidates []string
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, p := range append(candidates, "/usr/bin/python3") {
		if exec.Command(p, "-c", "import nbd").Run() == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no python3 with libnbd's nbd module (CI=true)")
	}
	t.Skip("no python3 with libnbd's nbd module")
	return ""
}

// Run runs nbdsh connected to uri with Prelude then script, bounded to 60 s, and returns its
// output lines; a failure to run or a non-zero exit fails the test.
func Run(t testing.TB, uri, script string) []string {
	t.Helper()
	py := python(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nbdsh", "-u", uri, "-c", Prelude+script)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(py)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nbdsh %s: %v\n%s", uri, err, out)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

// Expect runs script as Run does and fails the test unless its output is exactly want.
func Expect(t testing.TB, uri, script string, want ...string) {
	t.Helper()
	if got := Run(t, uri, script); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("nbdsh %s: got\n%s\nwant\n%s", uri, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
