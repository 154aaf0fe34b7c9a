package dm_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// TestRangeOpChecksInBlockLayerOrder: a discard or a write zeroes meets the
// block layer's checks in its order, so that a request failing several
// gets the errno the kernel gives (checked against Linux 6.1 by the
// ro-discards fidelity scenario): no discards, then the range, then
// read-only; a write zeroes checks read-only last.
func TestRangeOpChecksInBlockLayerOrder(t *testing.T) {
	g := dmtest.New(t)
	f := g.File("d", 1<<20, false)
	for _, c := range []struct {
		name, typ string
		args      []string
		readOnly  bool
	}{
		{"rolin", "linear", []string{f, "0"}, true},
		{"rozero", "zero", nil, true},
		{"rwlin", "linear", []string{f, "0"}, false},
	} {
		if err := g.Reg.Create(c.name, "", []dm.TargetLine{{Len: 256, Type: c.typ, Args: c.args}}, c.readOnly); err != nil {
			t.Fatal(err)
		}
	}
	const end = 256 * 512
	for _, c := range []struct {
		dev      string
		discard  bool
		off, len int64
		want     syscall.Errno // 0: no error
	}{
		{"rozero", true, end, 4096, syscall.EOPNOTSUPP},
		{"rolin", true, end, 4096, syscall.EINVAL},
		{"rolin", true, 100, 4096, syscall.EINVAL},
		{"rolin", true, 0, 4096, syscall.EPERM},
		{"rolin", true, 0, 0, syscall.EPERM},
		{"rwlin", true, 0, 0, syscall.EINVAL},
		{"rwlin", true, end - 4096, 8192, syscall.EINVAL},
		{"rwlin", true, 0, 4096, 0},
		{"rolin", false, 0, 0, syscall.EINVAL},
		{"rolin", false, end, 4096, syscall.EINVAL},
		{"rolin", false, 0, 4096, syscall.EPERM},
		{"rozero", false, 0, 4096, syscall.EPERM},
		{"rwlin", false, 0, 4096, 0},
	} {
		d := g.Device(c.dev)
		var err error
		if c.discard {
			err = d.Discard(c.off, c.len)
		} else {
			err = d.WriteZeroes(c.off, c.len, true)
		}
		if c.want == 0 && err != nil || c.want != 0 && !errors.Is(err, c.want) {
			t.Errorf("%s discard=%v %d+%d: got %v, want %v", c.dev, c.discard, c.off, c.len, err, c.want)
		}
	}
}
