package main

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// TestThinDeltaMatchesThinDelta compares `thin delta` with the real thin_delta,
// byte for byte, for every ordered pair of devices (a device with itself too) of
// random snapshot pools, merged and --verbose.
func TestThinDeltaMatchesThinDelta(t *testing.T) {
	tool := thinTool(t, "thin_delta")
	compared := 0
	for seed := range int64(2) {
		meta := restoreThinXML(t, randomThinXML(seed, 4))
		for a := range 4 {
			for b := range 4 {
				for _, verbose := range []string{"", "--verbose"} {
					args := strings.Fields(fmt.Sprintf("--snap1 %d --thin2 %d %s", a, b, verbose))
					want, err := exec.Command(tool, append(args, meta)...).Output()
					if err != nil {
						t.Fatalf("thin_delta %v: %v", args, err)
					}
					code, got, errs := thinSuite.runT(t, append(append([]string{"delta"}, args...), meta)...)
					if code != 0 || got != string(want) {
						t.Fatalf("seed %d, delta %v: exit %d %s\n got:\n%s\nwant:\n%s", seed, args, code, errs, got, want)
					}
					compared++
				}
			}
		}
	}
	t.Logf("%d outputs identical to thin_delta's", compared)
}

// TestThinDeltaMetadataSnap builds a pool with the CLI, holds a metadata snapshot,
// writes on, and compares delta of the live metadata and of the snapshot (-m, -mBLOCK,
// --metadata-snap=BLOCK) with thin_delta; a wrong block and a pool without a
// snapshot are refused.
func TestThinDeltaMetadataSnap(t *testing.T) {
	tool := thinTool(t, "thin_delta")
	s := newSandbox(t)
	meta, data := s.file("meta.img", 4<<20), s.file("data.img", 64<<20)
	s.ok("", "create", "pool", "--table", "0 131072 thin-pool "+meta+" "+data+" 128 0")
	s.ok("", "message", "pool", "0", "create_thin 0")
	s.ok("", "create", "t0", "--table", "0 65536 thin /dev/mapper/pool 0")
	s.ok(strings.Repeat("a", 2<<20), "write", "t0")
	s.ok("", "message", "pool", "0", "create_snap 1 0")
	s.ok(strings.Repeat("b", 256<<10), "write", "t0", "--offset", "512K")
	s.ok("", "discard", "t0", "--offset", "1M", "--length", "128K")
	s.ok("", "message", "pool", "0", "reserve_metadata_snap")
	s.ok(strings.Repeat("c", 64<<10), "write", "t0", "--offset", "3M")
	held := strings.Fields(s.ok("", "status", "pool"))[6]
	s.ok("", "remove_all")
	for _, opts := range []string{"", "-m", "-m" + held, "--metadata-snap=" + held, "-m --verbose"} {
		args := append(strings.Fields(opts), "--snap1", "0", "--snap2", "1", meta)
		want, err := exec.Command(tool, args...).Output()
		if err != nil {
			t.Fatalf("thin_delta %v: %v", args, err)
		}
		if code, got, errs := thinSuite.runT(t, append([]string{"delta"}, args...)...); code != 0 || got != string(want) {
			t.Errorf("delta %v: exit %d %s\n got:\n%s\nwant:\n%s", args, code, errs, got, want)
		}
	}
	code, _, errs := thinSuite.runT(t, "delta", "-m1", "--snap1", "0", "--snap2", "1", meta)
	if want := "does not match the superblock's (" + held + ")"; code != 1 || !strings.Contains(errs, want) {
		t.Errorf("delta -m1: exit %d, stderr %q, want 1 and %q", code, errs, want)
	}
	code, _, errs = thinSuite.runT(t, "delta", "-m", "--snap1", "0", "--snap2", "0", restoreThinXML(t, thinTestXML))
	if code != 1 || !strings.Contains(errs, "no metadata snapshot is held") {
		t.Errorf("delta -m without a snapshot: exit %d, stderr %q", code, errs)
	}
}

// TestThinDeltaRefusals: missing or bad ids and devices without a mapping tree.
func TestThinDeltaRefusals(t *testing.T) {
	meta := restoreThinXML(t, thinTestXML)
	expectThinRefusals(t, "delta", meta, []thinRefusal{
		{"--snap1 0 META", 1, "--snap2 not specified."},
		{"--snap2 0 META", 1, "--snap1 not specified."},
		{"--snap1 x --snap2 0 META", 1, `thin device id "x": not a number`},
		{"--snap1 0 --snap2 4", 1, "gdmsetup thin delta: No input device provided."},
		{"--snap1 0 --snap2 7 META", 1, "unable to find mapping tree for snap2 (7)"},
		{"--snap1 3 --snap2 0 META", 1, "unable to find mapping tree for snap1 (3)"},
		{"-m=x --snap1 0 --snap2 0 META", 1, `metadata snapshot block "=x": not a number`},
		{"--snap1 0 --snap2 0 /nonexistent/meta", 1, "no such file or directory"},
	})
}
