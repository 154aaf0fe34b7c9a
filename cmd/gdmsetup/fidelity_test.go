package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// publicScenarios are the ../shared/fidelity scenarios whose targets
// gdmsetup builds; testdata/fidelity holds more (thin block sizes, discards,
// out of space, read-only pools, metadata snapshots, snapshot chains,
// external origins, clone extras) with the real kernel's transcripts,
// captured with that harness (see testdata/fidelity/README.md).
var publicScenarios = []string{"basic", "thin", "clone"}

// TestFidelity runs the fidelity harness's compare.sh --strict on every
// scenario: gdmsetup and the real kernel (cached output of Linux 6.1 in
// qemu) side by side, each line identical, trailing spaces included. The
// harness is copied into a temporary directory with our scenarios' kernel
// transcripts added, so ../shared stays untouched.
func TestFidelity(t *testing.T) {
	shared, err := filepath.Abs("../../../shared/fidelity")
	if err == nil {
		_, err = os.Stat(filepath.Join(shared, "compare.sh"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the fidelity harness is missing beside the repository: %v", err)
		}
		t.Skipf("no fidelity harness beside the repository: %v", err)
	}
	harness := filepath.Join(t.TempDir(), "fidelity")
	if out, err := exec.Command("cp", "-r", shared, harness).CombinedOutput(); err != nil {
		t.Fatalf("copying the harness: %v\n%s", err, out)
	}
	ours, err := filepath.Glob("../../testdata/fidelity/*.scn")
	if err != nil || len(ours) == 0 {
		t.Fatalf("no scenarios in testdata/fidelity: %v", err)
	}
	expected, _ := filepath.Glob("../../testdata/fidelity/expected/*.kernel.*")
	args := append([]string{"-r"}, expected...)
	if out, err := exec.Command("cp", append(args, filepath.Join(harness, "expected"))...).CombinedOutput(); err != nil {
		t.Fatalf("copying the kernel transcripts: %v\n%s", err, out)
	}
	scenarios := append([]string{}, publicScenarios...)
	for _, p := range ours {
		abs, _ := filepath.Abs(p)
		scenarios = append(scenarios, abs)
	}
	for _, s := range scenarios {
		name := strings.TrimSuffix(filepath.Base(s), ".scn")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(filepath.Join(harness, "compare.sh"), "--strict", s)
			cmd.Dir = harness
			cmd.Env = append(os.Environ(), "GDMSETUP="+binary)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("compare.sh --strict %s: %v\n%s", name, err, out)
			}
			t.Logf("%s", out)
		})
	}
}
