package dmtest

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Peer returns the path of the peer binary name (era_check, integritysetup),
// skipping the test when it is not installed, or failing it when CI=true.
func Peer(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// RunPeer runs the peer binary name (see Peer) with args and returns its
// stdout; a failure to run or a non-zero exit fails the test with its
// output.
func RunPeer(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(Peer(t, name), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}
