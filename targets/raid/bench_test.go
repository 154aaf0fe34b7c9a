package raid

import (
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/linear"
)

// benchMemberBytes is each member's size in the benchmarks.
const benchMemberBytes = 64 << 20

// benchTarget builds linear over one file, or raid1 (two members) or
// raid5_ls (four members, 64 KiB chunks) with metadata devices and
// nosync, or that raid5_ls with a 64 MiB journal (raid5j: writethrough,
// raid5jwb: writeback) and no metadata devices, over sparse files; it
// returns the target and the array's bytes.
func benchTarget(b *testing.B, name string) (targets.Target, int64) {
	e := dmtest.NewTargetEnv[*Raid](b, b.TempDir(), New)
	e.Args = e.FileArgs
	for _, n := range []string{"a", "b", "c", "d"} {
		e.Sparse(n, benchMemberBytes)
		e.Sparse("m"+n, 1<<20)
	}
	e.Sparse("j", 64<<20)
	switch name {
	case "linear":
		tg, err := linear.New(e.Context(benchMemberBytes/512), strings.Fields(e.Path("a")+" 0"))
		if err != nil {
			b.Fatal(err)
		}
		return tg, benchMemberBytes
	case "raid1":
		x := e.Create(benchMemberBytes/512, "raid1 2 0 nosync 2 ma a mb b")
		b.Cleanup(func() { e.Remove(x) })
		return x, benchMemberBytes
	}
	table := "raid5_ls 2 128 nosync 4 ma a mb b mc c md d"
	switch name {
	case "raid5j":
		table = "raid5_ls 4 128 nosync journal_dev j 4 - a - b - c - d"
	case "raid5jwb":
		table = "raid5_ls 6 128 nosync journal_dev j journal_mode writeback 4 - a - b - c - d"
	}
	x := e.Create(3*benchMemberBytes/512, table)
	b.Cleanup(func() { e.Remove(x) })
	return x, 3 * benchMemberBytes
}

// BenchmarkRandomWrite4K writes 4 KiB blocks at random (a flush every
// 64) through linear, raid1 (both legs, the bitmap set once per region),
// raid5 (read of the row's other chunks, parity written) and journaled
// raid5 (the data and parity pages logged and the journal flushed first).
func BenchmarkRandomWrite4K(b *testing.B) {
	for _, name := range []string{"linear", "raid1", "raid5", "raid5j", "raid5jwb"} {
		b.Run(name, func(b *testing.B) {
			tg, span := benchTarget(b, name)
			dmtest.RandomWrites(b, tg, span, dmtest.Random(4096))
		})
	}
}

// BenchmarkSequentialRead1M reads 1 MiB at a time through the first
// 64 MiB: linear, raid1 (one leg) and raid5 (chunk by chunk).
func BenchmarkSequentialRead1M(b *testing.B) {
	const span = 64 << 20
	for _, name := range []string{"linear", "raid1", "raid5"} {
		b.Run(name, func(b *testing.B) {
			tg, _ := benchTarget(b, name)
			p := make([]byte, 1<<20)
			b.SetBytes(int64(len(p)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := tg.ReadAt(p, uint64(i%(span>>20))<<11); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSequentialWrite1M writes 1 MiB at a time through the first
// 48 MiB: raid5's rows are written whole (no read, parity computed from
// the new data), journaled raid5's logged first, raid1's on both legs.
func BenchmarkSequentialWrite1M(b *testing.B) {
	const span = 48 << 20
	for _, name := range []string{"linear", "raid1", "raid5", "raid5j", "raid5jwb"} {
		b.Run(name, func(b *testing.B) {
			tg, _ := benchTarget(b, name)
			p := dmtest.Random(1 << 20)
			b.SetBytes(int64(len(p)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := tg.WriteAt(p, uint64(i%(span>>20))<<11); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRandomWrite4KParallel writes 4 KiB blocks at random from 8
// writers at once through raid5 and journaled raid5, whose writers share
// the journal's flushes (group commit).
func BenchmarkRandomWrite4KParallel(b *testing.B) {
	for _, name := range []string{"raid5", "raid5j", "raid5jwb"} {
		b.Run(name, func(b *testing.B) {
			tg, span := benchTarget(b, name)
			block := dmtest.Random(4096)
			var seed atomic.Uint64
			b.SetBytes(int64(len(block)))
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				rng := rand.New(rand.NewPCG(seed.Add(1), 2))
				for pb.Next() {
					if err := tg.WriteAt(block, uint64(rng.IntN(int(span/4096)))*8); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkReshape moves a raid5_ls set of three 32 MiB members (the data
// at 1 MiB) to four members (forwards: 64 MiB of array read, 128 MiB of
// rows written, flushed every 2048 sectors of each member), and a
// raid5_ls set of four to raid5_la with chunk 32 (backwards); SetBytes
// is the old array. The kernel's reshape is not measured here (the
// oracle's kernel runs under emulation).
func BenchmarkReshape(b *testing.B) {
	const memberSectors, offSectors = 32 << 11, 2048
	for _, c := range []struct {
		name, old, grow, plain string
		oldDisks               int
	}{
		{"add-member", "raid5_ls 1 64 3 ma a mb b mc c", "raid5_ls 5 64 delta_disks 1 data_offset 2048 4 ma a mb b mc c md d",
			"raid5_ls 1 64 4 ma a mb b mc c md d", 3},
		{"layout-backwards", "raid5_ls 1 64 4 ma a mb b mc c md d", "raid5_la 3 32 data_offset 2048 4 ma a mb b mc c md d",
			"raid5_la 1 32 4 ma a mb b mc c md d", 4},
	} {
		b.Run(c.name, func(b *testing.B) {
			arraySectors := uint64(c.oldDisks-1) * memberSectors
			b.SetBytes(int64(arraySectors) * sectorBytes)
			for range b.N {
				b.StopTimer()
				e := dmtest.NewTargetEnv[*Raid](b, b.TempDir(), New)
				e.Args = e.FileArgs
				for _, n := range []string{"a", "b", "c", "d"} {
					e.Sparse(n, (memberSectors+offSectors)*sectorBytes)
					e.Sparse("m"+n, 1<<20)
				}
				// the old set's superblocks (the bytes moved do not matter)
				r := e.Create(arraySectors, c.old)
				e.Remove(r)
				r = e.Create(uint64(3)*memberSectors, c.grow)
				e.Remove(r)
				r = e.MustConstruct(e.LoadContext(uint64(3)*memberSectors), c.plain)
				b.StartTimer()
				r.mu.Lock()
				r.live = true
				done := r.runReshape()
				r.mu.Unlock()
				b.StopTimer()
				if !done {
					b.Fatal("the reshape did not finish")
				}
				r.Close()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkFUAWrite4K writes 4 KiB blocks at random with FUA through
// raid1 and raid5: "fua" is WriteFUA (REQ_FUA on the members written, as
// md sends it), "flush" is WriteAt then the array's Flush (every member
// flushed: what raid did for a FUA write before it took them itself).
func BenchmarkFUAWrite4K(b *testing.B) {
	for _, name := range []string{"raid1", "raid5"} {
		for _, mode := range []string{"fua", "flush"} {
			b.Run(name+"/"+mode, func(b *testing.B) {
				tg, span := benchTarget(b, name)
				r := tg.(*Raid)
				block := dmtest.Random(4096)
				rng := rand.New(rand.NewPCG(1, 2))
				b.SetBytes(int64(len(block)))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					sector := uint64(rng.Int64N(span/4096)) * 8
					var err error
					if mode == "fua" {
						err = r.WriteFUA(block, sector)
					} else if err = r.WriteAt(block, sector); err == nil {
						err = r.Flush()
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
