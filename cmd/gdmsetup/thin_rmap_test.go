package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/fixture"
)

// rmapSnapshotXML is a pool of an origin (device 0, virtual blocks 0-2999 on
// data blocks 0-2999), six snapshots of it that each rewrote every
// (37d+11)th block to a data block of their own, and device 9 mapping its
// blocks scattered over the origin's: most data blocks are shared, so the
// reverse map has many runs starting at the same data block.
func rmapSnapshotXML() string {
	const n = 3000
	var b strings.Builder
	b.WriteString(`<superblock uuid="" time="7" transaction="9" flags="0" version="2" data_block_size="128" nr_data_blocks="6000">` + "\n")
	own := uint64(n)
	for dev := 0; dev <= 9; dev++ {
		if dev > 6 && dev < 9 {
			continue
		}
		fmt.Fprintf(&b, `  <device dev_id="%d" mapped_blocks="%d" transaction="%d" creation_time="%d" snap_time="7">`+"\n", dev, n, dev, dev)
		for v := uint64(0); v < n; v++ {
			data := v
			switch {
			case dev == 9:
				data = v * 7 % n
			case dev > 0 && v%uint64(37*dev+11) == uint64(dev):
				data = own
				own++
			}
			fmt.Fprintf(&b, `    <single_mapping origin_block="%d" data_block="%d" time="%d"/>`+"\n", v, data, dev)
		}
		b.WriteString("  </device>\n")
	}
	b.WriteString("</superblock>\n")
	return b.String()
}

// runTool runs a peer tool and returns its exit code, stdout and stderr.
func runTool(t *testing.T, tool string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(tool, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return ee.ExitCode(), out.String(), errb.String()
	}
	return 0, out.String(), errb.String()
}

// regionArgs returns --region B..E for each pair.
func regionArgs(pairs ...uint64) []string {
	var args []string
	for i := 0; i+1 < len(pairs); i += 2 {
		args = append(args, "--region", fmt.Sprintf("%d..%d", pairs[i], pairs[i+1]))
	}
	return args
}

// compareRmap runs thin_rmap and `thin rmap` with args and fails on any
// difference in exit code or stdout; it returns the output.
func compareRmap(t *testing.T, tool string, args []string) string {
	t.Helper()
	wantCode, wantOut, wantErr := runTool(t, tool, args...)
	code, out, errs := thinSuite.runT(t, append([]string{"rmap"}, args...)...)
	if code != wantCode || out != wantOut {
		t.Fatalf("%q: exit %d, stderr %q, stdout:\n%s\nthin_rmap: exit %d, stderr %q, stdout:\n%s", args, code, errs, out, wantCode, wantErr, wantOut)
	}
	return out
}

// tiedLines counts output lines whose data block range starts where the
// previous line's does.
func tiedLines(out string) int {
	ties, prev := 0, ""
	for _, l := range strings.Split(out, "\n") {
		begin, _, _ := strings.Cut(l, "..")
		if begin == prev && l != "" {
			ties++
		}
		prev = begin
	}
	return ties
}

func TestThinRmapSnapshotsAsThinRmap(t *testing.T) {
	tool := thinTool(t, "thin_rmap")
	meta := restoreThinXML(t, rmapSnapshotXML())
	before, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	var many []uint64
	for i := uint64(0); i < 40; i++ {
		many = append(many, 70*i, 70*i+50)
	}
	for _, c := range []struct {
		name    string
		regions []uint64
		minTies int
	}{
		{"whole pool", []uint64{0, 6000}, 150},
		{"40 regions", many, 40 * 6},
		{"overlapping", []uint64{5, 100, 50, 200, 150, 151, 199, 260}, 15},
		{"snapshots' own blocks", []uint64{3000, 3100}, 0},
		{"unmapped", []uint64{5000, 6000}, 0},
		{"one block", []uint64{1234, 1235}, 6},
	} {
		out := compareRmap(t, tool, append(regionArgs(c.regions...), meta))
		if ties := tiedLines(out); ties < c.minTies {
			t.Errorf("%s: %d tied lines, want at least %d (the test lost its point)", c.name, ties, c.minTies)
		}
	}
	if after, _ := os.ReadFile(meta); !bytes.Equal(after, before) {
		t.Fatal("thin rmap changed the metadata file")
	}
}

func TestThinRmapKernelMetadataAsThinRmap(t *testing.T) {
	tool := thinTool(t, "thin_rmap")
	meta := fixture.Unxz(t, "thin_meta")
	img, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	for _, regions := range [][]uint64{{0, 1024}, {1, 5}, {3, 4, 19, 21}, {18, 19, 0, 2}} {
		compareRmap(t, tool, append(regionArgs(regions...), meta))
	}
	if after, _ := os.ReadFile(meta); !bytes.Equal(after, img) {
		t.Fatal("thin rmap changed the metadata file")
	}
}

func TestThinRmapRegionsAsThinRmap(t *testing.T) {
	tool := thinTool(t, "thin_rmap")
	_, meta := restoredThinMeta(t)
	for _, region := range []string{
		"0..10", " 5..10", "+5..10", "5.. 10", "5..10junk", "5..-1", "0005..0010", "1999..2001",
		"5", "5-10", "..5", "5.", "5..", "5..x", "10..5", "5..5", "x..5", "-1..5", "5 ..10",
		"99999999999999999999..1", "1..99999999999999999999", "0x5..10", "", "5.x", "+..5",
	} {
		wantCode, wantOut, wantErr := runTool(t, tool, "--region", region, meta)
		code, out, errs := thinSuite.runT(t, "rmap", "--region", region, meta)
		if code != wantCode || out != wantOut {
			t.Errorf("--region %q: exit %d, stdout %q; thin_rmap: exit %d, stdout %q", region, code, out, wantCode, wantOut)
		}
		if wantErr != "" && !strings.HasSuffix(errs, ": "+wantErr+"\n") || wantErr == "" && errs != "" {
			t.Errorf("--region %q: stderr %q; thin_rmap's %q", region, errs, wantErr)
		}
	}
	for _, c := range []struct {
		args []string
		line string // thin_rmap's first line on stderr
	}{
		{[]string{"--region", "1..2"}, "No input file provided."},
		{[]string{meta}, "No regions provided."},
	} {
		wantCode, _, wantErr := runTool(t, tool, c.args...)
		code, _, errs := thinSuite.runT(t, append([]string{"rmap"}, c.args...)...)
		if first, _, _ := strings.Cut(wantErr, "\n"); first != c.line || code != wantCode || !strings.HasPrefix(errs, "gdmsetup thin rmap: "+c.line+"\n") {
			t.Errorf("%q: exit %d, stderr %q; thin_rmap: exit %d, stderr %q", c.args, code, errs, wantCode, wantErr)
		}
	}
}

func TestThinRmapRefusals(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte{0xa5}, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	expectThinRefusals(t, "rmap", garbage, []thinRefusal{
		{"--region 0..5 " + filepath.Join(dir, "missing"), 1, "no such file"},
		{"--region 0..5 META", 1, "superblock"},
		{"--bogus x", 1, "gdmsetup thin rmap: unrecognized option '--bogus'"},
		{"--region", 1, "gdmsetup thin rmap: option '--region' requires an argument"},
	})
	if code, out, _ := thinSuite.runT(t, "rmap", "-h"); code != 0 || !strings.Contains(out, "<begin>..<one-past-the-end>") {
		t.Errorf("rmap -h: exit %d\n%s", code, out)
	}
}
