package metadata

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/gdmsetup/gdmsetup/pdata/block"
	"github.com/gdmsetup/gdmsetup/pdata/btree"
	"github.com/gdmsetup/gdmsetup/pdata/faultdev"
	"github.com/gdmsetup/gdmsetup/pdata/spacemap"
)

// sampleImage builds a small committed pool: two devices (one a snapshot with its own
// changes), enough mappings for two-level trees, and a metadata snapshot.
func sampleImage(t testing.TB) []byte {
	t.Helper()
	dev := faultdev.New(256 * BlockSize)
	p, err := Format(dev, 256, 128, 4000, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CreateThin(0); err != nil {
		t.Fatal(err)
	}
	th, _ := p.OpenThin(0)
	for i := uint64(0); i < 600; i++ {
		b, _ := p.AllocDataBlock()
		if err := th.InsertBlock(i*2, b); err != nil {
			t.Fatal(err)
		}
	}
	th.Close()
	if err := p.CreateSnap(1, 0); err != nil {
		t.Fatal(err)
	}
	th, _ = p.OpenThin(1)
	for i := uint64(0); i < 50; i++ {
		b, _ := p.AllocDataBlock()
		if err := th.InsertBlock(i*7, b); err != nil {
			t.Fatal(err)
		}
	}
	th.Close()
	if err := p.ReserveMetadataSnap(); err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(); err != nil {
		t.Fatal(err)
	}
	return dev.Image()
}

// exercise runs every reader on an image and returns the checker's problems and the
// errors of Open/Dump. It must never panic or hang.
func exercise(img []byte) (problems []error, openErr, dumpErr error) {
	dev := faultdev.FromImage(img)
	problems, _ = Check(dev)
	RepairDump(dev, uint64(len(img))/BlockSize, DumpOptions{Overrides: repairOverrides()}, io.Discard)
	p, openErr := Open(dev, Options{ReadOnly: true})
	if openErr != nil {
		return problems, openErr, nil
	}
	var out bytes.Buffer
	dumpErr = p.Dump(&out)
	for _, id := range p.Devices() {
		if th, err := p.OpenThin(id); err == nil {
			th.FindBlock(4)
			th.HighestMapped()
			th.Close()
		}
	}
	return problems, nil, dumpErr
}

func usedBlocks(t *testing.T, img []byte) []uint64 {
	t.Helper()
	p, err := Open(faultdev.FromImage(img), Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	nr, err := p.msm.NrBlocks()
	if err != nil {
		t.Fatal(err)
	}
	var used []uint64
	for b := uint64(0); b < nr; b++ {
		if c, err := p.msm.Count(b); err != nil {
			t.Fatal(err)
		} else if c > 0 {
			used = append(used, b)
		}
	}
	return used
}

func mentionsBlock(errs []error, nr uint64) bool {
	want := regexp.MustCompile(fmt.Sprintf(`(block|node|bitmap \d+:) %d\b`, nr))
	for _, e := range errs {
		if want.MatchString(e.Error()) {
			return true
		}
	}
	return false
}

func TestCorruptionNamesTheBlock(t *testing.T) {
	img := sampleImage(t)
	if errs, _, _ := exercise(bytes.Clone(img)); len(errs) != 0 {
		t.Fatalf("clean image: %v", errs)
	}
	used := usedBlocks(t, img)
	for _, nr := range used {
		for _, kind := range []string{"bitflip", "zero"} {
			bad := bytes.Clone(img)
			blk := bad[nr*BlockSize : (nr+1)*BlockSize]
			if kind == "zero" {
				clear(blk)
			} else {
				blk[100+int(nr)%3000] ^= 0x10
			}
			problems, _, _ := exercise(bad)
			if len(problems) == 0 {
				t.Errorf("%s of block %d: checker found nothing", kind, nr)
			} else if !mentionsBlock(problems, nr) {
				t.Errorf("%s of block %d: problems do not name it: %v", kind, nr, problems)
			}
		}
	}
}

func TestWrongMagic(t *testing.T) {
	img := sampleImage(t)
	binary.LittleEndian.PutUint64(img[32:], 12345)
	superblockValidator.Prepare(img[:BlockSize], 0)
	problems, openErr, _ := exercise(img)
	if openErr == nil || !strings.Contains(openErr.Error(), "metadata block 0 (superblock): bad magic") {
		t.Fatalf("open: %v", openErr)
	}
	if len(problems) != 1 || !strings.Contains(problems[0].Error(), "bad magic") {
		t.Fatalf("check: %v", problems)
	}
}

func TestTruncated(t *testing.T) {
	img := sampleImage(t)
	used := usedBlocks(t, img)
	last := used[len(used)-1]
	problems, openErr, _ := exercise(img[:last*BlockSize])
	if openErr == nil {
		t.Fatal("open of truncated metadata succeeded")
	}
	if !mentionsBlock(problems, last) {
		t.Fatalf("check does not name block %d: %v", last, problems)
	}
}

func TestCycle(t *testing.T) {
	img := sampleImage(t)
	p, err := Open(faultdev.FromImage(img), Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	root, err := p.deviceRoot(0)
	if err != nil {
		t.Fatal(err)
	}
	// Point the device's internal root's last child at the root itself.
	n := btree.Node(img[root*BlockSize : (root+1)*BlockSize])
	if n.IsLeaf() {
		t.Fatal("expected an internal root")
	}
	n.SetValue64(n.NrEntries()-1, root)
	btree.Validator.Prepare(n, root)
	problems, _, _ := exercise(img)
	found := false
	for _, e := range problems {
		found = found || strings.Contains(e.Error(), fmt.Sprintf("node %d", root)) && strings.Contains(e.Error(), "cycle")
	}
	if !found {
		t.Fatalf("no cycle reported at block %d: %v", root, problems)
	}
}

// reseal re-prepares a block (location, checksum) with whichever validator accepted
// it before the patch.
func reseal(blk []byte, nr uint64, old []byte) {
	for _, v := range []block.Validator{superblockValidator, btree.Validator, spacemap.BitmapValidator, spacemap.IndexValidator} {
		if v.Check(old, nr) == nil {
			v.Prepare(blk, nr)
			return
		}
	}
}

func FuzzMetadataReader(f *testing.F) {
	img := sampleImage(f)
	f.Add(uint8(0), uint16(44), []byte{9}, true)
	f.Add(uint8(3), uint16(16), []byte{0xff, 0xff}, true)
	f.Add(uint8(10), uint16(40), []byte{1, 0, 0, 0}, true)
	f.Add(uint8(20), uint16(0), []byte{}, false)
	f.Fuzz(func(t *testing.T, blockIdx uint8, off uint16, patch []byte, resealIt bool) {
		bad := bytes.Clone(img)
		nr := uint64(blockIdx) % uint64(len(bad)/BlockSize)
		blk := bad[nr*BlockSize : (nr+1)*BlockSize]
		old := bytes.Clone(blk)
		o := int(off) % BlockSize
		copy(blk[o:], patch)
		if resealIt {
			reseal(blk, nr, old)
		}
		exercise(bad)
		// Writable path: changes and commit must fail cleanly or succeed.
		if p, err := Open(faultdev.FromImage(bad), Options{}); err == nil {
			p.CreateThin(99)
			if th, err := p.OpenThin(0); err == nil {
				if b, err := p.AllocDataBlock(); err == nil {
					th.InsertBlock(3, b)
				}
				th.RemoveRange(0, 100)
				th.Close()
			}
			p.Delete(1)
			p.Commit()
		}
	})
}

func TestWrongReferenceCounts(t *testing.T) {
	img := sampleImage(t)
	sb, err := decodeSuperblock(img[:BlockSize], 0)
	if err != nil {
		t.Fatal(err)
	}
	idxNr := sb.MetadataSM.BitmapRoot
	idx, err := spacemap.DecodeMetadataIndex(img[idxNr*BlockSize:(idxNr+1)*BlockSize], 1)
	if err != nil {
		t.Fatal(err)
	}
	bm := idx[0].Blocknr
	bitmap := img[bm*BlockSize : (bm+1)*BlockSize]
	used := usedBlocks(t, img)
	free := uint32(used[len(used)-1] + 1) // first block past the last used one
	spacemap.BitmapSet(bitmap, free, 1)
	spacemap.BitmapSet(bitmap, uint32(used[1]), 2)
	spacemap.BitmapValidator.Prepare(bitmap, bm)
	// Keep the root's nr_allocated in step with the bitmap (one more block in use).
	sb.MetadataSM.NrAllocated++
	sb.encode(img[:BlockSize])
	superblockValidator.Prepare(img[:BlockSize], 0)
	problems, _, _ := exercise(img)
	text := fmt.Sprint(problems)
	if !strings.Contains(text, fmt.Sprintf("metadata block %d: leaked", free)) ||
		!strings.Contains(text, fmt.Sprintf("metadata block %d: reference count 2 in the metadata space map, expected 1", used[1])) {
		t.Fatalf("problems: %v", problems)
	}
}
