package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/fixture"
)

// The kernel's thin fixture keeps device 0's mappings in block 41 and device 1's in
// block 59 (one leaf each); blocks 90 and 92 are the live details and top-level roots.
const fixtureDev0Leaf, fixtureDev1Leaf = 41, 59

// damagedFixture copies the kernel's thin metadata fixture into a new directory with
// the blocks given zeroed, and returns its path.
func damagedFixture(t *testing.T, zeroed ...int64) string {
	t.Helper()
	img, err := os.ReadFile(fixture.Unxz(t, "thin_meta"))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range zeroed {
		clear(img[b*4096 : (b+1)*4096])
	}
	meta := filepath.Join(t.TempDir(), "meta")
	if err := os.WriteFile(meta, img, 0o600); err != nil {
		t.Fatal(err)
	}
	return meta
}

// fixtureDump is what thin_dump printed for the kernel's fixture (oracle expected/).
func fixtureDump(t *testing.T) string {
	t.Helper()
	want, err := os.ReadFile(filepath.Join(fixture.Oracle(t), "expected", "thin.host-thin_dump.xml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(want)
}

// newMetaOutput creates an empty 4 MiB file for a repair to write.
func newMetaOutput(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, make([]byte, 4<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestThinRepairMatchesThinRepair(t *testing.T) {
	repair, dump, check := thinTool(t, "thin_repair"), thinTool(t, "thin_dump"), thinTool(t, "thin_check")
	meta := damagedFixture(t, fixtureDev1Leaf)
	theirs, ours := newMetaOutput(t, "theirs"), newMetaOutput(t, "ours")
	if out, err := exec.Command(repair, "-i", meta, "-o", theirs).CombinedOutput(); err != nil {
		t.Fatalf("thin_repair: %v\n%s", err, out)
	}
	if code, out, errs := thinSuite.runT(t, "repair", "-i", meta, "-o", ours); code != 0 || out != "" || errs != "" {
		t.Fatalf("repair: exit %d %q %q", code, out, errs)
	}
	if out, err := exec.Command(check, ours).CombinedOutput(); err != nil {
		t.Fatalf("thin_check of our repair: %v\n%s", err, out)
	}
	want, err1 := exec.Command(dump, theirs).Output()
	got, err2 := exec.Command(dump, ours).Output()
	if err1 != nil || err2 != nil || !bytes.Equal(got, want) {
		t.Fatalf("thin_dump of our repair (%v):\n%s\nof thin_repair's (%v):\n%s", err2, got, err1, want)
	}
	if !strings.Contains(string(got), `<device dev_id="1" mapped_blocks="0"`) {
		t.Fatalf("device 1's lost mappings are still counted:\n%s", got)
	}
}

// TestThinRepairLostSuperblock: the fixture with its superblock zeroed is recovered
// whole given the old superblock's fields (thin_repair 0.9.0 crashes on it).
func TestThinRepairLostSuperblock(t *testing.T) {
	meta := damagedFixture(t, 0)
	out := newMetaOutput(t, "new")
	before, _ := os.ReadFile(out)
	code, _, errs := thinSuite.runT(t, "repair", "-i", meta, "-o", out)
	if code != 1 || !strings.Contains(errs, "superblock: transaction id") {
		t.Fatalf("repair without overrides: exit %d %q", code, errs)
	}
	if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
		t.Fatal("a refused repair wrote to its output")
	}
	if code, _, errs := thinSuite.runT(t, "repair", "-i", meta, "-o", out, "--transaction-id", "2", "--data-block-size", "128", "--nr-data-blocks", "1024"); code != 0 {
		t.Fatalf("repair: exit %d %s", code, errs)
	}
	if out, err := exec.Command(thinTool(t, "thin_check"), out).CombinedOutput(); err != nil {
		t.Fatalf("thin_check of the repair: %v\n%s", err, out)
	}
	got, err := exec.Command(thinTool(t, "thin_dump"), out).Output()
	if err != nil || string(got) != fixtureDump(t) {
		t.Fatalf("thin_dump of the repair (%v):\n%s\nbefore the loss:\n%s", err, got, fixtureDump(t))
	}
}

func TestThinRepairRefusals(t *testing.T) {
	meta := damagedFixture(t, fixtureDev1Leaf)
	out := newMetaOutput(t, "new")
	missing := filepath.Join(t.TempDir(), "missing")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"repair", "-o", out}, 1, "no input file provided"},
		{[]string{"repair", "-i", meta}, 1, "No output file provided."},
		{[]string{"repair", "-i", meta, "-o", out, "extra"}, 1, `unexpected argument "extra"`},
		{[]string{"repair", "-i", meta, "-o", missing}, 1, "it must exist"},
		{[]string{"repair", "-i", missing, "-o", out}, 1, missing},
		{[]string{"repair", "-i", meta, "-o", meta}, 1, "are the same file"},
		{[]string{"repair", "-i", meta, "-o", out, "--transaction-id", "x"}, 1, "Couldn't parse transaction id: 'x'"},
		{[]string{"repair", "-i", meta, "-o", out, "--data-block-size", "4294967296"}, 1, "data block size must not be zero"}, // the low 32 bits, as thin_repair's cast
		{[]string{"dump", "--repair", "-m", meta}, 1, "it takes no -m, --dev-id or --skip-mappings"},
		{[]string{"dump", "-r", "--dev-id", "0", meta}, 1, "it takes no -m, --dev-id or --skip-mappings"},
		{[]string{"dump", "-f", "yaml", meta}, 1, "unknown format 'yaml'"},
		{[]string{"dump", "--format=custom=libx.so", meta}, 1, "loads no emitter libraries"},
		{[]string{"dump", "--dev-id", "x", meta}, 1, `couldn't parse <dev-id> "x"`},
	} {
		before, _ := os.ReadFile(out)
		code, stdout, errs := thinSuite.runT(t, c.args...)
		if code != c.code || stdout != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, stdout, errs, c.code, c.want)
		}
		if after, _ := os.ReadFile(out); !bytes.Equal(before, after) {
			t.Errorf("%q wrote to the output", c.args)
		}
	}
}
