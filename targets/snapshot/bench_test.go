package snapshot_test

import (
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// BenchmarkOriginWrite64K: 64 KiB writes through snapshot-origin that
// each copy 16 chunks of 4 KiB into a persistent snapshot (a commit with
// two COW flushes per chunk), against the same writes to the linear
// device under it (no snapshot work), and writes to chunks already copied.
func BenchmarkOriginWrite64K(b *testing.B) {
	for _, c := range []struct{ name, dev string }{{"linear", "lbase"}, {"origin-copying", "origin"}, {"origin-copied", "origin"}} {
		b.Run(c.name, func(b *testing.B) {
			g := newRig(b)
			g.File("cow", 4<<20, false)
			g.stack([2]string{"s", "cow P 8"})
			d := g.Device(c.dev)
			p := dmtest.Random(64 << 10)
			span := int64(baseBytes)
			if c.name == "origin-copied" {
				for off := int64(0); off < span; off += int64(len(p)) {
					if _, err := d.WriteAt(p, off); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.SetBytes(int64(len(p)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				off := int64(i) * int64(len(p)) % span
				if c.name == "origin-copying" && off == 0 && i > 0 {
					b.StopTimer()
					g.Reg.Remove("origin")
					g.Reg.Remove("s")
					g.File("cow", 4<<20, false)
					g.mustCreate("s", baseBytes/512, "snapshot", "/dev/mapper/lbase cow P 8")
					g.mustCreate("origin", baseBytes/512, "snapshot-origin", "/dev/mapper/lbase")
					d = g.Device("origin")
					b.StartTimer()
				}
				if _, err := d.WriteAt(p, off); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
