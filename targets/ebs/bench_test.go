package ebs

import (
	"path/filepath"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/linear"
)

// BenchmarkWrite compares writes through linear, through ebs aligned to
// its 4 KiB underlying blocks (straight down) and through ebs 512 bytes
// at a time inside them (read-modify-write of a 4 KiB block each): what
// the emulation costs.
func BenchmarkWrite(b *testing.B) {
	dev := dmtest.Sparse(b, filepath.Join(b.TempDir(), "dev.img"), devBytes)
	ctx := func() *targets.Context { return dmtest.NewDirect(b).Context(devBytes / targets.SectorSize) }
	lin, err := linear.New(ctx(), []string{dev, "0"})
	if err != nil {
		b.Fatal(err)
	}
	e, err := New(ctx(), []string{dev, "0", "1", "8"})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		t     targets.Target
		bytes int
	}{{"linear-4K", lin, 4096}, {"ebs-aligned-4K", e, 4096}, {"linear-512", lin, 512}, {"ebs-partial-512", e, 512}} {
		p := make([]byte, c.bytes)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for i := 0; i < b.N; i++ {
				if err := c.t.WriteAt(p, uint64(i%2048)*uint64(len(p))/targets.SectorSize%2048); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
