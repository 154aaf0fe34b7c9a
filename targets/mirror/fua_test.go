package mirror_test

import "testing"

// TestFUAWriteEveryLeg: a FUA write to a region in sync reaches every leg
// as a FUA write, as do_write's dm_io request carries the bio's REQ_FUA:
// a log-writes device under each leg logs one FUA entry (1 entry of 8
// data sectors and its header) and no flush.
func TestFUAWriteEveryLeg(t *testing.T) {
	g := newRig(t)
	for _, lw := range []string{"lw0", "lw1"} {
		g.MustCreate(lw, 2048, "log-writes", g.File(lw+".dev", 1<<20, false), g.File(lw+".log", 1<<20, false))
	}
	m := g.mustCreate("m", 2048, "core 2 64 nosync 2 /dev/mapper/lw0 0 /dev/mapper/lw1 0")
	if _, err := m.WriteFUA(make([]byte, 4096), 8192); err != nil {
		t.Fatal(err)
	}
	for _, lw := range []string{"lw0", "lw1"} {
		if got := g.line(lw, true); got != "1 9" {
			t.Errorf("status of %s under the mirror: %q, want 1 FUA entry of 8 sectors (1 9)", lw, got)
		}
	}
}
