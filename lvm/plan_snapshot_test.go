package lvm

import (
	"strings"
	"testing"
)

// snapVG is planVG with an origin o (2 extents at extent 0), COW LVs c1 (extent 10) and c2
// (extent 20), and the snapshot LVs given.
func snapVG(t *testing.T, snaps string) *VG {
	return planVG(t, lvText("o", rw, "", 2, "striped", `stripe_count = 1 stripes = ["pv0", 0]`)+
		lvText("c1", `"READ", "WRITE"`, "", 1, "striped", `stripe_count = 1 stripes = ["pv0", 10]`)+
		lvText("c2", `"READ"`, "", 1, "striped", `stripe_count = 1 stripes = ["pv0", 20]`)+snaps)
}

const vgID = "LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVV"

func TestPlanSnapshots(t *testing.T) {
	vg := snapVG(t, lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "o" cow_store = "c1"`)+
		lvText("snapshot1", rw, "", 2, "snapshot", `chunk_size = 128 origin = "o" cow_store = "c2"`))
	want := "my--vg-o-real," + vgID + "oid-real,,rw,0 16 linear /img 2148;" +
		"my--vg-o," + vgID + "oid,,rw,0 16 snapshot-origin /dev/mapper/my--vg-o-real;" +
		"my--vg-c1-cow," + vgID + "c1id-cow,,rw,0 8 linear /img 2228;" +
		"my--vg-c1," + vgID + "c1id,,rw,0 16 snapshot /dev/mapper/my--vg-o-real /dev/mapper/my--vg-c1-cow P 8;" +
		"my--vg-c2-cow," + vgID + "c2id-cow,,rw,0 8 linear /img 2308;" +
		"my--vg-c2," + vgID + "c2id,,ro,0 16 snapshot /dev/mapper/my--vg-o-real /dev/mapper/my--vg-c2-cow P 128"
	// the whole VG, the origin alone or a snapshot alone: the same set
	for _, lvs := range [][]string{nil, {"o"}, {"c1"}, {"c2", "o"}} {
		if got := planConcise(t, vg, PlanOptions{LVs: lvs}); got != want {
			t.Errorf("LVs %q:\n got %s\nwant %s", lvs, got, want)
		}
	}
	named, err := vg.NamedLVs()
	if err != nil || len(named) != 3 || named[0].Name != "o" || named[1].Name != "c1" || named[2].Name != "c2" {
		t.Errorf("named LVs: %v %v", named, err)
	}

	vg = snapVG(t, lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "o" cow_store = "c1"`)+
		lvText("snapshot1", `"READ", "WRITE"`, "", 2, "snapshot", `chunk_size = 16 origin = "o" merging_store = "c2"`))
	want = "my--vg-o-real," + vgID + "oid-real,,rw,0 16 linear /img 2148;" +
		"my--vg-c2-cow," + vgID + "c2id-cow,,rw,0 8 linear /img 2308;" +
		"my--vg-o," + vgID + "oid,,rw,0 16 snapshot-merge /dev/mapper/my--vg-o-real /dev/mapper/my--vg-c2-cow P 16;" +
		"my--vg-c1-cow," + vgID + "c1id-cow,,rw,0 8 linear /img 2228;" +
		"my--vg-c1," + vgID + "c1id,,rw,0 16 snapshot /dev/mapper/my--vg-o-real /dev/mapper/my--vg-c1-cow P 8;" +
		"my--vg-c2," + vgID + "c2id,,ro,0 16 error "
	if got := planConcise(t, vg, PlanOptions{}); got != want {
		t.Errorf("merging:\n got %s\nwant %s", got, want)
	}
	if _, err := vg.Plan(PlanOptions{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "origin my-vg/o: snapshot c2 is to be merged into it, which writes the images: not under a read-only activation") {
		t.Errorf("read-only merge: %v", err)
	}
	if _, err := vg.Plan(PlanOptions{LVs: []string{"c2"}}); err == nil || !strings.Contains(err.Error(), "LV my-vg/c2 is a snapshot merging into o") {
		t.Errorf("naming the merging snapshot: %v", err)
	}
	if _, err := vg.Plan(PlanOptions{LVs: []string{"snapshot0"}}); err == nil || !strings.Contains(err.Error(), "LV my-vg/snapshot0 is lvm2's own LV of snapshot c1") {
		t.Errorf("naming snapshotN: %v", err)
	}
}

func TestPlanExternalOrigin(t *testing.T) {
	pool := lvText("p", rw, "", 2, "thin-pool", `metadata = "m" pool = "d" transaction_id = 2 chunk_size = 128`) +
		lvText("m", `"READ", "WRITE"`, "", 1, "striped", `stripe_count = 1 stripes = ["pv0", 30]`) +
		lvText("d", `"READ", "WRITE"`, "", 2, "striped", `stripe_count = 1 stripes = ["pv0", 40]`)
	vg := planVG(t, lvText("e", `"READ", "VISIBLE"`, "", 1, "striped", `stripe_count = 1 stripes = ["pv0", 0]`)+pool+
		lvText("t", rw, "", 2, "thin", `thin_pool = "p" transaction_id = 0 device_id = 1 external_origin = "e"`))
	thin := "my--vg-m," + vgID + "mid-tmeta,,rw,0 8 linear /img 2388;" +
		"my--vg-d," + vgID + "did-tdata,,rw,0 16 linear /img 2468;" +
		"my--vg-p-tpool," + vgID + "pid-tpool,,rw,0 16 thin-pool /dev/mapper/my--vg-m /dev/mapper/my--vg-d 128 0 1 skip_block_zeroing;" +
		"my--vg-e-real," + vgID + "eid-real,,ro,0 8 linear /img 2148;" +
		"my--vg-t," + vgID + "tid,,rw,0 16 thin /dev/mapper/my--vg-p-tpool 1 /dev/mapper/my--vg-e-real"
	if got := planConcise(t, vg, PlanOptions{LVs: []string{"t"}}); got != thin {
		t.Errorf("thin volume:\n got %s\nwant %s", got, thin)
	}
	origin := "my--vg-e-real," + vgID + "eid-real,,ro,0 8 linear /img 2148;" +
		"my--vg-e," + vgID + "eid,,ro,0 8 linear /dev/mapper/my--vg-e-real 0"
	if got := planConcise(t, vg, PlanOptions{LVs: []string{"e"}}); got != origin {
		t.Errorf("external origin:\n got %s\nwant %s", got, origin)
	}
}

func TestPlanSnapshotRefusals(t *testing.T) {
	linear := `stripe_count = 1 stripes = ["pv0", 0]`
	pool := lvText("p", rw, "", 2, "thin-pool", `metadata = "m" pool = "m" transaction_id = 0 chunk_size = 128`) +
		lvText("m", `"READ"`, "", 1, "striped", linear)
	for _, c := range []struct{ lvs, want string }{
		{lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "gone" cow_store = "c1"`), "snapshot LV my-vg/snapshot0: no LV gone (its origin)"},
		{lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "o" cow_store = "gone"`), "snapshot LV my-vg/snapshot0: no LV gone (its COW store)"},
		{lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "o"`), `no cow_store`},
		{lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "o" cow_store = "c1" merging_store = "c1"`), "both cow_store and merging_store"},
		{lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 12 origin = "o" cow_store = "c1"`), "COW chunk size 12 sectors: lvm2 makes a power of 2 from 8 to 1024"},
		{lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 0 origin = "o" cow_store = "c1"`), "COW chunk size 0 sectors"},
		{lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 2048 origin = "o" cow_store = "c1"`), "COW chunk size 2048 sectors"},
		{lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "o" cow_store = "o"`), "origin o and COW store o are not two other LVs"},
		{lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "o" cow_store = "c1"`) +
			lvText("snapshot1", rw, "", 2, "snapshot", `chunk_size = 8 origin = "o" cow_store = "c1"`), "COW LV c1 is already the store of snapshot0"},
		{lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "o" merging_store = "c1"`) +
			lvText("snapshot1", rw, "", 2, "snapshot", `chunk_size = 8 origin = "o" merging_store = "c2"`), "snapshots c1 and c2 are both to be merged into it"},
		{lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "c1" cow_store = "c2"`) +
			lvText("snapshot1", rw, "", 2, "snapshot", `chunk_size = 8 origin = "o" cow_store = "c1"`), "LV my-vg/c1 (origin of snapshots) is the COW store of snapshot LV snapshot1: not supported"},
		{pool + lvText("t", rw, "", 2, "thin", `thin_pool = "p" device_id = 1`) +
			lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "t" cow_store = "c1"`), "LV my-vg/t (origin of snapshots): a thin LV in this role is not supported"},
		{pool + lvText("t", rw, "", 2, "thin", `thin_pool = "p" device_id = 1 external_origin = "gone"`), "thin volume my-vg/t: no LV gone (its external origin)"},
		{pool + lvText("t", rw, "", 2, "thin", `thin_pool = "p" device_id = 1 external_origin = 7`), `thin volume my-vg/t: section "segment1": external_origin is not a string`},
		{pool + lvText("t", rw, "", 2, "thin", `thin_pool = "p" device_id = 1 external_origin = "p"`), "LV my-vg/p (external origin): a thin-pool LV in this role is not supported"},
		{pool + lvText("t", rw, "", 2, "thin", `thin_pool = "p" device_id = 1 external_origin = "o"`) +
			lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "o" cow_store = "c1"`), "origin my-vg/o: both an origin of old-style snapshots and an external origin of thin volumes"},
	} {
		vg := snapVG(t, c.lvs)
		if _, err := vg.Plan(PlanOptions{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.lvs, err, c.want)
		}
	}
}
