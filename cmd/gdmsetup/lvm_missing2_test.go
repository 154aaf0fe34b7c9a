package main

import "testing"

// missing2 is testdata/lvm/missing2-oracle.sh's scenario.
func missing2(t *testing.T) *degradedOracle {
	return &degradedOracle{vg: "jvg", disks: []string{"j1", "j2", "j3"}, blocks: lvmOracle(t, "missing2")}
}

// TestLvmMissing2 replays testdata/lvm/missing2-oracle.sh on its images: VG jvg on j1..j3 (cl
// a linear LV on j1 cached by a cache pool on j2, wc a linear LV on j1 with a writecache on a
// cachevol on j2, os a linear LV on j1 with an old-style snapshot osnap whose COW is on j2,
// plain a linear LV on j3) activated with every PV, then with j2 and with j1 missing in each
// activation mode, one after the other on the same images as lvm2 did, then with every PV
// again. Each activation's exit status, refusals, names, minors, tables, UUIDs, flags, open
// counts, status and LVs' bytes (or a failing read, an origin on an error device) are lvm2's
// in the 6.1 kernel.
func TestLvmMissing2(t *testing.T) {
	s := newSandbox(t)
	o := missing2(t)
	imgs := lvmImages(s, o.disks...)

	s.degradedActivate(o, "vgchange -ay (all PVs)", imgs, "")
	s.degradedSHA(o, "sha256 (all PVs, activated)")
	s.degradedDeactivate(o)

	s.degradedModes(o, imgs, "j2", "j1")

	s.degradedActivate(o, "put back: vgchange -ay (all PVs)", imgs, "")
	s.degradedSHA(o, "put back: sha256")
	s.degradedDeactivate(o)
}
