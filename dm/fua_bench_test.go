package dm_test

import (
	"testing"

	"github.com/gdmsetup/gdmsetup/dm"
	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// BenchmarkFUAWrite compares a FUA write of 4 KiB to the first of two
// linear targets (each over a file of its own) done as WriteFUA (the
// target's file written with RWF_DSYNC) with the way it was done before,
// WriteAt then a Flush of the whole device (both files fsynced).
func BenchmarkFUAWrite(b *testing.B) {
	g := dmtest.New(b)
	a, c := g.File("a", 8<<20, false), g.File("c", 8<<20, false)
	if err := g.Reg.Create("s", "", []dm.TargetLine{
		{Len: 16384, Type: "linear", Args: []string{a, "0"}},
		{Start: 16384, Len: 16384, Type: "linear", Args: []string{c, "0"}},
	}, false); err != nil {
		b.Fatal(err)
	}
	d := g.Device("s")
	p := make([]byte, 4096)
	// the second file has a dirty page, as a busy device's other targets do
	dirty := func() {
		if _, err := d.WriteAt(p, 16384*512); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("WriteFUA", func(b *testing.B) {
		b.SetBytes(4096)
		for i := 0; i < b.N; i++ {
			dirty()
			if _, err := d.WriteFUA(p, int64(i%2048)*4096); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("WriteAt+Flush", func(b *testing.B) {
		b.SetBytes(4096)
		for i := 0; i < b.N; i++ {
			dirty()
			if _, err := d.WriteAt(p, int64(i%2048)*4096); err != nil {
				b.Fatal(err)
			}
			if err := d.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
