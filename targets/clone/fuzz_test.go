package clone

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"syscall"
	"testing"

	"github.com/gdmsetup/gdmsetup/internal/dmtest"
	"github.com/gdmsetup/gdmsetup/pdata/block"
)

// imageDev is a metadata device held in memory, of fixed size: I/O past its
// end fails as on a disk.
type imageDev struct{ img []byte }

func (d *imageDev) ReadAt(p []byte, offBytes int64) (int, error) {
	if offBytes < 0 || offBytes+int64(len(p)) > int64(len(d.img)) {
		return 0, fmt.Errorf("image: read of %d bytes at %d past the end: %w", len(p), offBytes, syscall.EIO)
	}
	return copy(p, d.img[offBytes:]), nil
}

func (d *imageDev) WriteAt(p []byte, offBytes int64) (int, error) {
	if offBytes < 0 || offBytes+int64(len(p)) > int64(len(d.img)) {
		return 0, fmt.Errorf("image: write of %d bytes at %d past the end: %w", len(p), offBytes, syscall.EIO)
	}
	return copy(d.img[offBytes:], p), nil
}

func (d *imageDev) SizeBytes() int64                       { return int64(len(d.img)) }
func (d *imageDev) Flush() error                           { return nil }
func (d *imageDev) Discard(offBytes, lenBytes int64) error { return nil }
func (d *imageDev) Name() string                           { return "image" }

// Geometry of the fuzzed image: 4096 regions of 8 sectors, so the
// hydration bitset spans several array blocks under a btree.
const (
	fuzzRegionSectors = 8
	fuzzTargetSectors = 4096 * 8
	fuzzMetaBlocks    = 64
)

// fuzzImage is a committed clone metadata image with some regions hydrated.
func fuzzImage(t testing.TB) []byte {
	t.Helper()
	dev := &imageDev{img: make([]byte, fuzzMetaBlocks*block.BlockSize)}
	md, _, err := openMetadata(dev, fuzzTargetSectors, fuzzRegionSectors)
	if err != nil {
		t.Fatal(err)
	}
	words := map[uint64]uint64{0: 0xff, 7: 1 << 63, 40: 0x5555, 63: 1}
	if err := md.commit(words); err != nil {
		t.Fatal(err)
	}
	return dev.img
}

// FuzzCloneMetadata damages one block in use of a committed clone metadata image
// and opens it as a table load does, then hydrates regions and commits as
// the target would: every outcome must be an error or a consistent result,
// never a panic, and a refused open must not write to the device.
func FuzzCloneMetadata(f *testing.F) {
	img := fuzzImage(f)
	f.Add(uint8(0), uint16(sbOffBitset), []byte{3}, true)
	f.Add(uint8(0), uint16(sbOffRegion), []byte{16}, true)
	f.Add(uint8(1), uint16(16), []byte{0xff, 0xff, 0xff}, true)
	f.Add(uint8(3), uint16(24), []byte{9, 9, 9, 9}, true)
	f.Add(uint8(5), uint16(100), []byte{1}, false)
	f.Fuzz(func(t *testing.T, blockIdx uint8, off uint16, patch []byte, resealIt bool) {
		damage := dmtest.Damage{Pick: uint16(blockIdx), OffBytes: off, Patch: patch, Reseal: resealIt}
		bad, _ := damage.Apply(img, block.BlockSize, dmtest.PdataValidators(sbValidator)...)
		before := bytes.Clone(bad)
		dev := &imageDev{img: bad}
		md, bitmap, err := openMetadata(dev, fuzzTargetSectors, fuzzRegionSectors)
		if err != nil {
			if !bytes.Equal(dev.img, before) {
				t.Fatalf("open failed (%v) but wrote to the device", err)
			}
			return
		}
		if uint64(len(bitmap)) != (fuzzTargetSectors/fuzzRegionSectors+63)/64 {
			t.Fatalf("open gave %d bitmap words", len(bitmap))
		}
		words := map[uint64]uint64{}
		for _, i := range []uint64{0, 1, 33, 63} {
			words[i] = bitmap[i] | 1<<(i%64)
		}
		if err := md.commit(words); err != nil {
			return
		}
		used, total := md.usage()
		if used > total {
			t.Fatalf("usage %d/%d after a commit", used, total)
		}
		_, again, err := openMetadata(dev, fuzzTargetSectors, fuzzRegionSectors)
		if err != nil {
			t.Fatalf("metadata committed from a damaged image does not open again: %v", err)
		}
		for i, w := range words {
			if again[i] != w {
				t.Fatalf("word %d reads %#x after commit, want %#x", i, again[i], w)
			}
		}
		if binary.LittleEndian.Uint64(dev.img[sbOffMagic:]) != sbMagic {
			t.Fatal("committed superblock lost its magic")
		}
	})
}
