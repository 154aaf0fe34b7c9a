package thin_test

import (
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
)

// TestMeasureInFailMode: a thin device measures as "Fail" while its pool
// is in fail mode (thin_status checks the pool's mode before the status
// type), the pool itself as nothing.
func TestMeasureInFailMode(t *testing.T) {
	reg, _ := failedPool(t)
	for name, want := range map[string]string{"thin0": "Fail", "pool": ""} {
		lines, err := reg.LinesOf(name, false, dm.StatusIMA)
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != 1 || lines[0].Params != want {
			t.Errorf("measure %s in fail mode: %+v, want %q", name, lines, want)
		}
	}
}
