package multipath_test

import (
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// BenchmarkRead64K compares 64 KiB reads through a two-path round-robin
// multipath device (both paths onto the same file, as two paths reach one
// disk) and through linear onto that file: the cost of choosing a path
// for every I/O.
func BenchmarkRead64K(b *testing.B) {
	const devBytes = 64 << 20
	g := &rig{dmtest.New(b)}
	g.File("a", devBytes, true)
	if err := g.Create("lin", devBytes/512, "linear", g.Path("a"), "0"); err != nil {
		b.Fatal(err)
	}
	if err := g.Create("mp", devBytes/512, "multipath", g.Args("0 0 1 1 round-robin 0 2 0 a a")...); err != nil {
		b.Fatal(err)
	}
	if err := g.Create("ql", devBytes/512, "multipath", g.Args("0 0 1 1 queue-length 0 2 0 a a")...); err != nil {
		b.Fatal(err)
	}
	p := make([]byte, 64<<10)
	for off := int64(0); off < devBytes; off += int64(len(p)) { // the file in the page cache for every case
		if _, err := g.Device("lin").ReadAt(p, off); err != nil {
			b.Fatal(err)
		}
	}
	for _, name := range []string{"lin", "mp", "ql"} {
		d := g.Device(name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for i := 0; i < b.N; i++ {
				if _, err := d.ReadAt(p, int64(i%(devBytes/len(p)))*int64(len(p))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
