package integrity

import (
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/linear"
)

// benchBytes is the data the benchmarks map: 256 MiB of a 320 MiB file.
const benchBytes = 256 << 20

// benchTarget builds linear, or integrity with crc32c in mode D or J
// (its default journal: 1024 sectors here), over a sparse file; the
// integrity device's blocks are written once so that reads check real
// tags.
func benchTarget(b *testing.B, name string) targets.Target {
	e := newEnv(b)
	dev := e.Sparse("dev", 320<<20)
	if name == "linear" {
		tg, err := linear.New(e.Context(benchBytes/512), strings.Fields(dev+" 0"))
		if err != nil {
			b.Fatal(err)
		}
		return tg
	}
	x := e.Create(benchBytes/512, "dev 0 - "+name+" 1 internal_hash:crc32c")
	b.Cleanup(func() { e.Remove(x) })
	return x
}

// BenchmarkRandomWrite4K writes 4 KiB blocks at random, a flush every 64
// writes, through linear and integrity (modes D and J): the ratio of their
// ns/op is what the tags (and the journal's double write) cost.
func BenchmarkRandomWrite4K(b *testing.B) {
	for _, name := range []string{"linear", "D", "J"} {
		b.Run(name, func(b *testing.B) {
			tg := benchTarget(b, name)
			dmtest.RandomWrites(b, tg, benchBytes, pattern(3, 4096))
		})
	}
}

// BenchmarkSequentialRead1M reads 1 MiB at a time through the first 64 MiB
// (written first, so integrity checks every block's tag).
func BenchmarkSequentialRead1M(b *testing.B) {
	const span = 64 << 20
	for _, name := range []string{"linear", "D", "J"} {
		b.Run(name, func(b *testing.B) {
			tg := benchTarget(b, name)
			buf := pattern(4, 1<<20)
			for off := 0; off < span; off += len(buf) {
				if err := tg.WriteAt(buf, uint64(off/512)); err != nil {
					b.Fatal(err)
				}
			}
			if err := tg.Flush(); err != nil {
				b.Fatal(err)
			}
			if x, ok := tg.(*Integrity); ok {
				x.mu.Lock()
				x.commit()
				if x.j != nil {
					x.j.writer()
				}
				x.mu.Unlock()
			}
			b.SetBytes(int64(len(buf)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := tg.ReadAt(buf, uint64(i%(span>>20))<<11); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
