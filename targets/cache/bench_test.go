package cache_test

import (
	"math/rand"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// BenchmarkRandomRead4K reads 4 KiB at random offsets of a 16 MiB range
// through a cache whose blocks are all on the cache device (hits), and
// through a linear table on the same origin file: the ratio is the cost of
// the cache's mapping (policy lookup, hit accounting, tick) per I/O.
func BenchmarkRandomRead4K(b *testing.B) {
	const rangeBytes = 16 << 20
	for _, kind := range []string{"cache", "linear"} {
		b.Run(kind, func(b *testing.B) {
			g := dmtest.New(b)
			origin := g.File("origin", rangeBytes, true)
			if kind == "linear" {
				g.MustCreate("d", rangeBytes/512, "linear", origin, "0")
			} else {
				meta, cdev := g.File("meta", 4<<20, false), g.File("cdev", rangeBytes, false)
				g.MustCreate("d", rangeBytes/512, "cache", meta, cdev, origin, "128", "1", "writeback", "smq", "2", "migration_threshold", "0")
				blk := dmtest.Random(64 << 10)
				for off := int64(0); off < rangeBytes; off += 64 << 10 {
					write(b, g, "d", blk, off)
				}
				if st := g.Line("d", true); field(b, st, 3) != "256/256" {
					b.Fatalf("not every block is cached: %s", st)
				}
			}
			d := g.Device("d")
			rng := rand.New(rand.NewSource(1))
			p := make([]byte, 4096)
			b.SetBytes(4096)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				off := int64(rng.Intn(rangeBytes/4096)) * 4096
				if _, err := d.ReadAt(p, off); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
