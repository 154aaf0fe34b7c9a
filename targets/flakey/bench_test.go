package flakey

import (
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/linear"
)

// BenchmarkRead64K compares 64 KiB reads through flakey while up (the
// up/down check on every I/O) and while down with corrupt_bio_byte (reads
// pass) with linear over the same file: the cost flakey adds to a
// passthrough.
func BenchmarkRead64K(b *testing.B) {
	dev := devFile(b)
	ctx := func() *targets.Context { return dmtest.NewDirect(b).Context(devBytes / targets.SectorSize) }
	lin, err := linear.New(ctx(), []string{dev, "0"})
	if err != nil {
		b.Fatal(err)
	}
	up, err := New(ctx(), []string{dev, "0", "3600", "1"})
	if err != nil {
		b.Fatal(err)
	}
	down, err := New(ctx(), []string{dev, "0", "0", "1", "5", "corrupt_bio_byte", "1", "r", "0", "0"})
	if err != nil {
		b.Fatal(err)
	}
	p := make([]byte, 64<<10)
	for _, c := range []struct {
		name string
		t    targets.Target
	}{{"linear", lin}, {"flakey-up", up}, {"flakey-down-corrupt-r", down}} {
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
