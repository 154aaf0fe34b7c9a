package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// fidelityScenarios are the ../shared/fidelity scenarios whose targets
// gdmsetup builds; each must match the real kernel's cached transcript line
// for line, trailing spaces included.
var fidelityScenarios = []string{"basic", "thin", "clone"}

// TestFidelity runs ../shared/fidelity/compare.sh --strict: gdmsetup and
// the real kernel (cached output of Linux 6.1 in qemu) side by side.
func TestFidelity(t *testing.T) {
	dir, err := filepath.Abs("../../../shared/fidelity")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "compare.sh"))
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the fidelity harness is missing beside the repository: %v", err)
		}
		t.Skipf("no fidelity harness beside the repository: %v", err)
	}
	for _, name := range fidelityScenarios {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(dir, "compare.sh"), "--strict", name)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GDMSETUP="+binary)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("compare.sh --strict %s: %v\n%s", name, err, out)
			}
			t.Logf("%s", out)
		})
	}
}
