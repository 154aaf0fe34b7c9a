package mirror_test

import (
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// BenchmarkWrite64K compares 64 KiB writes through a two-leg mirror (core
// log, and disk log: each write to a clean region writes and flushes the
// log first, and its end writes it again after flushing the legs, as the
// kernel's does) with the same writes through linear onto one file: the
// cost of the second copy and of the log.
func BenchmarkWrite64K(b *testing.B) {
	const devBytes = 64 << 20
	g := &rig{dmtest.New(b)}
	g.File("a", devBytes, false)
	g.File("b", devBytes, false)
	g.File("c", devBytes, false)
	g.File("log", 1<<20, false)
	if err := g.Create("lin", devBytes/512, "linear", g.Path("c"), "0"); err != nil {
		b.Fatal(err)
	}
	p := dmtest.Random(64 << 10)
	for _, c := range []struct{ name, table string }{
		{"linear", ""},
		{"mirror-core", "core 2 1024 nosync 2 a 0 b 0"},
		{"mirror-disk", "disk 3 log 1024 nosync 2 a 0 b 0"},
	} {
		name := "lin"
		if c.table != "" {
			name = "m"
			g.mustCreate(name, devBytes/512, c.table)
		}
		d := g.Device(name)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for i := 0; i < b.N; i++ {
				if _, err := d.WriteAt(p, int64(i%(devBytes/len(p)))*int64(len(p))); err != nil {
					b.Fatal(err)
				}
			}
		})
		if c.table != "" {
			if err := g.Reg.Remove(name); err != nil {
				b.Fatal(err)
			}
		}
	}
}
