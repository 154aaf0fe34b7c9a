package era

import (
	"fmt"
	"testing"
)

// BenchmarkWrite compares a 4 KiB write to a block already marked in the
// current era (straight through) with one to a new block (marked and
// committed before it is issued).
func BenchmarkWrite(b *testing.B) {
	for _, marked := range []bool{true, false} {
		b.Run(fmt.Sprintf("marked=%v", marked), func(b *testing.B) {
			e := newEnv(b)
			meta, data := e.Sparse("meta", 64<<20), e.Sparse("data", 1<<30)
			x := e.Create(1<<21, fmt.Sprintf("%s %s 8", meta, data)) // 262144 blocks of 4 KiB
			defer x.Close()
			buf := pattern(1, 4096)
			if marked {
				x.WriteAt(buf, 0)
			}
			b.SetBytes(4096)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sector := uint64(0)
				if !marked {
					sector = uint64(i%262144) * 8
				}
				if err := x.WriteAt(buf, sector); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
