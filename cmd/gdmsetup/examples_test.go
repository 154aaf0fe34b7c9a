package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExamples runs every script in examples/ with the built binary: the
// thin-provisioning.rst cookbook, the recovery of a thin volume from the
// kernel's images and the incremental backup (which compares its result with
// the snapshot it backed up) must run as written.
func TestExamples(t *testing.T) {
	scripts, _ := filepath.Glob("../../examples/*.sh")
	if len(scripts) == 0 {
		t.Fatal("no examples found")
	}
	for _, script := range scripts {
		t.Run(filepath.Base(script), func(t *testing.T) {
			cmd := exec.Command("bash", script)
			cmd.Env = append(os.Environ(), "GDMSETUP="+binary)
			timer := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
			defer timer.Stop()
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", script, err, out)
			}
			if strings.Contains(string(out), "Command failed.") {
				t.Fatalf("%s printed a failure:\n%s", script, out)
			}
		})
	}
}
