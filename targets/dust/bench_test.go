package dust

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/linear"
)

// BenchmarkRead64K compares 64 KiB reads through linear and through dust
// with read failures enabled and 10000 bad blocks elsewhere on the device
// (a lookup per 4 KiB piece): the cost dust adds to a passthrough.
func BenchmarkRead64K(b *testing.B) {
	const sizeBytes = 1 << 30 // sparse: 262144 blocks
	dev := dmtest.Sparse(b, filepath.Join(b.TempDir(), "dev.img"), sizeBytes)
	ctx := func() *targets.Context { return dmtest.NewDirect(b).Context(sizeBytes / targets.SectorSize) }
	lin, err := linear.New(ctx(), []string{dev, "0"})
	if err != nil {
		b.Fatal(err)
	}
	tg, err := New(ctx(), []string{dev, "0", "4096"})
	if err != nil {
		b.Fatal(err)
	}
	d := tg.(*Dust)
	d.Message([]string{"quiet"})
	for blk := 0; blk < 10000; blk++ {
		if _, err := d.Message([]string{"addbadblock", strconv.Itoa(1000 + blk)}); err != nil {
			b.Fatal(err)
		}
	}
	d.Message([]string{"enable"})
	p := make([]byte, 64<<10)
	for _, c := range []struct {
		name string
		t    targets.Target
	}{{"linear", lin}, {"dust", d}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for i := 0; i < b.N; i++ {
				if err := c.t.ReadAt(p, uint64(i%16)*128); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
