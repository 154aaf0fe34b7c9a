package dmtest

import (
	"math/rand/v2"
	"testing"

	"github.com/gdmsetup/gdmsetup/targets"
)

// RandomWrites is a benchmark's timed loop: b.N writes of block (a
// multiple of 512 bytes) through tg at block-aligned places drawn at
// random in its first spanBytes, the same places in every run, a flush
// after every 64 writes. It sets the bytes per op to block's length.
func RandomWrites(b *testing.B, tg targets.Target, spanBytes int64, block []byte) {
	rng := rand.New(rand.NewPCG(1, 2))
	blockSectors := uint64(len(block) / targets.SectorSize)
	spanBlocks := int(spanBytes / int64(len(block)))
	b.SetBytes(int64(len(block)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := tg.WriteAt(block, uint64(rng.IntN(spanBlocks))*blockSectors); err != nil {
			b.Fatal(err)
		}
		if i%64 == 63 {
			if err := tg.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
