package snapshot_test

import (
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
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

// BenchmarkMerge: a snapshot-merge of exceptions made by origin writes,
// from the resume until the merge is over (the end of the process waits
// for it): 4 MiB of chunks consecutive on both devices (batches of up to
// 4 MiB), or 2 MiB of every other 4 KiB chunk of the origin (a batch per
// chunk, each committed with two COW flushes and an origin flush).
func BenchmarkMerge(b *testing.B) {
	for _, c := range []struct {
		name         string
		writeBytes   int
		strideChunks int64
	}{{"consecutive", 64 << 10, 16}, {"every-other-chunk", 4 << 10, 2}} {
		b.Run(c.name, func(b *testing.B) {
			g := newRig(b)
			g.File("base", 2*baseBytes, true)
			mergedBytes := int64(0)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for _, n := range []string{"origin", "s", "lbase"} {
					g.Reg.Remove(n)
				}
				g.File("cow", 8<<20, false)
				g.mustCreate("lbase", 2*baseBytes/512, "linear", "base 0")
				g.mustCreate("s", 2*baseBytes/512, "snapshot", "/dev/mapper/lbase cow P 8")
				g.mustCreate("origin", 2*baseBytes/512, "snapshot-origin", "/dev/mapper/lbase")
				p := dmtest.Random(c.writeBytes)
				for off := int64(0); off < 2*baseBytes; off += c.strideChunks * 4096 {
					g.mustWrite("origin", off, p)
					mergedBytes += int64(len(p))
				}
				for _, step := range []func() error{
					func() error { return g.Reg.Suspend("origin") },
					func() error { return g.Reg.Suspend("s") },
					func() error {
						return g.Reg.Load("origin", []dm.TargetLine{{Len: 2 * baseBytes / 512, Type: "snapshot-merge", Args: g.Args("/dev/mapper/lbase cow P 8")}})
					},
				} {
					if err := step(); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if err := g.Reg.Resume("origin"); err != nil {
					b.Fatal(err)
				}
				g.Reopen()
			}
			b.StopTimer()
			if got := g.status("origin"); !strings.HasPrefix(got, "16/") {
				b.Fatalf("merge not over when the process ended: %q", got)
			}
			b.ReportMetric(float64(mergedBytes)/b.Elapsed().Seconds()/(1<<20), "MiB/s")
		})
	}
}
