package dm_test

import (
	"fmt"
	"testing"
)

// TestStatsFUAWrite: a FUA write is counted as the write it is, split at
// the target boundary as a plain one is (dm_io_acct gives a bio with
// REQ_FUA no special case), and neither the flush that follows a plain
// write nor a FUA write's own durability adds an I/O (an empty flush has
// no sectors: dm_stats_account_io skips it).
func TestStatsFUAWrite(t *testing.T) {
	g := statsRig(t)
	msg(t, g, "@stats_create - /1")
	d := g.Device("s")
	for _, fua := range []bool{false, true} {
		msg(t, g, "@stats_clear 0")
		for _, sector := range []int64{0, 8186} {
			var err error
			if fua {
				_, err = d.WriteFUA(make([]byte, 4096), sector*512)
			} else {
				_, err = d.WriteAt(make([]byte, 4096), sector*512)
				if err == nil {
					err = d.Flush()
				}
			}
			if err != nil {
				t.Fatalf("write at sector %d (FUA %v): %v", sector, fua, err)
			}
		}
		want := []string{"0/0/0 3/1/16 0"}
		if got := counts(t, g, 0); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("FUA %v: %q, want %q", fua, got, want)
		}
	}
}
