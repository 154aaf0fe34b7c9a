package logwrites_test

import "testing"

// BenchmarkWriteFlush writes 64 KiB at a time through a device, with a
// flush every 16 writes (1 MiB), over linear and over log-writes on the
// same files: the ratio is what logging costs (the copy of each write, and
// writing it again to the log at the flush).
func BenchmarkWriteFlush(b *testing.B) {
	const writeBytes, perFlush, devBytes = 64 << 10, 16, 64 << 20
	for _, c := range []struct {
		name string
		args func(g *rig) (string, []string)
	}{
		{"linear", func(g *rig) (string, []string) { return "linear", []string{g.File("dev", devBytes, false), "0"} }},
		{"log-writes", func(g *rig) (string, []string) {
			return "log-writes", []string{g.File("dev", devBytes, false), g.File("log", 2*devBytes, false)}
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			g := newRig(b)
			typ, args := c.args(g)
			if err := g.Create("d", devBytes/512, typ, args...); err != nil {
				b.Fatal(err)
			}
			d, _ := g.Reg.Lookup("d")
			p := pattern(9, writeBytes)
			b.SetBytes(writeBytes)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				off := int64(i%(devBytes/writeBytes)) * writeBytes
				if _, err := d.WriteAt(p, off); err != nil {
					b.Fatal(err)
				}
				if i%perFlush == perFlush-1 {
					if err := d.Flush(); err != nil {
						b.Fatal(err)
					}
				}
				if i%(devBytes/writeBytes) == devBytes/writeBytes-1 && typ == "log-writes" {
					b.StopTimer()
					g.remove("d")
					if err := g.Create("d", devBytes/512, typ, args...); err != nil {
						b.Fatal(err)
					}
					d, _ = g.Reg.Lookup("d")
					b.StartTimer()
				}
			}
		})
	}
}
