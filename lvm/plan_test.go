package lvm

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/table"
)

// planVG is a VG text with one PV (pv0, found as /img at sector 100) and the LVs given.
func planVG(t *testing.T, lvs string) *VG {
	t.Helper()
	vg, err := ParseVG([]byte(`my-vg {
id = "VVVVVV-VVVV-VVVV-VVVV-VVVV-VVVV-VVVVVV"
seqno = 3
extent_size = 8
physical_volumes { pv0 { id = "PPPPPP" device = "/dev/sdz" pe_start = 2048 pe_count = 100 } }
logical_volumes {` + lvs + `}
}`))
	if err != nil {
		t.Fatal(err)
	}
	vg.PVs[0].Source = &PVSource{Path: "/img", OffsetSectors: 100}
	return vg
}

// lvText is an LV section with one segment of extents and type, and the segment's other keys.
func lvText(name, status, flags string, extents int, segType, keys string) string {
	return name + ` { id = "` + name + `-id" status = [` + status + `] flags = [` + flags + `] segment_count = 1
segment1 { start_extent = 0 extent_count = ` + strconv.Itoa(extents) + ` type = "` + segType + `" ` + keys + ` } }
`
}

const rw = `"READ", "WRITE", "VISIBLE"`

func TestPlanLayers(t *testing.T) {
	vg := planVG(t, lvText("p-ool", rw, "", 4, "thin-pool", `metadata = "p-ool_tmeta" pool = "p-ool_tdata" transaction_id = 0 chunk_size = 128 discards = "ignore" zero_new_blocks = 1`)+
		lvText("p-ool_tmeta", `"READ", "WRITE"`, "", 1, "striped", `stripe_count = 1 stripes = ["pv0", 0]`)+
		lvText("p-ool_tdata", `"READ", "WRITE"`, "", 4, "striped", `stripe_count = 2 stripe_size = 16 stripes = ["pv0", 10, "pv0", 20]`)+
		lvText("ro", `"READ", "VISIBLE"`, "", 1, "zero", ""))
	vg.LVs[0].Status = append(vg.LVs[0].Status, "ERROR_WHEN_FULL")
	devs, err := vg.Plan(PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "my--vg-p--ool_tmeta,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVpool_tmetaid-tmeta,,rw,0 8 linear /img 2148;" +
		"my--vg-p--ool_tdata,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVpool_tdataid-tdata,,rw,0 32 striped 2 16 /img 2228 /img 2308;" +
		"my--vg-p--ool,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVpoolid-tpool,,rw,0 32 thin-pool /dev/mapper/my--vg-p--ool_tmeta /dev/mapper/my--vg-p--ool_tdata 128 0 2 ignore_discard error_if_no_space;" +
		"my--vg-ro,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVroid,,ro,0 8 zero "
	var concise []table.ConciseDevice
	for _, d := range devs {
		concise = append(concise, d.ConciseDevice)
	}
	if got := table.FormatConcise(concise); got != want {
		t.Errorf("plan:\n got %s\nwant %s", got, want)
	}
	for i, lv := range []string{"my-vg/p-ool", "my-vg/p-ool", "my-vg/p-ool", "my-vg/ro"} {
		if devs[i].LV != lv {
			t.Errorf("%s: planned for LV %q, want %q", devs[i].Name, devs[i].LV, lv)
		}
	}
	devs, err = vg.Plan(PlanOptions{LVs: []string{"ro"}, ReadOnly: true})
	if err != nil || len(devs) != 1 || devs[0].Flags != "ro" {
		t.Errorf("one LV, read-only: %+v %v", devs, err)
	}
}

func TestPlanRefusals(t *testing.T) {
	linear := `stripe_count = 1 stripes = ["pv0", 0]`
	for _, c := range []struct{ lvs, want string }{
		{lvText("r", rw, "", 2, "vdo", ""), `LV my-vg/r segment1: segment type "vdo" is not supported`},
		{lvText("r", rw, "", 2, "striped", `stripe_count = 1 stripes = ["pv9", 0]`), "stripe 1: no PV pv9 in the VG"},
		{lvText("r", rw, "", 2, "striped", `stripe_count = 1 stripes = ["pv0", 99]`), "extents 99+2 are past the end of PV pv0 (100 extents)"},
		{lvText("r", rw, "", 3, "striped", `stripe_count = 2 stripe_size = 8 stripes = ["pv0", 0, "pv0", 10]`), "3 extents do not divide into 2 stripes"},
		{lvText("r", rw, "", 2, "striped", `stripe_count = 2 stripes = ["pv0", 0]`), "stripe_count 2 does not match the stripes list"},
		{lvText("r", rw, "", 2, "striped", `stripe_count = 1 stripes = ["x_rimage_0", 0]`) + lvText("x_rimage_0", `"READ"`, "", 2, "striped", linear), "stripes on LV x_rimage_0 (a pvmove in progress) are not supported"},
		{lvText("t", rw, "", 2, "thin", `thin_pool = "nopool" device_id = 1`), "thin volume my-vg/t: no thin pool LV nopool"},
		{lvText("p", rw, "", 2, "thin-pool", `metadata = "p" pool = "p" chunk_size = 128 transaction_id = 0`), `LV my-vg/p segment1: segment type "thin-pool" is not supported`},
		{lvText("p", rw, "", 2, "thin-pool", `metadata = "m" pool = "d" chunk_size = 128`), "thin pool my-vg/p: no LV m (its metadata)"},
		{lvText("p", rw, "", 2, "thin-pool", `metadata = "m" pool = "m" chunk_size = 128`) + lvText("m", `"READ"`, "", 1, "striped", linear), `section "segment1": no transaction_id`},
		{lvText("p", rw, "", 2, "thin-pool", `metadata = "m" pool = "m" chunk_size = 128 transaction_id = 0 discards = "bogus"`) + lvText("m", `"READ"`, "", 1, "striped", linear), `discards "bogus"`},
	} {
		vg := planVG(t, c.lvs)
		if _, err := vg.Plan(PlanOptions{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.lvs, err, c.want)
		}
	}
	vg := planVG(t, lvText("a", rw, "", 1, "striped", linear))
	vg.PVs[0].Source = nil
	if _, err := vg.Plan(PlanOptions{}); err == nil || !strings.Contains(err.Error(), "PV pv0 (id PPPPPP, last seen as /dev/sdz) is not among the images") {
		t.Errorf("missing PV: %v", err)
	}
	vg.PVs[0].Source = &PVSource{Path: "/my img"}
	if _, err := vg.Plan(PlanOptions{}); err == nil || !strings.Contains(err.Error(), "a path with blanks") {
		t.Errorf("blank in path: %v", err)
	}
}

func TestParseVGRefusals(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{`a { id = "x" seqno = 1 extent_size = 8 } b { }`, "2 top-level sections"},
		{`a { seqno = 1 extent_size = 8 }`, `section "a": no id`},
		{`a { id = "x" seqno = 1 extent_size = 0 }`, "extent_size 0"},
		{`a { id = "x" seqno = 1 extent_size = 8 physical_volumes { pv0 { id = "p" pe_start = 0 pe_count = 4611686018427387904 } } }`, "reach past 2^62 sectors"},
		{`a { id = "x" seqno = 1 extent_size = 8 logical_volumes { l { id = "l" segment_count = 2 segment1 { start_extent = 0 extent_count = 1 type = "zero" } } } }`, "no segment2 of 2"},
		{`a { id = "x" seqno = 1 extent_size = 8 logical_volumes { l { id = "l" segment_count = 1 segment1 { start_extent = 5 extent_count = 1 type = "zero" } } } }`, "segment1 covers extents 5+1, the LV is at extent 0"},
	} {
		if _, err := ParseVG([]byte(c.text)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.text, err, c.want)
		}
	}
}

// BenchmarkPlanManyLVs plans a VG of 65535 linear LVs (lvm2's text of 12 MB): Plan and
// ParseVG look LVs and PVs up by name, so the time grows with the LVs, not with their square.
func BenchmarkPlanManyLVs(b *testing.B) {
	const n = 65535
	var t strings.Builder
	fmt.Fprintf(&t, "vg {\nid = \"x\"\nseqno = 1\nextent_size = 8\nphysical_volumes {\npv0 {\nid = \"p\"\npe_start = 2048\npe_count = %d\n}\n}\nlogical_volumes {\n", n)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&t, "lv%d {\nid = \"l%d\"\nstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]\nsegment_count = 1\nsegment1 {\nstart_extent = 0\nextent_count = 1\ntype = \"striped\"\nstripe_count = 1\nstripes = [\"pv0\", %d]\n}\n}\n", i, i, i)
	}
	t.WriteString("}\n}\n")
	text := []byte(t.String())
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		vg, err := ParseVG(text)
		if err != nil {
			b.Fatal(err)
		}
		vg.PVs[0].Source = &PVSource{Path: "/img"}
		if devs, err := vg.Plan(PlanOptions{}); err != nil || len(devs) != n {
			b.Fatalf("%d devices, %v", len(devs), err)
		}
	}
}
