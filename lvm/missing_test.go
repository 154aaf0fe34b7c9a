package lvm

import (
	"errors"
	"strings"
	"testing"
)

// TestPlanMissingLayers plans, with pv1 missing, a writecache LV whose cachevol is on pv1 and
// an origin on pv0 whose snapshot's COW is on pv1, in each mode, as lvm2 2.03.16 did in the
// kernel (testdata/lvm/missing2-oracle.sh): degraded and complete refuse the writecache LV
// and the origin, once each (not the snapshot as well); partial plans the origin with its
// snapshot over an error device but not the writecache LV.
func TestPlanMissingLayers(t *testing.T) {
	linear := func(pv, pe string) string { return `stripe_count = 1 stripes = ["` + pv + `", ` + pe + `]` }
	hidden := `"READ", "WRITE"`
	vg, err := ParseVG([]byte(`vg {
id = "VVVVVV-VVVV-VVVV-VVVV-VVVV-VVVV-VVVVVV"
seqno = 3
extent_size = 8
physical_volumes {
pv0 { id = "PPPPPP" device = "/dev/sdy" pe_start = 2048 pe_count = 100 }
pv1 { id = "QQQQQQ" device = "/dev/sdz" pe_start = 2048 pe_count = 100 }
}
logical_volumes {` +
		lvText("wc", rw, "", 2, "writecache", `writecache = "wcfast_cvol" origin = "wc_wcorig" writecache_block_size = 4096`) +
		lvText("os", rw, "", 2, "striped", linear("pv0", "10")) +
		lvText("osnap", `"READ", "WRITE"`, "", 1, "striped", linear("pv1", "10")) +
		lvText("wcfast_cvol", hidden, `"CACHE_VOL"`, 1, "striped", linear("pv1", "0")) +
		lvText("wc_wcorig", hidden, "", 2, "striped", linear("pv0", "0")) +
		lvText("snapshot0", rw, "", 2, "snapshot", `chunk_size = 8 origin = "os" cow_store = "osnap"`) + `}
}`))
	if err != nil {
		t.Fatal(err)
	}
	vg.PVs[0].Source = &PVSource{Path: "/img", OffsetSectors: 0}
	for _, c := range []struct {
		mode    ActivationMode
		refused []string
		devs    string
	}{
		{Degraded, []string{"refusing activation of partial LV vg/wc: ", "refusing activation of partial LV vg/os: "}, ""},
		{Complete, []string{"refusing activation of partial LV vg/wc: ", "refusing activation of partial LV vg/os: "}, ""},
		{Partial, []string{"not activating writecache LV vg/wc: it has an area on a missing PV"},
			"vg-os-real vg-os vg-osnap-missing_0_0 vg-osnap-cow vg-osnap"},
	} {
		devs, err := vg.Plan(PlanOptions{Mode: c.mode})
		var partial *PartialError
		if !errors.As(err, &partial) || len(partial.Refused) != len(c.refused) {
			t.Errorf("mode %d: %v, want %d refusals", c.mode, err, len(c.refused))
			continue
		}
		for i, want := range c.refused {
			if !strings.HasPrefix(partial.Refused[i].Error(), want) {
				t.Errorf("mode %d: refusal %d is %q, want %q", c.mode, i, partial.Refused[i], want)
			}
		}
		var names []string
		for _, d := range devs {
			names = append(names, d.Name)
		}
		if got := strings.Join(names, " "); got != c.devs {
			t.Errorf("mode %d: planned %q, want %q", c.mode, got, c.devs)
		}
	}
}
