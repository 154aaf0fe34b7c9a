package main

import (
	"strconv"
	"strings"
	"testing"
)

// degraded3 is testdata/lvm/degraded3-oracle.sh's scenario.
func degraded3(t *testing.T) *degradedOracle {
	return &degradedOracle{vg: "hvg", disks: []string{"h1", "h2", "h3", "h4"}, blocks: lvmOracle(t, "degraded3")}
}

// TestLvmDegraded3 replays testdata/lvm/degraded3-oracle.sh on its images: VG hvg on h1..h4
// (r1 a raid1 with three legs on h1..h3, ri a raid1 on h3 and h4 written before `lvconvert
// --raidintegrity y` and after it) activated with every PV, then with h2, h2+h3 and h1+h2+h3
// missing in each activation mode, one after the other on the same images as lvm2 did; then
// with h2+h3 missing the LVs lvm2 activated are written, deactivated and activated with h2
// and h3 back. Each activation's exit status, refusals, names, minors, tables, UUIDs, flags,
// open counts, status and LVs' bytes are lvm2's in the 6.1 kernel.
func TestLvmDegraded3(t *testing.T) {
	s := newSandbox(t)
	o := degraded3(t)
	imgs := lvmImages(s, o.disks...)

	s.degradedActivate(o, "vgchange -ay (converted, all PVs)", imgs, "")
	s.degradedSHA(o, "sha256 (converted, all PVs)")
	s.degradedDeactivate(o)

	s.degradedModes(o, imgs, "h2", "h2 h3", "h1 h2 h3")

	s.degradedActivate(o, "writeback: vgchange -ay (h2 h3 missing)", imgs, "h2 h3")
	written := matching(o.blocks["sha256 (written, h2 h3 missing)"], `^hvg-\S+ `)
	if len(written) == 0 {
		t.Fatal("the oracle wrote no LV with h2 and h3 missing")
	}
	for _, l := range written {
		name, _, _ := strings.Cut(l, " ")
		s.ok(degradedPattern("degraded3", strings.TrimPrefix(name, "hvg-")), "write", name, "--offset", strconv.Itoa(65536))
	}
	sameLines(t, "status (written, h2 h3 missing)", lines(s.ok("", "status")), o.blocks["writeback: status (written, h2 h3 missing)"])
	s.degradedSHA(o, "sha256 (written, h2 h3 missing)")
	s.degradedDeactivate(o)

	s.degradedActivate(o, "put back: vgchange -ay (all PVs)", imgs, "")
	s.degradedSHA(o, "put back: sha256")
	s.degradedSHA(o, "put back: sha256 (settled)")
	// the legs on h2 and h3, recovered, hold h1's bytes, the writes made without them included
	if a, b, c := s.lvSHA("hvg-r1_rimage_0"), s.lvSHA("hvg-r1_rimage_1"), s.lvSHA("hvg-r1_rimage_2"); a != b || a != c {
		t.Errorf("r1's images differ after the recovery of 1 and 2: %s %s %s", a, b, c)
	}
	s.degradedDeactivate(o)
}
