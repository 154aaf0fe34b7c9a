package table

import (
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// dmsetupStructureMessages are the messages dmsetup's create --concise
// prints before it talks to the kernel.
var dmsetupStructureMessages = []string{msgFiveFields, msgIncomplete, msgBackslash, "Invalid flags parameter '"}

// kernelReached is the start of what dmsetup prints when a device entry got
// past its own checks and it tried the kernel, which is absent here.
const kernelReached = "/dev/mapper/control"

// peerDmsetup returns the dmsetup binary, or skips the test: when it is
// missing (a failure with CI=true), and when a device-mapper driver answers,
// because then the valid devices of the cases would really be created.
func peerDmsetup(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("dmsetup")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("dmsetup not installed (CI=true): %v", err)
		}
		t.Skipf("dmsetup not installed: %v", err)
	}
	out, _ := runBounded(t, path, "version")
	if strings.Contains(out, "Driver version") {
		t.Skip("a device-mapper driver is present: comparing would create real devices")
	}
	return path
}

// runBounded runs a command for at most 10 seconds and returns its output.
func runBounded(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// dmsetupVerdict runs `dmsetup create --concise text` and returns the
// structure message it stopped at, or kernelReached.
func dmsetupVerdict(t *testing.T, dmsetup, text string) string {
	out, err := runBounded(t, dmsetup, "create", "--concise", "--", text)
	if err == nil {
		return "" // nothing to create: an empty list
	}
	for _, line := range strings.Split(out, "\n") {
		for _, m := range append(dmsetupStructureMessages, kernelReached) {
			if strings.HasPrefix(line, m) && m == kernelReached {
				return m
			}
			if strings.HasPrefix(line, m) {
				return line
			}
		}
	}
	t.Fatalf("dmsetup create --concise %q: unrecognised output:\n%s", text, out)
	return ""
}

// ourVerdict is what ParseConcise says in dmsetup's terms: the message of
// an error dmsetup also checks for in the first device, else kernelReached
// (dmsetup would go on to the kernel with the first device), or "" for an
// empty list.
func ourVerdict(text string) string {
	devs, err := ParseConcise(text)
	cerr, _ := err.(*ConciseError)
	switch {
	case cerr != nil && cerr.Device == 1 && cerr.Err == nil && !strings.HasPrefix(cerr.Msg, "Invalid minor"):
		return cerr.Msg
	case err == nil && len(devs) == 0:
		return ""
	default:
		return kernelReached
	}
}

// TestConciseAgainstDmsetup feeds the same concise lists to the real
// dmsetup (which stops at its own checks, or at the missing kernel) and to
// ParseConcise, and requires the same verdict for the first device.
func TestConciseAgainstDmsetup(t *testing.T) {
	dmsetup := peerDmsetup(t)
	cases := append([]string{}, conciseSeeds...)
	cases = append(cases, "a", " ", ";", "a,b,", "a,,,,", "a,,,, \t", "a,,,,;", "a,,,x", "a,,,x,0",
		"a,,,rw,0 1 zero,;", `a,,,,0 1 t x\,;`, `a\,,,,,0 1 zero`, "a,,,,0 1 zero;;", "a,,,,0 1 zero\n")
	r := rand.New(rand.NewPCG(5, 6))
	n := 150
	if testing.Short() {
		n = 30
	}
	for i := 0; i < n; i++ {
		cases = append(cases, mutateConcise(r, FormatConcise([]ConciseDevice{randDevice(r)})))
	}
	for _, text := range cases {
		if strings.IndexByte(text, 0) >= 0 {
			continue // cannot be passed as an argument
		}
		theirs := dmsetupVerdict(t, dmsetup, text)
		ours := ourVerdict(text)
		if theirs != ours {
			t.Errorf("concise %q: dmsetup says %q, ParseConcise says %q", text, theirs, ours)
		}
	}
}

// mutateConcise damages a valid concise list a little: drops, doubles or
// inserts a separator, escape or blank, or truncates it.
func mutateConcise(r *rand.Rand, text string) string {
	b := []byte(text)
	for n := r.IntN(3); n > 0 && len(b) > 0; n-- {
		i := r.IntN(len(b))
		switch r.IntN(4) {
		case 0:
			b = append(b[:i], b[i+1:]...)
		case 1:
			b = append(b[:i], append([]byte{",;\\ x"[r.IntN(5)]}, b[i:]...)...)
		case 2:
			b = b[:i]
		default:
			b[i] = ",;\\ r"[r.IntN(5)]
		}
	}
	return string(b)
}
