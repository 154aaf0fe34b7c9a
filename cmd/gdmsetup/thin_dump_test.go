package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestThinDumpMatchesThinDump runs thin_dump's options on the kernel's fixture, intact
// or with a leaf lost, with both tools.
func TestThinDumpMatchesThinDump(t *testing.T) {
	tool := thinTool(t, "thin_dump")
	for _, c := range []struct {
		name   string
		zeroed []int64
		args   string
	}{
		{"intact", nil, "--repair"},
		{"intact", nil, "-f human_readable"},
		{"intact", nil, "-fhuman_readable --dev-id=1"},
		{"intact", nil, "--format human_readable --skip-mappings"},
		{"intact", nil, "--dev-id 1"},
		{"intact", nil, "--dev-id 1 --dev-id 0 --dev-id 7"},
		{"intact", nil, "--dev-id 7"},
		{"intact", nil, "--skip-mappings --dev-id 0"},
		{"intact", nil, "--transaction-id 9 --data-block-size 1024"},
		{"device 1's leaf lost", []int64{fixtureDev1Leaf}, "-r -f human_readable --nr-data-blocks 5"},
		{"device 0's leaf lost", []int64{fixtureDev0Leaf}, "--repair"},
		{"device 1's leaf lost", []int64{fixtureDev1Leaf}, "-r"},
		{"both leaves lost, overrides", []int64{fixtureDev0Leaf, fixtureDev1Leaf}, "--repair --transaction-id 9 --nr-data-blocks 77 --data-block-size 256"},
	} {
		meta := damagedFixture(t, c.zeroed...)
		args := strings.Fields(c.args)
		want, err := exec.Command(tool, append(args, meta)...).Output()
		if err != nil {
			t.Fatalf("%s: thin_dump %s: %v", c.name, c.args, err)
		}
		code, got, errs := thinSuite.runT(t, append(append([]string{"dump"}, args...), meta)...)
		if code != 0 || got != string(want) {
			t.Errorf("%s: dump %s: exit %d %s\n%s\nthin_dump:\n%s", c.name, c.args, code, errs, got, want)
		}
		if c.zeroed != nil && got == fixtureDump(t) && !strings.Contains(c.args, "human") {
			t.Errorf("%s: the damage changed nothing", c.name)
		}
	}
	// -o writes the same bytes to a file.
	meta := damagedFixture(t, fixtureDev1Leaf)
	out := filepath.Join(t.TempDir(), "out.xml")
	_, want, _ := thinSuite.runT(t, "dump", "--repair", meta)
	if code, _, errs := thinSuite.runT(t, "dump", "--repair", "-o", out, meta); code != 0 {
		t.Fatalf("dump --repair -o: %s", errs)
	}
	if got, _ := os.ReadFile(out); string(got) != want {
		t.Fatalf("dump --repair -o wrote:\n%s\nwant:\n%s", got, want)
	}
}
