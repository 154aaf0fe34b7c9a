package integrity

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/targets"
	"github.com/gdmsetup/gdmsetup/targets/linear"
)

// benchBytes is the data the benchmarks map: 256 MiB of a 320 MiB file.
const benchBytes = 256 << 20

// benchTarget builds linear, or integrity in mode D or J (its default
// journal: 1024 sectors here) with crc32c, or with the hash after a dash
// ("D-sha256"), over a sparse file; the
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
	mode, alg, _ := strings.Cut(name, "-")
	if alg == "" {
		alg = "crc32c"
	}
	x := e.Create(benchBytes/512, "dev 0 - "+mode+" 1 internal_hash:"+alg)
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
			settle(tg)
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

// BenchmarkRandom4KConcurrent reads or writes 4 KiB blocks at random over
// 64 MiB (written first, so reads check real tags) from 1 and from 8
// goroutines at once, through linear and integrity (modes D and J with
// crc32c, D with sha256), without flushes: the time per operation over
// all goroutines, so that 8 goroutines taking the time of one divided
// by k means k operations ran at once. The machine's cores bound k.
func BenchmarkRandom4KConcurrent(b *testing.B) {
	const span = 64 << 20
	for _, name := range []string{"linear", "D", "D-sha256", "J"} {
		for _, op := range []string{"read", "write"} {
			for _, workers := range []int{1, 8} {
				b.Run(fmt.Sprintf("%s/%s/%d", name, op, workers), func(b *testing.B) {
					tg := benchTarget(b, name)
					fill := pattern(4, 1<<20)
					for off := 0; off < span; off += len(fill) {
						if err := tg.WriteAt(fill, uint64(off/512)); err != nil {
							b.Fatal(err)
						}
					}
					if err := tg.Flush(); err != nil {
						b.Fatal(err)
					}
					settle(tg)
					b.SetBytes(4096)
					b.ResetTimer()
					var wg sync.WaitGroup
					for w := range workers {
						wg.Go(func() {
							rng := rand.New(rand.NewPCG(uint64(w), 7))
							buf := pattern(byte(w), 4096)
							for i := w; i < b.N; i += workers {
								sector := uint64(rng.IntN(span/4096)) * 8
								var err error
								if op == "read" {
									err = tg.ReadAt(buf, sector)
								} else {
									err = tg.WriteAt(buf, sector)
								}
								if err != nil {
									b.Error(err)
									return
								}
							}
						})
					}
					wg.Wait()
				})
			}
		}
	}
}

// settle commits what an integrity target's journal holds and waits until
// it is written into place, so that the timed I/O does not share the
// devices with that write.
func settle(tg targets.Target) {
	if x, ok := tg.(*Integrity); ok {
		x.mu.Lock()
		x.commit()
		if x.j != nil {
			x.j.drainWriter()
		}
		x.mu.Unlock()
	}
}
