package integrity

import (
	"bytes"
	"fmt"
	"os"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
)

// kernelTables are testdata's devices Linux 6.1 wrote and the tables it
// wrote them with (integrity_test.go's TestKernelImages): mode D with
// sha256 and 4 KiB blocks, mode B with its bitmap dirty, mode J with its
// writes in the journal only.
var kernelTables = []struct{ img, args string }{
	{"kernel-kd.img", "D 3 internal_hash:sha256 block_size:4096 fix_padding"},
	{"kernel-kb.img", "B 2 internal_hash:crc32c sectors_per_bit:64"},
	{"kernel-kj.img", "J 3 internal_hash:crc32c journal_sectors:2048 commit_time:600000"},
}

// FuzzIntegrityMetadata damages one 4 KiB block of a device the kernel
// wrote (its superblock, journal, tags or data) and builds integrity on it
// with the kernel's table, then resumes it (the journal replayed, the
// bitmap's recalculation begun), does I/O and removes it: no panic, no
// hang, and a refused table leaves the device as it was.
func FuzzIntegrityMetadata(f *testing.F) {
	images := make([][]byte, len(kernelTables))
	for i, k := range kernelTables {
		images[i] = dmtest.GunzipBytes(f, "testdata/"+k.img+".gz")
	}
	f.Add(uint8(0), uint16(0), uint16(offLog2Interleave), []byte{0xff})
	f.Add(uint8(1), uint16(0), uint16(offTagSize), []byte{0xff, 0x7f})
	f.Add(uint8(2), uint16(0), uint16(offJournalSects), []byte{0xff, 0xff, 0xff, 0xff})
	f.Add(uint8(0), uint16(0), uint16(offProvided), []byte{5, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(uint8(1), uint16(0), uint16(offLog2Block), []byte{0x1f})
	f.Add(uint8(1), uint16(0), uint16(offLog2BitmapBit), []byte{0xff})
	f.Add(uint8(0), uint16(0), uint16(offRecalcSector), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(uint8(2), uint16(0), uint16(offFlags), []byte{0xff})
	f.Add(uint8(2), uint16(3), uint16(100), []byte{1, 2, 3})
	f.Add(uint8(1), uint16(5), uint16(0), bytes.Repeat([]byte{0xff}, 64))
	f.Fuzz(func(t *testing.T, which uint8, pick, offBytes uint16, patch []byte) {
		k := kernelTables[int(which)%len(kernelTables)]
		bad, _ := dmtest.Damage{Pick: pick, OffBytes: offBytes, Patch: patch}.Apply(images[int(which)%len(images)], 4096)
		e := newEnv(t)
		dev := e.Path("dev")
		if err := os.WriteFile(dev, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		dmtest.Within(t, "integrity over a damaged device", func() error {
			x, err := e.Build(4096, "dev 0 - "+k.args)
			if err != nil {
				if after, _ := os.ReadFile(dev); !bytes.Equal(after, bad) {
					return fmt.Errorf("a refused table (%v) wrote to its device", err)
				}
				return nil
			}
			dmtest.Exercise(x, 8192)
			return nil
		}, nil)
	})
}
