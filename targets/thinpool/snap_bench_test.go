package thinpool_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/targets/thinpool/metadata"
)

// BenchmarkCreateSnap times create_snap (and the commit after it, as the
// pool message does) of a device with 1k and 1M mapped blocks: a snapshot
// shares the origin's mapping tree, so its cost must not grow with mappings.
func BenchmarkCreateSnap(b *testing.B) {
	for _, n := range []uint64{1 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("mappings=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "meta.img")
			os.WriteFile(path, nil, 0o644)
			os.Truncate(path, 256<<20)
			dev, err := block.OpenFile(path, false)
			if err != nil {
				b.Fatal(err)
			}
			defer dev.Close()
			md, err := metadata.Format(dev, (256<<20)/metadata.BlockSize, 128, n, metadata.Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := md.CreateThin(0); err != nil {
				b.Fatal(err)
			}
			td, err := md.OpenThin(0)
			if err != nil {
				b.Fatal(err)
			}
			for vb := uint64(0); vb < n; vb++ {
				db, err := md.AllocDataBlock()
				if err != nil {
					b.Fatal(err)
				}
				if err := td.InsertBlock(vb, db); err != nil {
					b.Fatal(err)
				}
			}
			td.Close()
			if err := md.Commit(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				id := uint64(i + 1)
				if err := md.CreateSnap(id, 0); err != nil {
					b.Fatal(err)
				}
				if err := md.Commit(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
