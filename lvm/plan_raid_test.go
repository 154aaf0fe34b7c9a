package lvm

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/table"
)

// hidden is the status of a raid or mirror sub-LV.
const hidden = `"READ", "WRITE"`

// linearAt is a linear segment's keys: one stripe on pv0 at extent pe.
func linearAt(pe string) string { return `stripe_count = 1 stripes = ["pv0", ` + pe + `]` }

// planConcise plans every visible LV of vg as a concise list.
func planConcise(t *testing.T, vg *VG, o PlanOptions) string {
	t.Helper()
	devs, err := vg.Plan(o)
	if err != nil {
		t.Fatal(err)
	}
	var concise []table.ConciseDevice
	for _, d := range devs {
		concise = append(concise, d.ConciseDevice)
	}
	return table.FormatConcise(concise)
}

// TestPlanRaidParams: the parameters lvm2 derives from the metadata (rebuild and
// write_mostly from the images' flags, recovery rates, write-behind, data_offset 0 kept),
// an image split off with --trackchanges given as "- -" and activated on its own, raid0
// without metadata LVs, raid10's copies.
func TestPlanRaidParams(t *testing.T) {
	vg := planVG(t, lvText("r", rw, "", 2, "raid1", `device_count = 3 region_size = 1024 writebehind = 256 min_recovery_rate = 10 max_recovery_rate = 100 raids = ["r_rmeta_0", "r_rimage_0", "r_rmeta_1", "r_rimage_1", "r_rmeta_2", "r_rimage_2"]`)+
		lvText("r_rmeta_0", hidden, "", 1, "striped", linearAt("0"))+
		lvText("r_rimage_0", hidden, "", 2, "striped", linearAt("1"))+
		lvText("r_rmeta_1", hidden, "", 1, "striped", linearAt("3"))+
		lvText("r_rimage_1", `"READ", "WRITE", "REBUILD", "WRITEMOSTLY"`, "", 2, "striped", linearAt("4"))+
		lvText("r_rmeta_2", hidden, "", 1, "striped", linearAt("6"))+
		lvText("r_rimage_2", `"READ", "VISIBLE"`, "", 2, "striped", linearAt("7")))
	want := "my--vg-r_rmeta_0,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rmeta_0id,,rw,0 8 linear /img 2148;" +
		"my--vg-r_rimage_0,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rimage_0id,,rw,0 16 linear /img 2156;" +
		"my--vg-r_rmeta_1,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rmeta_1id,,rw,0 8 linear /img 2172;" +
		"my--vg-r_rimage_1,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rimage_1id,,rw,0 16 linear /img 2180;" +
		"my--vg-r,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVrid,,rw,0 16 raid raid1 13 0 rebuild 1 min_recovery_rate 10 max_recovery_rate 100 write_mostly 1 max_write_behind 256 region_size 1024 3 " +
		"/dev/mapper/my--vg-r_rmeta_0 /dev/mapper/my--vg-r_rimage_0 /dev/mapper/my--vg-r_rmeta_1 /dev/mapper/my--vg-r_rimage_1 - -;" +
		"my--vg-r_rimage_2,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVr_rimage_2id,,ro,0 16 linear /img 2204"
	if got := planConcise(t, vg, PlanOptions{}); got != want {
		t.Errorf("raid1:\n got %s\nwant %s", got, want)
	}

	vg = planVG(t, lvText("s", rw, "", 4, "raid0", `stripe_count = 2 stripe_size = 128 raid0_lvs = ["s_rimage_0", "s_rimage_1"]`)+
		lvText("s_rimage_0", hidden, "", 2, "striped", linearAt("0"))+
		lvText("s_rimage_1", hidden, "", 2, "striped", linearAt("2"))+
		lvText("t", rw, "", 4, "raid10", `device_count = 2 stripe_size = 128 region_size = 4096 data_offset = 0 raids = ["t_rmeta_0", "t_rimage_0", "t_rmeta_1", "t_rimage_1"]`)+
		lvText("t_rmeta_0", hidden, "", 1, "striped", linearAt("10"))+
		lvText("t_rimage_0", hidden, "", 4, "striped", linearAt("11"))+
		lvText("t_rmeta_1", hidden, "", 1, "striped", linearAt("20"))+
		lvText("t_rimage_1", hidden, "", 4, "striped", linearAt("21")))
	got := planConcise(t, vg, PlanOptions{ReadOnly: true})
	for _, want := range []string{
		"my--vg-s,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVsid,,ro,0 32 raid raid0 1 128 2 - /dev/mapper/my--vg-s_rimage_0 - /dev/mapper/my--vg-s_rimage_1;",
		"0 32 raid raid10 7 128 region_size 4096 raid10_copies 2 data_offset 0 2 /dev/mapper/my--vg-t_rmeta_0 ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("raid0, raid10: %s\nlacks %s", got, want)
		}
	}
}

// TestPlanMirror: a disk log and a mirrored log (itself a mirror with a core log) are planned
// before the legs; legs on PVs are mapped as lvm2 maps them.
func TestPlanMirror(t *testing.T) {
	vg := planVG(t, lvText("m", rw, "", 2, "mirror", `mirror_count = 2 mirror_log = "m_mlog" region_size = 512 mirrors = ["m_mimage_0", 0, "m_mimage_1", 0]`)+
		lvText("m_mlog", hidden, "", 1, "mirror", `mirror_count = 2 region_size = 512 mirrors = ["pv0", 30, "pv0", 31]`)+
		lvText("m_mimage_0", hidden, "", 2, "striped", linearAt("0"))+
		lvText("m_mimage_1", hidden, "", 2, "striped", linearAt("2")))
	want := "my--vg-m_mlog,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVm_mlogid,,rw,0 8 mirror core 1 512 2 /img 2388 /img 2396 1 handle_errors;" +
		"my--vg-m_mimage_0,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVm_mimage_0id,,rw,0 16 linear /img 2148;" +
		"my--vg-m_mimage_1,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVm_mimage_1id,,rw,0 16 linear /img 2164;" +
		"my--vg-m,LVM-VVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVmid,,rw,0 16 mirror disk 2 /dev/mapper/my--vg-m_mlog 512 2 /dev/mapper/my--vg-m_mimage_0 0 /dev/mapper/my--vg-m_mimage_1 0 1 handle_errors"
	if got := planConcise(t, vg, PlanOptions{}); got != want {
		t.Errorf("mirror:\n got %s\nwant %s", got, want)
	}
}

// TestPlanRaidRefusals: raid and mirror LVs that lvm2 would not activate as they are, or that
// the text does not describe whole, are refused with the reason, nothing planned.
func TestPlanRaidRefusals(t *testing.T) {
	meta := lvText("r_rmeta_0", hidden, "", 1, "striped", linearAt("0")) + lvText("r_rimage_0", hidden, "", 2, "striped", linearAt("1")) +
		lvText("r_rmeta_1", hidden, "", 1, "striped", linearAt("3"))
	image1 := lvText("r_rimage_1", hidden, "", 2, "striped", linearAt("4"))
	pair := `raids = ["r_rmeta_0", "r_rimage_0", "r_rmeta_1", "r_rimage_1"]`
	legs := lvText("m_mimage_0", hidden, "", 2, "striped", linearAt("0"))
	for _, c := range []struct{ lvs, want string }{
		{lvText("r", rw, "", 2, "raid7", `device_count = 2 region_size = 1024 `+pair) + meta + image1, `LV my-vg/r segment1: segment type "raid7" is not supported`},
		{lvText("r", rw, "", 2, "raid5_ls+RESHAPE", `device_count = 2 region_size = 1024 `+pair) + meta + image1, `segment type "raid5_ls+RESHAPE" is not supported`},
		{lvText("r", rw, "", 2, "raid1", `device_count = 2 region_size = 1024 `+pair) + meta, "LV my-vg/r segment1: member 1: no LV r_rimage_1"},
		{lvText("r", rw, "", 2, "raid1", `device_count = 2 region_size = 1024 `+pair) + meta + lvText("r_rimage_1", hidden, "", 2, "striped", `stripe_count = 1 stripes = ["pv1", 0]`), "LV my-vg/r segment1: member 1: LV my-vg/r_rimage_1 segment1: stripe 1: no PV pv1 in the VG"},
		{lvText("r", rw, "", 2, "raid1", `device_count = 3 region_size = 1024 `+pair) + meta + image1, "device_count 3, the raids list holds 2 members"},
		{lvText("r", rw, "", 2, "raid1", `device_count = 2 stripe_count = 2 region_size = 1024 `+pair) + meta + image1, "one of device_count and stripe_count is needed"},
		{lvText("r", rw, "", 2, "raid1", `device_count = 2 region_size = 1024 raids = ["r_rmeta_0", "r_rimage_0", "r_rmeta_1"]`) + meta, "raids: metadata LV r_rmeta_1 has no image after it"},
		{lvText("r", rw, "", 2, "raid1", `device_count = 2 `+pair) + meta + image1, "LV my-vg/r segment1: no region_size"},
		{lvText("r", rw, "", 2, "raid5", `device_count = 2 region_size = 1024 reshape_count = 1 `+pair) + meta + image1, "reshape space (reshape_count) is not supported"},
		{lvText("r", rw, "", 2, "raid1", `device_count = 2 region_size = 1024 `+pair) + meta + lvText("r_rimage_1", hidden, "", 2, "raid1", `device_count = 1 region_size = 1024 raids = ["r_rimage_1"]`), "LV r_rimage_1 stands on itself"},
		{lvText("m", rw, "", 2, "mirror", `mirror_count = 2 region_size = 512 mirrors = ["m_mimage_0", 0, "m_mimage_1", 0]`) + legs, "LV my-vg/m segment1: leg 1: no PV m_mimage_1 in the VG"},
		{lvText("m", rw, "", 2, "mirror", `mirror_count = 2 region_size = 512 mirror_log = "m_mlog" mirrors = ["m_mimage_0", 0, "m_mimage_0", 0]`) + legs, "LV my-vg/m segment1: log: no LV m_mlog"},
		{lvText("m", rw, "", 2, "mirror", `mirror_count = 1 region_size = 512 mirrors = ["m_mimage_0", 0]`) + legs, "mirror_count 1 does not match the mirrors list (a mirror has 2 legs or more)"},
		{lvText("m", rw, "", 2, "mirror", `mirror_count = 2 region_size = 512 mirrors = ["m_mimage_0", 1, "pv0", 9]`) + legs, "leg 0: extents 1+2 are past the end of LV m_mimage_0 (2 extents)"},
		{lvText("m", `"READ", "WRITE", "VISIBLE", "PVMOVE"`, "", 2, "mirror", `mirror_count = 2 region_size = 512 mirrors = ["pv0", 0, "pv0", 9]`), "a pvmove in progress is not supported"},
	} {
		vg := planVG(t, c.lvs)
		if devs, err := vg.Plan(PlanOptions{}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v %v, want %q", c.lvs, devs, err, c.want)
		}
	}
	// A raid1 whose legs are both on a PV missing from the images: refused with the PV named.
	vg := planVG(t, lvText("r", rw, "", 2, "raid1", `device_count = 2 region_size = 1024 `+pair)+meta+image1)
	vg.PVs[0].Source = nil
	if _, err := vg.Plan(PlanOptions{}); err == nil || !strings.Contains(err.Error(), "member 0: LV my-vg/r_rmeta_0 segment1: stripe 1: PV pv0 (id PPPPPP, last seen as /dev/sdz) is not among the images") {
		t.Errorf("raid1 with a PV missing: %v", err)
	}
}

// TestPlanRaidDegraded: which raid LVs lvm2's degraded activation makes with members gone
// (partial_raid_lv_supports_degraded_activation), each member here on the missing pv0 ("p"),
// an error LV ("e", gone too) or a zero LV ("z", there): raid1 with a member left, raid5 with
// one gone, raid6 with two, raid10 with one of each pair of neighbours; complete mode none.
func TestPlanRaidDegraded(t *testing.T) {
	raidVG := func(segType, members string) *VG {
		var names []string
		lvs := ""
		for i, k := range members {
			for _, part := range []string{"rmeta", "rimage"} {
				name := fmt.Sprintf("r_%s_%d", part, i)
				names = append(names, `"`+name+`"`)
				switch k {
				case 'p':
					lvs += lvText(name, hidden, "", 1, "striped", linearAt(strconv.Itoa(2*i)))
				case 'e':
					lvs += lvText(name, hidden, "", 1, "error", "")
				default:
					lvs += lvText(name, hidden, "", 1, "zero", "")
				}
			}
		}
		vg := planVG(t, lvText("r", rw, "", 1, segType, fmt.Sprintf(`device_count = %d region_size = 1024 raids = [%s]`, len(members), strings.Join(names, ", ")))+lvs)
		vg.PVs[0].Source = nil
		return vg
	}
	for _, c := range []struct {
		segType, members string
		made             bool
	}{
		{"raid1", "pz", true}, {"raid1", "pp", false}, {"raid1", "pe", false},
		{"raid5", "pzz", true}, {"raid5", "pez", false},
		{"raid6", "pezzz", true}, {"raid6", "peezz", false},
		{"raid10", "pzez", true}, {"raid10", "pezz", false},
		// as lvm2 2.03.16 did in the kernel oracle (degraded2-oracle.sh): raid6 with two
		// members gone, raid10 with one of each pair, raid0 with a member left
		{"raid6", "ppzzz", true}, {"raid6", "pppzz", false},
		{"raid10", "pzzp", true}, {"raid10", "ppzz", false},
		{"raid4", "pzz", true}, {"raid4", "ppz", false},
		{"raid0_meta", "pz", true}, {"raid0_meta", "pp", false},
		// degraded3-oracle.sh: a raid1 with three legs runs on one, not on none
		{"raid1", "pzz", true}, {"raid1", "ppz", true}, {"raid1", "ppp", false},
	} {
		devs, err := raidVG(c.segType, c.members).Plan(PlanOptions{})
		var partial *PartialError
		switch {
		case c.made && (err != nil || len(devs) == 0 || devs[len(devs)-1].Name != "my--vg-r" || devs[0].Name != "my--vg-r_rmeta_0-missing_0_0"):
			t.Errorf("%s %s: %v %v, want it made over error devices", c.segType, c.members, devs, err)
		case !c.made && (!errors.As(err, &partial) || len(devs) != 0):
			t.Errorf("%s %s: %v %v, want it refused", c.segType, c.members, devs, err)
		}
		if devs, err := raidVG(c.segType, c.members).Plan(PlanOptions{Mode: Complete}); !errors.As(err, &partial) || len(devs) != 0 {
			t.Errorf("%s %s complete: %v %v, want it refused", c.segType, c.members, devs, err)
		}
	}
}
