package main

import (
	"strings"
	"testing"
)

func TestSplitname(t *testing.T) {
	s := newSandbox(t)
	s.expect(args("splitname vg-lv"), "", "VG   LV   LVLayer\nvg   lv          \n", "", 0)
	s.expect(args("splitname a--b-c-layer"), "", "VG   LV   LVLayer\na-b  c    layer  \n", "", 0)
	s.expect(args("splitname vg-lv XYZ"), "", "VG   LV   LVLayer\n                 \n", "", 0)
	s.expect(args("splitname --noheadings -o subsystem,vg_name,lv_name vg-lv"), "", "LVM:vg:lv\n", "", 0)
	if r := s.run("", args("splitname -o vg_name,bogus vg-lv")...); r.code != 1 || !strings.HasSuffix(r.stderr, "\nUnrecognised field: bogus\n") {
		t.Fatalf("splitname -o vg_name,bogus: %+v", r)
	}
	for _, c := range []struct{ name, vg, lv, layer string }{
		{"nohyphen", "nohyphen", "", ""},
		{"vg-", "vg-", "", ""},
		{"vg--", "vg-", "", ""},
		{"-lv", "", "lv", ""},
		{"a-b-c-d", "a", "b", "c"},
		{"x---y", "x-", "y", ""},
		{"", "", "", ""},
	} {
		got := splitDeviceName("LVM", c.name)
		if got != (splitName{"LVM", c.vg, c.lv, c.layer}) {
			t.Errorf("split %q: %+v", c.name, got)
		}
	}
}
